"""What `grade-all` writes under OUT (pure functions of result records, plus atomic file writes).

A result record is the JSON written to OUT/<student>/<assignment>.json: Gradescope's
results object ("score", "max_score", "tests" with each test's title, answer and verdict in
its "extra_data", and "output" for an ungradable one) plus "student", "assignment",
"submission", "status" (graded, flagged, ungradable, grader failed), "flagged" (status is not
graded), "reason", "flags", "timestamp" and the cache "key". Everything course-wide
(grades.csv, report.png, mistakes.md/.csv, wrong_answers.csv, flagged.csv) is rebuilt from all
the records in OUT, so a partial or repeated run always yields complete files.
"""
import csv
import html
import io
import json
import logging
import os
import re
import sqlite3
import tempfile
from collections import Counter
from datetime import datetime
from pathlib import Path

log = logging.getLogger("autograder.batch")

# nbgrader's `export` (nbgrader/plugins/export.py, CsvExportPlugin): these columns, in this order.
CSV_COLUMNS = ("assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
               "raw_score", "late_submission_penalty", "score", "max_score")
# After nbgrader's columns: what became of the submission, and why (so a 0 is never unexplained).
STATUS_COLUMNS = ("status", "reason")
MISTAKES_COLUMNS = ("assignment", "test", "kind", "mistake", "students", "graded")
WRONG_ANSWERS_COLUMNS = ("assignment", "test", "answer", "students", "graded")
FLAGGED_COLUMNS = ("student", "assignment", "submission", "status", "reason")
COURSE_FILES = ("grades.csv", "report.png", "mistakes.md", "mistakes.csv", "wrong_answers.csv", "flagged.csv",
                "scores_by_question.csv")
TOP_WRONG = 5  # unmatched wrong answers listed per test in mistakes.md
OTHER = "other wrong answers"
NOT_ANSWERED = "not answered"
# What a test reports when there was no answer: the placeholder left as is (the release's
# `raise NotImplementedError()` leaves answer_qN undefined: the judge says "Not answered",
# nbgrader NameError), or None / ... as the answer ("No answer yet", from the checks).
_NOT_ANSWERED = re.compile(r"^Not answered:|NameError: name 'answer_\w+' is not defined|No answer yet", re.M)


# --- files -------------------------------------------------------------------------------------------

def write_atomic(path, data):
    """Write `data` (str or bytes) to `path` through a temp file in the same folder and os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def remove_stale_temp_files(out):
    """Temp files left by a run that was killed between writing and renaming."""
    for tmp in list(Path(out).glob(".*.tmp")) + list(Path(out).glob("*/.*.tmp")):
        try:
            tmp.unlink()
        except OSError:
            pass


def read_record(path):
    """The result record at `path`, or None if it is missing or not one of ours."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("student"), str) or "score" not in data:
        return None
    return data


def records(out):
    """Every result record in OUT (OUT/<student>/<name>.json), sorted by assignment then student."""
    found = []
    for path in sorted(Path(out).glob("*/*.json")):
        if path.name.startswith("."):
            continue
        data = read_record(path)
        if data is not None:
            found.append(data)
    found.sort(key=lambda r: (r.get("assignment") or "\uffff", r["student"], r.get("submission") or ""))
    return found


def record_json(record):
    return json.dumps(record, indent=1, ensure_ascii=False) + "\n"


# --- feedback HTML for one student ---------------------------------------------------------------------

_CSS = """
body { font-family: system-ui, sans-serif; max-width: 56rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: .4rem .6rem; text-align: left; vertical-align: top; }
td.num { white-space: nowrap; }
.passed { color: #17692c; } .failed { color: #a31515; }
pre { white-space: pre-wrap; margin: 0; font-size: .9rem; }
.flag { background: #fff4d6; border: 1px solid #e0b000; padding: .6rem 1rem; }
"""


def _points(value):
    try:
        return f"{float(value):g}"
    except (TypeError, ValueError):
        return "?"


_VERDICT_CLASS = {"correct": "passed"}


