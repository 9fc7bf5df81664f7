"""Gradescope autograders: one zip per assignment, and the runner it calls on Gradescope.

    python -m autograder gradescope [ASSIGNMENT...] [--out DIR] [--course DIR]

writes `autograder-<assignment>.zip` (default: every assignment in source/, into
build/gradescope/). Gradescope unpacks a zip into /autograder/source, runs its
`setup.sh` once (as root) when it builds the image, then `run_autograder` for each
submission. Layout of a zip (the same for every assignment):

    setup.sh              installs Python >= 3.11 and the pins below into /autograder/venv,
                          then makes source/ (the hidden tests) readable by root only
    run_autograder        bash: `python -m autograder gradescope-run`, and a last-resort results.json
    requirements.txt      the exact pins grading needs (torch from the CPU wheel index)
    autograder/           this package
    source/<assignment>/  the instructor notebook: solutions and hidden tests
    source/roster.csv     only with `--roster`, in a course test's zip: email -> student id

The course test (source/course_test) is graded as its submitter: the first user of
$AUTOGRADER_ROOT/submission_metadata.json, by their `sid`, else their email through the
bundled roster. A group submission is graded as its first member's test, and the note says so.

`run_autograder` honours AUTOGRADER_ROOT (default /autograder): it grades the one
notebook in $AUTOGRADER_ROOT/submission with `python -m autograder grade --json`
(course: $AUTOGRADER_ROOT/source) and writes $AUTOGRADER_ROOT/results/results.json.
AUTOGRADER_TIMEOUT (seconds per cell) and AUTOGRADER_DEADLINE (seconds for the whole
notebook) override the limits the zip was built with. Whatever goes wrong (no
notebook, a file that is not one, a grader crash, the deadline) a valid results.json
with score 0 and a message for the student is written; details go to stdout, which
Gradescope shows to instructors only (`stdout_visibility` is "hidden").

Visibility. Gradescope hides a student's total while any test that carries points
is not yet visible to them, and shows "after_published" tests once the instructor
publishes grades. So every graded test is "after_published": the verdict of the
hidden tests is the grade, not an oracle to submit against. Next to each one goes a
0-point "<grade_id> (self-check)" test, "visible" at once, with what the visible
check in the notebook says (`check(...)` in course/checks.py): "Correct! (qid)", or
its hint. A student learns nothing there that running their own notebook doesn't
show, and still gets immediate feedback that the upload was the right file and ran.
"""
import io
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
from pathlib import Path

from . import DEFAULT_TIMEOUT

PACKAGE = Path(__file__).resolve().parent
PROJECT = PACKAGE.parent  # the repo: its requirements.txt holds the grading pins
DEFAULT_OUT = Path("build") / "gradescope"
DEFAULT_DEADLINE = 480  # seconds for a whole notebook; Gradescope's own limit is set per assignment (10 min unless raised)

# What `python -m autograder grade` imports, directly or in its kernel; pinned as requirements.txt pins them.
GRADING_PACKAGES = ("torch", "nbgrader", "nbformat", "nbclient", "ipykernel", "ipywidgets", "matplotlib", "numpy")
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"  # CPU wheels: PyPI's torch is a multi-GB CUDA build
MIN_PYTHON = (3, 11)  # numpy 2.4 needs it

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
GRADED_VISIBILITY = "after_published"
SELF_CHECK = "{name} (self-check)"
CORRECT_PREFIX = "Correct! ("  # what course/checks.py's check() prints for a right answer
SELF_TEST_FAILED = "the grader failed its self-test"  # how selftest.SelfTestError's message starts
REFUSED = "refusing to grade"  # how selftest.require_isolation's message starts
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed: the same course gives byte-identical zips


class BuildError(Exception):
    """The zip can't be built (unknown assignment, missing pins): one line for the command line."""

    exit_code = 2


class SubmissionError(Exception):
    """The submission can't be graded; the message is for the student."""


# --- building the zips ------------------------------------------------------------------------------

def _normalise(name):
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503


