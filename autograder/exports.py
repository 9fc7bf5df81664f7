"""Scores where instructors keep them: per question for a spreadsheet, per assignment for Canvas.

    scores_by_question_csv(records, tests)  one row per student, one column per test
                                            ("<assignment>/<grade_id>"), then each assignment's
                                            total and the overall total; blank where nothing was
                                            submitted
    read_roster(path)                       the class list: student id, name, email, Canvas ID,
                                            SIS user and login ids, section
    canvas_csv(records, roster, assignment, canvas_id, points)
                                            Canvas's gradebook import for one assignment

A submission whose file name holds no student id (outputs.has_student_id) is no student: it is
in neither file (flagged.csv keeps it, with its score).

Canvas imports a CSV whose first columns are `Student, ID, SIS User ID, SIS Login ID, Section`
(it matches rows by ID, then the SIS ids) followed by one column per assignment titled
`<name> (<Canvas assignment id>)`; a second row "Points Possible" is optional. Missing work is
left blank, so Canvas shows it as missing rather than as a 0.
"""
import csv
import io
from dataclasses import dataclass

from .outputs import has_student_id, record_status

CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
POINTS_POSSIBLE = "    Points Possible"  # as Canvas writes it, indented
# Accepted spellings of the roster's columns (case and spaces ignored).
ROSTER_COLUMNS = {
    "student_id": ("student_id", "student id", "id", "username", "login"),
    "name": ("name", "student", "full name"),
    "email": ("email", "e-mail", "email address"),
    "canvas_id": ("canvas_id", "canvas id", "canvas user id"),
    "sis_user_id": ("sis_user_id", "sis user id"),
    "sis_login_id": ("sis_login_id", "sis login id"),
    "section": ("section",),
}


class RosterError(ValueError):
    """The roster can't be read: one line for the command line."""


@dataclass
class Student:
    student_id: str
    name: str = ""
    email: str = ""
    canvas_id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""

    def keys(self):
        """What a grade-all student id may be, for this student (lower case)."""
        local = self.email.split("@", 1)[0] if self.email else ""
        return [k.lower() for k in (self.student_id, self.sis_login_id, self.email, local) if k]


def _number(value):
    try:
        return f"{float(value):g}"
    except (TypeError, ValueError):
        return ""


def _is_graded(record):
    return record_status(record) in ("graded", "flagged")


def scores_by_question_csv(records, tests):
    """`tests`: {assignment: [grade_id, ...]} in notebook order (assignments with no record are left out)."""
    records = [r for r in records if has_student_id(r)]
    names = [a for a in tests if any(r.get("assignment") == a for r in records)]
    students = sorted({r["student"] for r in records if r.get("assignment") in names})
    by = {(r["student"], r["assignment"]): r for r in records if r.get("assignment") in names}
    header = ["student_id"] + [f"{a}/{g}" for a in names for g in tests[a]] + [f"{a}/total" for a in names] + ["total"]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for student in students:
        row, totals = [student], []
        for a in names:
            record = by.get((student, a))
            scores = {t.get("name"): t.get("score") for t in (record or {}).get("tests") or []}
            row += [_number(scores.get(g)) if record and _is_graded(record) else ("0" if record else "")
                    for g in tests[a]]
        for a in names:
            record = by.get((student, a))
            totals.append(float(record.get("score") or 0) if record else None)
            row.append(_number(record.get("score")) if record else "")
        row.append(_number(sum(t for t in totals if t is not None)))
        writer.writerow(row)
    return buf.getvalue()


def _column(header, field):
    wanted = {s.replace("_", " ") for s in ROSTER_COLUMNS[field]}
    for index, title in enumerate(header):
        if title.strip().lower().replace("_", " ") in wanted:
            return index
    return None


def read_roster(path):
    """[Student] from a roster CSV; its header names the columns (see ROSTER_COLUMNS)."""
    try:
        text = open(path, encoding="utf-8-sig").read()
    except OSError as err:
        raise RosterError(f"cannot read the roster {path}: {err.strerror or err}") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise RosterError(f"the roster {path} is empty")
    header, body = rows[0], rows[1:]
    where = {field: _column(header, field) for field in ROSTER_COLUMNS}
    if where["student_id"] is None:
        raise RosterError(f"the roster {path} has no student id column (one of: student_id, id, username)")
    students = []
    for row in body:
        if not any(cell.strip() for cell in row) or row[0].strip() == POINTS_POSSIBLE.strip():
            continue
        values = {field: (row[i].strip() if i is not None and i < len(row) else "") for field, i in where.items()}
        if values["student_id"]:
            students.append(Student(**values))
    return students


def match(records, roster):
    """({roster student id: record of that student}, [records no roster entry matches])."""
    index = {}
    for student in roster:
        for key in student.keys():
            index.setdefault(key, student)
    matched, missing = {}, []
    for record in records:
        student = index.get(str(record["student"]).lower())
        if student is None:
            missing.append(record)
        else:
            matched[student.student_id] = record
    return matched, missing


def canvas_csv(records, roster, assignment, canvas_id, points=None):
    """Canvas's gradebook import for `assignment`: every roster student, blank where nothing was submitted."""
    mine = [r for r in records if r.get("assignment") == assignment and has_student_id(r)]
    matched, _ = match(mine, roster)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(list(CANVAS_COLUMNS) + [f"{assignment} ({canvas_id})"])
    if points is not None:
        writer.writerow([POINTS_POSSIBLE, "", "", "", "", _number(points)])
    for student in roster:
        record = matched.get(student.student_id)
        writer.writerow([student.name or student.student_id, student.canvas_id, student.sis_user_id,
                         student.sis_login_id, student.section, _number(record.get("score")) if record else ""])
    return buf.getvalue()
