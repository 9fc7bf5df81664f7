"""`python -m autograder grade`: finding the assignment, restoring, running and scoring a submission.

The course is the tiny fixture course of conftest.py (`ag_course`: 01_demo with 3 exercises worth
1 + 1 + 2 points, and 02_extra), never the real lessons. Tests that run a notebook cost ~3 s each.
"""
import copy
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import AG_REPO, AG_SENTINEL

from autograder import course, pipeline, restore, scoring
from autograder.errors import GraderError

FULL = {"q1_test": 1.0, "q2_test": 1.0, "q3_test": 2.0}


def source_nb(ag_course, name="01_demo"):
    return nbformat.read(str(ag_course / "source" / name / f"{name}.ipynb"), as_version=4)


def release_nb(ag_course):
    return nbformat.read(str(ag_course / "release" / "01_demo" / "01_demo.ipynb"), as_version=4)


def cell(nb, gid):
    return next(c for c in nb.cells if course.grade_id(c) == gid)


def index(nb, gid):
    return next(i for i, c in enumerate(nb.cells) if course.grade_id(c) == gid)


def write(nb, path):
    nbformat.write(nb, str(path))
    return path


def scores(results):
    """{name: score} of TestResults or of Gradescope JSON tests."""
    rows = [r if isinstance(r, dict) else r.as_dict() for r in results]
    return {row["name"]: row["score"] for row in rows}


def assert_no_leak(text):
    assert "BEGIN HIDDEN TESTS" not in text
    assert AG_SENTINEL not in text
    assert "expect_" not in text  # the hidden helpers' calls hold the expected answers
    assert "Traceback" not in text and "Cell In[" not in text and "----> " not in text


# --- which assignment: file name, then grade_ids ----------------------------------------------------

@pytest.mark.parametrize("filename", [
    "01_demo.ipynb", "Copy of 01_demo.ipynb", "01_demo (1).ipynb", "01_demo-Copy1.ipynb", "01_demo (copy).ipynb",
    "01_DEMO.ipynb", "Copy of 01_Demo (2).ipynb", "01_demo copy.ipynb", "01_demo - Ann Lee.ipynb",
])
def test_assignment_from_renamed_copies(filename):
    assert course.assignment_from_filename(filename, ["01_demo", "02_extra"]) == "01_demo"


@pytest.mark.parametrize("filename", ["homework.ipynb", "01_demo_02_extra.ipynb", "001_demo.ipynb"])
def test_assignment_from_filename_refuses_to_guess(filename):
    assert course.assignment_from_filename(filename, ["01_demo", "02_extra"]) is None


def test_assignment_from_grade_ids_uses_the_set_overlap(ag_course):
    sources = {name: source_nb(ag_course, name) for name in ("01_demo", "02_extra")}
    # q1_answer, q1_test and course_checks exist in both: the other ids decide.
    # (Like the real lessons, whose q1..q7 ids all repeat: a tie is an error, not a guess.)
    assert course.assignment_from_grade_ids(release_nb(ag_course), sources) == "01_demo"
    extra = sources["02_extra"]
    assert course.assignment_from_grade_ids(extra, sources) == "02_extra"
    tie = copy.deepcopy(extra)
    tie.cells = [c for c in tie.cells if course.grade_id(c) in ("course_checks", "q1_test")]
    for cell in tie.cells:
        cell.source = ""  # only the shared ids are left to go by
    with pytest.raises(GraderError, match="equally"):
        course.assignment_from_grade_ids(tie, sources)
    with pytest.raises(GraderError, match="matches no assignment"):
        course.assignment_from_grade_ids(nbformat.v4.new_notebook(), sources)


def test_real_lessons_with_the_same_grade_ids_are_told_apart_by_their_cells():
    root = Path(__file__).resolve().parent.parent
    sources = {p.parent.name: nbformat.read(p, 4) for p in sorted(root.glob("source/*/*.ipynb"))}
    for released in sorted(root.glob("release/*/*.ipynb")):
        assert course.assignment_from_grade_ids(nbformat.read(released, 4), sources) == released.parent.name


# --- restore (no kernel) -------------------------------------------------------------------------------

