"""What a student sees of every generated question and is graded against, for the golden students.

Plain Python only: test_questions.py compares it with tests/data/questions_golden.json in the
project's venv, and test_standalone.py in Colab's pins, from a notebook's own checks cell.
"""
GOLDEN_STUDENTS = ["s0000001", "alice", "Zoë-2026", "12345"]
SALT = "lstm-course-2026"


def plain(value):
    """JSON-ready: tuples as lists, so a golden file compares exactly."""
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def qid_of(api, name):
    """The course test's question id of a template ("drill" for the drill's own)."""
    return next((qid for qid, n in api["COURSE_TEST"] if n == name), "drill")


def snapshot(api, students=GOLDEN_STUDENTS, salt=SALT):
    out = {}
    for name in sorted(api["templates"]):
        for student in students:
            q = api["question"](name, student, qid_of(api, name), salt)
            out[f"{name}|{student}"] = {"text": q["text"], "answer": plain(q["answer"]),
                                        "mistakes": [plain(m) for m, _ in q["mistakes"]]}
    return out
