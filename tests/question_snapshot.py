"""What a student sees of every generated question and is graded against, for the golden students.

Plain Python only: test_questions.py compares it with tests/data/questions_golden.json in the
project's venv, and test_standalone.py in Colab's pins, from the notebooks' own checks cells (the
course test's, with its key from course/graded_key/, and practice_test's).
"""
GOLDEN_STUDENTS = ["s0000001", "alice", "Zoë-2026", "12345"]
SALT = "lstm-course-2026"


def plain(value, digits=6):
    """JSON-ready: tuples as lists, floats rounded (torch versions may differ in the last bits)."""
    if isinstance(value, (tuple, list)):
        return [plain(v, digits) for v in value]
    if isinstance(value, dict):
        return {k: plain(v, digits) for k, v in value.items()}
    if isinstance(value, float):
        return round(value, digits)
    return value


def key_lines(source):
    """The distinctive lines of the course test's key (course/graded_key/'s text): each solver's registration
    and every line holding a hint or other long text. No notebook a student receives may hold one."""
    import re

    found = set()
    for line in source.splitlines():
        line = line.strip()
        if line.startswith("@solver(") or re.search(r"[\"'][^\"']{25,}[\"']", line):
            found.add(line)
    return found


def snapshot(graded, solve, practice, students=GOLDEN_STUDENTS, salt=SALT):
    """{pool:template|student: text, answer, mistakes} of both pools, and each golden student's template set.
    graded / practice: the two checks cells' `_course_answers`; solve: the key's solve(q)."""
    out = {}
    for api, pool in ((graded, "graded"), (practice, "practice")):
        for name in sorted(n for n, t in api["templates"].items() if t["pool"] == pool):
            for student in students:
                if pool == "graded":
                    q = solve(api["question"](name, student, "q1", salt))
                else:
                    q = api["practice_question"](name, student, "q1", salt)
                out[f"{pool}:{name}|{student}"] = {"text": q["text"], "answer": plain(q["answer"]),
                                                   "mistakes": [plain(m) for m, _ in q["mistakes"]]}
    for student in students:
        out[f"set|{student}"] = graded["draw_set"]("graded", student, salt, graded["REASONING"])
    return out
