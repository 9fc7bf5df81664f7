"""autograder/cells.py keeps nbgrader's cell rules without importing nbgrader: here they are held equal.

Every rule is compared with nbgrader's own (nbgrader.utils, nbgrader.preprocessors.ClearHiddenTests)
on a grid of cells and outputs, and notebooks read by course.read_notebook equal nbformat's reading.
"""
import itertools
import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output
from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests

from autograder import cells, course

FLAGS = [None, {}, {"grade": True, "points": 2}, {"solution": True}, {"grade": True, "solution": True, "points": 3},
         {"locked": True}, {"locked": False, "grade": False}, {"grade": True, "locked": False, "points": 1}]
OUTPUTS = [
    [],
    [new_output("stream", name="stdout", text="Correct!\n")],
    [new_output("stream", name="stderr", text="a warning\n")],
    [new_output("error", ename="WrongAnswer", evalue="no", traceback=[])],
    [new_output("stream", name="stdout", text="x"), new_output("error", ename="E", evalue="", traceback=[])],
    [new_output("execute_result", data={"text/plain": "1.5"}, execution_count=1)],
    [new_output("execute_result", data={"text/plain": "not a number"}, execution_count=1)],
    [new_output("execute_result", data={"text/plain": "-1"}, execution_count=1)],
    [new_output("execute_result", data={"text/plain": ["0.5"]}, execution_count=1)],
    [new_output("display_data", data={"text/plain": "0.2"}), new_output("stream", name="stderr", text="w")],
]


def grid():
    for flags, outputs, kind in itertools.product(FLAGS, OUTPUTS, ("code", "markdown")):
        cell = new_code_cell("x", outputs=outputs) if kind == "code" else new_markdown_cell("x")
        if flags is not None:
            cell.metadata["nbgrader"] = dict(flags, grade_id="g")
        yield cell


def test_the_cell_predicates_are_nbgraders():
    for cell in grid():
        mine = cells.node(json.loads(json.dumps(cell)))
        for name in ("is_grade", "is_solution", "is_locked", "has_failed"):
            assert bool(getattr(cells, name)(mine)) == bool(getattr(utils, name)(cell)), (name, cell)


def test_determine_grade_is_nbgraders():
    for cell in grid():
        if not utils.is_grade(cell) or utils.is_solution(cell):
            continue  # solution grade cells: a person grades them (scoring.MANUAL), nbgrader's checksum aside
        mine = cells.node(json.loads(json.dumps(cell)))
        assert outcome(cells.determine_grade, mine) == outcome(utils.determine_grade, cell), cell


def outcome(rule, cell):
    try:
        return rule(cell)
    except Exception as err:  # both must refuse the same cells (partial credit above the points)
        return type(err)


@pytest.mark.parametrize("source", [
    "check(a)\n### BEGIN HIDDEN TESTS\nexpect_shape('q', a, (1,))\n### END HIDDEN TESTS\nprint('after')",
    "### BEGIN HIDDEN TESTS\nx = 1\n### END HIDDEN TESTS\ncheck(x)\n### BEGIN HIDDEN TESTS\ny = 2\n### END HIDDEN TESTS",
    "no hidden tests at all",
])
def test_hidden_regions_are_cut_as_clear_hidden_tests_cuts_them(source):
    cell = new_code_cell(source, metadata={"nbgrader": {"grade": True, "grade_id": "t", "points": 1}})
    ClearHiddenTests().preprocess_cell(cell, {}, 0)
    assert cells.hidden_region(source)[1] == cell.source


def test_unbalanced_hidden_regions_are_refused_like_nbgrader_does():
    for source in ("### BEGIN HIDDEN TESTS\nx", "### BEGIN HIDDEN TESTS\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS"):
        with pytest.raises(RuntimeError):
            ClearHiddenTests().preprocess_cell(new_code_cell(source, metadata={"nbgrader": {"grade": True,
                                                                                             "points": 1}}), {}, 0)
        with pytest.raises(ValueError):
            cells.hidden_region(source)


def test_read_notebook_reads_what_nbformat_reads(tmp_path):
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for path in sorted(root.glob("source/*/*.ipynb")) + sorted(root.glob("release/*/*.ipynb")):
        ours = cells.plain(course.read_notebook(path))
        theirs = json.loads(json.dumps(nbformat.read(str(path), as_version=4)))
        assert ours["cells"] == theirs["cells"], path
        assert ours["metadata"] == theirs["metadata"]
    old = tmp_path / "v3.ipynb"  # an nbformat 3 notebook is converted by nbformat itself
    old.write_text(json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": [
        {"cell_type": "code", "input": "x = 1", "language": "python", "outputs": [], "metadata": {}}]}]}))
    assert [c.source for c in course.read_notebook(old).cells] == ["x = 1"]


def test_nodes_read_as_attributes_and_copy_deeply():
    import copy

    nb = cells.notebook([cells.code_cell("x = 1", {"nbgrader": {"grade_id": "a"}})])
    assert nb.cells[0].metadata.nbgrader.grade_id == "a"
    twin = copy.deepcopy(nb)
    twin.cells[0].metadata.nbgrader.grade_id = "b"
    assert nb.cells[0].metadata.nbgrader.grade_id == "a" and isinstance(twin.cells[0], cells.Node)
    with pytest.raises(AttributeError):
        nb.missing
