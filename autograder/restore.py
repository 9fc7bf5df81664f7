"""Rebuild the notebook to run from a submission and its source notebook (pure: no I/O).

The same job as nbgrader's sanitize step (DeduplicateIds, OverwriteCells with
add_missing_cells=True), matched by grade_id, but with source/ as the only
authority:

- the student's cells keep their order;
- a *protected* cell (nbgrader's `is_locked` on the source cell: locked, or a
  grade cell that is not a solution: tests, the checks cell, explorer code)
  gets the source's cell type, source (hidden tests included) and metadata
  back; of a duplicated protected grade_id only the first copy is kept;
- protected source cells missing from the submission are inserted after the
  nearest preceding source cell that is present, or at the top;
- a solution cell keeps the student's source under the source's nbgrader
  metadata (a deleted one is no error: its test fails);
- any other cell is kept as a plain, ungraded cell;
- the checks cell is moved above any code cell of the student's;
- outputs are cleared.

A submission whose cells lost their nbgrader metadata (pasted into a new notebook, or saved
by an editor that drops it) is first *recovered* (`recover`): each of its code cells that
defines the names an exercise's solution cell defines (`answer_q3`, `def lstm_step`, `class
SequenceClassifier`) takes that solution cell's metadata, and a cell that repeats a protected
cell word for word takes its id. Then it is restored as usual, so it gets exactly what the
same cells would get with their metadata: test cells come from source/ and go after the
answer they test.
"""
import ast
import copy
import logging
import uuid

from . import cells as utils  # nbgrader's cell rules
from .course import grade_id

log = logging.getLogger("autograder")


def protected_ids(source):
    """grade_ids of the source cells whose content the student may not change."""
    return {grade_id(cell) for cell in source.cells if grade_id(cell) and utils.is_locked(cell)}


def _source_cells(source):
    """{grade_id: cell} of the source notebook, first cell of each id."""
    cells = {}
    for cell in source.cells:
        gid = grade_id(cell)
        if gid and gid not in cells:
            cells[gid] = cell
    return cells


def _from_source(source_cell, student_cell=None):
    cell = copy.deepcopy(source_cell)
    if student_cell is not None and "id" in student_cell:
        cell["id"] = student_cell["id"]
    return cell


def _plain(student_cell):
    cell = copy.deepcopy(student_cell)
    cell.metadata.pop("nbgrader", None)
    return cell


def _index_of(cells, gid):
    return next(i for i, cell in enumerate(cells) if grade_id(cell) == gid)


def defined_names(code):
    """The names a cell's top level defines: assignments, functions and classes ({} if it doesn't parse)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for sub in ast.walk(target):
                    if isinstance(sub, ast.Name):
                        names.add(sub.id)
    return names


def needs_recovery(submission, source):
    """Whether none of the submission's cells carries a grade_id of the source: its metadata is gone."""
    ids = {grade_id(cell) for cell in submission.cells} - {None}
    return not ids & set(_source_cells(source))


def _visible(text):
    return text.split("### BEGIN HIDDEN TESTS", 1)[0].strip()


def recover(submission, source):
    """(copy of `submission` whose cells have the nbgrader metadata they lost, [grade_ids recovered]).

    Of several cells that define an exercise's names, the last one is its answer: that is the
    one a student revised.
    """
    nb = copy.deepcopy(submission)
    by_id = _source_cells(source)
    answers = [(gid, defined_names(cell.source)) for gid, cell in by_id.items()
               if utils.is_solution(cell) and cell.cell_type == "code"]
    protected = {_visible(cell.source): gid for gid, cell in by_id.items()
                 if utils.is_locked(cell) and cell.source.strip()}
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
    chosen = {}  # cell index -> grade_id
    for gid, wanted in answers:
        hits = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and i not in chosen
                and wanted & defined_names(cell.source)]
        if hits:
            chosen[hits[-1]] = gid
    for i, cell in enumerate(nb.cells):
        gid = protected.get(cell.source.strip())
        if i not in chosen and gid is not None and gid not in chosen.values():
            chosen[i] = gid
    for i, gid in chosen.items():
        nb.cells[i].metadata["nbgrader"] = copy.deepcopy(by_id[gid].metadata["nbgrader"])
    return nb, [chosen[i] for i in sorted(chosen)]


def restore(submission, source):
    """The notebook to execute: `submission` repaired against `source` (neither is modified)."""
    by_id = _source_cells(source)
    protected = protected_ids(source)
    cells, seen = [], set()
    for student_cell in submission.cells:
        gid = grade_id(student_cell)
        if gid in protected:
            if gid in seen:
                log.info("dropped a duplicate of cell %s", gid)
                continue
            cells.append(_from_source(by_id[gid], student_cell))
        elif gid in by_id and gid not in seen:
            cell = copy.deepcopy(student_cell)
            cell.metadata["nbgrader"] = copy.deepcopy(by_id[gid].metadata["nbgrader"])
            cells.append(cell)
        else:
            if gid:
                log.info("cell with grade_id %s kept as an ungraded cell", gid)
            cells.append(_plain(student_cell))
        if gid in by_id:
            seen.add(gid)

    # Put back protected cells the submission lacks, in source order.
    order = list(by_id)
    for position, gid in enumerate(order):
        if gid not in protected or gid in seen:
            continue
        before = [g for g in reversed(order[:position]) if g in seen]
        at = _index_of(cells, before[0]) + 1 if before else 0
        cells.insert(at, _from_source(by_id[gid]))
        seen.add(gid)
        log.info("restored missing cell %s", gid)

    _checks_first(cells)
    nb = copy.deepcopy(submission)
    nb.cells = cells
    for key in ("kernelspec", "language_info"):
        if key in source.metadata:
            nb.metadata[key] = copy.deepcopy(source.metadata[key])
    _clear_outputs(nb)
    _fix_cell_ids(nb)
    return nb


def _checks_first(cells):
    """The checks cell runs before any code of the student's: a cell above it could patch what it captures."""
    index = next((i for i, cell in enumerate(cells) if grade_id(cell) == "course_checks"), None)
    first_code = next((i for i, cell in enumerate(cells) if cell.get("cell_type") == "code"), None)
    if index is not None and first_code is not None and first_code < index:
        cells.insert(first_code, cells.pop(index))


def _clear_outputs(nb):
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)


def _fix_cell_ids(nb):
    """Cell ids exist from nbformat 4.5 on and must be unique; restored cells may collide."""
    if (nb.nbformat, nb.nbformat_minor) < (4, 5):
        for cell in nb.cells:
            cell.pop("id", None)
        return
    used = set()
    for cell in nb.cells:
        if not isinstance(cell.get("id"), str) or cell["id"] in used:
            cell["id"] = uuid.uuid4().hex[:8]
        used.add(cell["id"])
