"""The engine's self-test: a job whose answers are known, graded through the same sandbox first.

A fault of the grader itself (a sandbox that hides the interpreter's own files, a worker
that can't read its answers) would make every test fail the same way an unanswered
notebook does. So before grading anything, pipeline.grade and grade-all run this job; unless
its answer scores full marks the grader stops with SelfTestError (exit code 2) instead of
handing out zeros.

The job's answer cell imports modules nobody preloaded (from the standard library and from
site-packages), as student code does, and answers with the course's own checks cell when
the course has one. A failed self-test names what the child could not reach, as it saw it:
the interpreter's folders that it could not read (sandbox.enter checks them in every child;
that covers a sandbox in which no cell runs at all) and, from a cell before the others, the
imports that failed. A last cell tries to read a canary file planted in the course's source/
for the run: whether it could is what `course_hidden` reports, the one question
that matters about isolation (can student code read the hidden tests?), answered by trying
rather than by reading the protections' names. `--require-isolation` refuses to grade when
the answer is not a clear "hidden".
"""
import logging
import os
import secrets
from dataclasses import dataclass

from .cells import code_cell as new_code_cell, notebook as new_notebook
from .course import SOURCE_DIR, grade_id
from .errors import GraderError, SelfTestError

log = logging.getLogger("autograder")

ASSIGNMENT = "grader-self-test"
ANSWER = (2, 3)
# Lazily imported modules, one from the standard library and one from site-packages: a sandbox
# that hides what the interpreter reads fails here, before any student is graded.
LAZY_IMPORTS = ("email.mime.text", "matplotlib.sankey")
CANARY_PREFIX = ".autograder-canary-"
HIDDEN, READ = "H", "R"  # what the canary cell answers: the file stayed hidden, or it could be read


@dataclass
class Outcome:
    course_hidden: object  # True, False, or why it is unknown (str)
    results: list


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


# Before the checks cell, so that its answer crosses as plain text (not as an answer kind).
DIAGNOSIS = """def _unimportable(modules):
    import importlib
    found = []
    for name in modules:
        try:
            importlib.import_module(name)
        except BaseException as err:
            found.append(f"import {{name}} ({{type(err).__name__}}: {{err}})")
    return "; ".join(found)[:1000]
answer_q0 = _unimportable({modules!r})"""
UNIMPORTABLE = "student code could not import: "


def job(course=None, checks="", canary=None):
    """The self-test's pipeline.Job; `checks`: the course's checks cell, if it has one;
    `canary`: (path, token) of the file planted in source/, if one could be."""
    from .pipeline import Job
    from .scoring import graded_cells

    imports = "\n".join(f"import {name}" for name in LAZY_IMPORTS)
    test = (f"expect_shape('{ASSIGNMENT}.q1', answer_q1, {ANSWER!r})" if checks
            else f"assert answer_q1 == {ANSWER!r}, 'the self-test answer did not arrive'")
    cells = [
        new_code_cell(DIAGNOSIS.format(modules=list(LAZY_IMPORTS)), metadata=_meta("q0_answer", solution=True)),
        new_code_cell(f"assert not answer_q0, {UNIMPORTABLE!r} + answer_q0",
                      metadata=_meta("q0_test", grade=True, locked=True, points=1)),
    ]
    if checks:
        cells.append(new_code_cell(checks, metadata=_meta("course_checks", locked=True)))
    cells += [
        new_code_cell(f"{imports}\nanswer_q1 = {ANSWER!r}", metadata=_meta("q1_answer", solution=True)),
        new_code_cell(test, metadata=_meta("q1_test", grade=True, locked=True, points=1)),
    ]
    if canary is not None:
        path, token = canary
        # A letter: what the checks cell (when there is one) describes as such.
        test = (f"expect_choice('{ASSIGNMENT}.q2', answer_q2, {HIDDEN!r}, options='HR')" if checks
                else f"assert answer_q2 == {HIDDEN!r}, 'student code could read source/'")
        cells += [
            new_code_cell("def _peek(path):\n    try:\n        with open(path) as f:\n            return f.read(100)\n"
                          "    except OSError:\n        return ''\n"
                          f"answer_q2 = {READ!r} if _peek({str(path)!r}) == {token!r} else {HIDDEN!r}",
                          metadata=_meta("q2_answer", solution=True)),
            new_code_cell(test, metadata=_meta("q2_test", grade=True, locked=True, points=1)),
        ]
    notebook = new_notebook(cells=cells)
    return Job(path=f"<{ASSIGNMENT}>", assignment=ASSIGNMENT, notebook=notebook, graded=graded_cells(notebook),
               course=course)


