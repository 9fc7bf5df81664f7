"""`python -m autograder grade-all DIR --out OUT`: grade a whole folder of submissions in parallel.

Layouts of DIR (both may be mixed):

- nbgrader's `submitted/`: `DIR/<student>/<assignment>/<file>` (and nbgrader's `timestamp.txt`
  there, which becomes the CSV's timestamp). The folder names the assignment; with
  --assignment only that assignment's folders are graded. A folder that is not an
  assignment of the course leaves the assignment to the file (its name, then its cells).
  Files straight in a student's folder (`DIR/<student>/<file>`) are that student's too.
- flat: `DIR/<file>`. The student id is the file name without its extension, the assignment
  name (--assignment, else the one course assignment the name holds as a whole word) and
  copy decorations ("Copy of ", " (1)", "-Copy1", " - Copy"), with the separators `_ - .`
  and spaces around them: `alice_01_syntax.ipynb` and `01_syntax - bob.ipynb` give alice and
  bob; `carol.ipynb` gives carol (assignment from --assignment, else from its cells). A name
  that is nothing but decorations keeps its stem as the id.

What counts as a submission: every file of those folders except hidden files (".*"),
`timestamp.txt`, `Thumbs.db`, `desktop.ini` and folders such as `.ipynb_checkpoints` or
`__MACOSX`; deeper folders are not searched. A submission is *ungradable* (recorded with
score 0, `flagged` and its reason; exit code 1) when it is not a `.ipynb` file (a .txt, a .zip:
nothing is unpacked or guessed), is a `.ipynb` that is not a notebook, matches no assignment,
is a link or not a regular file, or is larger than MAX_SUBMISSION_BYTES.
One result per student and assignment: when several files map to the same one (a renamed
copy next to the original, a .zip next to the notebook), the grader keeps a gradable
notebook over an ungradable file, then the file named exactly `<assignment>.ipynb`, then the
newest; the others are listed in the result's "ignored" and logged, not graded.

A submission the grader itself failed on (a worker crashed or overran every deadline:
engine.failed_results) is recorded with its zero scores, flagged, and without a cache key,
so the next run grades it again; it counts as ungradable for the exit code.

Steps: discover and prepare in this process (pipeline.prepare: no student code runs here),
skip what the cache says is unchanged, grade the rest through engine.Engine (workers run the
code), write each result as it arrives (outputs.write_atomic: an interrupted run keeps what
it finished), then rebuild the course-wide files from every result in OUT.

Cache: a result's "key" hashes the submission's bytes, the assignment's tests (the source
notebook's protected cells and the nbgrader metadata of its graded cells: see tests_digest),
the assignment's name and CACHE_VERSION with the engine's version. A rerun skips a
submission whose result file holds the same key (unless force); fixing a test in source/
changes the key of that assignment's submissions only.
"""
import hashlib
import json
import logging
import os
import re
import shutil
import stat
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from . import DEFAULT_TIMEOUT, course, outputs
from .errors import GraderError

log = logging.getLogger("autograder.batch")

CACHE_VERSION = "2"  # bump when what is graded or written for a submission changes
MAX_SUBMISSION_BYTES = 50 * 2**20
IGNORED_NAMES = {"timestamp.txt", "thumbs.db", "desktop.ini", "__macosx", ".ipynb_checkpoints", "__pycache__"}
UNKNOWN_ASSIGNMENT = "unknown"
GRADER_FAILED = "GraderError:"  # how engine.failed_results starts every test's output
# A record's "status": graded, graded but flagged for a look, not gradable, or the grader failed on it.
GRADED, FLAGGED, UNGRADABLE, GRADER_FAILED_STATUS = "graded", "flagged", "ungradable", "grader failed"
NO_STUDENT_ID = outputs.NO_STUDENT_ID  # graded and kept in flagged.csv, but no student (outputs.has_student_id)


@dataclass
class Submission:
    path: Path
    student: str
    assignment: str = None  # from the layout (or --assignment); after preparing, the job's
    timestamp: str = ""
    mtime: float = 0.0
    digest: str = ""  # sha256 of the file's bytes
    key: str = ""
    job: object = None  # pipeline.Job once prepared
    reason: str = ""  # why it can't be graded ("" = gradable as far as known)
    cached: dict = None  # the result record in OUT when its key is this submission's
    ignored: list = field(default_factory=list)  # other files for the same student and assignment
    forced: bool = False  # the assignment was given (--assignment): the notebook's cells can't overrule it
    flags: list = field(default_factory=list)  # graded, but worth a look: why (a renamed notebook, no student id)

    @property
    def flagged(self):
        return bool(self.reason or self.flags) or bool(self.cached and self.cached.get("flagged"))

    @property
    def ungradable(self):
        return bool(self.reason) or bool(self.cached and self.cached.get("status") in (UNGRADABLE, GRADER_FAILED_STATUS))


