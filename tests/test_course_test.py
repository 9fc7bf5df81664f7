"""The course test (source/course_test), graded per student: nbgrader autograde and grade-all agree for
several students, each graded against their own questions; a notebook that types someone else's id
is graded as its submitter's and flagged; Gradescope grades the first submitter (by sid, or by
email through the bundled roster); feedback names mistakes and never shows an expected answer.

Its key never reaches a student: no notebook a student receives holds a line of it, and a
submission that calls into everything its notebook carries, or searches the kernel for what a
hidden test left behind, gets 0 in nbgrader's exchange and in grade-all alike.
"""
import json
import re
import subprocess
import sys
import zipfile

import nbformat
import pytest
from conftest import AG_REPO, ag_make_course
from question_snapshot import key_lines

from autograder import student_ids
from course import graded_key
from course.build import checks_source, settings, student_edition

ASSIGNMENT = "course_test"
SOURCE = AG_REPO / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
RELEASE = AG_REPO / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
SALT = settings(AG_REPO)["test_salt"]

_ns = {"__name__": "__main__"}
exec(compile(checks_source((), questions="graded"), "<checks>", "exec"), _ns)
API = _ns["_course_answers"]
KEY = graded_key.load(API)


def questions(student):
    """{qid: the completed question} of a student's test (the key's own solutions)."""
    chosen = API["draw_set"]("graded", student, SALT, API["REASONING"])
    return {qid: KEY["solve"](API["question"](name, student, qid, SALT)) for qid, name in chosen.items()}


def with_answers(typed, answer_of):
    """The course test as a student hands it in: `typed` in the id cell, answer_of(qid) in each answer cell."""
    nb = nbformat.read(str(SOURCE), as_version=4)
    for cell in nb.cells:
        if student_ids.is_id_cell(cell):
            cell.source = f'student_id = "{typed}"'
        gid = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if gid.endswith("_answer"):
            cell.source = answer_of(gid[:-len("_answer")])
    return nb


def submission(typed, answers_of=None, wrong=()):
    """Answers right for `answers_of` (default: the typed id), except the questions in `wrong`: their first
    named mistake."""
    mine = questions(answers_of or typed)

    def answer_of(qid):
        q = mine[qid]
        return f"answer_{qid} = {graded_key.literal(q, q['mistakes'][0][0] if qid in wrong else q['answer'])}"
    return with_answers(typed, answer_of)


# The one-liner: the template's name, read off the student's own notebook, and the old key's entry point.
def one_liner(student):
    chosen = API["draw_set"]("graded", student, SALT, API["REASONING"])
    return with_answers(student, lambda qid: f'answer_{qid} = _course_answers["test_question"]("{qid}", '
                                             f'"{chosen[qid]}")["answer"]')


# Everything a notebook carries, called; everything a hidden test could have left behind in the kernel, searched.
STEAL = r'''
def _steal(qid):
    import base64, gc, linecache, re, sys, warnings, zlib
    warnings.simplefilter("ignore")  # walking every object wakes deprecated modules
    api = globals().get("_course_answers") or {}
    def solved(blob):
        scope = {"api": api}
        exec(zlib.decompress(base64.b64decode(blob)).decode(), scope)
        return scope["solve"](api["graded_question"](qid))["answer"]
    for name in [n for n in api if any(w in n for w in ("question", "solve", "test", "item", "key", "answer"))]:
        for args in ((qid,), (qid, "constructor"), ("constructor", "x", qid, "s")):
            try:
                got = api[name](*args)
            except BaseException:
                continue
            if isinstance(got, dict) and "answer" in got:
                return got["answer"]
    texts = []
    shell = get_ipython() if "get_ipython" in globals() else None
    if shell is not None:
        texts += [str(v) for k, v in list(shell.user_ns.items()) if k.startswith("_i") or k in ("In", "Out")]
        texts += [str(x) for x in shell.history_manager.input_hist_raw]
        try:
            texts += [src for _, _, src in shell.history_manager.search("*key=*")]
        except Exception:
            pass
    texts += ["".join(e[2]) for e in list(linecache.cache.values()) if isinstance(e, tuple) and len(e) > 2]
    tb = getattr(sys, "last_traceback", None)
    while tb is not None:
        texts += [repr(tb.tb_frame.f_locals)] + [str(c) for c in tb.tb_frame.f_code.co_consts]
        tb = tb.tb_next
    for obj in gc.get_objects():
        if isinstance(obj, dict) and "solve" in obj and "SOLVERS" in obj:
            return obj["solve"](api["graded_question"](qid))["answer"]
    for text in texts:
        for blob in re.findall(r"key=['\"]([A-Za-z0-9+/=]{200,})", text):
            try:
                return solved(blob)
            except Exception:
                pass
    return None
'''


