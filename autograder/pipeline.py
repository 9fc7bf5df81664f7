"""The grading steps chained: prepare (course + restore) -> execute -> score.

`prepare` and `scoring.score` never run code, so a parallel grader can prepare
and score in the parent and execute in worker processes.
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


def prepare(path, course_dir=None, assignment=None):
    """A Job for the submission at `path`; raises GraderError when it can't be graded."""
    root = course.find_course(course_dir)
    submission = course.read_notebook(path)
    name, source_path = course.choose_assignment(path, submission, root, assignment)
    source = course.read_notebook(source_path)
    # nbgrader is slow to import: only now that the input is known to be gradable.
    from . import restore, scoring

    return Job(Path(path), name, restore.restore(submission, source), scoring.graded_cells(source))


def grade(path, course_dir=None, assignment=None, timeout=DEFAULT_TIMEOUT):
    """(job, [TestResult]) for the submission at `path`."""
    job = prepare(path, course_dir, assignment)
    from . import execute, scoring

    executed = execute.run(job.notebook, timeout=timeout)
    return job, scoring.score(executed, job.graded)
