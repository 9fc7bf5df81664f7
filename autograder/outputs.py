"""What `grade-all` writes under OUT: result records, feedback pages, grades.csv and flagged.csv, and
the rebuild of every course-wide file (pure functions of result records, plus atomic file writes).

A result record is the JSON written to OUT/<student>/<assignment>.json: Gradescope's
results object ("score", "max_score", "tests" with each test's title, answer and verdict in
its "extra_data", and "output" for an ungradable one) plus "student", "assignment",
"submission", "status" (graded, flagged, ungradable, grader failed), "flagged" (status is not
graded), "reason", "flags", "timestamp" and the cache "key". Everything course-wide
(COURSE_FILES, and canvas.csv) is rebuilt from all the records in OUT, so a partial or repeated
run always yields complete files: grades.csv and flagged.csv here, the common mistakes in
mistakes.py, the item analysis in items.py, report.png in charts.py, the per-question and
Canvas exports in exports.py.

A submission whose file name holds no student id ("Copy of 01_syntax.ipynb") is graded and
kept in flagged.csv with its score, but it is no student: it is left out of grades.csv,
scores_by_question.csv, canvas.csv and the item analysis (has_student_id).
"""
import csv
import html
import io
import json
import logging
import os
import sqlite3
import tempfile
from datetime import datetime
from pathlib import Path

log = logging.getLogger("autograder.batch")

# nbgrader's `export` (nbgrader/plugins/export.py, CsvExportPlugin): these columns, in this order.
CSV_COLUMNS = ("assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
               "raw_score", "late_submission_penalty", "score", "max_score")
# After nbgrader's columns: what became of the submission, and why (so a 0 is never unexplained).
STATUS_COLUMNS = ("status", "reason")
FLAGGED_COLUMNS = ("student", "assignment", "submission", "status", "score", "max_score", "reason", "what_to_do")
COURSE_FILES = ("grades.csv", "report.png", "mistakes.md", "mistakes.csv", "wrong_answers.csv", "flagged.csv",
                "scores_by_question.csv", "item_analysis.csv")
NO_STUDENT_ID = "its file name holds no student id (only the assignment and copy marks): rename it after the student"
# flagged.csv's what_to_do, by what became of the submission
TO_DO = {
    "no id": "not in grades.csv (no student id): rename the file after its student (alice_01_syntax.ipynb, or "
             "submitted/alice/01_syntax/) and rerun grade-all; the score above then goes to that student",
    "ungradable": "scored 0: get the student's .ipynb notebook (see the reason), put it in place and rerun grade-all",
    "grader failed": "not the student's fault: rerun grade-all, which grades it again",
    "flagged": "graded, and counted in grades.csv: check the reason, and regrade by hand if it is wrong",
    "not in the roster": "not in canvas.csv: add the student to the roster, or fix the id, and rerun grade-all",
}


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


def has_student_id(record):
    """False for a submission whose file name gave no student id: it is kept in flagged.csv, but is no student."""
    return NO_STUDENT_ID not in (record.get("flags") or [])


def grades_csv(recs, students=None, duedates=None):
    """nbgrader export's CSV text, plus a status and a reason: one row per student and assignment."""
    students, duedates = students or {}, duedates or {}
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS + STATUS_COLUMNS)
    for r in recs:
        if not has_student_id(r):
            continue
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
    """Every record that is not plainly graded, then those of students the roster does not list: each with
    its score and what to do."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(FLAGGED_COLUMNS)

    def row(r, status, reason, to_do):
        writer.writerow([r["student"], r.get("assignment") or "", r.get("submission") or "", status,
                         _float_text(r.get("score")), _float_text(r.get("max_score")), reason, to_do])

    for r in recs:
        if r.get("flagged"):
            status = record_status(r)
            row(r, status, r.get("reason") or "",
                TO_DO["no id"] if not has_student_id(r) and status == "flagged" else TO_DO.get(status, TO_DO["flagged"]))
    for r in not_in_roster:
        if has_student_id(r):
            row(r, "not in the roster", "no roster entry has this student id, login or email",
                TO_DO["not in the roster"])
    return buf.getvalue()


def write_course_files(out, course_dir, sources, roster=None, canvas=None):
    """Rebuild the course-wide files (COURSE_FILES, and canvas.csv) from every record in OUT.

    `sources`: {assignment: source notebook} of the course; `roster`: [exports.Student] or None;
    `canvas`: (assignment, Canvas assignment id) for canvas.csv, which needs the roster.
    """
    from . import charts, exports, items, mistakes
    from .scoring import graded_cells

    out = Path(out)
    recs = records(out)
    students, duedates = gradebook_info(course_dir)
    write_atomic(out / "grades.csv", grades_csv(recs, students, duedates))
    missing = exports.match(recs, roster)[1] if roster is not None else []
    write_atomic(out / "flagged.csv", flagged_csv(recs, missing))
    specs = {name: mistakes.test_specs(nb) for name, nb in sources.items()}
    tests = {name: mistakes.named_mistakes(found) for name, found in specs.items()}
    stats = mistakes.mistake_counts(recs, tests)
    item_rows = items.from_course(recs, sources, specs)
    write_atomic(out / "item_analysis.csv", items.csv_text(item_rows))
    write_atomic(out / "mistakes.md", mistakes.mistakes_markdown(stats, tests, items_section=items.markdown(item_rows)))
    write_atomic(out / "mistakes.csv", mistakes.mistakes_csv(stats, tests))
    write_atomic(out / "wrong_answers.csv", mistakes.wrong_answers_csv(stats))
    write_atomic(out / "report.png", charts.report_png(recs, tests, item_rows))
    graded = {name: [g.grade_id for g in graded_cells(nb)] for name, nb in sources.items()}
    write_atomic(out / "scores_by_question.csv", exports.scores_by_question_csv(recs, graded))
    if canvas is not None and roster is not None:
        assignment, canvas_id = canvas
        points = sum(g.points for g in graded_cells(sources[assignment]))
        write_atomic(out / "canvas.csv", exports.canvas_csv(recs, roster, assignment, canvas_id, points))
    return recs
