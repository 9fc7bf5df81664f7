"""Find the course, read notebooks, and tell which assignment a submission is.

A course directory holds `source/<assignment>/<assignment>.ipynb` (nbgrader's
layout). A submission's assignment comes from, in this order: the caller, its
file name (as browsers, Colab and Jupyter rename copies), or the nbgrader
grade_ids of its cells.
"""
import json
import logging
import os
import re
from pathlib import Path

from .errors import GraderError

log = logging.getLogger("autograder")

SOURCE_DIR = "source"


def assignments(course):
    """{name: path of its source notebook} for every assignment in the course, sorted by name."""
    source = Path(course) / SOURCE_DIR
    if not source.is_dir():
        return {}
    found = {}
    for folder in sorted(source.iterdir()):
        notebook = folder / f"{folder.name}.ipynb"
        if notebook.is_file():
            found[folder.name] = notebook
    return found


def find_course(path=None):
    """The course directory: `path`, or the current directory."""
    root = Path(path if path is not None else os.getcwd()).resolve()
    if not root.is_dir():
        raise GraderError(f"course directory not found: {root}")
    if not assignments(root):
        raise GraderError(f"no course in {root}: expected {SOURCE_DIR}/<assignment>/<assignment>.ipynb "
                          "(run from the course directory or pass --course)")
    return root


def read_notebook(path):
    """Read a notebook as nbformat 4 (a cells.Node tree), or raise GraderError saying why it isn't one."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise GraderError(f"{path.name} is not a Jupyter notebook (not UTF-8 text)") from None
    except OSError as err:
        raise GraderError(f"cannot read {path}: {err.strerror or err}") from None
    try:
        data = json.loads(text)
    except ValueError:
        raise GraderError(f"{path.name} is not a Jupyter notebook (not valid JSON)") from None
    if not isinstance(data, dict) or "nbformat" not in data:
        raise GraderError(f"{path.name} is not a Jupyter notebook (JSON without 'nbformat')")

    from . import cells as notebooks

    if data.get("nbformat") != 4:  # an old format: nbformat converts it (slow to import, rarely needed)
        import nbformat

        try:
            data = notebooks.plain(nbformat.reads(text, as_version=4, capture_validation_error={}))
        except Exception as err:  # nbformat raises many types for a malformed file
            raise GraderError(f"{path.name} is not a Jupyter notebook ({type(err).__name__})") from None
    cells = data.get("cells")
    if not isinstance(cells, list):
        raise GraderError(f"{path.name} is not a Jupyter notebook (no list of cells)")
    for number, cell in enumerate(cells, 1):
        if isinstance(cell, dict):
            _rejoin(cell)
        if (not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw")
                or not isinstance(cell.get("source"), str)):
            raise GraderError(f"{path.name} is not a Jupyter notebook (cell {number} is malformed)")
        if not isinstance(cell.get("metadata"), dict):
            cell["metadata"] = {}
        if cell["cell_type"] == "code" and not isinstance(cell.get("outputs"), list):
            cell["outputs"] = []
    if not isinstance(data.get("metadata"), dict):
        data["metadata"] = {}
    data.setdefault("nbformat_minor", 0)
    return notebooks.node(data)


def _joined(value):
    return "".join(value) if isinstance(value, list) and all(isinstance(v, str) for v in value) else value


def _rejoin(cell):
    """Multi-line strings are stored as lists of lines on disk; grading reads them as one string."""
    cell["source"] = _joined(cell.get("source"))
    for output in cell.get("outputs") or []:
        if isinstance(output, dict):
            if "text" in output:
                output["text"] = _joined(output["text"])
            data = output.get("data")
            if isinstance(data, dict):
                for mime, value in data.items():
                    if not mime.endswith("json"):
                        data[mime] = _joined(value)


def grade_id(cell):
    """The nbgrader grade_id of a cell, or None; tolerant of any metadata a student's file holds."""
    meta = cell.get("metadata")
    nbgrader = meta.get("nbgrader") if isinstance(meta, dict) else None
    gid = nbgrader.get("grade_id") if isinstance(nbgrader, dict) else None
    return gid if isinstance(gid, str) and gid else None


def grade_ids(nb):
    return {gid for gid in map(grade_id, nb.cells) if gid}


# How copies get renamed: "Copy of X" (Google Drive, Colab), "X (1)" and "X (copy)"
# (browsers, file managers), "X-Copy1" (Jupyter), "X copy" (macOS).
_DECORATIONS = (
    re.compile(r"^copy\s+of\s+"),
    re.compile(r"\s*\((?:\d+|copy(?:\s*\d+)?)\)$"),
    re.compile(r"[\s_-]+copy\s*\d*$"),
)


