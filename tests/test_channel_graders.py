"""The answer channel end to end: tests/channel_demo.py's lesson through `grade-all` (the sandboxed child,
plain data, the judge) and through real `nbgrader autograde` (one kernel, the hidden tests calling the
answers themselves), on a fixture course built in a temp dir.

Its six exercises use every capability of the channel: a module mutated in place, autograd in the
reference, a class whose forward takes two inputs, a required ValueError, and two observe hooks
(one of which only adds a note). Every right answer gets full marks, every named mistake its named
message, and both graders give the same scores and the same messages.
"""
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import ag_make_course

sys.path.insert(0, str(Path(__file__).resolve().parent))
import channel_demo  # noqa: E402
from channel_demo import LESSON, MISTAKES, NOTE  # noqa: E402

POINTS = {f"q{n}_test": 1.0 for n, *_ in channel_demo.EXERCISES}


def expected(student):
    """{test: (score, words its output must contain)}."""
    wrong = MISTAKES.get(student, {})
    found = {}
    for n, *_ in channel_demo.EXERCISES:
        code, words = wrong.get(n, (None, None))
        found[f"q{n}_test"] = (0.0, words) if words else (1.0, NOTE if code else f"Correct! ({LESSON}.q{n})")
    return found


def nbgrader_outputs(root, student):
    """{test: the text of its outputs} in nbgrader's autograded notebook."""
    nb = nbformat.read(str(root / "autograded" / student / LESSON / f"{LESSON}.ipynb"), as_version=4)
    found = {}
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if gid in POINTS:
            found[gid] = "\n".join(o.get("text") or f"{o.get('ename')}: {o.get('evalue')}" for o in cell.outputs)
    return found


def nbgrader_scores(root, student):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        notebook = gb.find_submission_notebook(LESSON, LESSON, student)
        return {g.name: float(g.score) for g in notebook.grades}


@pytest.fixture(scope="module")
def graded(tmp_path_factory, ag_nbgrader, ag_env):
    """The demo course, its submissions (the solution and three of named mistakes), graded by both graders at once."""
    root = ag_make_course(tmp_path_factory.mktemp("channel") / "course", {LESSON: channel_demo.lesson()})
    ag_nbgrader(root, "generate_assignment", LESSON, "--force")
    source = nbformat.read(str(root / "source" / LESSON / f"{LESSON}.ipynb"), as_version=4)
    students = {"solution": source}
    for student, answers in MISTAKES.items():
        students[student] = channel_demo.with_answers(source, {n: code for n, (code, _) in answers.items()})
    for student, nb in students.items():
        path = root / "submitted" / student / LESSON / f"{LESSON}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, str(path))
    out = root.parent / "out"
    ours = subprocess.Popen([sys.executable, "-m", "autograder", "grade-all", str(root / "submitted"), "--out",
                             str(out), "--course", str(root), "--workers", "2", "--timeout", "30", "--force"],
                            env=ag_env, cwd=root.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ag_nbgrader(root, "autograde", LESSON, "--force")
    _, err = ours.communicate(timeout=600)
    assert ours.returncode == 0, err
    records = {}
    for path in out.glob(f"*/{LESSON}.json"):
        record = json.loads(path.read_text())
        records[path.parent.name] = {t["name"]: (float(t["score"]), t["output"]) for t in record["tests"]}
    return root, list(students), records


@pytest.mark.parametrize("student", ["solution", *MISTAKES])
def test_both_graders_give_each_answer_its_score_and_message(graded, student):
    root, _, records = graded
    want = expected(student)
    mine = records[student]
    theirs_scores, theirs_text = nbgrader_scores(root, student), nbgrader_outputs(root, student)
    assert set(mine) == set(want) == set(theirs_scores)
    for test, (score, words) in want.items():
        assert mine[test][0] == theirs_scores[test] == score, (student, test, mine[test], theirs_text[test])
        assert words in mine[test][1], (student, test, mine[test][1])
        assert words in theirs_text[test], (student, test, theirs_text[test])
        if score == 0.0:  # the same message, word for word, from the same verdict
            assert mine[test][1].split("WrongAnswer: ")[-1] == theirs_text[test].split("WrongAnswer: ")[-1]


def test_every_named_mistake_was_graded(graded):
    _, students, records = graded
    named = {(s, f"q{n}_test") for s, answers in MISTAKES.items() for n, (_, words) in answers.items() if words}
    assert len(named) == 13 and all(records[s][t][0] == 0.0 for s, t in named)
    assert set(records) == set(students)
