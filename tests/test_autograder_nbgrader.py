"""`python -m autograder grade` agrees with real `nbgrader autograde` (no mocks), and the feedback
that the hardened nbgrader_config.py produces shows no hidden test and no traceback.

Runs over the fixture course (a solution and a partly wrong submission) and over every real
lesson in source/ (its solution notebook must score full marks in both graders).
"""
import html
import json
import os
import re
import shutil
import subprocess
import sys

import nbformat
import pytest
from conftest import AG_REPO, AG_SENTINEL, ag_make_course

from autograder import course, scoring, student_ids

LESSONS = sorted(p.parent.name for p in AG_REPO.glob("source/*/*.ipynb") if p.stem == p.parent.name)
CASES = ["fixture"] + (LESSONS or [pytest.param("lesson", marks=pytest.mark.skip(reason="no lesson in source/ yet"))])


def cell(nb, gid):
    return next(c for c in nb.cells if course.grade_id(c) == gid)


def partly_wrong(source):
    """q1: a known mistake; q2: right, but its test cell deleted; q3: not a layer, then an error of its own."""
    nb = nbformat.from_dict(json.loads(json.dumps(source)))
    cell(nb, "q1_answer").source = "answer_q1 = (5, 7, 3)"
    nb.cells.remove(cell(nb, "q2_test"))
    cell(nb, "q3_answer").source = 'answer_q3 = "B"\nraise ValueError("my own bug")'
    return nb


def nbgrader_scores(root, assignment, student):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        notebook = gb.find_submission_notebook(assignment, assignment, student)
        return {g.name: (g.score, g.max_score) for g in notebook.grades}


