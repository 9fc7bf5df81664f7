"""Command line.

`python -m autograder grade NOTEBOOK.ipynb [--json] [--assignment A] [--course DIR] [--timeout S]`
Exit codes: 0 graded (whatever the score), 2 the input can't be graded (one line
on stderr), 1 the grader itself failed. With --json, stdout holds only the
Gradescope results object; everything else goes to stderr.

`python -m autograder grade-all DIR --out OUT [--course DIR] [--assignment A] [--workers N] [--timeout S] [--force]`
(see batch.py). Exit codes: 0 every submission graded, 1 some submission is ungradable
(recorded in OUT, flagged) or the grader failed, 2 bad arguments (no course, no DIR),
130 interrupted (the finished results are kept). Progress and logs go to stderr.

`python -m autograder items [--gradebook DB] [--course DIR] [--out FILE]`: the item analysis of
an nbgrader gradebook (items.py; grade-all writes its own): item_analysis.csv, and the table on stdout.

`python -m autograder gradescope [ASSIGNMENT...] [--out DIR] [--course DIR]` builds Gradescope
autograder zips; `gradescope-run` is what their run_autograder calls (see gradescope.py).
"""
import argparse
import contextlib
import logging
import os
import signal
import sys

from . import DEFAULT_TIMEOUT
from .errors import ExecutionError, GraderError


def _whole_number(of="", least="1"):
    """An argparse type: a whole number of at least 1; `of` and `least` word its errors."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number{of}: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be at least {least}")
        return value
    return parse


_positive = _whole_number(" of seconds", "1 second")


def _canvas(text):
    name, sep, number = text.partition("=")
    if not sep or not name or not number.strip().isdigit():
        raise argparse.ArgumentTypeError(f"expected ASSIGNMENT=CANVAS_ID, such as 02_shapes=123456, not {text!r}")
    return name.strip(), number.strip()
_count = _whole_number()


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
    g.add_argument("--require-isolation", action="store_true",
                   help="refuse to grade (exit code 2) unless student code is shown unable to read source/")
    g.add_argument("--student-id", help="the course test's submitter: graded as their questions, whatever "
                                        "id the notebook types (default: the id it types, with a note)")
    b = commands.add_parser("grade-all", help="grade a folder of submissions in parallel",
                            description="Grade every submission in DIR (nbgrader's submitted/ layout, or a flat "
                                        "folder of notebooks named after the students) into OUT: a result JSON "
                                        "and a feedback page per submission, grades.csv, mistakes.md and report.png.")
    b.add_argument("directory", metavar="DIR", help="the submissions: DIR/<student>/<assignment>/*.ipynb or DIR/*.ipynb")
    b.add_argument("--out", required=True, help="the output folder (reruns skip what is already graded there)")
    b.add_argument("--course", help="the course directory (default: the current directory)")
    b.add_argument("--assignment", help="only this assignment (submitted/ layout); the assignment of every file "
                                        "whose name does not say (flat layout)")
    b.add_argument("--workers", type=_count, default=None, help="parallel workers (default: the number of CPUs)")
    b.add_argument("--timeout", type=_positive, default=DEFAULT_TIMEOUT,
                   help=f"seconds each cell may run (default {DEFAULT_TIMEOUT})")
    b.add_argument("--force", action="store_true", help="regrade everything, even unchanged submissions")
    b.add_argument("--require-isolation", action="store_true",
                   help="refuse to grade (exit code 2) unless student code is shown unable to read source/")
    b.add_argument("--roster", help="the class list (CSV: student_id, name, email, canvas_id, sis_user_id, "
                                    "sis_login_id, section): students it does not list go to flagged.csv")
    b.add_argument("--canvas", type=_canvas, metavar="ASSIGNMENT=CANVAS_ID",
                   help="also write canvas.csv, a Canvas gradebook import of this assignment (needs --roster)")
    b.set_defaults(handler=grade_all)
    i = commands.add_parser("items", help="item analysis (which questions work) of an nbgrader gradebook",
                            description="Per test: how many students, the share right (facility), the item-rest "
                                        "correlation (discrimination) and flags, from the per-cell scores of "
                                        "nbgrader's gradebook. grade-all writes the same table with more "
                                        "(options chosen, the course test's templates).")
    i.add_argument("--gradebook", help="nbgrader's gradebook.db (default: the course directory's)")
    i.add_argument("--course", help="the course directory, for the tests' order (default: the current directory)")
    i.add_argument("--out", default="item_analysis.csv", help="the CSV to write (default: item_analysis.csv)")
    i.set_defaults(handler=items)
    from . import gradescope  # `gradescope` (build the zips) and `gradescope-run` (run_autograder's runner)

    gradescope.add_commands(commands, _positive)
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

    run = lambda: pipeline.grade(args.notebook, args.course, args.assignment, args.timeout,
                                 require_isolation=args.require_isolation, student=args.student_id)
    if args.json:
        with _stdout_reserved() as out:
            job, results = run()
            out.write(report.to_json(results, _extra(job)) + "\n")
    else:
        job, results = run()
        notes = [f"Note: {job.note}"] if job.note else []
        notes.append(sandbox_line(job.protections))
        print(report.table(results, f"{job.path.name} graded as {job.assignment}", notes=notes))
    return 0


def sandbox_line(protections):
    """One line on what kept student code from the course while it ran."""
    from .engine import DETAIL, is_active

    protections = protections or {}
    hidden = protections.get("course_hidden")
    on = [name for name, value in protections.items()
          if name != "course_hidden" and not name.endswith(DETAIL) and is_active(name, value)]
    if hidden is True:
        return f"Sandbox: source/ was hidden from student code ({', '.join(on)})."
    return (f"WARNING: the sandbox did not hide source/ from student code ({hidden}); "
            f"active: {', '.join(on) or 'none'}.")


def _extra(job):
    """What Gradescope keeps for instructors only (results.json's extra_data)."""
    extra = {"assignment": job.assignment}
    if job.note:
        extra["note"] = job.note
    if job.protections:
        extra["protections"] = job.protections
    return extra


def grade_all(args):
    from . import batch

    logging.getLogger("autograder.batch").setLevel(logging.INFO)
    # `kill` (SIGTERM) stops like Ctrl-C: the workers are shut down and the reports rebuilt.
    signal.signal(signal.SIGTERM, _interrupt)
    summary = batch.grade_all(args.directory, args.out, course_dir=args.course, assignment=args.assignment,
                              workers=args.workers, timeout=args.timeout, force=args.force,
                              require_isolation=args.require_isolation, roster=args.roster, canvas=args.canvas)
    return 1 if summary.any_ungradable else 0


def items(args):
    from pathlib import Path

    from . import items as analysis
    from .outputs import write_atomic

    db = Path(args.gradebook) if args.gradebook else Path(args.course or ".") / "gradebook.db"
    rows = analysis.from_nbgrader(db, args.course)
    write_atomic(args.out, analysis.csv_text(rows))
    print(analysis.markdown(rows), end="")
    print(f"autograder: item analysis of {db} written to {args.out}", file=sys.stderr)
    return 0


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None):
    args = parser().parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="autograder: %(message)s")
    try:
        if getattr(args, "handler", None):  # a command that brings its own (grade-all, gradescope.py)
            return args.handler(args)
        return grade(args)
    except (GraderError, ExecutionError) as err:
        print(f"autograder: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("autograder: interrupted", file=sys.stderr)
        return 130


def console():
    """The `lstm-autograder` command (pyproject.toml's [project.scripts])."""
    sys.exit(main())
