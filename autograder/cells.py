"""Notebook cells as grading needs them: nbgrader's cell rules, without importing nbgrader or nbformat.

`import nbgrader.utils` costs about 1.4 s and `import nbformat` about 0.9 s (its validator
builds jsonschema's URI grammar), more than importing torch: every single-notebook grade,
every Gradescope run and every worker paid it. Grading needs only a few of their rules, so
they are kept here, small, and tests/test_cells.py holds them equal to nbgrader's own on a
grid of cells and outputs (and the engine's scores equal `nbgrader autograde`'s on the
lessons: tests/test_autograder_nbgrader.py).

    Node                a dict whose keys read as attributes too (nbformat's NotebookNode does that)
    node(data)          a Node tree of JSON data
    is_grade, is_solution, is_locked, has_failed, determine_grade   as nbgrader.utils has them
    hidden_region(source)  the lines of a cell's ### BEGIN/END HIDDEN TESTS regions (ClearHiddenTests)
    code_cell, markdown_cell, notebook   new cells and notebooks (nbformat.v4's new_* helpers)
"""

BEGIN_HIDDEN, END_HIDDEN = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"


class Node(dict):
    """A dict whose keys are also attributes: `cell.metadata.nbgrader`."""

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key, value):
        self[key] = value

    def __delattr__(self, key):
        try:
            del self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __deepcopy__(self, memo):
        return node(_plain(self))


def node(data):
    """A Node tree of JSON-like data (dicts become Nodes, lists stay lists)."""
    if isinstance(data, dict):
        return Node((key, node(value)) for key, value in data.items())
    if isinstance(data, list):
        return [node(value) for value in data]
    return data


def _plain(data):
    if isinstance(data, dict):
        return {key: _plain(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_plain(value) for value in data]
    return data


def plain(data):
    """The same data as plain dicts and lists (for JSON, pickles and nbformat)."""
    return _plain(data)


# --- nbgrader's rules ----------------------------------------------------------------------------------

def _flags(cell):
    meta = cell.get("metadata") if isinstance(cell, dict) else None
    flags = meta.get("nbgrader") if isinstance(meta, dict) else None
    return flags if isinstance(flags, dict) else None


def is_grade(cell):
    flags = _flags(cell)
    return bool(flags and flags.get("grade", False))


def is_solution(cell):
    flags = _flags(cell)
    return bool(flags and flags.get("solution", False))


def is_locked(cell):
    """nbgrader's rule: a solution cell never is; a grade cell always is; else its `locked` flag."""
    flags = _flags(cell)
    if flags is None or is_solution(cell):
        return False
    return True if is_grade(cell) else bool(flags.get("locked", False))


def _fails(output):
    return output.get("output_type") == "error" or (output.get("output_type") == "stream"
                                                    and output.get("name") == "stderr")


def has_failed(cell):
    """An error output, or anything written to stderr."""
    return cell.get("cell_type") == "code" and any(_fails(o) for o in cell.get("outputs", []))


def _partial(output, max_points):
    text = output.get("data", {}).get("text/plain")
    if not text:
        raise KeyError("output ['data']['text/plain'] does not exist")
    if isinstance(text, list):
        if len(text) > 1:
            return max_points
        text = text[0]
    try:
        grade = float(text)
    except ValueError:
        return max_points  # not a number: full credit, as nbgrader does (with a warning)
    if grade < 0.0:
        return max_points
    if grade > max_points:
        raise ValueError("partial credit cannot be greater than maximum points for cell")
    return grade


def determine_grade(cell):
    """(score or None, max points) of a grade cell, by nbgrader's rule: an error or stderr output
    gives 0, a number as the first result gives that much, anything else full marks. A solution
    cell is for a person to grade (None; nbgrader gives 0 to one left unchanged)."""
    if not is_grade(cell):
        raise ValueError("cell is not a grade cell")
    max_points = float(_flags(cell)["points"])
    if is_solution(cell) or cell.get("cell_type") != "code":
        return None, max_points
    for output in cell.get("outputs", []):
        if _fails(output):
            return 0, max_points
        if output.get("output_type") == "execute_result":
            return _partial(output, max_points), max_points
    return max_points, max_points


def hidden_region(source):
    """(the lines of its hidden-test regions, the source without them) as nbgrader's ClearHiddenTests
    cuts them: every line from one with BEGIN HIDDEN TESTS to one with END HIDDEN TESTS. Raises
    ValueError for nested or unclosed regions."""
    hidden, kept, inside = [], [], False
    for line in source.split("\n"):
        if BEGIN_HIDDEN in line:
            if inside:
                raise ValueError("nested BEGIN HIDDEN TESTS")
            inside = True
            hidden.append(line)
        elif END_HIDDEN in line:
            inside = False
            hidden.append(line)
        elif inside:
            hidden.append(line)
        else:
            kept.append(line)
    if inside:
        raise ValueError("BEGIN HIDDEN TESTS without END HIDDEN TESTS")
    return hidden, "\n".join(kept)


# --- new cells -------------------------------------------------------------------------------------------

def code_cell(source="", metadata=None, outputs=None):
    return node({"cell_type": "code", "source": source, "metadata": metadata or {}, "outputs": outputs or [],
                 "execution_count": None})


def markdown_cell(source="", metadata=None):
    return node({"cell_type": "markdown", "source": source, "metadata": metadata or {}})


def notebook(cells, metadata=None):
    return Node(cells=list(cells), metadata=node(metadata or {}), nbformat=4, nbformat_minor=4)