def _plant(course):
    """(path, token) of a canary file written into the course's source/, or (None, why not)."""
    if course is None:
        return None, "no course folder to test"
    token = secrets.token_hex(16)
    path = os.path.join(course, SOURCE_DIR, CANARY_PREFIX + secrets.token_hex(4))
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "w") as f:
            f.write(token)
    except OSError as err:
        return None, f"unknown: no canary could be planted in {SOURCE_DIR}/ ({err.strerror or err})"
    return (path, token), ""


def run(engine, course=None, checks=""):
    """Grade the self-test on `engine`; raise SelfTestError unless its answer scores full marks.

    Records whether student code could read source/ in engine.protections["course_hidden"].
    """
    canary, why = _plant(str(course) if course is not None else None)
    try:
        results = engine.grade(job(course, checks, canary))
    finally:
        if canary is not None:
            try:
                os.unlink(canary[0])
            except OSError:
                pass
    lost = [r for r in results if r.name == "q1_test" and r.score < r.max_score]
    if lost or not results:
        raise SelfTestError(failure_message(results, engine.protections))
    hidden = why or next((r.score == r.max_score for r in results if r.name == "q2_test"), why)
    if engine.protections is not None:
        engine.protections["course_hidden"] = True if hidden is True else (
            "NO: student code could read a file planted in source/" if hidden is False else hidden)
    if hidden is not True:
        log.warning("sandbox: student code %s: the hidden tests are NOT safe from it here (see the README, "
                    "'What the sandbox guarantees')", "could read the course's source/" if hidden is False else
                    f"may read the course's source/ ({hidden})")
    return Outcome(hidden, results)


def failure_message(results, protections=None):
    """Why the self-test failed, as the sandboxed child saw it: the interpreter's folders it could not
    read (sandbox.enter checks them), the imports that failed, or that the child gave no answer."""
    detail = "; ".join(f"{r.name}: {r.output or r.verdict}" for r in results
                       if r.name == "q1_test" and r.score < r.max_score)[:600] or "no result came back"
    folders = str((protections or {}).get("interpreter_detail", ""))
    imports = next((r.output for r in results if r.name == "q0_test" and UNIMPORTABLE in (r.output or "")), "")
    causes = []
    if folders.startswith("NOT readable"):
        causes.append(f"inside the sandbox the interpreter's folders were {folders[:1200]}")
    if imports:
        causes.append(f"inside the sandbox {UNIMPORTABLE}{imports.split(UNIMPORTABLE, 1)[1].strip()[:1000]}")
    if not causes:
        causes.append("the sandboxed child could read the interpreter's folders" if folders.startswith("readable")
                      else "the sandboxed child reported nothing on the interpreter's folders")
    return ("the grader failed its self-test: a notebook with a known right answer did not get full marks "
            f"({detail}). Observed: {'; '.join(causes)}. This is a fault of the grader or of how it was "
            "installed, not of any submission; nothing was graded (docs/sandbox.md says what the sandbox "
            "shows student code).")


def require_isolation(outcome):
    """Raise GraderError unless the self-test showed that student code can't read source/."""
    if outcome.course_hidden is not True:
        what = ("student code could read a file planted in the course's source/"
                if outcome.course_hidden is False else str(outcome.course_hidden))
        raise GraderError(f"refusing to grade (--require-isolation): {what}. Grade as root, or where "
                          "unprivileged user namespaces or Landlock are available (see the README: "
                          "'What the sandbox guarantees'), or drop --require-isolation.")