def thief(student):
    return with_answers(student, lambda qid: (STEAL if qid == "q1" else "") + f"answer_{qid} = _steal({qid!r})")


STUDENTS = {
    "alice": submission("alice"),
    "bob": submission("bob"),
    "carol": submission("carol", wrong=("q2", "q8")),
    "dave": submission("alice"),  # dave hands in alice's notebook, her id and all
    "oliver": one_liner("oliver"),
    "mallory": thief("mallory"),
}


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory, ag_nbgrader, ag_env):
    """The course test in a scratch course, submitted by six students, graded by both graders."""
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


def expected_scores(student, nb):
    """{qN_test: points} for `nb` graded as `student`, by the key's own verdict."""
    found = {}
    for cell in nb.cells:
        m = re.fullmatch(r"answer_(q\d+) = (.*)", cell.source.strip(), flags=re.S)
        if m:
            found[m.group(1)] = m.group(2)
    from torch import nn  # noqa: F401 - the literals name nn.LSTM

    return {f"{qid}_test": 1.0 if API["judge_question"](q, eval(found[qid], {"nn": nn})) is None else 0.0  # noqa: S307
            for qid, q in questions(student).items()}


def record(out, student):
    return json.loads((out / student / f"{ASSIGNMENT}.json").read_text())


def test_both_graders_agree_and_grade_each_student_against_their_own_questions(graded_course):
    root, out = graded_course
    for student in ("alice", "bob", "carol", "dave"):
        ours = {t["name"]: t["score"] for t in record(out, student)["tests"]}
        assert ours == nbgrader_scores(root, student), student
        assert ours == expected_scores(student, STUDENTS[student]), student
    assert record(out, "alice")["score"] == 10.0
    assert record(out, "carol")["score"] == 8.0
    # alice's answers are not dave's: his test is drawn from other templates, with other numbers.
    assert record(out, "dave")["score"] <= 3.0


def test_the_key_one_liner_and_every_call_into_the_notebook_get_0_in_both_graders(graded_course):
    root, out = graded_course
    for student in ("oliver", "mallory"):
        assert record(out, student)["score"] == 0.0, student
        assert sum(nbgrader_scores(root, student).values()) == 0.0, student
    oliver = {t["name"]: t for t in record(out, "oliver")["tests"]}
    assert all(t["extra_data"]["verdict"] == "not answered" for t in oliver.values())  # the one-liner raises
    # The thief's code works: handed a key the way a careless hidden test would leave it, it answers right.
    mine = questions("mallory")
    scope = dict(_ns)
    API["grade_as"]("mallory")
    try:
        API["set_salt"](SALT)
        exec(STEAL, scope)  # noqa: S102 - the test's own attack
        level = dict(API["TEST_LAYOUT"])["q3"]
        scope["get_ipython"] = lambda: None
        scope["leaked"] = f"expect_generated('course_test.q3', answer_q3, key='{graded_key.blob(level)}')"
        import linecache
        linecache.cache["<leaked>"] = (0, None, [scope["leaked"]], "<leaked>")
        assert API["judge_question"](mine["q3"], scope["_steal"]("q3")) is None
    finally:
        linecache.cache.pop("<leaked>", None)
        API["grade_as"](None)
        API["set_salt"](None)


