"""The course test's student ids: the id cell, the id it gives, and who a submission is graded as.

Every student of source/course_test gets their own questions, made from their student id (see
course/questions.py and course/graded_pool.py). The notebook has one cell where the student types it,
`student_id = "..."`. Graders never take the id from the environment (nbgrader's kernel has the
instructor's, grade-all's worker none): they grade each submission as its *submitter*, the
student its folder, file name or Gradescope metadata names, and note when the typed id differs.
"""
import ast
import json

PLACEHOLDER = "your id here"
ID_CELL = f'student_id = "{PLACEHOLDER}"  # your student id, between the quotes'


def is_id_cell(cell):
    """The course test's id cell: marked by the course, or (its metadata lost) a top-level `student_id = ...`."""
    if cell.get("cell_type") != "code":
        return False
    if (cell.get("metadata") or {}).get("course", {}).get("student_id"):
        return True
    return _assigned(cell.get("source") or "") is not None


def _assigned(source):
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    found = None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "student_id" for t in node.targets):
            found = node.value
    return found


def typed_id(notebook):
    """The id the notebook's id cell gives, as a literal string; None when there is none or it is the placeholder."""
    found = None
    for cell in notebook.get("cells", []):
        if is_id_cell(cell):
            value = _assigned(cell.get("source") or "")
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                found = value.value.strip()
    return found if found and found != PLACEHOLDER else None


GRADE_AS_METADATA = {"course": {"grade_as": True}}


def grade_as_cell(notebook, student):
    """(where, source) of the cell that tells a course test's checks who submitted: right after the
    checks cell, before any student code. Both graders insert it, so the notebook computes what
    it computes for its submitter in nbgrader's kernel and in the sandboxed child alike."""
    where = next((i for i, c in enumerate(notebook.cells)
                  if ((c.get("metadata") or {}).get("nbgrader") or {}).get("grade_id") == "course_checks"), None)
    return (None, None) if where is None else (where + 1, f"grade_as({str(student)!r})")


def uses_ids(notebook):
    return any(is_id_cell(c) for c in notebook.get("cells", []))


def mismatch_note(typed, submitter):
    """The note for a test whose typed id is not its submitter's (None when they agree)."""
    if typed == submitter:
        return None
    said = f"says student_id = {typed!r}" if typed else "gives no student id"
    return f"the notebook {said}, but it was submitted by {submitter!r}: graded as the test of {submitter!r}"


def grade_as(submission, source, submitter=None):
    """(the id to grade `submission` as, a note or None); (None, None) when `source` asks for no id.

    The submitter wins over the typed id. With no submitter (`grade` of one file without
    --student-id) the typed id is used, and the note says so.
    """
    if not uses_ids(source):
        return None, None
    typed = typed_id(submission)
    submitter = str(submitter).strip() if submitter is not None else ""
    if submitter:
        return submitter, mismatch_note(typed, submitter)
    if typed:
        return typed, f"graded as the id the notebook gives, {typed!r}: no submitter was given (--student-id)"
    return None, "no student id: the notebook gives none and no submitter was given, so no question can be graded"


def gradescope_submitter(metadata_path, roster=None):
    """(id, note) of a Gradescope submission: its first user's student id (`sid`), or their email mapped
    through the roster's student_id column; a group submission is graded as its first member's."""
    try:
        users = json.loads(open(metadata_path, encoding="utf-8").read()).get("users") or []
    except (OSError, ValueError, AttributeError):
        return None, "no readable submission_metadata.json: graded as the id the notebook gives"
    if not users:
        return None, "submission_metadata.json lists no user: graded as the id the notebook gives"
    first = users[0]
    sid = str(first.get("sid") or "").strip()
    email = str(first.get("email") or "").strip().lower()
    if not sid and roster:
        sid = roster.get(email, "")
    note = None
    if len(users) > 1:
        note = (f"a group submission of {len(users)} students: graded as its first member's test "
                f"({sid or email!r})")
    return (sid or email or None), note