# --- discovery ---------------------------------------------------------------------------------------

def _skipped(path):
    return path.name.startswith(".") or path.name.lower() in IGNORED_NAMES


def _is_dir(path):
    return path.is_dir() and not path.is_symlink()


def _entries(folder):
    try:
        return sorted(p for p in folder.iterdir() if not _skipped(p))
    except OSError as err:
        log.warning("cannot list %s: %s", folder, err.strerror or err)
        return []


def _word(name):
    return re.compile(rf"(?<![a-z0-9]){re.escape(name.lower())}(?![a-z0-9])")


_COPY_DECORATIONS = (
    re.compile(r"^\s*copy\s+of\s+", re.I),  # Google Drive, Colab
    re.compile(r"\s*\((?:\d+|copy(?:\s*\d+)?)\)", re.I),  # browsers, file managers: "x (1)", "x (copy)"
    re.compile(r"(?:(?<=^)|(?<=[\s_.-]))copy\s*\d*(?=$|[\s_.-])", re.I),  # Jupyter "x-Copy1", "x - Copy", "x copy"
)
_SEPARATORS = " \t_-."


def _stem(filename):
    stem = Path(filename).stem
    return stem[:-4] if stem.lower().endswith(".tar") else stem


class FlatName(NamedTuple):
    student: str
    assignment: str  # or None
    id_found: bool   # False: nothing but the assignment and copy marks; the id is the whole stem


def parse_flat_name(filename, names, assignment=None):
    """FlatName(student id, assignment or None, id_found) of a file in a flat folder (see the module's docstring)."""
    stem = _stem(filename)
    low = stem.lower()
    found = None
    if assignment is not None:
        match = _word(assignment).search(low)
        found = (assignment, match)
    else:
        hits = [(name, _word(name).search(low)) for name in names]
        hits = [(name, m) for name, m in hits if m]
        # "02_shapes" inside "x_02_shapes_v2" is one hit; two different names are no guess.
        if len({name for name, _ in hits}) == 1:
            found = hits[0]
    pieces = [stem]
    if found and found[1]:
        m = found[1]
        pieces = [stem[:m.start()], stem[m.end():]]
    cleaned = []
    for piece in pieces:
        for pattern in _COPY_DECORATIONS:
            piece = pattern.sub(" ", piece)
        piece = piece.strip(_SEPARATORS)
        if piece:
            cleaned.append(piece)
    student = "_".join(cleaned) or stem.strip() or filename
    return FlatName(student, found[0] if found else None, bool(cleaned))


def _timestamp(folder):
    """The first line of nbgrader's timestamp.txt in `folder` ("" when there is none)."""
    path = folder / "timestamp.txt"
    if not path.is_file() or path.is_symlink():
        return ""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read(200).strip().splitlines()
    except OSError:
        return ""
    return lines[0].strip()[:64] if lines else ""


def discover(root, names, assignment=None, exclude=()):
    """Every Submission under `root` (both layouts); `names`: the course's assignments."""
    root = Path(root)
    excluded = {Path(p).resolve() for p in exclude}
    by_lower = {name.lower(): name for name in names}
    found = []

    def add(path, student, hint, timestamp="", flags=()):
        try:
            mtime = path.lstat().st_mtime
        except OSError:
            mtime = 0.0
        found.append(Submission(path, student, hint, timestamp, mtime, forced=assignment is not None,
                                flags=list(flags)))

    for entry in _entries(root):
        if entry.resolve() in excluded:
            continue
        if not _is_dir(entry):
            student, hint, id_found = parse_flat_name(entry.name, names, assignment)
            add(entry, student, hint, flags=() if id_found else [NO_STUDENT_ID])
            continue
        student = entry.name
        for sub in _entries(entry):
            if sub.resolve() in excluded:
                continue
            if not _is_dir(sub):  # a file straight in the student's folder
                hint = assignment or course.assignment_from_filename(sub.name, names)
                add(sub, student, hint)
                continue
            folder_assignment = by_lower.get(sub.name.lower())
            if assignment is not None and (folder_assignment or sub.name) != assignment:
                continue  # nbgrader: another assignment's folder
            stamp = _timestamp(sub)
            for path in _entries(sub):
                if _is_dir(path):
                    log.info("%s: folders inside an assignment folder are not searched", path)
                    continue
                add(path, student, folder_assignment or assignment, stamp)
    return found