def test_a_typed_id_that_is_not_the_submitters_is_flagged_in_both_graders(graded_course):
    root, out = graded_course
    flagged = (out / "flagged.csv").read_text()
    dave = [line for line in flagged.splitlines() if line.startswith("dave,")]
    assert len(dave) == 1 and "student_id = 'alice'" in dave[0] and "graded as the test of 'dave'" in dave[0], flagged
    assert "''" not in dave[0]  # no doubled quote
    assert not any(line.startswith(("alice,", "bob,", "carol,")) for line in flagged.splitlines())
    page = (out / "dave" / f"{ASSIGNMENT}.html").read_text()
    assert "Note:" in page and "submitted by &#x27;dave&#x27;" in page
    theirs = (root / "feedback" / "dave" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "it was submitted by &#x27;dave&#x27;" in theirs or "it was submitted by 'dave'" in theirs


def test_feedback_names_the_mistake_and_never_shows_the_expected_answer(graded_course):
    root, out = graded_course
    tests = {t["name"]: t for t in record(out, "carol")["tests"]}
    mine = questions("carol")
    for qid in ("q2", "q8"):
        q = mine[qid]
        shown = graded_key.literal(q, q["answer"])
        output = tests[f"{qid}_test"]["output"]
        assert output == f"WrongAnswer: {q['mistakes'][0][1]}", output  # no student-side "Answer recorded"
        assert shown not in output and shown not in json.dumps(tests[f"{qid}_test"])
    assert not any("Answer recorded" in t["output"] for t in record(out, "alice")["tests"])
    autograded = nbformat.read(str(root / "autograded" / "carol" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), as_version=4)
    for cell in autograded.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if gid in ("q2_test", "q8_test"):
            text = json.dumps(cell.outputs)
            assert "WrongAnswer" in text and graded_key.literal(mine[gid[:-5]], mine[gid[:-5]]["answer"]) not in text
            assert "Answer recorded" not in text
    theirs = (root / "feedback" / "carol" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert not re.search(r"Answer recorded: [^<{]", theirs)  # in the checks cell's code, never in an output
    assert not any(graded_key.blob(level)[:100] in theirs for level in graded_key.LEVELS)


def test_each_result_says_which_template_and_option(graded_course):
    """The item analysis' data: each course-test result's extra_data.item, in grade-all's per-student JSON."""
    _, out = graded_course
    for student in ("alice", "carol"):
        mine = questions(student)
        for test in record(out, student)["tests"]:
            qid = test["name"][:-len("_test")]
            q, item = mine[qid], test["extra_data"]["item"]
            assert item["template"] == q["template"] and item["difficulty"] == q["difficulty"]
            assert item["options"] == [c[0] for c in q.get("choices", [])]
            if q["kind"] != "choice":
                assert item["option"] is None
            else:
                given = q["mistakes"][0][0] if (student, qid) in {("carol", "q2"), ("carol", "q8")} else q["answer"]
                assert item["option"] == q["choices"][q["options"].index(given)][0]
    assert all(t["extra_data"]["item"]["option"] is None for t in record(out, "oliver")["tests"])


def test_the_release_asks_for_the_id_reveals_no_score_and_carries_no_key():
    release = nbformat.read(str(RELEASE), as_version=4)
    ids = [c for c in release.cells if student_ids.is_id_cell(c)]
    assert len(ids) == 1 and student_ids.PLACEHOLDER in ids[0].source
    assert student_ids.typed_id(release) is None
    code = "\n".join(c.source for c in release.cells if c.cell_type == "code"
                     and c.metadata.get("nbgrader", {}).get("grade_id") != "course_checks")
    assert "expect_generated" not in code and "score_my_test" not in code and "BEGIN HIDDEN" not in code
    assert code.count("check_form(") == 10
    settings_cell = [c for c in release.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_settings"]
    assert len(settings_cell) == 1 and repr(SALT) in settings_cell[0].source  # the term's salt travels


@pytest.fixture(scope="module")
def student_notebooks(tmp_path_factory):
    """Every notebook a student receives: the student edition (release/ and notebooks/)."""
    return sorted(student_edition(tmp_path_factory.mktemp("edition") / "student").rglob("*.ipynb"))


def test_no_notebook_a_student_receives_holds_the_key(student_notebooks):
    lines = key_lines(graded_key.source())
    blobs = [graded_key.blob(level) for level in graded_key.LEVELS]
    assert len(student_notebooks) >= 14 and lines
    for path in student_notebooks:
        text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
        assert not [line for line in lines if line in text], path
        assert not any(blob[:200] in text for blob in blobs) and "@solver(" not in text, path


def test_no_notebook_a_student_receives_can_compute_a_graded_answer(student_notebooks):
    """Each checks cell with generated questions, run alone: the one-liner and every call the key would need fail."""
    mine = questions("alice")
    checked = 0
    for path in student_notebooks:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.metadata.get("course", {}).get("generated") != "checks" or "_install_questions" not in cell.source:
                continue
            scope = {"__name__": "__main__"}
            exec(compile(cell.source, str(path), "exec"), scope)  # noqa: S102 - the course's own cell
            api = scope["_course_answers"]
            if "set_salt" in api:
                api["set_salt"](SALT)
                api["grade_as"]("alice")
            for qid, q in mine.items():
                for attempt in (lambda: api["test_question"](qid, q["template"])["answer"],
                                lambda: api["graded_question"](qid)["answer"],
                                lambda: api["question"](q["template"], "alice", qid, SALT)["answer"],
                                lambda: api["practice_question"](q["template"], "alice", qid, SALT)["answer"],
                                lambda: api["practice_solvers"][q["template"]](q)["answer"]):
                    with pytest.raises((KeyError, TypeError)):
                        attempt()
            checked += 1
    assert checked == 4  # the course test's release, practice_test, practice and review


def test_a_hidden_test_leaves_no_name_behind(tmp_path):
    """nbgrader's way (one kernel): after each hidden test, nothing new in the namespace, and the key gone from
    the input history, linecache and the failure's traceback (best effort: docs/hostile-corpus.md)."""
    from nbclient import NotebookClient

    from autograder.kernels import SlicedKernelManager

    nb = submission("erin", wrong=("q1",))
    needles = [graded_key.blob(level)[:40][::-1] for level in graded_key.LEVELS]  # reversed: the probe's own
    probe = ("import linecache as _lc, sys as _sys, json as _json\n"             # source must not match itself
             f"_needles = [n[::-1] for n in {needles!r}]\n"
             "_texts = [str(v) for k, v in list(globals().items()) if k.startswith('_i') or k in ('In', 'Out')]\n"
             "_texts += [''.join(e[2]) for e in _lc.cache.values() if isinstance(e, tuple) and len(e) > 2]\n"
             "_texts += list(get_ipython().history_manager.input_hist_raw)\n"
             "_texts += [row[2] for n in _needles for row in get_ipython().history_manager.search('*' + n + '*')]\n"
             "_tb = getattr(_sys, 'last_traceback', None)\n"
             "print('PROBE', _json.dumps({'names': sorted(k for k in globals() if not k.startswith('_')),"
             " 'api': sorted(_course_answers), 'key': any(n in t for n in _needles for t in _texts),"
             " 'traceback': _tb is not None}))")
    cells = []
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        cells += [cell]
        if gid.endswith("_test") or gid == "start_test":
            cells.append(nbformat.v4.new_code_cell(probe))
    nb.cells = cells
    NotebookClient(nb, timeout=300, kernel_name="python3", kernel_manager_class=SlicedKernelManager, allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    seen = [json.loads(o["text"].split("PROBE ", 1)[1]) for c in nb.cells if c.source == probe for o in c.outputs
            if o.get("name") == "stdout"]
    assert len(seen) == 11
    before = seen[0]
    for after, answered in zip(seen[1:], [f"answer_q{n}" for n in range(1, 11)]):
        assert set(after["names"]) <= set(before["names"]) | {f"answer_q{n}" for n in range(1, 11)}
        assert after["api"] == before["api"] and not after["key"] and not after["traceback"], after
    failed = [o for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "q1_test" for o in c.outputs
              if o.output_type == "error"]
    assert failed and failed[0]["ename"] == "WrongAnswer"  # the hidden test did run, and failed, in that kernel


# --- grading without an id, and the release's own feedback ----------------------------------------------

def test_a_test_graded_without_an_id_says_why_in_every_row_and_is_flagged(tmp_path):
    from autograder import pipeline

    root = ag_make_course(tmp_path / "course", {ASSIGNMENT: nbformat.read(str(SOURCE), as_version=4)})
    nb = submission("bob")
    for cell in nb.cells:
        if student_ids.is_id_cell(cell):
            cell.source = student_ids.ID_CELL  # the placeholder, as released
    path = tmp_path / f"{ASSIGNMENT}.ipynb"
    nbformat.write(nb, str(path))
    job, results = pipeline.grade(path, root, ASSIGNMENT)
    assert "no student id" in job.note
    assert len(results) == 10
    for r in results:
        assert r.score == 0 and r.verdict == "not run" and r.output.startswith("NoStudentId: No student id"), r
        assert "not defined" not in r.output and r.answer  # the answer is shown: it was answered
    flat = tmp_path / "flat"
    flat.mkdir()
    nbformat.write(nb, str(flat / f"{ASSIGNMENT}.ipynb"))
    done = subprocess.run([sys.executable, "-m", "autograder", "grade-all", str(flat), "--out", str(tmp_path / "out"),
                           "--course", str(root)], cwd=AG_REPO, capture_output=True, text=True, timeout=600)
    flagged = (tmp_path / "out" / "flagged.csv").read_text()
    assert done.returncode in (0, 1) and "no student id" in flagged, done.stderr


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
    assert "group submission of 2 students" in results["output"]
    assert "graded as the test of 'carol'" in results["output"]


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
    blank = nbformat.read(str(RELEASE), as_version=4)
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


def test_an_unanswered_question_says_so_once_in_both_graders_feedback():
    """A placeholder answer (a function question's `raise NotImplementedError()`) reads "Not answered: <what to
    do>", never "WrongAnswer: No answer yet", in grade-all's results and in nbgrader's feedback alike."""
    from nbformat.v4 import new_code_cell, new_output

    from autograder import scoring
    from autograder.cells import Node
    from autograder.nbgrader_plugins import NotAnsweredErrors

    said = ("No answer yet. Replace the placeholder, raise NotImplementedError(), with your code, then run this "
            "cell again.")
    cell = Node(cell_type="code", source="check_function(answer_q8, '04_cell.q8', 'lstm_step')", metadata={},
                outputs=[Node(output_type="error", ename="WrongAnswer", evalue=said, traceback=[])])
    result = scoring.score_cell(scoring.GradedCell("q8_test", 1.0, False, ()), cell)
    assert result.verdict == scoring.NOT_ANSWERED and result.score == 0
    assert result.output == "Not answered: " + said[len("No answer yet. "):]
    theirs = new_code_cell("check_function(answer_q8, '04_cell.q8', 'lstm_step')",
                           metadata={"nbgrader": {"grade": True, "grade_id": "q8_test", "points": 1}})
    theirs.outputs = [new_output("error", ename="WrongAnswer", evalue=said, traceback=["..."])]
    NotAnsweredErrors().preprocess_cell(theirs, {}, 0)
    assert theirs.outputs[0].ename == "Not answered"
    assert theirs.outputs[0].evalue == result.output[len("Not answered: "):]