def _undecorated(stem):
    stem = stem.strip().lower()
    while True:
        before = stem
        for pattern in _DECORATIONS:
            stem = pattern.sub("", stem).strip()
        if stem == before:
            return stem


def assignment_from_filename(filename, names):
    """The assignment a file name refers to, or None. Tolerates renamed copies and case."""
    stem = _undecorated(Path(filename).stem)
    by_lower = {name.lower(): name for name in names}
    if stem in by_lower:
        return by_lower[stem]
    # Otherwise the one assignment name the file name holds as a whole word ("01_syntax - Ann").
    hits = [name for name in names
            if re.search(rf"(?<![a-z0-9]){re.escape(name.lower())}(?![a-z0-9])", stem)]
    return hits[0] if len(hits) == 1 else None


def fingerprint(nb):
    """What identifies a lesson's cells: their grade_ids, and the text of every non-empty cell.

    Lessons share grade_ids (q1_test ...), so the cells' text (prose, locked cells,
    the qids in test cells) is what tells them apart.
    """
    texts = {cell.get("source", "").strip() for cell in nb.cells}
    return grade_ids(nb) | {("text", t) for t in texts if t}


def overlaps(nb, sources):
    """{assignment: how many grade_ids and cells `nb` shares with its source}."""
    ids = fingerprint(nb)
    return {name: len(ids & fingerprint(source)) for name, source in sources.items()}


def distinctive_overlaps(nb, sources):
    """{assignment: how many of its own cells `nb` holds}: text no other assignment has (its prose)."""
    texts = {name: {t for t in fingerprint(source) if isinstance(t, tuple)} for name, source in sources.items()}
    mine = {t for t in fingerprint(nb) if isinstance(t, tuple)}
    found = {}
    for name, own in texts.items():
        others = set().union(*(t for n, t in texts.items() if n != name)) if len(texts) > 1 else set()
        found[name] = len(mine & (own - others))
    return found


def assignment_from_grade_ids(nb, sources, filename="the notebook"):
    """The assignment whose source shares the most grade_ids and cells with `nb`; ties and no overlap are errors."""
    overlap = overlaps(nb, sources)
    best = max(overlap.values(), default=0)
    if best == 0:
        raise GraderError(f"{filename} matches no assignment of this course "
                          f"({', '.join(sources)}): rename it or pass --assignment")
    winners = [name for name, count in overlap.items() if count == best]
    if len(winners) > 1:
        raise GraderError(f"cannot tell which assignment {filename} is: its cells match "
                          f"{' and '.join(winners)} equally; pass --assignment")
    return winners[0]


def _other_lesson(nb, name, sources):
    """The assignment whose own cells `nb` holds more of than `name`'s, or None."""
    own = distinctive_overlaps(nb, sources)
    best = max(own, key=own.get)
    return best if best != name and own[best] > own.get(name, 0) else None


def choose_assignment(path, nb, course, requested=None, sources=None, named=None):
    """(name, source notebook path, note) of the assignment `nb` (read from `path`) belongs to.

    `note` is "" or says why the grader doubts the file is what it is named: a notebook named
    after one assignment whose cells are another's is graded by its cells, unless the caller
    asked for an assignment (then it is graded as asked, and the note says what it looks like).
    `named`: the assignment the file's place names (a grade-all folder or file name), which its
    cells may overrule like its own name. `sources`: {name: source notebook}, when read already.
    """
    available = assignments(course)
    filename = Path(path).name
    if requested is not None and requested not in available:
        raise GraderError(f"unknown assignment {requested!r}; this course has: {', '.join(available)}")
    if named is not None and named not in available:
        named = None
    name = requested or named or assignment_from_filename(filename, list(available))
    if sources is None:
        sources = {n: read_notebook(p) for n, p in available.items()}
    if name is None:
        name = assignment_from_grade_ids(nb, sources, filename)
        log.info("%s: assignment %s, found from its cells", filename, name)
        return name, available[name], ""
    other = _other_lesson(nb, name, sources)
    if other is None:
        return name, available[name], ""
    if requested is not None:
        return name, available[name], (f"{filename} was graded as {name}, as asked, but its cells are "
                                       f"{other}'s: is it the wrong notebook?")
    return other, available[other], (f"{filename} is named like {name}, but its cells are {other}'s: "
                                     f"graded as {other}")