def grading_requirements(requirements_txt=None):
    """The text of the zip's requirements.txt: the CPU index, then the pins of GRADING_PACKAGES."""
    path = Path(requirements_txt or PROJECT / "requirements.txt")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise BuildError(f"cannot read the grading pins from {path}: {err.strerror or err}") from None
    pins = {}
    for raw in lines:
        line = raw.split("#", 1)[0].strip()
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;]+)", line)
        if match:
            pins[_normalise(match[1])] = f"{match[1]}=={match[2]}"
    missing = [name for name in GRADING_PACKAGES if _normalise(name) not in pins]
    if missing:
        raise BuildError(f"{path} pins no exact version (name==version) of: {', '.join(missing)}")
    return "\n".join([
        "# Made by `python -m autograder gradescope` from the course's requirements.txt: what grading needs.",
        f"--extra-index-url {TORCH_INDEX}",
        *(pins[_normalise(name)] for name in GRADING_PACKAGES),
    ]) + "\n"


SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (made by `python -m autograder gradescope`).
# It installs everything grading needs, so grading itself never uses the network.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SRC="$ROOT/source"
VENV="$ROOT/venv"

if [ -z "${AUTOGRADER_SKIP_INSTALL:-}" ]; then  # set it only to try the permissions below without installing
    export DEBIAN_FRONTEND=noninteractive
    PY=python3
    if ! python3 -c 'import sys; sys.exit(sys.version_info < (@MIN_PYTHON@))' 2>/dev/null; then
        PY=python@MIN_PYTHON_DOTTED@  # an older image (Ubuntu 22.04): its universe has this one
    fi
    apt-get update -q
    apt-get install -y -q --no-install-recommends "$PY" "$PY-venv"
    "$PY" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --no-cache-dir -q --upgrade pip
    "$VENV/bin/python" -m pip install --no-cache-dir -r "$SRC/requirements.txt"
    # Import once now: compiled bytecode and matplotlib's font cache, not at each submission.
    MPLBACKEND=Agg "$VENV/bin/python" -c 'import torch, matplotlib.pyplot, nbgrader, nbclient, ipykernel'
fi

# The instructor notebooks hold the solutions and hidden tests: root only.
chown -R root:root "$SRC/source" 2>/dev/null || true
chmod -R go-rwx "$SRC/source"
chmod 755 "$SRC/run_autograder"
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for each submission (made by `python -m autograder gradescope`).
# Grades the notebook in $ROOT/submission and writes $ROOT/results/results.json, whatever happens.
set -u
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SRC="$ROOT/source"
RESULTS="$ROOT/results/results.json"
export AUTOGRADER_TIMEOUT="${AUTOGRADER_TIMEOUT:-@TIMEOUT@}"
export AUTOGRADER_DEADLINE="${AUTOGRADER_DEADLINE:-@DEADLINE@}"
PYTHON="$ROOT/venv/bin/python"  # made by setup.sh
[ -x "$PYTHON" ] || PYTHON=python3

mkdir -p "$ROOT/results"
rm -f "$RESULTS"
cd "$SRC" && PYTHONPATH="$SRC" "$PYTHON" -m autograder gradescope-run --assignment @ASSIGNMENT@ --root "$ROOT"@REQUIRE@
echo "run_autograder: the runner exited with status $?"

# The runner writes results.json itself, even when grading fails; this is for a runner that could not start.
if [ ! -s "$RESULTS" ]; then
    printf '%s\n' '{"score": 0.0, "output": "The autograder could not run (an internal error, not your notebook). Please tell your instructor.", "visibility": "visible", "stdout_visibility": "hidden", "tests": []}' > "$RESULTS"