def tampered(ag_course):
    """The solution with every protected cell abused, a forged test, and raised points."""
    nb = source_nb(ag_course)
    nb.cells.pop(index(nb, "q1_test"))                                   # deleted
    q2 = cell(nb, "q2_test")
    q2.source = "pass  # no test here"                                   # edited ...
    q2.metadata.nbgrader.update(points=10, grade=False)                  # ... and "re-graded"
    duplicate = copy.deepcopy(q2)
    duplicate["id"] = "copy-of-q2"
    nb.cells.insert(index(nb, "q2_test") + 1, duplicate)                 # duplicated
    q3 = cell(nb, "q3_test")                                             # markdown, re-id'd
    q3.cell_type, q3.metadata.nbgrader["grade_id"] = "markdown", "my_notes"
    q3.pop("outputs"), q3.pop("execution_count")
    cell(nb, "01_demo_intro").source = "# my intro"                              # a locked markdown cell
    nb.cells.append(nbformat.v4.new_code_cell("print('forged')", metadata={"nbgrader": {
        "grade": True, "solution": False, "locked": True, "points": 100, "grade_id": "q9_test"}}))
    for c in nb.cells:
        if c.cell_type == "code":
            c.outputs = [nbformat.v4.new_output("stream", name="stdout", text="stale output\n")]
    return nb


def test_restore_puts_protected_cells_back_from_source(ag_course):
    source = source_nb(ag_course)
    nb = restore.restore(tampered(ag_course), source)
    ids = [course.grade_id(c) for c in nb.cells]
    protected = restore.protected_ids(source)
    assert protected == {"01_demo_intro", "course_checks", "q1_test", "q2_test", "q3_test"}
    for gid in protected:
        assert ids.count(gid) == 1, gid
        assert cell(nb, gid) == {**cell(source, gid), "id": cell(nb, gid)["id"]}  # type, source, metadata
    assert "BEGIN HIDDEN TESTS" in cell(nb, "q1_test").source
    # each test right after its answer; the student's re-id'd markdown stays, as a plain cell
    for n in (1, 2, 3):
        assert ids.index(f"q{n}_test") == ids.index(f"q{n}_answer") + 1
    assert "my_notes" not in ids and "q9_test" not in ids
    forged = nb.cells[-1]
    assert forged.source == "print('forged')" and "nbgrader" not in forged.metadata
    assert all(c.outputs == [] for c in nb.cells if c.cell_type == "code")
    assert len({c["id"] for c in nb.cells}) == len(nb.cells)
    nbformat.validate(nb)


def test_restore_inserts_missing_cells_after_the_nearest_present_source_cell(ag_course):
    source = source_nb(ag_course)
    nb = copy.deepcopy(source)
    gone = ("01_demo_intro", "course_checks", "q2_answer", "q2_test")
    nb.cells = [c for c in nb.cells if course.grade_id(c) not in gone]
    ids = [course.grade_id(c) for c in restore.restore(nb, source).cells]
    assert ids[:2] == ["01_demo_intro", "course_checks"]  # nothing before them: at the top, in source order
    assert ids.index("q2_test") == ids.index("q1_test") + 1  # its answer is gone too: after q1_test
    assert "q2_answer" not in ids


def test_graded_cells_come_from_source(ag_course):
    graded = scoring.graded_cells(source_nb(ag_course))
    assert [(g.grade_id, g.points, g.manual) for g in graded] == [
        ("q1_test", 1.0, False), ("q2_test", 1.0, False), ("q3_test", 2.0, False)]
    assert any(AG_SENTINEL in line for line in graded[0].hidden)


def test_scoring_uses_nbgrader_rules_and_short_feedback():
    hidden = scoring.hidden_lines("check(a)\n### BEGIN HIDDEN TESTS\nexpect_shape('q', a, (7, 5, 3))\n"
                                  "### END HIDDEN TESTS")
    g = scoring.GradedCell("q1_test", 2.0, False, hidden)
    out = nbformat.v4.new_output

    def run(*outputs):
        return scoring.score_cell(g, nbformat.v4.new_code_cell("x", outputs=list(outputs)))

    assert run(out("stream", name="stdout", text="Correct!\n")).as_dict() == {
        "name": "q1_test", "score": 2.0, "max_score": 2.0, "status": "passed", "output": "Correct!",
        "extra_data": {"verdict": "correct"}}
    failed = run(out("error", ename="AssertionError", evalue="Not the right shape.",
                     traceback=["Traceback (most recent call last)", "expect_shape('q', a, (7, 5, 3))"]))
    assert (failed.score, failed.status, failed.output) == (0.0, "failed", "AssertionError: Not the right shape.")
    warned = run(out("stream", name="stderr", text="UserWarning: hmm\n"))
    assert (warned.score, warned.output) == (0.0, scoring.STDERR_NOTE)
    partial = run(out("execute_result", data={"text/plain": "1.5"}, execution_count=1))
    assert (partial.score, partial.status) == (1.5, "failed")
    echoed = run(out("stream", name="stdout", text="expect_shape('q', a, (7, 5, 3))\n"))
    assert echoed.output == scoring.WITHHELD
    manual = scoring.score_cell(scoring.GradedCell("essay", 3.0, True, ()), None)
    assert (manual.score, manual.max_score, manual.output) == (0.0, 3.0, scoring.MANUAL)


