"""Run a restored notebook in a fresh kernel, whatever its code does.

nbclient runs the cells one by one, like nbgrader's Execute preprocessor:
errors are allowed, every cell has a timeout and a cell that runs too long is
interrupted. The kernel is this interpreter's own ipykernel, started in an
empty temporary directory (student code can't read source/ by relative path)
with the course's grading environment (`kernel_env`).

Cells that could not run get an error output saying why, so scoring (nbgrader's
determine_grade) gives them 0 and the feedback explains it:

- a cell that times out gets `CellTimeoutError` (like nbgrader);
- if the kernel dies (`os._exit`, a crash) or stays busy after a timeout, that
  cell and every later code cell get `KernelDied` / `NotRun`.
"""
import contextlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile

from nbformat import NotebookNode

from . import DEFAULT_TIMEOUT
from .errors import ExecutionError

log = logging.getLogger("autograder")

KERNEL_NAME = "python3"


def kernel_env(base=None):
    """The environment of a grading kernel (shared with nbgrader via nbgrader_plugins.CourseExecute)."""
    env = dict(os.environ if base is None else base)
    env["LSTM_COURSE_NO_FIGURES"] = "1"  # lessons skip drawing figures when graded
    return env


def error_output(ename, evalue):
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _client(nb, timeout):
    # Imported here: nbclient and jupyter_client are only needed once a notebook really runs.
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient
    from traitlets import default

    class ThisPythonKernelSpecs(KernelSpecManager):
        """Only one kernel: ipykernel of the interpreter running the grader, whatever is installed elsewhere."""

        def get_kernel_spec(self, kernel_name):
            return KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                              display_name="Python 3 (autograder)", language="python",
                              resource_dir="", metadata={"debugger": False})

    class GradingKernelManager(AsyncKernelManager):
        @default("kernel_spec_manager")
        def _kernel_spec_manager_default(self):
            return ThisPythonKernelSpecs()

    def on_cell_executed(cell, execute_reply, **_):
        # nbclient reports a timeout only in the reply; record it as an output, like nbgrader does.
        content = (execute_reply or {}).get("content", {})
        if content.get("status") != "error":
            return
        ename = content.get("ename", "Error")
        if ename == "CellTimeoutError":
            cell.outputs = [o for o in cell.outputs
                            if not (o.output_type == "error" and o.get("ename") == "KeyboardInterrupt")]
        if not any(o.output_type == "error" and o.get("ename") == ename for o in cell.outputs):
            cell.outputs.append(error_output(ename, content.get("evalue", "")))

    return NotebookClient(
        nb,
        kernel_name=KERNEL_NAME,
        kernel_manager_class=GradingKernelManager,
        timeout=timeout,
        interrupt_on_timeout=True,
        error_on_timeout={"ename": "CellTimeoutError",
                          "evalue": f"this cell ran longer than {timeout} s and was stopped",
                          "traceback": []},
        allow_errors=True,
        raise_on_iopub_timeout=True,  # a kernel still busy after the interrupt is stuck
        iopub_timeout=10,
        startup_timeout=120,
        shutdown_kernel="immediate",
        record_timing=False,
        on_cell_executed=on_cell_executed,
    )


def run(nb, timeout=DEFAULT_TIMEOUT):
    """Execute `nb` in place in a fresh kernel and return it. Never raises for what its code does."""
    client = _client(nb, timeout)
    workdir = tempfile.mkdtemp(prefix="autograder-")
    env = kernel_env()
    env["PWD"] = workdir
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)
        try:
            cleanup.enter_context(client.setup_kernel(
                cwd=workdir, env=env, cleanup_kc=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        except Exception as err:
            raise ExecutionError(f"could not start the Python kernel: {type(err).__name__}: {err}") from None
        _run_cells(client, nb, timeout)
    return nb


def _run_cells(client, nb, timeout):
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    stopped = None  # why the remaining cells can't run
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if stopped:
            cell.outputs = [error_output("NotRun", stopped)]
            continue
        try:
            client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
        except DeadKernelError:
            cell.outputs.append(error_output(
                "KernelDied", "the kernel stopped while this cell ran (exit(), os._exit() or a crash)"))
            stopped = f"the kernel stopped in cell {index + 1}; this cell did not run"
            log.warning("kernel died in cell %d", index + 1)
        except CellTimeoutError:  # no output after the interrupt: the kernel ignores it
            cell.outputs.append(error_output(
                "CellTimeoutError", f"this cell ran longer than {timeout} s and could not be stopped"))
            stopped = f"the kernel was stuck in cell {index + 1}; this cell did not run"
            log.warning("kernel stuck in cell %d", index + 1)