fi
"""


def _script(template, **values):
    text = template
    for key, value in values.items():
        text = text.replace(f"@{key}@", str(value))
    left = re.findall(r"@[A-Z_]+@", text)
    assert not left, f"unfilled placeholders {left}"
    return text


def setup_sh():
    return _script(SETUP_SH, MIN_PYTHON=", ".join(map(str, MIN_PYTHON)),
                   MIN_PYTHON_DOTTED=".".join(map(str, MIN_PYTHON)))


def run_autograder_sh(assignment, timeout=DEFAULT_TIMEOUT, deadline=DEFAULT_DEADLINE, require_isolation=False):
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", assignment):
        raise BuildError(f"assignment name {assignment!r}: use letters, digits, '_', '-' and '.' only")
    return _script(RUN_AUTOGRADER, ASSIGNMENT=assignment, TIMEOUT=int(timeout), DEADLINE=int(deadline),
                   REQUIRE=" --require-isolation" if require_isolation else "")


def _package_files():
    """(path in the zip, file) for the autograder package: every file but caches."""
    files = []
    for path in sorted(PACKAGE.rglob("*")):
        rel = path.relative_to(PROJECT)
        if path.is_file() and "__pycache__" not in rel.parts and path.suffix not in (".pyc", ".pyo"):
            files.append((rel.as_posix(), path))
    return files


def _assignment_files(course_dir, assignment):
    folder = Path(course_dir) / "source" / assignment
    files = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(course_dir)
        if path.is_file() and not any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
            files.append((rel.as_posix(), path))
    return files


def _add(archive, name, data, executable=False):
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = ((0o100755 if executable else 0o100644) << 16)
    info.create_system = 3  # unix: the mode bits above count
    archive.writestr(info, data)


def build_zip(course_dir, assignment, out_dir, timeout=DEFAULT_TIMEOUT, deadline=DEFAULT_DEADLINE,
              require_isolation=False, roster=None):
    """Write autograder-<assignment>.zip into out_dir; return its path.

    roster: the class list's bytes, bundled only when the assignment is a course test (student ids).
    """
    from . import course, student_ids

    if roster is not None:
        source = course.read_notebook(Path(course_dir) / "source" / assignment / f"{assignment}.ipynb")
        roster = roster if student_ids.uses_ids(source) else None
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"autograder-{assignment}.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        _add(archive, "setup.sh", setup_sh(), executable=True)
        _add(archive, "run_autograder", run_autograder_sh(assignment, timeout, deadline, require_isolation),
             executable=True)
        _add(archive, "requirements.txt", grading_requirements())
        for name, path in _package_files() + _assignment_files(course_dir, assignment):
            _add(archive, name, path.read_bytes())
        if roster is not None:
            _add(archive, ROSTER, roster)
    tmp = target.with_suffix(".zip.tmp")
    tmp.write_bytes(buffer.getvalue())
    tmp.replace(target)
    return target


def build(course_dir=None, assignments=(), out_dir=DEFAULT_OUT, timeout=DEFAULT_TIMEOUT, deadline=DEFAULT_DEADLINE,
          require_isolation=False, roster=None):
    """Build one zip per assignment (all of the course's when none are named); return their paths.

    roster: a class list CSV, checked here and bundled into the course test's zip.
    """
    from . import course, exports
    from .errors import GraderError

    data = None
    if roster is not None:
        try:
            exports.read_roster(roster)
        except exports.RosterError as err:
            raise BuildError(str(err)) from None
        data = Path(roster).read_bytes()

    try:
        root = course.find_course(course_dir)
    except GraderError as err:
        raise BuildError(str(err)) from None
    available = course.assignments(root)
    unknown = [a for a in assignments if a not in available]
    if unknown:
        raise BuildError(f"unknown assignment {', '.join(unknown)}; this course has: {', '.join(available)}")
    grading_requirements()  # fail before writing anything
    return [build_zip(root, a, out_dir, timeout, deadline, require_isolation, data) for a in (assignments or available)]


# --- the runner (run_autograder) ----------------------------------------------------------------------

def _env_seconds(name, default):
    value = os.environ.get(name, "").strip()
    try:
        seconds = int(value)
    except ValueError:
        if value:
            print(f"gradescope-run: ignoring {name}={value!r} (not a whole number of seconds)")
        return default
    return seconds if seconds > 0 else default


def _listing(paths, root, limit=10):
    names = [p.relative_to(root).as_posix() for p in paths[:limit]]
    return ", ".join(names) + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


def find_submission(submission_dir, assignment):
    """The notebook to grade in `submission_dir`, or SubmissionError saying why there is none."""
    from .course import assignment_from_filename

    submission_dir = Path(submission_dir)
    if not submission_dir.is_dir():
        raise SubmissionError("No submission was found. Upload your notebook "
                              f"({assignment}.ipynb) and submit again.")
    base = submission_dir.resolve()
    everything, notebooks = [], []
    for path in sorted(submission_dir.rglob("*")):
        rel = path.relative_to(submission_dir)
        if any(part.startswith(".") or part == "__MACOSX" for part in rel.parts):
            continue  # .ipynb_checkpoints, macOS resource forks
        if path.is_file() or path.is_symlink():
            everything.append(path)
            if path.suffix.lower() == ".ipynb":
                notebooks.append(path)
    if not notebooks:
        got = f" Your submission holds: {_listing(everything, submission_dir)}." if everything else \
            " Your submission is empty."
        raise SubmissionError(f"No Jupyter notebook (.ipynb file) was found.{got} "
                              f"Upload your notebook ({assignment}.ipynb) and submit again.")
    if len(notebooks) > 1:
        exact = [p for p in notebooks if p.stem.lower() == assignment.lower()]
        named = [p for p in notebooks if assignment_from_filename(p.name, [assignment]) == assignment]
        chosen = exact if len(exact) == 1 else named
        if len(chosen) != 1:
            raise SubmissionError(f"Your submission holds {len(notebooks)} notebooks "
                                  f"({_listing(notebooks, submission_dir)}) and the grader cannot tell which "
                                  f"one to grade. Submit only your {assignment}.ipynb.")
        notebooks = chosen
    notebook = notebooks[0]
    if notebook.is_symlink() or not notebook.is_file() or base not in notebook.resolve().parents:
        raise SubmissionError(f"{notebook.name} is a link, not a notebook. Upload the notebook file itself.")
    return notebook


def _descendants(pid):
    """Every process below `pid` (Linux /proc; empty elsewhere)."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            ppid = int(text[text.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kill_tree(process):
    """Kill the grader and everything it started (kernels start their own sessions)."""
    pids = _descendants(process.pid)
    for kill in [lambda: os.killpg(process.pid, signal.SIGKILL)] + \
                [lambda pid=pid: os.kill(pid, signal.SIGKILL) for pid in pids]:
        try:
            kill()
        except OSError:
            pass


def _call_grader(notebook, course_dir, assignment, timeout, deadline, require_isolation=False, student=None):
    """(exit code or None when past the deadline, stdout, stderr) of `python -m autograder grade --json`."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PROJECT)  # this very package, wherever the zip was unpacked
    command = [sys.executable, "-m", "autograder", "grade", str(notebook), "--json",
               "--assignment", assignment, "--course", str(course_dir), "--timeout", str(timeout)]
    if require_isolation:
        command.append("--require-isolation")
    if student:
        command += ["--student-id", student]
    with tempfile.TemporaryDirectory(prefix="gradescope-") as cwd:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, start_new_session=True)
        try:
            out, err = process.communicate(timeout=deadline)
            code = process.returncode
        except subprocess.TimeoutExpired:
            _kill_tree(process)
            out, err = process.communicate()
            code = None
        finally:
            _kill_tree(process)  # nothing it started outlives it
    return code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def _grader_message(stderr):
    """The one line a GraderError leaves on stderr (`autograder: ...`)."""
    lines = [line[len("autograder: "):] for line in stderr.splitlines() if line.startswith("autograder: ")]
    return lines[-1].strip() if lines else ""


def _number(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise ValueError(f"{what} is not a number: {value!r}")
    return float(value)


def self_check(test):
    """(status, output) of the visible check inside a graded test's output.

    A test cell runs `check(...)` first: it prints "Correct! (qid)" or raises with its hint,
    which stops the cell before the hidden tests run. So an output without that line is the
    visible check's own failure, and one with it passed, whatever the hidden tests said after.
    """
    output = test["output"]
    if test["status"] == "passed":
        return "passed", output
    for line in output.splitlines():
        if line.startswith(CORRECT_PREFIX):
            return "passed", line
    return "failed", output or "The check did not pass."


def results_from(graded, assignment, notebook_name, hidden=()):
    """Gradescope's results.json from `python -m autograder grade --json` output (see the module docstring)."""
    from .scoring import MANUAL, WITHHELD, quotes_hidden

    def safe(text):
        return WITHHELD if quotes_hidden(text, hidden) else text

    if not isinstance(graded, dict) or not isinstance(graded.get("tests"), list):
        raise ValueError("the grader's JSON has no list of tests")
    tests, score, max_score = [], 0.0, 0.0
    for number, test in enumerate(graded["tests"], 1):
        if not isinstance(test, dict):
            raise ValueError(f"test {number} of the grader's JSON is not an object")
        name = str(test.get("name") or f"test {number}")
        points = _number(test.get("score"), f"{name}: score")
        out_of = _number(test.get("max_score"), f"{name}: max_score")
        status = "passed" if test.get("status") == "passed" else "failed"
        output = safe(str(test.get("output") or ""))
        info = test.get("extra_data") if isinstance(test.get("extra_data"), dict) else {}
        if output != MANUAL:
            check_status, check_output = self_check({"status": status, "output": output})
            tests.append({"name": SELF_CHECK.format(name=name), "score": 0.0, "max_score": 0.0,
                          "status": check_status, "output": check_output, "visibility": "visible"})
        context = " ".join(text.format(info[key]) for key, text in
                           (("title", "{}."), ("answer", "Your answer: {}."), ("verdict", "Verdict: {}."))
                           if isinstance(info.get(key), str) and info[key])
        tests.append({"name": name, "score": points, "max_score": out_of, "status": status,
                      "output": safe(f"{context}\n{output}" if context else output),
                      "visibility": GRADED_VISIBILITY})
        score, max_score = score + points, max_score + out_of
    summary = (f"{notebook_name} was graded as {assignment}. The self-checks below are the checks your "
               f"notebook runs itself (no points). The graded tests and your score (out of {max_score:g}) "
               "appear when your instructor publishes the grades.")
    extra = graded.get("extra_data") if isinstance(graded.get("extra_data"), dict) else {}
    if isinstance(extra.get("note"), str) and extra["note"]:
        summary += f"\n\nNote: {extra['note']}"
    results = {"score": score, "output": safe(summary), "visibility": "visible",
               "stdout_visibility": "hidden", "tests": tests}
    if extra:  # instructors only: Gradescope never shows extra_data to students
        results["extra_data"] = extra
    return results


def failure(message):
    """results.json for a submission that could not be graded: score 0 and why, shown at once."""
    return {"score": 0.0, "output": message, "visibility": "visible", "stdout_visibility": "hidden", "tests": []}


INTERNAL = ("The autograder failed on this submission (an internal error, not necessarily your notebook). "
            "Please submit again; if it happens again, tell your instructor.")


def _hidden_lines(source_notebook):
    from .course import read_notebook
    from .scoring import graded_cells

    return tuple(line for cell in graded_cells(read_notebook(source_notebook)) for line in cell.hidden)


# Bundled by `gradescope --roster` into the zip's hidden source/ (student code never sees it): maps a
# submitter's email to their student id, for a course test whose Gradescope users have no sid.
ROSTER = "source/roster.csv"


def submitter(root, course_dir):
    """(the first submitter's student id or None, a note or None) from Gradescope's submission_metadata.json.

    Gradescope lists every member of a group submission; the group is graded as its first member
    (the test each member sees is their own, so a group should hand in that member's notebook).
    """
    from . import exports, student_ids

    roster = {}
    if (Path(course_dir) / ROSTER).is_file():
        try:
            roster = {s.email.lower(): s.student_id for s in exports.read_roster(Path(course_dir) / ROSTER) if s.email}
        except exports.RosterError as err:
            print(f"gradescope-run: {err}")
    return student_ids.gradescope_submitter(Path(root) / "submission_metadata.json", roster)


def grade_submission(root, assignment, timeout, deadline, require_isolation=False):
    """The results.json object for the submission under `root` (an /autograder-like folder)."""
    from . import course

    course_dir = root / "source"
    sources = course.assignments(course_dir)
    if assignment not in sources:
        print(f"gradescope-run: no source/{assignment}/{assignment}.ipynb in {course_dir}")
        return failure(INTERNAL)
    try:
        notebook = find_submission(root / "submission", assignment)
    except SubmissionError as err:
        print(f"gradescope-run: {err}")
        return failure(str(err))
    hidden = _hidden_lines(sources[assignment])  # read (and every module imported) before student code runs
    student, group_note = submitter(root, course_dir)
    if group_note:
        print(f"gradescope-run: {group_note}")
    print(f"gradescope-run: grading {notebook} as {assignment} (cells {timeout} s, notebook {deadline} s)")
    started = time.monotonic()
    code, out, err = _call_grader(notebook, course_dir, assignment, timeout, deadline, require_isolation, student)
    print(f"gradescope-run: grader exit status {code} after {time.monotonic() - started:.1f} s")
    if err.strip():
        print("gradescope-run: grader's stderr:\n" + err[-20000:])
    if code is None:
        return failure(f"Grading stopped after {deadline} s: your notebook takes too long to run. Make sure "
                       "every cell finishes in a few seconds (look for a loop that never ends), then submit again.")
    if code == 2 and _grader_message(err).startswith(SELF_TEST_FAILED):
        return failure("The autograder failed its own self-test, so it graded nothing: this is not your "
                       "notebook's fault. Please tell your instructor; you don't need to submit again. "
                       f"(Details: {_grader_message(err)})")
    if code == 2 and _grader_message(err).startswith(REFUSED):
        return failure("The autograder refused to grade on this machine: it could not keep student code away "
                       "from the hidden tests. This is not your notebook's fault; please tell your instructor. "
                       f"(Details: {_grader_message(err)})")
    if code == 2:  # the input can't be graded: the grader says why in one line
        message = (_grader_message(err) or f"{notebook.name} could not be graded").rstrip(".")
        return failure(f"{message}. Upload your {assignment}.ipynb as Jupyter or Colab saved it, and submit again.")
    if code != 0:
        return failure(INTERNAL)
    try:
        graded = json.loads(out)
        if group_note and isinstance(graded, dict):
            extra = graded.setdefault("extra_data", {})
            if isinstance(extra, dict):
                extra["note"] = "; ".join(n for n in (extra.get("note"), group_note) if n)
        return results_from(graded, assignment, notebook.name, hidden)
    except ValueError as error:
        print(f"gradescope-run: unusable grader output ({error}):\n{out[-5000:]}")
        return failure(INTERNAL)


def write_results(path, results):
    """Write results.json atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def run(root=None, assignment=None, require_isolation=False):
    """What run_autograder does: grade, then write results.json; never raises for a bad submission."""
    started = time.monotonic()
    root = Path(root or os.environ.get("AUTOGRADER_ROOT") or "/autograder")
    timeout = _env_seconds("AUTOGRADER_TIMEOUT", DEFAULT_TIMEOUT)
    deadline = _env_seconds("AUTOGRADER_DEADLINE", DEFAULT_DEADLINE)
    print(f"gradescope-run: autograder package {PACKAGE}, Python {sys.version.split()[0]}, root {root}")
    try:
        results = grade_submission(root, assignment, timeout, deadline, require_isolation)
    except Exception:  # whatever it is, the student still gets a results.json
        traceback.print_exc(file=sys.stdout)
        results = failure(INTERNAL)
    results["execution_time"] = int(round(time.monotonic() - started))
    write_results(root / "results" / "results.json", results)
    print(f"gradescope-run: score {results['score']:g}, results in {root / 'results' / 'results.json'}")
    sys.stdout.flush()
    return 0


# --- command line -------------------------------------------------------------------------------------

def add_commands(commands, positive):
    """Add `gradescope` and `gradescope-run` to the CLI's subparsers (`positive`: its seconds type)."""
    b = commands.add_parser("gradescope", help="build Gradescope autograder zips",
                            description="Build autograder-<assignment>.zip for Gradescope (setup.sh, run_autograder, "
                                        "this package, the assignment's source notebook, the pinned requirements).")
    b.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: every assignment in source/")
    b.add_argument("--out", default=str(DEFAULT_OUT), help=f"folder for the zips (default {DEFAULT_OUT})")
    b.add_argument("--course", help="the course directory (default: the current directory)")
    b.add_argument("--timeout", type=positive, default=DEFAULT_TIMEOUT,
                   help=f"seconds each cell may run on Gradescope (default {DEFAULT_TIMEOUT})")
    b.add_argument("--deadline", type=positive, default=DEFAULT_DEADLINE,
                   help=f"seconds a whole notebook may run on Gradescope (default {DEFAULT_DEADLINE}); keep it "
                        "below the assignment's autograder timeout")
    b.add_argument("--require-isolation", action="store_true",
                   help="the zip refuses to grade (results.json says why) unless student code is shown unable "
                        "to read the hidden tests")
    b.add_argument("--roster", help="the class list (CSV with student_id and email): bundled into the course "
                                    "test's zip, so a submitter whose Gradescope account has no student id is "
                                    "graded as the id their email maps to")
    b.set_defaults(handler=build_command)

    r = commands.add_parser("gradescope-run", help="what run_autograder runs on Gradescope",
                            description="Grade $AUTOGRADER_ROOT/submission (default /autograder) and write "
                                        "results/results.json there, as Gradescope expects.")
    r.add_argument("--assignment", required=True)
    r.add_argument("--root", help="default: $AUTOGRADER_ROOT, else /autograder")
    r.add_argument("--require-isolation", action="store_true",
                   help="refuse to grade unless student code is shown unable to read the hidden tests")
    r.set_defaults(handler=run_command)


def build_command(args):
    try:
        paths = build(args.course, args.assignments, args.out, args.timeout, args.deadline, args.require_isolation,
                      args.roster)
    except BuildError as err:
        print(f"autograder: {err}", file=sys.stderr)
        return err.exit_code
    for path in paths:
        print(path)
    return 0


def run_command(args):
    return run(args.root, args.assignment, args.require_isolation)
