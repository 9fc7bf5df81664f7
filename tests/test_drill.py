"""notebooks/practice.ipynb's drill, driven in a real kernel with the project's ipywidgets (8):
the answer box, every button, one answer counted once, the adaptive level, and progress saved to a
fake Drive and loaded back; the notebook's own cells, run from the top, act on nothing.
test_standalone.py drives the same under Colab's ipywidgets 7.7.1."""
import json
from pathlib import Path

import nbformat
from drill_driver import DRIVER
from nbclient import NotebookClient

from autograder.kernels import SlicedKernelManager

ROOT = Path(__file__).resolve().parent.parent
PRACTICE = ROOT / "notebooks" / "practice.ipynb"


def drive(nb, tmp_path, kernel_name="python3", env=None):
    """Run the notebook with the driver cell appended; (the driver's report, the executed notebook)."""
    nb.cells.append(nbformat.v4.new_code_cell(DRIVER))
    client = NotebookClient(nb, timeout=120, kernel_name=kernel_name, kernel_manager_class=SlicedKernelManager,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute(**({"env": env} if env else {}))
    out = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("name") == "stdout")
    errors = [f"{o.ename}: {o.evalue}" for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors, errors
    return json.loads(out.split("DRILL-DRIVER ", 1)[1]), nb


def test_drill_is_driven_by_box_buttons_and_text_api(tmp_path):
    report, nb = drive(nbformat.read(PRACTICE, as_version=4), tmp_path)
    assert report["ipywidgets"].startswith("8.")
    assert "7 answered" in report["summary"]
    assert report["saved_bytes"] < 400  # a line to paste back, not a wall of text
    # The notebook's own cells: the widget went out once, and the text API printed a question.
    start = next(c for c in nb.cells if c.cell_type == "code" and c.source.startswith("drill = start_drill("))
    bundles = [o["data"] for o in start.outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(bundles) == 1 and bundles[0]["text/plain"].startswith("[easy, question 1] ")
    asked = next(c for c in nb.cells if c.cell_type == "code" and c.source.strip() == "next_question()")
    assert "[easy, question 2]" in "".join(o.get("text", "") for o in asked.outputs)  # the same drill, next one


def test_run_all_acts_on_nothing_and_prints_no_answer(tmp_path):
    """The notebook's example cells, run from the top: the placeholder answer is not counted, show_me()
    shows nothing before an answer, and no cell echoes a stray value (save_progress, progress_summary)."""
    nb = nbformat.read(PRACTICE, as_version=4)
    client = NotebookClient(nb, timeout=120, kernel_name="python3", kernel_manager_class=SlicedKernelManager,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    printed = {c.source.split("#")[0].strip(): "".join(o.get("text", "") for o in c.outputs)
               for c in nb.cells if c.cell_type == "code"}
    assert printed["answer(None)"].startswith("Type your answer")
    assert printed["show_me()"].startswith("Answer first")
    assert printed["progress_summary()"].startswith("No questions answered yet.")
    echoed = [c.source for c in nb.cells if c.cell_type == "code" and not c.source.startswith("drill = ")
              for o in c.outputs if o.output_type == "execute_result"]
    assert not echoed, echoed
