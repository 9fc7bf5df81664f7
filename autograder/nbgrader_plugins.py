"""Preprocessors that harden nbgrader itself (nbgrader_config.py adds them).

- `CourseExecute`: nbgrader's Execute with the kernel environment that
  `python -m autograder grade` uses, so both graders run the same code path.
- `HideHiddenTests`: feedback shows test cells without their
  `### BEGIN HIDDEN TESTS` ... `### END HIDDEN TESTS` region (nbgrader's
  ClearHiddenTests), and withholds any output that repeats those lines.
- `ErrorsWithoutTracebacks`: feedback shows an error as `ename: evalue` only;
  a traceback would quote the hidden test lines it passed through.
- `NotAnsweredErrors`: a test that failed because its answer was never defined
  (NameError for `answer_qN`), or was still the placeholder ("No answer yet"), says "Not
  answered" and what to do, as `python -m autograder` does.
- `ResetStudentId` (generate_assignment): the course test's id cell is released with the
  placeholder, not the instructor's example id.
- `GradeAsSubmitter` (autograde): the course test is graded as the student whose folder it is in.
"""
import copy
import re

from jupyter_core.utils import run_sync
from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests, Execute, NbGraderPreprocessor
from traitlets import Bool, List, default

from nbformat.v4 import new_code_cell

from . import student_ids
from .kernels import SlicedKernelManager, kernel_env
from .scoring import NOT_ANSWERED_ENAME, WITHHELD, hidden_lines, not_answered_message, quotes_hidden

_DISPLAY_PRIORITY = NbGraderPreprocessor.class_traits()["display_data_priority"].default()


class CourseExecute(Execute):
    """nbgrader's Execute, starting its kernel with `autograder.kernels.kernel_env()`, and a kernel
    client that doesn't oversleep (see autograder/kernels.py)."""

    @default("kernel_manager_class")
    def _kernel_manager_class_default(self):
        return SlicedKernelManager

    async def async_start_new_kernel(self, **kwargs):
        kwargs.setdefault("env", kernel_env())
        return await super().async_start_new_kernel(**kwargs)

    # nbclient binds the sync wrapper to its own coroutine: rebind it to ours.
    start_new_kernel = run_sync(async_start_new_kernel)


def _one_line(output):
    ename, evalue = output.get("ename", "Error"), output.get("evalue", "")
    return f"{ename}: {evalue}" if evalue else ename


def _data_text(output):
    if output.get("output_type") == "stream":
        return output.get("text", "")
    data = output.get("data", {})
    return "\n".join(v if isinstance(v, str) else "\n".join(map(str, v)) for v in data.values())


class HideHiddenTests(ClearHiddenTests):
    """Remove hidden-test regions from every cell, and outputs that quote them, before feedback is rendered."""

    display_data_priority = List(_DISPLAY_PRIORITY).tag(config=True)  # as GetGrades: nbconvert configures it
    enforce_metadata = Bool(False, help="Students' own cells may hold the markers: nothing to enforce here")

    def _hide_quotes(self, cell, hidden):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                if quotes_hidden(_one_line(output), hidden):
                    output.update(ename="Error", evalue=WITHHELD)
                if quotes_hidden("\n".join(output.get("traceback", [])), hidden):
                    output.traceback = [_one_line(output)]
            elif quotes_hidden(_data_text(output), hidden):
                output.clear()
                output.update(output_type="stream", name="stdout", text=WITHHELD + "\n")

    def preprocess_cell(self, cell, resources, cell_index):
        hidden = hidden_lines(cell.source)
        if hidden and cell.cell_type == "code":
            self._hide_quotes(cell, hidden)
        try:
            return super().preprocess_cell(cell, resources, cell_index)
        except RuntimeError:  # unbalanced markers
            if utils.is_grade(cell):
                cell.source = "# (hidden)"  # fail closed: show nothing of a test cell we can't parse
            return cell, resources


class ErrorsWithoutTracebacks(NbGraderPreprocessor):
    """Replace the traceback of every error output by its one line `ename: evalue`."""

    display_data_priority = List(_DISPLAY_PRIORITY).tag(config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output.traceback = [_one_line(output)]
        return cell, resources


_UNDEFINED_ANSWER = re.compile(r"name '(answer_\w+)' is not defined")
_NO_ANSWER_YET = "No answer yet. "


class NotAnsweredErrors(NbGraderPreprocessor):
    """Show a NameError for an undefined `answer_qN` in a graded cell, and the checks' "No answer yet" for a
    placeholder answer, as "Not answered: <what to do>"."""

    display_data_priority = List(_DISPLAY_PRIORITY).tag(config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and utils.is_grade(cell):
            for output in cell.get("outputs", []):
                if output.get("output_type") != "error":
                    continue
                evalue = str(output.get("evalue", ""))
                match = _UNDEFINED_ANSWER.fullmatch(evalue)
                if output.get("ename") == "NameError" and match:
                    output.update(ename=NOT_ANSWERED_ENAME, evalue=not_answered_message(match.group(1)))
                elif output.get("ename") == "WrongAnswer" and evalue.startswith(_NO_ANSWER_YET):
                    output.update(ename=NOT_ANSWERED_ENAME, evalue=evalue[len(_NO_ANSWER_YET):])
                else:
                    continue
                output.traceback = [f"{NOT_ANSWERED_ENAME}: {output.evalue}"]
        return cell, resources


class ResetStudentId(NbGraderPreprocessor):
    """generate_assignment: the course test's id cell gets the placeholder, not the instructor's example id."""

    def preprocess_cell(self, cell, resources, cell_index):
        if student_ids.is_id_cell(cell):
            cell.source = student_ids.ID_CELL
        return cell, resources


class GradeAsSubmitter(NbGraderPreprocessor):
    """autograde: the course test is graded as the student whose folder it came from.

    nbgrader's kernel has the instructor's environment, and the id a student typed may be someone
    else's. A cell inserted right after the checks cell tells the checks who submitted
    (`grade_as`): the hidden tests then make that student's questions, and the id cell, when it
    says otherwise, prints a note that the feedback shows.
    """

    def preprocess(self, nb, resources):
        student = (resources.get("nbgrader") or {}).get("student")
        if student and student_ids.uses_ids(nb):
            where, source = student_ids.grade_as_cell(nb, student)
            if where is not None:
                nb.cells.insert(where, new_code_cell(source, metadata=copy.deepcopy(student_ids.GRADE_AS_METADATA)))
        return nb, resources
