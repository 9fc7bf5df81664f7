"""The grading steps chained: prepare (course + restore) -> engine (sandboxed run + judge).

`prepare` never runs code: the engine's workers run a job's cells in a sandbox and
judge its answers (engine.py), so a parallel grader prepares jobs here and hands
them to an Engine with several workers (batch.py).
"""
import copy
from dataclasses import dataclass
from pathlib import Path

import logging

from . import DEFAULT_TIMEOUT, course

log = logging.getLogger("autograder")


@dataclass
class Job:
    path: Path
    assignment: str
    notebook: object  # the restored notebook, ready to execute
    graded: list  # scoring.GradedCell of the source
    course: Path = None  # the course directory (the engine hides its source/ and grading folders)
    note: str = ""  # why the file may not be what its name says (course.choose_assignment), or ""
    protections: dict = None  # set once graded: the sandbox's protections (engine.Engine.protections)
    student: str = None  # the course test's submitter: its hidden tests make this student's questions


def prepare(path, course_dir=None, assignment=None, sources=None, named=None, student=None):
    """A Job for the submission at `path`; raises GraderError when it can't be graded.

    assignment: grade as this one (its cells can't overrule it); named: the assignment the
    submission's folder or file name says (its cells can). sources: {assignment: source
    notebook} when the caller has read them (grade-all). student: who submitted it (a folder or file
    name, Gradescope's metadata); a course test is graded as theirs whatever id it types.
    """
    root = course.find_course(course_dir)
    submission = course.read_notebook(path)
    name, source_path, note = course.choose_assignment(path, submission, root, assignment, sources, named)
    source = sources[name] if sources else course.read_notebook(source_path)
    # nbgrader is slow to import: only now that the input is known to be gradable.
    from . import restore, scoring, student_ids

    graded_as, id_note = student_ids.grade_as(submission, source, student)
    if id_note:
        note = f"{note}; {id_note}" if note else id_note

    if restore.needs_recovery(submission, source):
        submission, found = restore.recover(submission, source)
        answers = sorted(g for g in found if g.endswith("_answer"))
        recovered = (f"recovered without metadata: {Path(path).name} had lost its cells' nbgrader metadata; "
                     f"{len(answers)} answer cell(s) were matched by the names they define")
        note = f"{note}; {recovered}" if note else recovered
    if note:
        log.warning("%s", note)
    restored = restore.restore(submission, source)
    if graded_as is not None:  # as nbgrader_plugins.GradeAsSubmitter does in nbgrader's kernel
        where, code = student_ids.grade_as_cell(restored, graded_as)
        if where is not None:
            from .cells import code_cell
            restored.cells.insert(where, code_cell(code, copy.deepcopy(student_ids.GRADE_AS_METADATA)))
    return Job(Path(path), name, restored, scoring.graded_cells(source), root, note, student=graded_as)


def grade(path, course_dir=None, assignment=None, timeout=DEFAULT_TIMEOUT, hide=(), require_isolation=False,
          student=None):
    """(job, [TestResult]) for the submission at `path`, graded by a one-worker Engine.

    student: the submitter of a course test (else it is graded as the id it types, with a note).

    hide: more paths student code must not see (the course's own private folders always are).
    require_isolation: refuse (GraderError) unless the self-test shows student code can't read source/.
    """
    from . import selftest
    from .engine import Engine

    # The worker starts first: its preload (torch) runs while this process reads the notebook.
    with Engine(workers=1, timeout=timeout, hide=hide) as engine:
        job = prepare(path, course_dir, assignment, student=student)
        outcome = selftest.run(engine, job.course, selftest.checks_source(job.notebook))
        if require_isolation:
            selftest.require_isolation(outcome)
        results = engine.grade(job)
        job.protections = engine.protections
        return job, results
