"""Per-test results from an executed notebook (pure: no I/O).

The graded cells and their points come from the source notebook, never from
the submission. Each one is scored by nbgrader's own `determine_grade`, so a
score equals `nbgrader autograde`'s. Feedback holds only what the test cell
printed and `ename: evalue` of its errors: never a traceback or the cell's
source, and never an output that quotes the hidden tests.
"""
from dataclasses import dataclass

from . import cells as utils  # nbgrader's cell rules (cells.py keeps them equal to nbgrader's)
from .cells import Node as NotebookNode
from .course import grade_id

MAX_FEEDBACK_CHARS = 2000
WITHHELD = "(output withheld: it repeats the hidden test code)"
STDERR_NOTE = "The cell wrote to stderr (for example a warning), which counts as a failure."
MANUAL = "Needs manual grading."


@dataclass(frozen=True)
class GradedCell:
    grade_id: str
    points: float
    manual: bool  # a solution cell with grade=true: a person grades it
    hidden: tuple  # the lines of its hidden tests, which feedback must never show
    title: str = ""  # the exercise's heading in the source ("Exercise 1: Output shape")


# What became of an answer, in words the feedback, the table and the reports share.
CORRECT, WRONG, NOT_ANSWERED, NOT_RUN, MANUAL_VERDICT = "correct", "wrong", "not answered", "not run", "manual"
NOT_ANSWERED_ENAME = "Not answered"  # judge.py reports an undefined answer under this name
NO_STUDENT_ID_ENAME = "NoStudentId"  # a course test graded without an id: none of its questions exists
NO_ANSWER_YET = "WrongAnswer: No answer yet. "  # the checks' words for a placeholder answer


def not_answered_message(var):
    return f"{var} is not defined when this test runs. Replace the placeholder in its answer cell with your answer."


@dataclass
class TestResult:
    name: str
    score: float
    max_score: float
    status: str  # "passed" or "failed"
    output: str
    title: str = ""
    answer: str = ""  # the student's answer as short, safe plain text (answers.display); "" if none
    verdict: str = ""  # CORRECT, WRONG, NOT_ANSWERED, NOT_RUN or MANUAL_VERDICT
    # A course-test question only (None for lessons): which template it came from and the option chosen, as
    # plain data: {"template", "difficulty", "option": an option's id or None, "options": the ids as shown}.
    item: dict = None

    def as_dict(self):
        """Gradescope's test fields; what only this course knows goes in its `extra_data`."""
        data = {"name": self.name, "score": self.score, "max_score": self.max_score, "status": self.status,
                "output": self.output}
        extra = {k: v for k, v in (("title", self.title), ("answer", self.answer), ("verdict", self.verdict),
                                   ("item", self.item)) if v}
        if extra:
            data["extra_data"] = extra
        return data

    @classmethod
    def from_dict(cls, data):
        extra = data.get("extra_data") or {}
        return cls(data["name"], data["score"], data["max_score"], data["status"], data["output"],
                   extra.get("title", ""), extra.get("answer", ""), extra.get("verdict", ""), extra.get("item"))


def hidden_lines(source):
    """The distinctive lines of a cell's hidden-test regions (cut as nbgrader's ClearHiddenTests cuts them)."""
    try:
        hidden, kept = utils.hidden_region(source)
    except ValueError:  # unbalanced markers: treat the whole cell as hidden
        hidden, kept = source.split("\n"), ""
    kept = set(kept.split("\n"))
    return tuple(line.strip() for line in hidden if line not in kept and len(line.strip()) >= 8)


def quotes_hidden(text, hidden):
    return any(line in text for line in hidden)


def exercise_title(cells, index):
    """The heading of the markdown cell nearest above cells[index] (its exercise's title), or ""."""
    for cell in reversed(cells[:index]):
        if cell.get("cell_type") != "markdown":
            continue
        for line in cell.get("source", "").splitlines():
            if line.startswith("#"):
                return line.lstrip("#").strip().replace("`", "")
    return ""


def graded_cells(source):
    """The graded cells of a source notebook, in order."""
    cells, seen = [], set()
    for index, cell in enumerate(source.cells):
        gid = grade_id(cell)
        if gid and gid not in seen and utils.is_grade(cell):
            seen.add(gid)
            cells.append(GradedCell(gid, float(cell.metadata.nbgrader.get("points", 0)),
                                    bool(utils.is_solution(cell)),
                                    hidden_lines(cell.source) if cell.cell_type == "code" else (),
                                    exercise_title(source.cells, index)))
    return cells


def feedback(cell, hidden=()):
    """Short feedback for an executed cell: its stdout and `ename: evalue` of each error."""
    parts, wrote_stderr = [], False
    stdout = "".join(o.get("text", "") for o in cell.get("outputs", [])
                     if o.get("output_type") == "stream" and o.get("name") == "stdout")
    if stdout.strip():
        parts.append(stdout.rstrip("\n"))
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            ename, evalue = output.get("ename", "Error"), output.get("evalue", "")
            parts.append(f"{ename}: {evalue}" if evalue else ename)
        elif output.get("output_type") == "stream" and output.get("name") == "stderr":
            wrote_stderr = True
    if wrote_stderr:
        parts.append(STDERR_NOTE)
    text = "\n".join(parts)
    if quotes_hidden(text, hidden):
        return WITHHELD
    if len(text) > MAX_FEEDBACK_CHARS:
        text = text[:MAX_FEEDBACK_CHARS] + " ... (truncated)"
    return text


def _verdict(cell, passed):
    if passed:
        return CORRECT
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if any(o.get("ename") == NOT_ANSWERED_ENAME or str(o.get("evalue", "")).startswith("No answer yet")
           for o in errors):
        return NOT_ANSWERED
    errors = [o.get("ename") for o in errors]
    if "NotRun" in errors or NO_STUDENT_ID_ENAME in errors:
        return NOT_RUN
    return WRONG


def score_cell(graded, cell, answer=""):
    """The TestResult of one graded cell; `cell` is its executed cell, or None when absent."""
    if graded.manual:
        return TestResult(graded.grade_id, 0.0, graded.points, "failed", MANUAL, graded.title, answer, MANUAL_VERDICT)
    if cell is None or cell.cell_type != "code":
        return TestResult(graded.grade_id, 0.0, graded.points, "failed", "This test cell is missing.",
                          graded.title, answer, NOT_RUN)
    # Score a copy that carries the source's points, whatever the executed cell's metadata says.
    probe = NotebookNode(cell_type="code", source=cell.source, outputs=cell.outputs,
                         metadata=NotebookNode(nbgrader=NotebookNode(
                             grade=True, solution=False, locked=True,
                             grade_id=graded.grade_id, points=graded.points)))
    try:
        score, max_score = utils.determine_grade(probe)
    except (KeyError, ValueError):  # a result nbgrader can't score (more partial credit than points)
        score, max_score = 0.0, graded.points
    score = float(score or 0)
    passed = score >= max_score and not utils.has_failed(probe)
    verdict = _verdict(cell, passed)
    text = feedback(cell, graded.hidden)
    if verdict == NOT_ANSWERED:  # the verdict says it once: the feedback says only what to do
        text = text.replace(NO_ANSWER_YET, f"{NOT_ANSWERED_ENAME}: ")
    return TestResult(graded.grade_id, score, max_score, "passed" if passed else "failed", text, graded.title,
                      answer, verdict)


def score(executed, graded):
    """TestResults for `graded` (from graded_cells) in the executed notebook."""
    cells = {}
    for cell in executed.cells:
        cells.setdefault(grade_id(cell), cell)
    return [score_cell(g, cells.get(g.grade_id)) for g in graded]
