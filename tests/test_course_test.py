"""The course test (source/07_test), graded per student: nbgrader autograde and grade-all agree for
several students, each graded against their own questions; a notebook that types someone else's id
is graded as its submitter's and flagged; Gradescope grades the first submitter (by sid, or by
email through the bundled roster); feedback names mistakes and never shows an expected answer."""
import json
import re
import subprocess
import sys
import zipfile

import nbformat
import pytest
from conftest import AG_REPO, ag_make_course

from autograder import student_ids
from course.build import checks_source, settings

ASSIGNMENT = "07_test"
SOURCE = AG_REPO / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
SALT = settings(AG_REPO)["test_salt"]

_ns = {"__name__": "__main__"}
exec(compile(checks_source((), questions=True), "<checks>", "exec"), _ns)
API = _ns["_course_answers"]


def literal(q, value):
    if q["kind"] == "lstm":
        return "nn.LSTM(" + ", ".join(f"{k}={v!r}" for k, v in value.items()) + ")"
    return repr(value)


def questions(student):
    return {qid: API["question"](name, student, qid, SALT) for qid, name in API["COURSE_TEST"]}


def submission(typed, answers_of=None, wrong=()):
    """07_test as a student hands it in: `typed` in the id cell, each answer a literal, right for
    `answers_of` (default: the typed id), except the questions in `wrong`: their first named mistake."""
    nb = nbformat.read(str(SOURCE), as_version=4)
    mine = questions(answers_of or typed)
    for cell in nb.cells:
        if student_ids.is_id_cell(cell):
            cell.source = f'student_id = "{typed}"'
        gid = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if gid.endswith("_answer"):
            qid = gid[:-len("_answer")]
            q = mine[qid]
            value = q["mistakes"][0][0] if qid in wrong else q["answer"]
            cell.source = f"answer_{qid} = {literal(q, value)}"
    return nb


def expected_scores(student, nb):
    """{qN_test: points} for `nb` graded as `student`, by the generator's own verdict."""
    found = {}
    for cell in nb.cells:
        m = re.fullmatch(r"answer_(q\d+) = (.*)", cell.source.strip(), flags=re.S)
        if m:
            found[m.group(1)] = m.group(2)
    from torch import nn  # noqa: F401 - the literals name nn.LSTM

    scores = {}
    for qid, q in questions(student).items():
        value = eval(found[qid], {"nn": nn})  # noqa: S307 - this test's own literals
        scores[f"{qid}_test"] = 1.0 if API["generated_verdict"](q, value) is None else 0.0
    return scores


