"""Submissions that lost their cells' metadata are recovered by what their cells say, never over-credited.

A student who pastes their cells into a new notebook, or an editor that drops cell metadata,
leaves no nbgrader grade_id behind. Real stripped files are made two ways: jupytext to a .py
script and back with `cell_metadata_filter=-all` (a plain round trip keeps nbgrader's metadata,
so it would prove nothing), and nbformat with every cell's metadata and id removed. Each must
score exactly what the same answers score in the original layout, and be flagged.
"""
import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder import pipeline
from autograder.engine import Engine
from corpus import REPO, exercises, honest, released, set_answer, source_notebook, tool_env

LESSONS = ("02_shapes", "03_states", "05_sequences")  # each has a function exercise: to_time_major,
# top_layer_states, and last_valid and run_in_chunks
JUPYTEXT = Path(sys.executable).parent / "jupytext"


def variants(lesson):
    """{name: notebook in the original layout}: honest, partly wrong, blank."""
    ex = exercises(source_notebook(lesson))
    partly = honest(lesson)
    set_answer(partly, ex[0], f"answer_q{ex[0].n} = {ex[0].wrong}")
    set_answer(partly, ex[2], "# not done yet\nraise NotImplementedError()")
    # A scratch cell with an old wrong answer above the real one: the later cell is the answer.
    partly.cells.insert(next(i for i, c in enumerate(partly.cells)
                             if c.metadata.get("nbgrader", {}).get("grade_id") == ex[1].answer_id),
                        nbformat.v4.new_code_cell(f"answer_q{ex[1].n} = {ex[1].wrong}  # my first try"))
    return {"honest": honest(lesson), "partly": partly, "blank": released(lesson)}


def nbgrader_metadata(nb):
    return [i for i, cell in enumerate(nb.cells) if "nbgrader" in cell.get("metadata", {})]


def strip_with_nbformat(nb, path):
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    nb.nbformat_minor = 4  # cell ids appeared in 4.5: without them, no id remains either
    for cell in nb.cells:
        cell.metadata = nbformat.NotebookNode()
        cell.pop("id", None)
    nbformat.write(nb, str(path))
    return path


def strip_with_jupytext(nb, path):
    original = path.with_suffix(".orig.ipynb")
    nbformat.write(nb, str(original))
    script = path.with_suffix(".py")
    for args in (["--to", "py:percent", "--opt", "cell_metadata_filter=-all", str(original), "-o", str(script)],
                 ["--to", "ipynb", str(script), "-o", str(path)]):
        done = subprocess.run([str(JUPYTEXT), *args], capture_output=True, text=True, env=tool_env())
        assert done.returncode == 0, done.stderr
    original.unlink()
    return path


@pytest.fixture(scope="module")
def engine():
    with Engine(workers=2, timeout=10) as e:
        yield e


@pytest.mark.parametrize("lesson", LESSONS)
def test_stripped_submissions_score_exactly_as_the_original(lesson, engine, tmp_path):
    jobs = {}
    for name, nb in variants(lesson).items():
        folder = tmp_path / name
        folder.mkdir()
        original = folder / f"{lesson}.ipynb"
        nbformat.write(nb, str(original))
        stripped = {"nbformat": strip_with_nbformat(nb, folder / f"{lesson} (nbformat).ipynb"),
                    "jupytext": strip_with_jupytext(nb, folder / f"{lesson} (jupytext).ipynb")}
        for how, path in stripped.items():
            after = nbformat.read(str(path), as_version=4)
            assert not nbgrader_metadata(after), f"{how} left nbgrader metadata in cells {nbgrader_metadata(after)}"
            assert not any("id" in cell for cell in after.cells) or how == "jupytext"
        jobs[name, "original"] = pipeline.prepare(original, REPO)
        for how, path in stripped.items():
            jobs[name, how] = pipeline.prepare(path, REPO)
    graded = {id(job): results for job, results in engine.grade_all(list(jobs.values()))}
    for (name, how), job in jobs.items():
        assert job.assignment == lesson
        scores = {r.name: r.score for r in graded[id(job)]}
        want = {r.name: r.score for r in graded[id(jobs[name, "original"])]}
        assert scores == want, (name, how)
        if how == "original":
            assert "recovered without metadata" not in job.note
        else:
            assert "recovered without metadata" in job.note, (name, how)
    honest_scores = [r.score for r in graded[id(jobs["honest", "jupytext"])]]
    assert all(s > 0 for s in honest_scores)  # the recovered honest notebook gets full marks
    partly = {r.name: r.score for r in graded[id(jobs["partly", "nbformat"])]}
    assert partly["q1_test"] == partly["q3_test"] == 0.0 and partly["q2_test"] > 0  # the later q2 cell counts


@pytest.mark.parametrize("lesson", ["02_shapes", "03_states", "04_cell", "05_sequences", "06_model"])
def test_function_and_class_answers_are_recovered_by_their_def(lesson, tmp_path):
    """Each exercise whose answer is a function or a class is found by the `def` (or `class`) it completes, even
    when a cell of the lesson calls that function (a demo cell) and the scratch copy above defines it too."""
    from autograder.course import grade_id
    from autograder.restore import recover

    source = source_notebook(lesson)
    coded = [e for e in exercises(source) if e.kind in ("function", "module")]
    assert coded, lesson
    nb = honest(lesson)
    first = coded[0]
    name = re.search(r"^(?:def|class) (\w+)", first.solution, re.M).group(1)
    scratch = nbformat.v4.new_code_cell(f"def {name}(*args):\n    return None  # my first try")
    nb.cells.insert(next(i for i, c in enumerate(nb.cells) if grade_id(c) == first.answer_id), scratch)
    stripped = nbformat.read(str(strip_with_nbformat(nb, tmp_path / f"{lesson}.ipynb")), as_version=4)
    recovered, found = recover(stripped, source)
    for e in coded:
        name = re.search(r"^(?:def|class) (\w+)", e.solution, re.M).group(1)
        cells = [c for c in recovered.cells if grade_id(c) == e.answer_id]
        assert len(cells) == 1 and re.search(rf"^(?:def|class) {name}\(", cells[0].source, re.M), (lesson, e.n)
        assert "my first try" not in cells[0].source and e.answer_id in found


def test_grade_all_flags_a_recovered_submission(tmp_path, ag_env):
    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    strip_with_nbformat(honest("02_shapes"), subs / "alice_02_shapes.ipynb")
    done = subprocess.run([sys.executable, "-m", "autograder", "grade-all", str(subs), "--out", str(out),
                           "--course", str(REPO)], env=ag_env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    record = json.loads((out / "alice" / "02_shapes.json").read_text())
    assert record["score"] == record["max_score"] == 9.0 and record["status"] == "flagged"
    flagged = list(csv.DictReader(io.StringIO((out / "flagged.csv").read_text())))
    assert [r["student"] for r in flagged] == ["alice"] and "recovered without metadata" in flagged[0]["reason"]
    assert "recovered without metadata" in (out / "alice" / "02_shapes.html").read_text()
