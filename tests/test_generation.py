"""Lesson 08's graded answers (course/references/08_generation.py): each named mistake is named, in one
process by the checks and through both graders (grade-all's sandboxed child, real nbgrader autograde)
with the same scores and messages; the trained-model check reads only the weights; and the lesson's
cheats (tests/corpus.py's GENERATION_CASES) get 0 for their exercise and nothing else.

The graders run tests/generation_cases.py's lesson: the real checks cell, set-up and exercise cells of
source/08_generation, without its teaching cells (which the course test runs, tests/test_course.py).
"""
import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import torch
from conftest import ag_make_course

from course import keys

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generation_cases as cases  # noqa: E402
from corpus import CONTROL, GENERATION_CASES, build_corpus, tool_env  # noqa: E402

LESSON = cases.LESSON
STUDENTS = ["solution", *cases.MISTAKES]


@pytest.fixture(scope="module")
def lesson():
    return cases.lesson()


@pytest.fixture(scope="module")
def points(lesson):
    return {cases.grade_id(c): c.metadata.nbgrader["points"] for c in lesson.cells
            if cases.grade_id(c).endswith("_test")}


@pytest.fixture(scope="module")
def base(lesson):
    """The namespace after the lesson's checks and set-up cells ran, as a kernel would run them."""
    namespace = {"__name__": "__main__"}
    for cell in lesson.cells[1:3]:
        exec(compile(cell.source, "<cell>", "exec"), namespace)
    namespace["_checks_source"] = lesson.cells[1].source
    return namespace


def run_test(base, lesson, n, code, seed):
    """(printed, message of the failure or None) of exercise n's test cell, visible and hidden parts, after
    its answer cell holds `code`."""
    ns = dict(base)
    exec(compile(cases.answer_cell(n, code), "<answer>", "exec"), ns)
    test = next(c.source for c in lesson.cells if cases.grade_id(c) == f"q{n}_test")
    ns["_course_answers"]["set_seed"](seed)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(test, "<test>", "exec"), ns)
    except AssertionError as err:
        return out.getvalue(), str(err)
    finally:
        ns["_course_answers"]["set_seed"](None)
    return out.getvalue(), None


MISTAKE_CELLS = [(student, n, code, words) for student, answers in cases.MISTAKES.items()
                 for n, (code, words) in answers.items() if n != 8]


@pytest.mark.parametrize("student,n,code,words", MISTAKE_CELLS,
                         ids=[f"{s}-q{n}" for s, n, *_ in MISTAKE_CELLS])
def test_the_checks_name_each_mistake(base, lesson, student, n, code, words):
    for seed in (1, 2, 3):
        printed, message = run_test(base, lesson, n, code, seed)
        if words is None:  # right, with a note
            assert message is None and cases.NOTE in printed, (seed, printed, message)
        else:
            assert message is not None and words in message, (seed, message)
            assert "Traceback" not in message


def test_the_solutions_pass_on_many_cases(base, lesson):
    solutions = {int(cases.grade_id(c)[1:-7]): c.source for c in lesson.cells if cases.grade_id(c).endswith("_answer")}
    for n in (1, 3, 4, 5):
        for seed in range(8):
            printed, message = run_test(base, lesson, n, solutions[n].split("\n", 1)[1].rsplit("\n\n\n", 1)[0], seed)
            assert message is None and printed.startswith(f"Correct! ({LESSON}.q{n})") and "Note" not in printed


def trained_message(base, model, hidden=True):
    """The hidden test's message on a model (the lesson's key installed, as the hidden test carries it), or the
    visible check's (hidden=False: the model's own forward on the aⁿbⁿ strings); None when it passes."""
    api = base["_course_answers"]
    try:
        if hidden:
            ns = {"__name__": "__main__"}
            exec(compile(base["_checks_source"], "<checks>", "exec"), ns)
            keys.install(ns["_course_answers"], [keys.text(keys.HERE / f"{LESSON}.py")])
            ns["expect_trained"](f"{LESSON}.q8", model, reference="anbn_lm", accuracy=0.95)
        else:
            api["check_trained"](model, f"{LESSON}.q8", "anbn_lm", 0.95,
                                 {"seed": 0, "n": api["references"]["anbn_lm"]["visible_size"]})
    except AssertionError as err:
        return str(err)
    return None


def test_the_trained_model_is_judged_from_its_weights(base):
    CharLM, VOCAB = base["CharLM"], base["VOCAB"]
    torch.manual_seed(0)
    untrained = CharLM(len(VOCAB), 4, 16)
    assert "this exercise asks for 95%" in trained_message(base, untrained)
    assert "this exercise asks for 95%" in trained_message(base, untrained, hidden=False)

    # Always "b": right at every b after the first, wrong at every $: 105 of the 120 decided ids.
    always_b = CharLM(len(VOCAB), 4, 16)
    with torch.no_grad():
        always_b.head.weight.zero_()
        always_b.head.bias.copy_(torch.tensor([0.0, 0.0, 10.0, 0.0]))
    assert "predicts 88% of the ids" in trained_message(base, always_b)
    assert "predicts 88% of the ids" in trained_message(base, always_b, hidden=False)  # the same strings

    class Rule(CharLM):  # the rule written into forward: the hidden test never calls it (a self-check does)
        def forward(self, ids, state=None):
            a, b = (ids == 1).cumsum(1), (ids == 2).cumsum(1)
            rule = torch.where((b > 0) & (b < a), 2, torch.where((b > 0) & (b == a), 3, 1))
            return 10.0 * torch.nn.functional.one_hot(rule, 4).float(), state
    ruled = Rule(len(VOCAB), 4, 16)
    assert "this exercise asks for 95%" in trained_message(base, ruled)
    assert trained_message(base, ruled, hidden=False) is None  # what a visible check can't tell (README)

    assert "4 symbols" in trained_message(base, CharLM(5, 4, 16))
    assert "wants a trained model" in trained_message(base, CharLM)
    assert "wants a trained model" in trained_message(base, CharLM, hidden=False)

    torch.manual_seed(1)
    trained = CharLM(len(VOCAB), 4, 16)
    base["train_lm"](trained, steps=500, seed=1)
    assert trained_message(base, trained) is None and trained_message(base, trained, hidden=False) is None


