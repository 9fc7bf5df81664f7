"""The learning modes that live inside every lesson (predict, then run; progressive hints) and the
start page's map of all ten. The notebooks of the other modes have tests of their own
(test_bugs, test_parsons, test_drill, test_course_test, test_cheatsheet, test_review)."""
import json
import re
from pathlib import Path

import nbformat
import pytest

from course import build

ROOT = Path(__file__).resolve().parent.parent
LESSONS = [p.parent.name for p in sorted(ROOT.glob("source/*/*.ipynb")) if p.parent.name != "course_test"]


def read(folder, lesson):
    return nbformat.read(str(ROOT / folder / lesson / f"{lesson}.ipynb"), as_version=4)


def checks_namespace(nb):
    """A namespace with the notebook's own checks cell run, as a kernel would."""
    cell = next(c for c in nb.cells if c.metadata.get("course", {}).get("generated") == "checks")
    namespace = {"__name__": "__main__"}
    exec(compile(cell.source, "<checks>", "exec"), namespace)
    return namespace


def expected_answers(nb):
    """{"q3": text of the expected value} of the exercises whose hidden test names one literally."""
    found = {}
    for cell in nb.cells:
        if build.HIDDEN_BEGIN in cell.source:
            spec = build.parse_hidden(cell.source)
            if spec.expected is not None and spec.kind in ("expect_shape", "expect_int", "expect_tensor"):
                found[spec.qid.rsplit(".", 1)[-1]] = str(tuple(spec.expected) if isinstance(spec.expected, list)
                                                         else spec.expected)
    return found


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_exercise_has_three_hints_and_they_reach_the_release(lesson):
    source, release = read("source", lesson), read("release", lesson)
    answers = [c.metadata.nbgrader.grade_id[:-len("_answer")] for c in source.cells
               if c.metadata.get("nbgrader", {}).get("grade_id", "").endswith("_answer")]
    hints = build.notebook_hints(source)
    assert sorted(hints) == sorted(answers), "every exercise has its hints"
    for qid, steps in hints.items():
        assert len(steps) == 3 and all(isinstance(s, str) and s for s in steps[:2]), qid
        assert set(steps[2]) == {"text", "code"}, qid
    # nbgrader keeps them: the release's checks cell registers the same hints.
    assert checks_namespace(release)["_course_answers"]["hints"] == hints


@pytest.mark.parametrize("lesson", LESSONS)
def test_hints_come_one_by_one_and_never_give_the_answer(lesson, capsys):
    source = read("source", lesson)
    ns = checks_namespace(read("release", lesson))
    expected = expected_answers(source)
    capsys.readouterr()
    for qid in build.notebook_hints(source):
        shown = []
        for _ in range(3):
            assert ns["hint"](qid) is None  # printed once, never returned for Jupyter to show again
            shown.append(capsys.readouterr().out.rstrip("\n"))
        assert [s.split(":", 1)[0] for s in shown] == [f"Hint {k} of 3 for {qid} ({level})" for k, level in
                                                        zip((1, 2, 3), ("a nudge", "the rule",
                                                                        "a worked example, on other numbers"))]
        assert "It prints:\n" in shown[2] and shown[2].split("It prints:\n", 1)[1].strip()  # the example ran
        assert ns["hint"](qid) is None and "last hint" in capsys.readouterr().out
        if qid in expected:
            assert not any(expected[qid] in s for s in shown), f"{lesson} {qid}: a hint shows the answer"
    assert ns["hint"]("q99") is None and "No hints for 'q99'" in capsys.readouterr().out


def test_a_wrong_answer_points_to_the_hints():
    ns = checks_namespace(read("release", "02_shapes"))
    cell = next(c for c in read("release", "02_shapes").cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == "q1_test")
    with pytest.raises(AssertionError) as info:
        exec(cell.source, dict(ns, answer_q1=(99, 99, 99)))
    assert "Stuck? hint('q1') shows a hint." in str(info.value)


@pytest.mark.parametrize("lesson", LESSONS)
def test_three_predictions_per_lesson_each_asked_before_its_code(lesson):
    nb = read("release", lesson)
    runs = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "compare_prediction(" in c.source
            and not c.metadata.get("course", {}).get("generated")]
    assert len(runs) >= 3
    for i in runs:
        guess, prompt = nb.cells[i - 1], nb.cells[i - 2]
        name = re.search(r"compare_prediction\((\w+),", nb.cells[i].source).group(1)
        assert guess.source.startswith(f"{name} = None"), guess.source  # the learner types it here
        assert prompt.cell_type == "markdown" and "Predict, then run" in prompt.source


def test_compare_prediction_names_the_mistake_and_never_raises(capsys):
    import torch

    ns = checks_namespace(read("release", "02_shapes"))
    compare = ns["compare_prediction"]
    assert compare(None, (1, 3, 20)) is None and "No prediction yet" in capsys.readouterr().out
    assert compare((1, 3, 20), torch.Size([1, 3, 20])) is True and "right" in capsys.readouterr().out
    assert compare((3, 1, 20), (1, 3, 20)) is False and "wrong order" in capsys.readouterr().out
    compare((1, 3, 20), (1, 3, 40), mistakes={(1, 3, 20): "D forgotten: two directions, 2 * H."})
    assert "PyTorch says (1, 3, 40). D forgotten" in capsys.readouterr().out
    assert compare("not a shape", (1, 3, 20)) is False  # any guess: a message, never an error


def test_the_start_page_maps_ten_modes_with_working_links():
    nb = nbformat.read(str(ROOT / "notebooks" / "00_start_here.ipynb"), as_version=4)
    table = next(c.source for c in nb.cells if c.metadata.get("course", {}).get("generated") == "modes")
    rows = [line for line in table.splitlines() if re.match(r"\| \d+\. ", line)]
    assert len(rows) == 10
    for target in re.findall(r"\]\(\.\./([^)]+)\)", table):
        assert (ROOT / target).is_file(), target
    assert table == build.modes_map(ROOT)