# --- preparing (no student code runs here) ---------------------------------------------------------

class Assignments:
    """The course's assignments, each source notebook read once: tests digest, graded cells, points."""

    def __init__(self, root):
        self.root = root
        self.paths = course.assignments(root)
        self._info = {}

    @property
    def names(self):
        return list(self.paths)

    def info(self, name):
        if name not in self._info:
            from . import scoring

            source = course.read_notebook(self.paths[name])
            graded = scoring.graded_cells(source)
            self._info[name] = {"source": source, "digest": tests_digest(source), "graded": graded,
                                "max_score": sum(g.points for g in graded)}
        return self._info[name]

    def sources(self):
        return {name: self.info(name)["source"] for name in self.paths}


def tests_digest(source):
    """sha256 of what grading a submission of `source` depends on: every protected cell (checks
    cell, test cells with their hidden tests, locked cells) and the nbgrader metadata of every
    graded or protected cell (points, grade ids). Editing a solution or the prose changes nothing."""
    from . import cells as utils

    h = hashlib.sha256()
    for cell in source.cells:
        gid = course.grade_id(cell)
        if not gid:
            continue
        protected = utils.is_locked(cell)
        item = [gid, cell.get("cell_type"), cell.get("source") if protected else None,
                cell.metadata.get("nbgrader")]
        h.update(json.dumps(item, sort_keys=True, default=str).encode())
        h.update(b"\0")
    return h.hexdigest()


def engine_version():
    """The engine's own version constant, if it has one (part of every cache key)."""
    try:
        from . import engine
    except ImportError:
        return ""
    return str(getattr(engine, "ENGINE_VERSION", getattr(engine, "VERSION", "")))


def cache_key(digest, assignment, tests, engine=""):
    text = f"{CACHE_VERSION}|{engine}|{assignment or ''}|{digest}|{tests}"
    return hashlib.sha256(text.encode()).hexdigest()