# --- both graders ------------------------------------------------------------------------------------------

def nbgrader_results(root, student):
    """{test: (score, the text of its outputs)} in nbgrader's gradebook and autograded notebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        notebook = gb.find_submission_notebook(LESSON, LESSON, student)
        scores = {g.name: float(g.score) for g in notebook.grades}
    nb = nbformat.read(str(root / "autograded" / student / LESSON / f"{LESSON}.ipynb"), as_version=4)
    texts = {cases.grade_id(c): "\n".join(o.get("text") or f"{o.get('ename')}: {o.get('evalue')}" for o in c.outputs)
             for c in nb.cells if cases.grade_id(c) in scores}
    return {test: (scores[test], texts[test]) for test in scores}


@pytest.fixture(scope="module")
def graded(lesson, tmp_path_factory, ag_nbgrader, ag_env):
    """The lesson's exercises, the solution and every submission of named mistakes, graded by both graders."""
    root = ag_make_course(tmp_path_factory.mktemp("generation") / "course", {LESSON: lesson})
    ag_nbgrader(root, "generate_assignment", LESSON, "--force")
    for student in STUDENTS:
        nb = lesson if student == "solution" else cases.with_answers(lesson, cases.answers(student))
        path = root / "submitted" / student / LESSON / f"{LESSON}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, str(path))
    out = root.parent / "out"
    ours = subprocess.Popen([sys.executable, "-m", "autograder", "grade-all", str(root / "submitted"), "--out",
                             str(out), "--course", str(root), "--workers", "2", "--timeout", "60", "--force"],
                            env=ag_env, cwd=root.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ag_nbgrader(root, "autograde", LESSON, "--force")
    _, err = ours.communicate(timeout=900)
    assert ours.returncode == 0, err
    records = {}
    for path in out.glob(f"*/{LESSON}.json"):
        record = json.loads(path.read_text())
        records[path.parent.name] = {t["name"]: (float(t["score"]), t["output"]) for t in record["tests"]}
    return root, records


@pytest.mark.parametrize("student", STUDENTS)
def test_both_graders_give_each_answer_its_score_and_message(graded, points, student):
    root, records = graded
    want = cases.expected(student, points)
    mine, theirs = records[student], nbgrader_results(root, student)
    assert set(mine) == set(want) == set(theirs)
    for test, (score, words) in want.items():
        assert mine[test][0] == theirs[test][0] == score, (student, test, mine[test], theirs[test])
        assert words in mine[test][1], (student, test, mine[test][1])
        assert words in theirs[test][1], (student, test, theirs[test][1])
        if score == 0.0:  # the same message, word for word, from the same verdict
            assert mine[test][1].split("WrongAnswer: ")[-1] == theirs[test][1].split("WrongAnswer: ")[-1]


def test_every_named_mistake_reached_both_graders(graded):
    _, records = graded
    named = {(s, f"q{n}_test") for s, answers in cases.MISTAKES.items() for n, (_, words) in answers.items() if words}
    assert len(named) >= 30 and all(records[s][t][0] == 0.0 for s, t in named)


# --- cheats -------------------------------------------------------------------------------------------------

def test_grade_all_gives_the_lessons_cheats_nothing(lesson, tmp_path):
    """A memorising tagger, a cached generate and a judge-detecting model: 0 for that exercise, the rest full."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_hostile import check_grade_all, print_observed

    course = ag_make_course(tmp_path / "course", {LESSON: lesson})
    subs, out = tmp_path / "submissions", tmp_path / "out"
    built = build_corpus(subs, LESSON, layout="flat", course=course, out=out, cases=[CONTROL, *GENERATION_CASES])
    assert {c.student for c in built} == {CONTROL, *GENERATION_CASES}
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "grade-all", str(subs), "--out", str(out), "--course", str(course),
         "--workers", "2", "--timeout", "60", "--force"],
        cwd=tmp_path, env=tool_env(), capture_output=True, text=True, timeout=900)
    print(done.stderr[-3000:])
    failures, observed = check_grade_all(built, done, subs, out, lesson=LESSON)
    print_observed("grade-all on lesson 08's cheats", observed)
    assert not failures, "\n".join(failures)
    for case in GENERATION_CASES:  # each lost its exercise's point to the check, not to an error of its own
        outputs = observed[f"{case} ({LESSON})"]["outputs"]
        lost = [text for test, text in outputs.items() if observed[f"{case} ({LESSON})"]["scores"][test] == 0.0]
        assert len(lost) == 1 and "WrongAnswer" in lost[0] and "Error" not in lost[0].replace("WrongAnswer", ""), lost
