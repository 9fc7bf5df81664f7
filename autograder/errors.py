"""Errors the command line reports in one line, without a traceback."""


class GraderError(Exception):
    """The input can't be graded: not a notebook, no such course or assignment (exit code 2)."""

    exit_code = 2


class ExecutionError(Exception):
    """The grader could not run the notebook at all, e.g. the kernel did not start (exit code 1)."""

    exit_code = 1


class SelfTestError(GraderError):
    """The grader failed its own self-test (autograder/selftest.py): nothing it grades can be trusted."""