STUDENTS = {
    "alice": submission("alice"),
    "bob": submission("bob"),
    "carol": submission("carol", wrong=("q2", "q8")),
    "dave": submission("alice"),  # dave hands in alice's notebook, her id and all
}


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory, ag_nbgrader, ag_env):
    """The course test in a scratch course, submitted by four students, graded by both graders."""
    root = ag_make_course(tmp_path_factory.mktemp("course-test") / "course",
                          {ASSIGNMENT: nbformat.read(str(SOURCE), as_version=4)})
    ag_nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
    for student, nb in STUDENTS.items():
        path = root / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, str(path))
    out = root / "graded"
    ours = subprocess.Popen([sys.executable, "-m", "autograder", "grade-all", str(root / "submitted"), "--out",
                             str(out), "--course", str(root), "--workers", "2"], cwd=AG_REPO, env=ag_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ag_nbgrader(root, "autograde", ASSIGNMENT, "--force")
    ag_nbgrader(root, "generate_feedback", ASSIGNMENT, "--force")
    _, err = ours.communicate(timeout=600)
    assert ours.returncode == 0, err
    return root, out


def nbgrader_scores(root, student):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        notebook = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
        return {g.name: g.score for g in notebook.grades}


def test_both_graders_agree_and_grade_each_student_against_their_own_questions(graded_course):
    root, out = graded_course
    for student, nb in STUDENTS.items():
        record = json.loads((out / student / f"{ASSIGNMENT}.json").read_text())
        ours = {t["name"]: t["score"] for t in record["tests"]}
        assert ours == nbgrader_scores(root, student), student
        assert ours == expected_scores(student, nb), student
    assert json.loads((out / "alice" / f"{ASSIGNMENT}.json").read_text())["score"] == 10.0
    assert json.loads((out / "carol" / f"{ASSIGNMENT}.json").read_text())["score"] == 8.0
    # alice's answers are not dave's: the copied test fails where their questions differ.
    assert json.loads((out / "dave" / f"{ASSIGNMENT}.json").read_text())["score"] <= 3.0


def test_a_typed_id_that_is_not_the_submitters_is_flagged_in_both_graders(graded_course):
    root, out = graded_course
    flagged = (out / "flagged.csv").read_text()
    dave = [line for line in flagged.splitlines() if line.startswith("dave,")]
    assert len(dave) == 1 and "student_id = 'alice'" in dave[0] and "graded as 'dave'" in dave[0], flagged
    assert not any(line.startswith(("alice,", "bob,", "carol,")) for line in flagged.splitlines())
    page = (out / "dave" / f"{ASSIGNMENT}.html").read_text()
    assert "Note:" in page and "submitted by &#x27;dave&#x27;" in page
    theirs = (root / "feedback" / "dave" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "it was submitted by &#x27;dave&#x27;" in theirs or "it was submitted by 'dave'" in theirs


def test_feedback_names_the_mistake_and_never_shows_the_expected_answer(graded_course):
    root, out = graded_course
    record = json.loads((out / "carol" / f"{ASSIGNMENT}.json").read_text())
    tests = {t["name"]: t for t in record["tests"]}
    mine = questions("carol")
    for qid in ("q2", "q8"):
        q = mine[qid]
        output = tests[f"{qid}_test"]["output"]
        assert q["mistakes"][0][1] in output, output
        assert str(q["answer"]) not in output and str(q["answer"]) not in json.dumps(tests[f"{qid}_test"])
    autograded = nbformat.read(str(root / "autograded" / "carol" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), as_version=4)
    for cell in autograded.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") in ("q2_test", "q8_test"):
            text = json.dumps(cell.outputs)
            assert "WrongAnswer" in text and str(mine[cell.metadata.nbgrader.grade_id[:2]]["answer"]) not in text


def test_the_release_asks_for_the_id_and_reveals_no_score():
    release = nbformat.read(str(AG_REPO / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), as_version=4)
    ids = [c for c in release.cells if student_ids.is_id_cell(c)]
    assert len(ids) == 1 and student_ids.PLACEHOLDER in ids[0].source
    assert student_ids.typed_id(release) is None
    code = "\n".join(c.source for c in release.cells if c.cell_type == "code"
                     and c.metadata.get("nbgrader", {}).get("grade_id") != "course_checks")
    assert "expect_generated" not in code and "score_my_test" not in code and "BEGIN HIDDEN" not in code
    assert code.count("check_form(") == 10
    settings_cell = [c for c in release.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_settings"]
    assert len(settings_cell) == 1 and repr(SALT) in settings_cell[0].source  # the term's salt travels


# --- Gradescope ---------------------------------------------------------------------------------------

def test_gradescope_grades_the_first_submitter_by_sid_or_roster_email(tmp_path, ag_env):
    from test_gradescope import autograder_root, run_autograder, validate

    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,name,email\nbob,Bob B,Bob@Uni.edu\ncarol,Carol C,carol@uni.edu\n")
    out = tmp_path / "zips"
    env = {k: v for k, v in ag_env.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-m", "autograder", "gradescope", ASSIGNMENT, "01_syntax", "--out", str(out),
                           "--roster", str(roster)], cwd=AG_REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(out / f"autograder-{ASSIGNMENT}.zip") as z:
        assert "source/roster.csv" in z.namelist()
    with zipfile.ZipFile(out / "autograder-01_syntax.zip") as z:
        assert "source/roster.csv" not in z.namelist()  # only the course test needs it

    # bob's account has no sid: his email, through the roster. His notebook types his id.
    root = autograder_root(out / f"autograder-{ASSIGNMENT}.zip", tmp_path / "one")
    nbformat.write(STUDENTS["bob"], str(root / "submission" / f"{ASSIGNMENT}.ipynb"))
    (root / "submission_metadata.json").write_text(json.dumps({"users": [{"email": "bob@uni.edu", "sid": ""}]}))
    results = validate(run_autograder(root)[0])
    assert results["score"] == 10.0 and "Note:" not in results["output"]

    # A group of carol and bob hands in bob's notebook: graded as carol's test, and both notes say why.
    root = autograder_root(out / f"autograder-{ASSIGNMENT}.zip", tmp_path / "group")
    nbformat.write(STUDENTS["bob"], str(root / "submission" / f"{ASSIGNMENT}.ipynb"))
    (root / "submission_metadata.json").write_text(json.dumps(
        {"users": [{"email": "carol@uni.edu", "sid": "carol"}, {"email": "bob@uni.edu", "sid": "bob"}]}))
    results = validate(run_autograder(root)[0])
    assert results["score"] == sum(expected_scores("carol", STUDENTS["bob"]).values()) < 10.0
    assert "group submission of 2 students" in results["output"] and "graded as 'carol'" in results["output"]


def test_gradescope_submitter_falls_back_to_the_typed_id_with_a_note(tmp_path):
    assert student_ids.gradescope_submitter(tmp_path / "missing.json")[0] is None
    (tmp_path / "m.json").write_text(json.dumps({"users": []}))
    sid, note = student_ids.gradescope_submitter(tmp_path / "m.json")
    assert sid is None and "no user" in note
    (tmp_path / "m.json").write_text(json.dumps({"users": [{"email": "X@Y.org", "sid": ""}]}))
    assert student_ids.gradescope_submitter(tmp_path / "m.json", {"x@y.org": "s77"}) == ("s77", None)
    assert student_ids.gradescope_submitter(tmp_path / "m.json") == ("x@y.org", None)


def test_grade_as_prefers_the_submitter_and_says_when_it_has_none():
    source = nbformat.read(str(SOURCE), as_version=4)
    assert student_ids.grade_as(STUDENTS["bob"], source, "bob") == ("bob", None)
    sid, note = student_ids.grade_as(STUDENTS["dave"], source, "dave")
    assert sid == "dave" and "says student_id = 'alice'" in note
    sid, note = student_ids.grade_as(STUDENTS["bob"], source)
    assert sid == "bob" and "--student-id" in note
    blank = nbformat.read(str(AG_REPO / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), as_version=4)
    sid, note = student_ids.grade_as(blank, source)
    assert sid is None and "no student id" in note
    lesson = nbformat.read(str(AG_REPO / "source" / "01_syntax" / "01_syntax.ipynb"), as_version=4)
    assert student_ids.grade_as(lesson, lesson, "bob") == (None, None)  # lessons have no per-student questions


def test_a_broken_settings_cell_is_the_graders_fault_not_a_zero(tmp_path):
    """A fault in the course's own cells (here the test's salt) fails the grading, flagged as the
    grader's: no student gets a 0 that looks like theirs."""
    from autograder import pipeline

    source = nbformat.read(str(SOURCE), as_version=4)
    for cell in source.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_settings":
            cell.source = 'raise RuntimeError("broken settings")'
    root = ag_make_course(tmp_path / "course", {ASSIGNMENT: source})
    path = tmp_path / "bob" / f"{ASSIGNMENT}.ipynb"
    path.parent.mkdir()
    nbformat.write(STUDENTS["bob"], str(path))
    _, results = pipeline.grade(path, root, ASSIGNMENT, student="bob")
    assert results and all(r.score == 0 and r.output.startswith("GraderError:") and "not your code's fault" in r.output
                           and "broken settings" in r.output for r in results), [r.output for r in results]
