"""The engine's self-test: a job whose answers are known, graded through the same sandbox first.

A fault of the grader itself (a sandbox that hides the interpreter's own files, a worker
that can't read its answers) would make every test fail the same way an unanswered
notebook does. So before grading anything, pipeline.grade and grade-all run this job; unless
it scores full marks the grader stops with SelfTestError (exit code 2) instead of handing
out zeros.

The job's answer cell imports modules nobody preloaded (from the standard library and from
site-packages), as student code does, and answers with the course's own checks cell when
the course has one.
"""
from nbformat.v4 import new_code_cell, new_notebook

from .course import grade_id
from .errors import SelfTestError

ASSIGNMENT = "grader-self-test"
ANSWER = (2, 3)
# Lazily imported modules, one from the standard library and one from site-packages: a sandbox
# that hides what the interpreter reads fails here, before any student is graded.
LAZY_IMPORTS = ("email.mime.text", "matplotlib.sankey")


def _meta(gid, **flags):
    return {"nbgrader": {"grade_id": gid, "schema_version": 3, "grade": False, "solution": False,
                         "locked": False, **flags}}


def checks_source(*notebooks):
    """The course's checks cell (from the first notebook that has one), or ""."""
    for nb in notebooks:
        for cell in nb.cells:
            if cell.get("cell_type") == "code" and grade_id(cell) == "course_checks":
                return cell.source
    return ""


def job(course=None, checks=""):
    """The self-test's pipeline.Job; `checks`: the course's checks cell, if it has one."""
    from .pipeline import Job
    from .scoring import graded_cells

    imports = "\n".join(f"import {name}" for name in LAZY_IMPORTS)
    test = (f"expect_shape('{ASSIGNMENT}.q1', answer_q1, {ANSWER!r})" if checks
            else f"assert answer_q1 == {ANSWER!r}, 'the self-test answer did not arrive'")
    cells = []
    if checks:
        cells.append(new_code_cell(checks, metadata=_meta("course_checks", locked=True)))
    cells += [
        new_code_cell(f"{imports}\nanswer_q1 = {ANSWER!r}", metadata=_meta("q1_answer", solution=True)),
        new_code_cell(test, metadata=_meta("q1_test", grade=True, locked=True, points=1)),
    ]
    notebook = new_notebook(cells=cells)
    return Job(path=f"<{ASSIGNMENT}>", assignment=ASSIGNMENT, notebook=notebook, graded=graded_cells(notebook),
               course=course)


def run(engine, course=None, checks=""):
    """Grade the self-test on `engine`; raise SelfTestError unless it scores full marks."""
    probe = job(course, checks)
    results = engine.grade(probe)
    lost = [r for r in results if r.score < r.max_score]
    if lost:
        detail = "; ".join(f"{r.name}: {r.output or r.verdict}" for r in lost)[:600]
        raise SelfTestError(
            "the grader failed its self-test: a notebook with a known right answer did not get full marks "
            f"({detail}). This is a fault of the grader or of how it was installed, not of any submission; "
            "nothing was graded. Check that the interpreter and its packages are readable from a fresh "
            "process (a symlinked venv, a venv in a private folder), then run again.")
    return results