def visible_text(page):
    """What a student reads in a feedback page: tags and the stylesheet gone, entities decoded."""
    page = re.sub(r"<style.*?</style>|<script.*?</script>", "", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", page))


@pytest.mark.parametrize("case", CASES)
def test_scores_equal_nbgrader_autograde_and_feedback_hides_tests(case, ag_course, ag_nbgrader, ag_env, tmp_path):
    if case == "fixture":
        root = shutil.copytree(ag_course, tmp_path / "course")  # release and gradebook.db already made
        assignment = "01_demo"
        source = nbformat.read(str(root / "source" / assignment / f"{assignment}.ipynb"), as_version=4)
        blank = nbformat.read(str(root / "release" / assignment / f"{assignment}.ipynb"), as_version=4)
        submissions = {"solution": source, "partial": partly_wrong(source), "blank": blank}
        expected = {"solution": {"q1_test": 1.0, "q2_test": 1.0, "q3_test": 2.0},
                    "partial": {"q1_test": 0.0, "q2_test": 1.0, "q3_test": 0.0},
                    "blank": {"q1_test": 0.0, "q2_test": 0.0, "q3_test": 0.0}}
    else:
        assignment = case
        source = nbformat.read(str(AG_REPO / "source" / case / f"{case}.ipynb"), as_version=4)
        root = ag_make_course(tmp_path / "course", {case: source})
        ag_nbgrader(root, "generate_assignment", case, "--force")
        # The course test's solution answers one student's questions: it is submitted by that student,
        # as a class's folders name their students, so both graders make the same questions.
        solver = student_ids.typed_id(source) or "solution"
        submissions = {solver: source}
        expected = {solver: {g.grade_id: g.points for g in scoring.graded_cells(source)}}
    assert all(expected.values()), "no graded cells"

    paths = {}
    for student, nb in submissions.items():
        paths[student] = root / "submitted" / student / assignment / f"{assignment}.ipynb"
        paths[student].parent.mkdir(parents=True)
        nbformat.write(nb, str(paths[student]))

    # Our grader runs while nbgrader does (each mostly waits on its own kernel).
    ours = {student: subprocess.Popen([sys.executable, "-m", "autograder", "grade", str(path), "--json",
                                       "--course", str(root), "--student-id", student], env=ag_env, cwd=AG_REPO,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for student, path in paths.items()}
    ag_nbgrader(root, "autograde", assignment, "--force")
    ag_nbgrader(root, "generate_feedback", assignment, "--force")

    hidden = [line for g in scoring.graded_cells(source) for line in g.hidden]
    assert any("BEGIN HIDDEN TESTS" in line for line in hidden)
    for student, proc in ours.items():
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        result = json.loads(out)
        mine = {t["name"]: (t["score"], t["max_score"]) for t in result["tests"]}
        theirs = nbgrader_scores(root, assignment, student)
        assert mine == theirs, student
        assert {name: score for name, (score, _) in mine.items()} == expected[student], student

        page = (root / "feedback" / student / assignment / f"{assignment}.html").read_text()
        text = visible_text(page)
        assert "BEGIN HIDDEN TESTS" not in page and AG_SENTINEL not in page
        leaked = [line for line in hidden if line in text]
        assert not leaked, f"{student}'s feedback shows hidden test lines: {leaked[:3]}"
        assert "Traceback (most recent call last)" not in text and "Cell In[" not in text
        if student == "partial":
            assert "WrongAnswer: Which axis holds the batch?" in text  # errors still show, in one line
            assert "ValueError: my own bug" in text
            assert "check(answer_q2" in text  # the deleted test cell is back, without its hidden part
        if student == "blank":  # both graders say what a blank notebook means
            assert "Not answered: answer_q1 is not defined" in text and "NameError" not in text
            assert all(t["output"].startswith("Not answered: answer_q") for t in result["tests"])


def test_feedback_plugins_fail_closed():
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    from autograder.nbgrader_plugins import ErrorsWithoutTracebacks, HideHiddenTests

    grade = {"nbgrader": {"grade": True, "solution": False, "locked": True, "points": 1, "grade_id": "q1_test"}}
    hidden = "expect_shape('q', a, (7, 5, 3))"
    unbalanced = new_code_cell(f"check(a)\n### BEGIN HIDDEN TESTS\n{hidden}", metadata=grade)
    echoed = new_code_cell(f"check(a)\n### BEGIN HIDDEN TESTS\n{hidden}\n### END HIDDEN TESTS", metadata=grade,
                           outputs=[new_output("stream", name="stdout", text=f"{hidden}\n"),
                                    new_output("error", ename="NameError", evalue="name 'a' is not defined",
                                               traceback=["Traceback (most recent call last)", f"----> {hidden}"])])
    student = new_code_cell("# my notes on ### BEGIN HIDDEN TESTS\nx = 1/0", outputs=[new_output(
        "error", ename="ZeroDivisionError", evalue="division by zero", traceback=["Cell In[3], line 2", "x = 1/0"])])
    nb = new_notebook(cells=[unbalanced, echoed, student])
    for step in (HideHiddenTests(), ErrorsWithoutTracebacks()):
        nb, _ = step.preprocess(nb, {})
    assert nb.cells[0].source == "# (hidden)"
    assert nb.cells[1].source == "check(a)"
    assert [o.get("text") or o.traceback for o in nb.cells[1].outputs] == [
        scoring.WITHHELD + "\n", ["NameError: name 'a' is not defined"]]
    assert nb.cells[2].source.startswith("# my notes") and nb.cells[2].outputs[0].traceback == [
        "ZeroDivisionError: division by zero"]


def test_config_loads_anywhere_and_names_the_plugins(tmp_path):
    """nbgrader skips a config file that raises, silently unhardened: this one must load even where
    autograder isn't importable (a failure then happens when a plugin is used, and stops nbgrader)."""
    shutil.copy(AG_REPO / "nbgrader_config.py", tmp_path)
    code = ("import json, sys\nfrom traitlets.config.loader import PyFileConfigLoader\n"
            "c = PyFileConfigLoader('nbgrader_config.py', path='.').load_config()\n"
            "names = lambda steps: [s if isinstance(s, str) else s.__name__ for s in steps]\n"
            "print(json.dumps([c.CourseDirectory.root, c.CourseDirectory.course_id, c.Execute.timeout,\n"
            "  c.Execute.interrupt_on_timeout, c.OverwriteCells.add_missing_cells,\n"
            "  names(c.GenerateFeedback.preprocessors), names(c.Autograde.autograde_preprocessors),\n"
            "  'autograder' in sys.modules]))")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    root, course_id, timeout, interrupt, add_missing, feedback, autograde, imported = json.loads(done.stdout)
    assert (root, course_id, timeout, interrupt, add_missing, imported) == (
        str(tmp_path), "lstm-course", 60, True, True, False)
    assert feedback == ["GetGrades", "CSSHTMLHeaderPreprocessor", "autograder.nbgrader_plugins.HideHiddenTests",
                        "autograder.nbgrader_plugins.ErrorsWithoutTracebacks",
                        "autograder.nbgrader_plugins.NotAnsweredErrors"]
    # Who submitted a course test is told to its checks before anything runs.
    assert autograde[:2] == ["autograder.nbgrader_plugins.GradeAsSubmitter", "autograder.nbgrader_plugins.CourseExecute"]
    assert "Execute" not in autograde
    assert "SaveAutoGrades" in autograde and "LimitOutput" in autograde