def _read(sub):
    """Hash the file's bytes; set sub.reason when it can't be a submission at all."""
    try:
        st = os.lstat(sub.path)
    except OSError as err:
        sub.reason = f"cannot read {sub.path.name}: {err.strerror or err}"
        return
    if stat.S_ISLNK(st.st_mode):
        sub.reason = f"{sub.path.name} is a link, not a file"
        sub.digest = hashlib.sha256(os.readlink(sub.path).encode(errors="replace")).hexdigest()
        return
    if not stat.S_ISREG(st.st_mode):
        sub.reason = f"{sub.path.name} is not a regular file"
        return
    if st.st_size > MAX_SUBMISSION_BYTES:
        sub.reason = (f"{sub.path.name} is too large ({st.st_size / 2**20:.0f} MB; "
                      f"the limit is {MAX_SUBMISSION_BYTES // 2**20} MB)")
        return
    h = hashlib.sha256()
    try:
        with open(sub.path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError as err:
        sub.reason = f"cannot read {sub.path.name}: {err.strerror or err}"
        return
    sub.digest = h.hexdigest()
    if sub.path.suffix.lower() != ".ipynb":
        kind = f"a {sub.path.suffix} file" if sub.path.suffix else "a file without an extension"
        sub.reason = f"{sub.path.name} is not a notebook ({kind}): submit the .ipynb file"


def safe_name(text):
    """A file or folder name for `text` (a student id, an assignment): unsafe characters replaced,
    and a short hash added when anything was changed, so two ids never share a folder."""
    safe = re.sub(r"[^\w.@+-]", "_", text)[:80].lstrip(".") or "_"
    if safe != text:
        safe += "-" + hashlib.sha256(text.encode(errors="replace")).hexdigest()[:8]
    return safe


def result_path(out, sub):
    folder = Path(out) / safe_name(sub.student)
    if sub.assignment:
        return folder / f"{safe_name(sub.assignment)}.json"
    return folder / f"{UNKNOWN_ASSIGNMENT}-{safe_name(sub.path.name)}.json"


def _set_key(sub, assignments, engine):
    tests = assignments.info(sub.assignment)["digest"] if sub.assignment in assignments.paths else ""
    sub.key = cache_key(sub.digest, sub.assignment, tests, engine)


def _check_cache(sub, out):
    record = outputs.read_record(result_path(out, sub))
    if record is not None and record.get("key") == sub.key and result_path(out, sub).with_suffix(".html").is_file():
        sub.cached = record


def prepare_all(subs, assignments, out, force=False, engine=""):
    """Prepare every submission: read, cache lookup, restore (pipeline.prepare). Never raises for a file."""
    from . import pipeline

    for sub in subs:
        _read(sub)
        if sub.assignment is not None or sub.reason:
            _set_key(sub, assignments, engine)  # known before parsing: a cached one is not even parsed
            if not force:
                _check_cache(sub, out)
        if sub.cached is not None or sub.reason:
            continue
        try:
            sub.job = pipeline.prepare(sub.path, assignments.root, sub.assignment if sub.forced else None,
                                       assignments.sources(), named=None if sub.forced else sub.assignment,
                                       student=None if NO_STUDENT_ID in sub.flags else sub.student)
        except GraderError as err:
            sub.reason = str(err)
        except Exception as err:  # one odd file must not stop the batch
            log.debug("preparing %s failed", sub.path, exc_info=True)
            sub.reason = f"{sub.path.name} could not be read as a submission ({type(err).__name__})"
        if sub.job is not None:
            if sub.job.note:
                sub.flags.append(sub.job.note)
            if sub.job.assignment == sub.assignment:
                continue
            sub.assignment = sub.job.assignment  # found by pipeline.prepare from the notebook's cells
        _set_key(sub, assignments, engine)
        if not force:
            _check_cache(sub, out)
            if sub.cached is not None:
                sub.job = None


def _rank(sub):
    exact = sub.path.name.lower() == f"{(sub.assignment or '').lower()}.ipynb"
    return (not sub.ungradable, exact, sub.mtime, sub.path.name)


def choose(subs):
    """One submission per student and assignment (see the module's docstring); the rest go in its .ignored."""
    groups = {}
    for sub in subs:
        key = (sub.student, sub.assignment) if sub.assignment else (sub.student, None, str(sub.path))
        groups.setdefault(key, []).append(sub)
    chosen = []
    for group in groups.values():
        group.sort(key=_rank, reverse=True)
        best = group[0]
        best.ignored = [str(s.path) for s in group[1:]]
        for other in group[1:]:
            log.warning("%s: not graded: %s is %s's submission of %s", other.path, best.path.name,
                        best.student, best.assignment)
        chosen.append(best)
    return chosen


# --- results -----------------------------------------------------------------------------------------

def _safe_tests(results, graded):
    """Gradescope test dicts; an output that quotes a hidden-test line is withheld (defence in depth)."""
    from . import scoring

    hidden = {g.grade_id: g.hidden for g in graded}
    tests = []
    for r in results:
        t = r.as_dict() if hasattr(r, "as_dict") else dict(r)
        if scoring.quotes_hidden(str(t.get("output") or ""), hidden.get(t.get("name"), ())) \
                or "BEGIN HIDDEN TESTS" in str(t.get("output") or ""):
            t["output"] = scoring.WITHHELD
        tests.append(t)
    return tests


def make_record(sub, assignments, results=None):
    status = GRADED
    if results is None:
        max_score = assignments.info(sub.assignment)["max_score"] if sub.assignment in assignments.paths else 0.0
        record = {"score": 0.0, "max_score": float(max_score), "output": f"Not graded: {sub.reason}", "tests": []}
        status = UNGRADABLE
    else:
        tests = _safe_tests(results, sub.job.graded)
        record = {"score": float(sum(t["score"] for t in tests)),
                  "max_score": float(sum(t["max_score"] for t in tests)), "tests": tests}
        if tests and all(str(t.get("output") or "").startswith(GRADER_FAILED) for t in tests):
            # engine.failed_results: the grader, not the student, failed. Flagged, and no cache key,
            # so the next run grades it again.
            sub.reason = tests[0]["output"][len(GRADER_FAILED):].strip()
            sub.key = ""
            status = GRADER_FAILED_STATUS
        elif sub.flags:
            status = FLAGGED
    reason = sub.reason or "; ".join(sub.flags)
    record.update(student=sub.student, assignment=sub.assignment or "", submission=str(sub.path),
                  status=status, flagged=status != GRADED, reason=reason, flags=list(sub.flags),
                  timestamp=sub.timestamp, key=sub.key, ignored=sub.ignored,
                  graded_at=time.strftime("%Y-%m-%d %H:%M:%S %z"))
    return record


def write_record(out, sub, record):
    """The student's feedback page, then the result JSON (written last: it marks the result done)."""
    path = result_path(out, sub)
    outputs.write_atomic(path.with_suffix(".html"), outputs.feedback_html(record))
    outputs.write_atomic(path, outputs.record_json(record))


# --- progress ----------------------------------------------------------------------------------------

class Progress:
    """A plain-text bar redrawn with \\r on a terminal; one line per result otherwise (logs, CI)."""

    def __init__(self, total, stream=None):
        self.total, self.done, self.stream = total, 0, stream or sys.stderr
        self.started = time.monotonic()
        try:
            self.tty = self.stream.isatty()
        except (AttributeError, ValueError):
            self.tty = False
        if self.tty:
            self._draw("starting the workers")

    def _draw(self, label):
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed > 0 and self.done else 0.0
        width = shutil.get_terminal_size((80, 20)).columns
        filled = int(20 * self.done / max(1, self.total))
        eta = f"ETA {(self.total - self.done) / rate:.0f}s" if rate else "ETA ?"
        line = f"[{'#' * filled}{'.' * (20 - filled)}] {self.done}/{self.total} {rate:.1f}/s {eta}  {label}"
        self.stream.write("\r" + line[:max(20, width - 1)].ljust(max(20, width - 1)))
        self.stream.flush()

    def advance(self, label):
        self.done += 1
        if self.tty:
            self._draw(label)
            if self.done >= self.total:
                self.stream.write("\n")
        else:
            self.stream.write(f"[{self.done}/{self.total}] {label}\n")
        self.stream.flush()

    def close(self):
        if self.tty and self.done < self.total:
            self.stream.write("\n")
            self.stream.flush()


# --- the command -------------------------------------------------------------------------------------

@dataclass
class Summary:
    """What a run did; every submission is in exactly one of graded, cached and ungradable."""

    submissions: int = 0
    graded: int = 0          # graded by this run (grader failures included: see failed)
    cached: int = 0          # unchanged since a previous run: its result is kept
    ungradable: int = 0      # not gradable (not a notebook, no assignment ...), found by this run
    cached_ungradable: int = 0  # of the cached ones, results that say "ungradable" or "grader failed"
    failed: int = 0          # of the graded ones, those the grader itself failed on
    flagged: int = 0         # of the graded ones, those worth a look (flagged.csv says why)
    ignored: int = 0
    wall: float = 0.0
    interrupted: bool = False

    @property
    def any_ungradable(self):
        return bool(self.ungradable or self.cached_ungradable or self.failed)

    def line(self):
        parts = [f"{self.graded} graded"]
        if self.failed:
            parts.append(f"{self.failed} of them failed by the grader (rerun to retry)")
        if self.flagged:
            parts.append(f"{self.flagged} of them flagged (see flagged.csv)")
        if self.cached:
            parts.append(f"{self.cached} unchanged and skipped"
                         + (f" ({self.cached_ungradable} of them ungradable)" if self.cached_ungradable else ""))
        parts.append(f"{self.ungradable} ungradable")
        if self.ignored:
            parts.append(f"{self.ignored} duplicate file(s) not graded")
        text = f"{self.submissions} submission(s): " + ", ".join(parts) + f"; {self.wall:.1f} s wall"
        if self.graded and self.wall > 0:
            text += f", {self.wall / self.graded:.2f} s per graded submission"
        return text


def default_workers():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return os.cpu_count() or 1


def grade_all(directory, out, course_dir=None, assignment=None, workers=None, timeout=DEFAULT_TIMEOUT,
              force=False, stream=None, require_isolation=False, roster=None, canvas=None):
    """Grade every submission under `directory` into `out`; returns a Summary (see the module's docstring).

    roster: a roster CSV (exports.read_roster); canvas: (assignment, Canvas assignment id) for canvas.csv.
    """
    started = time.monotonic()
    stream = stream or sys.stderr
    root = course.find_course(course_dir)
    assignments = Assignments(root)
    if assignment is not None and assignment not in assignments.paths:
        raise GraderError(f"unknown assignment {assignment!r}; this course has: {', '.join(assignments.names)}")
    students = None
    if canvas is not None and roster is None:
        raise GraderError("--canvas needs --roster: the roster maps student ids to Canvas's")
    if canvas is not None and canvas[0] not in assignments.paths:
        raise GraderError(f"--canvas: unknown assignment {canvas[0]!r}; this course has: {', '.join(assignments.names)}")
    if roster is not None:
        from . import exports

        try:
            students = exports.read_roster(roster)
        except exports.RosterError as err:
            raise GraderError(str(err)) from None
    directory, out = Path(directory).resolve(), Path(out).resolve()
    if not directory.is_dir():
        raise GraderError(f"submissions folder not found: {directory}")
    if out == directory or out in directory.parents:
        raise GraderError(f"--out must not be the submissions folder or contain it: {out}")
    out.mkdir(parents=True, exist_ok=True)
    outputs.remove_stale_temp_files(out)

    subs = discover(directory, assignments.names, assignment, exclude=[out])
    if not subs:
        raise GraderError(f"no submissions found in {directory}: expected DIR/<student>/<assignment>/*.ipynb "
                          "or notebooks named after the students, such as alice_01_syntax.ipynb")
    engine = engine_version()
    prepare_all(subs, assignments, out, force=force, engine=engine)
    chosen = choose(subs)
    summary = Summary(submissions=len(chosen), ignored=len(subs) - len(chosen))
    for sub in chosen:
        if sub.cached is not None:
            summary.cached += 1
            summary.cached_ungradable += sub.ungradable
        elif sub.reason:
            write_record(out, sub, make_record(sub, assignments))
            summary.ungradable += 1
            log.warning("ungradable: %s: %s", sub.path, sub.reason)
        if sub.cached is None and sub.flags and not sub.reason:
            for flag in sub.flags:
                log.warning("flagged: %s: %s", sub.path, flag)
    todo = [sub for sub in chosen if sub.job is not None and sub.cached is None]
    log.info("%d submission(s) found in %s: %d to grade, %d unchanged, %d ungradable",
             len(chosen), directory, len(todo), summary.cached, summary.ungradable)
    try:
        if todo:
            _run_engine(todo, assignments, out, directory, workers or default_workers(), timeout, summary, stream,
                        require_isolation)
    except BaseException as err:
        summary.interrupted = isinstance(err, KeyboardInterrupt)
        if summary.interrupted:
            log.warning("interrupted after %d of %d; the finished results are kept, rerun to grade the rest",
                        summary.graded, len(todo))
        try:  # what is finished is reported even so
            outputs.write_course_files(out, root, assignments.sources(), students, canvas)
        except Exception:
            log.exception("could not rebuild grades.csv and the reports (the next run will)")
        raise
    outputs.write_course_files(out, root, assignments.sources(), students, canvas)
    summary.wall = time.monotonic() - started
    log.info("%s", summary.line())
    log.info("results in %s (grades.csv, flagged.csv, mistakes.md, item_analysis.csv, report.png)", out)
    return summary


def _run_engine(todo, assignments, out, directory, workers, timeout, summary, stream, require_isolation=False):
    from . import selftest
    from .engine import Engine

    by_path = {str(sub.job.path): sub for sub in todo}
    by_id = {id(sub.job): sub for sub in todo}
    progress = Progress(len(todo), stream)
    try:
        with Engine(workers=min(workers, len(todo)), timeout=timeout, hide=[directory, out]) as engine:
            outcome = selftest.run(engine, assignments.root, selftest.checks_source(*assignments.sources().values()))
            if require_isolation:
                selftest.require_isolation(outcome)
            for job, results in engine.grade_all([sub.job for sub in todo]):
                sub = by_id.get(id(job)) or by_path[str(job.path)]
                record = make_record(sub, assignments, results)
                record["extra_data"] = {"protections": engine.protections}  # what held while it ran
                write_record(out, sub, record)
                summary.graded += 1
                if record["status"] == GRADER_FAILED_STATUS:
                    summary.failed += 1
                    log.warning("grader failure: %s: %s (rerun to grade it again)", sub.path, sub.reason)
                elif record["status"] == FLAGGED:
                    summary.flagged += 1
                progress.advance(f"{sub.student}/{sub.assignment}: {record['score']:g}/{record['max_score']:g}")
    finally:
        progress.close()