def test_prepare_does_not_import_torch(ag_course, ag_env):
    code = ("import sys\nfrom autograder import pipeline\n"
            f"job = pipeline.prepare({str(ag_course / 'release/01_demo/01_demo.ipynb')!r}, {str(ag_course)!r})\n"
            "print(job.assignment, len(job.graded), 'torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], env=ag_env, capture_output=True, text=True, cwd=AG_REPO)
    assert done.stdout.split() == ["01_demo", "3", "False"], done.stderr


# --- the command line: inputs it can't grade --------------------------------------------------------------

def test_exit_2_with_one_line(ag_course, ag_grade, tmp_path):
    cases = {
        "not JSON": (write_text(tmp_path / "01_demo.ipynb", "print('hello')"), "not valid JSON"),
        "not a notebook": (write_text(tmp_path / "02_extra.ipynb", json.dumps({"cells": "no"})), "not a Jupyter"),
        "unknown assignment": (write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]),
                                     tmp_path / "homework.ipynb"), "matches no assignment"),
        "missing file": (tmp_path / "nothing.ipynb", "cannot read"),
    }
    for what, (path, message) in cases.items():
        done = ag_grade("grade", path, "--course", ag_course)
        assert done.returncode == 2, what
        assert done.stdout == "" and done.stderr.count("\n") == 1 and message in done.stderr, (what, done.stderr)
    release = ag_course / "release" / "01_demo" / "01_demo.ipynb"
    for args, message in [(["--course", tmp_path], "no course"), (["--course", tmp_path / "nope"], "not found"),
                          (["--course", ag_course, "--assignment", "99_nope"], "unknown assignment")]:
        done = ag_grade("grade", release, *args, "--json")
        assert (done.returncode, done.stdout, done.stderr.count("\n")) == (2, "", 1) and message in done.stderr
    done = ag_grade("grade", release, cwd=tmp_path)  # the course is the current directory
    assert done.returncode == 2 and "no course" in done.stderr


def write_text(path, text):
    path.write_text(text)
    return path


# --- the command line: grading (each runs a kernel) ---------------------------------------------------------

def test_solution_in_a_renamed_copy_gets_full_marks_as_gradescope_json(ag_course, ag_grade, tmp_path):
    path = write(source_nb(ag_course), tmp_path / "Copy of 01_DEMO (1).ipynb")
    done = ag_grade("grade", path, "--json", cwd=ag_course)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)  # exactly one JSON object: anything else on stdout breaks this
    assert set(result) == {"score", "max_score", "tests", "extra_data"}
    assert result["extra_data"]["assignment"] == "01_demo" and "protections" in result["extra_data"]
    assert (result["score"], result["max_score"]) == (4.0, 4.0)
    assert [set(t) for t in result["tests"]] == [{"name", "score", "max_score", "status", "output", "extra_data"}] * 3
    assert [t["extra_data"]["answer"] for t in result["tests"]] == [
        "(7, 5, 3)", "'C'", "nn.LSTM(6, 9, num_layers=2)"]
    assert {t["extra_data"]["verdict"] for t in result["tests"]} == {"correct"}
    assert result["tests"][0]["extra_data"]["title"] == "Exercise 1"
    assert {t["name"]: (t["score"], t["max_score"], t["status"]) for t in result["tests"]} == {
        "q1_test": (1.0, 1.0, "passed"), "q2_test": (1.0, 1.0, "passed"), "q3_test": (2.0, 2.0, "passed")}
    assert result["tests"][0]["output"] == "Correct! (01_demo.q1)"


