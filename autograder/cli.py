"""Command line: `python -m autograder grade NOTEBOOK.ipynb [--json] [--assignment A] [--course DIR] [--timeout S]`.

Exit codes: 0 graded (whatever the score), 2 the input can't be graded (one line
on stderr), 1 the grader itself failed. With --json, stdout holds only the
Gradescope results object; everything else goes to stderr.
"""
import argparse
import contextlib
import logging
import os
import sys

from . import DEFAULT_TIMEOUT
from .errors import ExecutionError, GraderError


def _positive(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of seconds: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be at least 1 second")
    return value


def parser():
    p = argparse.ArgumentParser(prog="python -m autograder", description="Grade notebooks of the LSTM course.")
    commands = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    g = commands.add_parser("grade", help="grade one submitted notebook",
                            description="Run a submitted notebook with the course's tests and score it.")
    g.add_argument("notebook", help="the submitted .ipynb file")
    g.add_argument("--json", action="store_true", help="print only Gradescope's results JSON on stdout")
    g.add_argument("--assignment", help="the assignment (default: from the file name, else from its cells)")
    g.add_argument("--course", help="the course directory (default: the current directory)")
    g.add_argument("--timeout", type=_positive, default=DEFAULT_TIMEOUT,
                   help=f"seconds each cell may run (default {DEFAULT_TIMEOUT})")
    return p


@contextlib.contextmanager
def _stdout_reserved():
    """Send everything written to stdout (by Python or any subprocess) to stderr; yield the real stdout."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        with os.fdopen(os.dup(saved), "w", encoding="utf-8") as real:
            yield real
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def grade(args):
    from . import pipeline, report  # pipeline imports nbgrader and nbclient only once the input is good

    if args.json:
        with _stdout_reserved() as out:
            _, results = pipeline.grade(args.notebook, args.course, args.assignment, args.timeout)
            out.write(report.to_json(results) + "\n")
    else:
        job, results = pipeline.grade(args.notebook, args.course, args.assignment, args.timeout)
        print(report.table(results, f"{job.path.name} graded as {job.assignment}"))
    return 0


def main(argv=None):
    args = parser().parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="autograder: %(message)s")
    try:
        return grade(args)
    except (GraderError, ExecutionError) as err:
        print(f"autograder: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("autograder: interrupted", file=sys.stderr)
        return 130
