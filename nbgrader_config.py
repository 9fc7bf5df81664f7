"""nbgrader configuration. The repo root (this file's folder) is the nbgrader course directory.

Hardened for untrusted submissions: every cell has a timeout, test cells a
student deleted are put back, outputs are capped, and feedback never shows
hidden tests or tracebacks (see autograder/nbgrader_plugins.py).

nbgrader ignores a config file that raises (it logs the error and goes on with
its defaults), so this file imports nothing of ours: the plugins are named by
import path and loaded when used, where a failure stops nbgrader. Keep it
silent too: nothing here may print or warn.
"""
import os
import sys

from nbgrader.converters import Autograde, GenerateAssignment, GenerateFeedback
from nbgrader.preprocessors import Execute

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)  # for autograder.nbgrader_plugins
PLUGINS = "autograder.nbgrader_plugins."

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

c.CourseDirectory.root = HERE
c.CourseDirectory.course_id = "lstm-course"
c.Autograde.create_student = True  # no student list to maintain

# Running submissions
c.Execute.timeout = 60  # seconds per cell
c.Execute.interrupt_on_timeout = True
c.OverwriteCells.add_missing_cells = True
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 30
# nbgrader's own steps, with its Execute swapped for ours (the same, plus the grading kernel's environment)
_steps = Autograde.class_traits()["autograde_preprocessors"].default()
# ... and, just before it runs, the course test is told its submitter (the student folder), whatever id the
# notebook gives.
_autograde = []
for _step in _steps:
    _autograde += [PLUGINS + "GradeAsSubmitter", PLUGINS + "CourseExecute"] if _step is Execute else [_step]
c.Autograde.autograde_preprocessors = _autograde
# Released with the placeholder id, not the instructor's example one.
c.GenerateAssignment.preprocessors = GenerateAssignment.class_traits()["preprocessors"].default() + [
    PLUGINS + "ResetStudentId"]

# Feedback: nbgrader's own steps (GetGrades, CSSHTMLHeaderPreprocessor), then no hidden tests, no tracebacks,
# and "Not answered" where a test failed only because its answer was never defined.
c.GenerateFeedback.preprocessors = GenerateFeedback.class_traits()["preprocessors"].default() + [
    PLUGINS + "HideHiddenTests",
    PLUGINS + "ErrorsWithoutTracebacks",
    PLUGINS + "NotAnsweredErrors",
]