def test_blank_release_renamed_scores_zero_from_its_grade_ids(ag_course, ag_grade, tmp_path):
    path = write(release_nb(ag_course), tmp_path / "homework.ipynb")
    done = ag_grade("grade", path, "--course", ag_course)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "homework.ipynb graded as 01_demo"
    assert lines[-2] == "Total: 0/4" and lines[-1].startswith("Sandbox: source/ was hidden")
    # An unanswered question says so: not a NameError, which reads like a crash.
    assert any(line.startswith("q3_test") and "0/2" in line and "not answered" in line
               and "answer_q3 is not defined" in line for line in lines), done.stdout
    assert "NameError" not in done.stdout
    assert_no_leak(done.stdout)


def test_tampered_submission_is_restored_and_feedback_never_leaks(ag_course, tmp_path):
    nb = tampered(ag_course)
    cell(nb, "q3_answer").source = "answer_q3 = nn.LSTM(input_size=9, hidden_size=6, num_layers=2)"  # a known mistake
    job, results = pipeline.grade(write(nb, tmp_path / "01_demo.ipynb"), ag_course)
    assert [r.name for r in results] == ["q1_test", "q2_test", "q3_test"]
    assert [r.max_score for r in results] == [1.0, 1.0, 2.0]  # from source: the "10 points" are ignored
    assert scores(results) == {"q1_test": 1.0, "q2_test": 1.0, "q3_test": 0.0}
    assert results[2].output == "WrongAnswer: Check the order of the two sizes."  # the restored test ran
    assert (results[2].answer, results[2].verdict) == ("nn.LSTM(9, 6, num_layers=2)", "wrong")
    for r in results:
        assert_no_leak(r.output)
        assert "9, 6" not in r.output and "6, 9" not in r.output


def test_timeout_interrupts_the_cell_and_the_rest_still_grades(ag_course, ag_grade, tmp_path):
    nb = source_nb(ag_course)
    cell(nb, "q1_answer").source = ("import os\nos.write(1, b'{not json}\\n')  # the kernel's fd 1: must not reach the JSON\n"
                                    "while True:\n    pass\nanswer_q1 = (7, 5, 3)")
    done = ag_grade("grade", write(nb, tmp_path / "01_demo.ipynb"), "--json", "--timeout", "3", cwd=ag_course)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert scores(result["tests"]) == {"q1_test": 0.0, "q2_test": 1.0, "q3_test": 2.0}
    assert result["tests"][0]["output"].startswith("Not answered: answer_q1 is not defined")
    assert result["tests"][0]["extra_data"]["verdict"] == "not answered"


def test_kernel_exit_does_not_crash_the_grader(ag_course, ag_grade, tmp_path):
    nb = source_nb(ag_course)
    cell(nb, "q2_answer").source = "import os\nos._exit(0)"
    done = ag_grade("grade", write(nb, tmp_path / "01_demo.ipynb"), "--json", cwd=ag_course)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert scores(result["tests"]) == {"q1_test": 1.0, "q2_test": 0.0, "q3_test": 0.0}
    assert all(t["output"].startswith("NotRun: ") and "kernel stopped" in t["output"] for t in result["tests"][1:])


def test_kernel_runs_in_an_empty_temp_dir_with_the_grading_env_and_timeouts(ag_course, tmp_path):
    nb = source_nb(ag_course)
    nb.cells.insert(index(nb, "q1_answer"), nbformat.v4.new_code_cell("import time\ntime.sleep(600)"))
    # The probe's findings reach the grade through answer_q1: right only if all of them hold.
    cell(nb, "q1_answer").source = (
        "import os, sys\n"
        "answer_q1 = (7, 5, 3) if (os.listdir('.') == [] and os.environ.get('LSTM_COURSE_NO_FIGURES') == '1'\n"
        f"                         and sys.executable == {sys.executable!r}) else (0, 0, 0)")
    job, results = pipeline.grade(write(nb, tmp_path / "01_demo.ipynb"), ag_course, timeout=2)
    assert scores(results) == FULL  # the sleeping cell was interrupted; every answer still counts


def test_the_table_wraps_feedback_instead_of_cutting_it():
    from autograder import report

    long = "This question wants a shape: a tuple of ints such as (2, 3, 4). Your answer is a tensor. " * 3
    results = [scoring.TestResult("q1_test", 0.0, 1.0, "failed", long.strip(), "Exercise 1", "a tensor", "wrong")]
    text = report.table(results, "x graded as y", width=100)
    lines = text.splitlines()
    assert all(len(line) <= 100 for line in lines), text
    body = " ".join(line.strip() for line in lines[3:-1])
    assert long.strip() in " ".join(body.split()) and "..." not in text