def feedback_html(record):
    """A standalone page for the student: each exercise's title, their answer, the verdict and the
    feedback (all escaped)."""
    e = html.escape
    title = f"{record.get('assignment') or 'Submission'}: feedback for {record['student']}"
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{e(title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{e(title)}</h1>",
             f"<p>File: <code>{e(Path(record.get('submission') or '').name)}</code></p>",
             f"<p><strong>Score: {_points(record.get('score'))} / {_points(record.get('max_score'))}</strong></p>"]
    if record.get("status") == "ungradable" or (record.get("flagged") and not record.get("tests")):
        parts.append(f'<p class="flag">This submission could not be graded: {e(record.get("reason") or "")}</p>')
    elif record.get("reason"):
        parts.append(f'<p class="flag">Note: {e(record.get("reason"))}</p>')
    tests = record.get("tests") or []
    if tests:
        parts.append("<table><thead><tr><th>Exercise</th><th>Your answer</th><th>Score</th><th>Verdict</th>"
                     "<th>Feedback</th></tr></thead><tbody>")
        for t in tests:
            extra = t.get("extra_data") if isinstance(t.get("extra_data"), dict) else {}
            verdict = str(extra.get("verdict") or ("correct" if t.get("status") == "passed" else "wrong"))
            status = "passed" if t.get("status") == "passed" else "failed"
            name = str(t.get("name", ""))
            exercise = f"{e(str(extra['title']))}<br><small>{e(name)}</small>" if extra.get("title") else e(name)
            answer = f"<code>{e(str(extra['answer']))}</code>" if extra.get("answer") else "<em>none</em>"
            parts.append(f"<tr><td>{exercise}</td><td>{answer}</td>"
                         f"<td class=\"num\">{_points(t.get('score'))} / {_points(t.get('max_score'))}</td>"
                         f"<td class=\"{status}\">{e(verdict)}</td>"
                         f"<td><pre>{e(str(t.get('output') or ''))}</pre></td></tr>")
        parts.append("</tbody></table>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


# --- grades.csv (nbgrader export's format) -------------------------------------------------------------

def gradebook_info(course_dir):
    """({student id: (last, first, email)}, {assignment: duedate}) from the course's gradebook.db, if any.

    Read only (never created or migrated): grades.csv stays blank where nbgrader knows nothing.
    """
    db = Path(course_dir) / "gradebook.db"
    students, duedates = {}, {}
    if not db.is_file():
        return students, duedates
    try:
        con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
        try:
            for sid, last, first, email in con.execute("SELECT id, last_name, first_name, email FROM student"):
                students[sid] = (last or "", first or "", email or "")
            for name, due in con.execute("SELECT name, duedate FROM assignment"):
                duedates[name] = _datetime_text(due)
        finally:
            con.close()
    except sqlite3.Error as err:
        log.warning("gradebook.db not read (%s): names and due dates left blank", err)
    return students, duedates


def _datetime_text(value):
    """A gradebook DATETIME as nbgrader's export prints it (str(datetime)); '' for none."""
    if not value:
        return ""
    try:
        return str(datetime.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def _float_text(value):
    try:
        return str(float(value))
    except (TypeError, ValueError):
        return ""


def grades_csv(recs, students=None, duedates=None):
    """nbgrader export's CSV text, plus a status and a reason: one row per result record."""
    students, duedates = students or {}, duedates or {}
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS + STATUS_COLUMNS)
    for r in recs:
        assignment = r.get("assignment") or ""
        last, first, email = students.get(r["student"], ("", "", ""))
        raw = _float_text(r.get("score")) or "0.0"
        penalty = 0.0
        writer.writerow([assignment, duedates.get(assignment, ""), r.get("timestamp") or "", r["student"],
                         last, first, email, raw, str(penalty), str(max(0.0, float(raw) - penalty)),
                         _float_text(r.get("max_score")) if assignment else "",
                         record_status(r), r.get("reason") or ""])
    return buf.getvalue()


def record_status(record):
    """graded, flagged, ungradable or grader failed (records of older versions: from `flagged`)."""
    if record.get("status"):
        return str(record["status"])
    return "ungradable" if record.get("flagged") else "graded"


def flagged_csv(recs, not_in_roster=()):
    """Every record that is not plainly graded, then those of students the roster does not list."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(FLAGGED_COLUMNS)
    for r in recs:
        if r.get("flagged"):
            writer.writerow([r["student"], r.get("assignment") or "", r.get("submission") or "", record_status(r),
                             r.get("reason") or ""])
    for r in not_in_roster:
        writer.writerow([r["student"], r.get("assignment") or "", r.get("submission") or "", "not in the roster",
                         "no roster entry has this student id, login or email: their score is not in canvas.csv"])
    return buf.getvalue()


# --- common mistakes -----------------------------------------------------------------------------------

def named_mistakes(source_nb):
    """{test grade_id: [hint, ...]} from the hidden expect_*(..., mistakes=[...]) of each test cell."""
    from course.build import HiddenSpecError, parse_hidden

    from . import cells as utils

    from .course import grade_id

    found = {}
    for cell in source_nb.cells:
        gid = grade_id(cell)
        if not gid or gid in found or cell.get("cell_type") != "code" or not utils.is_grade(cell) \
                or utils.is_solution(cell):
            continue
        try:
            mistakes = parse_hidden(cell.source).mistakes
        except (HiddenSpecError, SyntaxError, ValueError):
            mistakes = []
        hints = []
        for item in mistakes:
            hint = item[1] if isinstance(item, (tuple, list)) and len(item) == 2 else None
            if isinstance(hint, str) and hint and hint not in hints:
                hints.append(hint)
        found[gid] = hints
    return found


def classify(output, hints):
    """Which answer a failed test's output shows: one of `hints`, NOT_ANSWERED or OTHER."""
    output = output or ""
    # The longest first: a hint that contains a shorter one is the more precise match.
    for hint in sorted(hints, key=len, reverse=True):
        if hint in output:
            return hint
    if _NOT_ANSWERED.search(output):
        return NOT_ANSWERED
    return OTHER


def _answer_shown(test):
    extra = test.get("extra_data") if isinstance(test.get("extra_data"), dict) else {}
    return str(extra.get("answer") or "")


def mistake_counts(recs, tests_by_assignment):
    """{assignment: {"graded": n, "ungradable": m,
                     "tests": {test: {"wrong": w, "counts": Counter, "answers": Counter}}}}.

    `tests_by_assignment`: {assignment: {test: [hint, ...]}} (named_mistakes of each source).
    "answers" counts the wrong answers no named mistake matched, as the grader showed them
    (answers.display): the next named mistakes to add. Only graded records count (flagged
    ones too: they were graded); tests keep the source's order.
    """
    stats = {}
    for name, tests in tests_by_assignment.items():
        stats[name] = {"graded": 0, "ungradable": 0,
                       "tests": {t: {"wrong": 0, "counts": Counter(), "answers": Counter()} for t in tests}}
    for r in recs:
        name = r.get("assignment")
        if name not in stats:
            continue
        if record_status(r) not in ("graded", "flagged"):
            stats[name]["ungradable"] += 1
            continue
        stats[name]["graded"] += 1
        for t in r.get("tests") or []:
            entry = stats[name]["tests"].get(t.get("name"))
            if entry is None or t.get("status") == "passed":
                continue
            entry["wrong"] += 1
            kind = classify(t.get("output"), tests_by_assignment[name][t["name"]])
            entry["counts"][kind] += 1
            if kind == OTHER and _answer_shown(t):
                entry["answers"][_answer_shown(t)] += 1
    return {name: s for name, s in stats.items() if s["graded"] or s["ungradable"]}


def _rows(stats, tests_by_assignment):
    """(assignment, test, kind, mistake, students, graded), named mistakes most frequent first."""
    for name, s in stats.items():
        for test, entry in s["tests"].items():
            hints = tests_by_assignment[name][test]
            for hint in sorted(hints, key=lambda h: -entry["counts"][h]):
                yield name, test, "named", hint, entry["counts"][hint], s["graded"]
            yield name, test, "other", OTHER, entry["counts"][OTHER], s["graded"]
            yield name, test, "not_answered", NOT_ANSWERED, entry["counts"][NOT_ANSWERED], s["graded"]


def mistakes_csv(stats, tests_by_assignment):
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(MISTAKES_COLUMNS)
    writer.writerows(_rows(stats, tests_by_assignment))
    return buf.getvalue()


def wrong_answers_csv(stats):
    """The wrong answers no named mistake matched, most frequent first per test."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(WRONG_ANSWERS_COLUMNS)
    for name, s in stats.items():
        for test, entry in s["tests"].items():
            for answer, count in entry["answers"].most_common():
                writer.writerow([name, test, answer, count, s["graded"]])
    return buf.getvalue()


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def _share(count, total):
    return f"{100 * count / total:.0f}%" if total else "-"


def mistakes_markdown(stats, tests_by_assignment, top=10):
    """What to reteach: the most frequent named mistakes, then every test, the most failed first."""
    lines = ["# Common mistakes", "",
             "A student made a named mistake when the test's feedback shows its hint (the mistakes listed in "
             "the hidden `expect_*(..., mistakes=[...])` of the test cell in source/). Shares are of the "
             "graded submissions of that assignment; ungradable submissions are not counted. Under each test, "
             "the most common wrong answers that no named mistake matched are the next ones to name "
             "(all of them: wrong_answers.csv).", ""]
    named = sorted(((count, name, test, hint) for name, test, kind, hint, count, _ in _rows(stats, tests_by_assignment)
                    if kind == "named" and count), key=lambda row: (-row[0], row[1], row[2]))
    lines += ["## Most frequent named mistakes", ""]
    if named:
        lines += ["| students | share | assignment | test | mistake |", "|---:|---:|---|---|---|"]
        for count, name, test, hint in named[:top]:
            lines.append(f"| {count} | {_share(count, stats[name]['graded'])} | {_cell(name)} | {_cell(test)} | "
                         f"{_cell(hint)} |")
    else:
        lines.append("No named mistake was made.")
    for name, s in stats.items():
        lines += ["", f"## {name}", "",
                  f"{s['graded']} graded submission(s), {s['ungradable']} ungradable."]
        order = sorted(s["tests"], key=lambda t: -s["tests"][t]["wrong"])  # stable: ties keep notebook order
        for test in order:
            entry = s["tests"][test]
            lines += ["", f"### {test}: {entry['wrong']} of {s['graded']} wrong ({_share(entry['wrong'], s['graded'])})"]
            if not entry["wrong"]:
                continue
            lines += ["", "| students | share | mistake |", "|---:|---:|---|"]
            for _, _, kind, hint, count, graded in (row for row in _rows({name: s}, tests_by_assignment)
                                                    if row[1] == test):
                label = _cell(hint) if kind == "named" else f"*({hint})*"
                lines.append(f"| {count} | {_share(count, graded)} | {label} |")
            if entry["answers"]:
                lines += ["", "Wrong answers no named mistake matched:", "",
                          "| students | answer |", "|---:|---|"]
                lines += [f"| {count} | `{_cell(answer)}` |" for answer, count in entry["answers"].most_common(TOP_WRONG)]
    return "\n".join(lines) + "\n"


# --- report.png ----------------------------------------------------------------------------------------

def report_png(recs, tests_by_assignment):
    """PNG bytes: per assignment, the share of graded submissions passing each test, and the score histogram."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend
    from matplotlib.ticker import MaxNLocator

    names = [n for n in tests_by_assignment if any(r.get("assignment") == n for r in recs)] or ["(none)"]
    fig = Figure(figsize=(12, 3.2 * len(names)), layout="constrained")
    axes = fig.subplots(len(names), 2, squeeze=False)
    for row, name in zip(axes, names):
        mine = [r for r in recs if r.get("assignment") == name]
        graded = [r for r in mine if record_status(r) in ("graded", "flagged")]
        tests = list(tests_by_assignment.get(name, {}))
        passed = Counter(t.get("name") for r in graded for t in r.get("tests") or [] if t.get("status") == "passed")
        rates = [passed[t] / len(graded) if graded else 0.0 for t in tests]
        bars = row[0].bar(range(len(tests)), rates, color="#3b75af")
        row[0].bar_label(bars, labels=[f"{rate:.0%}" for rate in rates], fontsize=8)
        row[0].set_xticks(range(len(tests)), [t.removesuffix("_test") for t in tests])
        row[0].set_ylim(0, 1.1)
        row[0].set_ylabel("success rate")
        row[0].set_title(f"{name}: tests passed (n={len(graded)} graded)")
        scores = [float(r.get("score") or 0) for r in mine]
        top = max([float(r.get("max_score") or 0) for r in mine] + scores + [1.0])
        # One bar per whole point (scores are mostly whole); at most 40 bars.
        step = max(1.0, top / 40)
        edges = [i * step - step / 2 for i in range(int(top / step) + 2)]
        row[1].hist(scores, bins=edges, color="#e08a2c", edgecolor="white")
        row[1].yaxis.set_major_locator(MaxNLocator(integer=True))
        row[1].set_xlabel(f"score (out of {top:g})")
        row[1].set_ylabel("submissions")
        ungradable = len(mine) - len(graded)
        row[1].set_title(f"{name}: scores (n={len(mine)}" + (f", {ungradable} ungradable as 0)" if ungradable else ")"))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return buf.getvalue()


def write_course_files(out, course_dir, sources, roster=None, canvas=None):
    """Rebuild the course-wide files (COURSE_FILES, and canvas.csv) from every record in OUT.

    `sources`: {assignment: source notebook} of the course; `roster`: [exports.Student] or None;
    `canvas`: (assignment, Canvas assignment id) for canvas.csv, which needs the roster.
    """
    from . import exports
    from .scoring import graded_cells

    out = Path(out)
    recs = records(out)
    students, duedates = gradebook_info(course_dir)
    write_atomic(out / "grades.csv", grades_csv(recs, students, duedates))
    missing = exports.match(recs, roster)[1] if roster is not None else []
    write_atomic(out / "flagged.csv", flagged_csv(recs, missing))
    tests = {name: named_mistakes(nb) for name, nb in sources.items()}
    stats = mistake_counts(recs, tests)
    write_atomic(out / "mistakes.md", mistakes_markdown(stats, tests))
    write_atomic(out / "mistakes.csv", mistakes_csv(stats, tests))
    write_atomic(out / "wrong_answers.csv", wrong_answers_csv(stats))
    write_atomic(out / "report.png", report_png(recs, tests))
    graded = {name: [g.grade_id for g in graded_cells(nb)] for name, nb in sources.items()}
    write_atomic(out / "scores_by_question.csv", exports.scores_by_question_csv(recs, graded))
    if canvas is not None and roster is not None:
        assignment, canvas_id = canvas
        points = sum(g.points for g in graded_cells(sources[assignment]))
        write_atomic(out / "canvas.csv", exports.canvas_csv(recs, roster, assignment, canvas_id, points))
    return recs
