"""The grading steps chained: prepare (course + restore) -> engine (sandboxed run + judge).

`prepare` never runs code: the engine's workers run a job's cells in a sandbox and
judge its answers (engine.py), so a parallel grader prepares jobs here and hands
them to an Engine with several workers (batch.py).
"""
from dataclasses import dataclass
from pathlib import Path

from . import DEFAULT_TIMEOUT, course


@dataclass
class Job:
    path: Path
    assignment: str
    notebook: object  # the restored notebook, ready to execute
    graded: list  # scoring.GradedCell of the source
    course: Path = None  # the course directory (the engine hides its source/ and grading folders)


def prepare(path, course_dir=None, assignment=None):
    """A Job for the submission at `path`; raises GraderError when it can't be graded."""
    root = course.find_course(course_dir)
    submission = course.read_notebook(path)
    name, source_path = course.choose_assignment(path, submission, root, assignment)
    source = course.read_notebook(source_path)
    # nbgrader is slow to import: only now that the input is known to be gradable.
    from . import restore, scoring

    return Job(Path(path), name, restore.restore(submission, source), scoring.graded_cells(source), root)


def grade(path, course_dir=None, assignment=None, timeout=DEFAULT_TIMEOUT, hide=()):
    """(job, [TestResult]) for the submission at `path`, graded by a one-worker Engine.

    hide: more paths student code must not see (the course's own private folders always are).
    """
    job = prepare(path, course_dir, assignment)
    from .engine import Engine

    with Engine(workers=1, timeout=timeout, hide=hide) as engine:
        return job, engine.grade(job)
