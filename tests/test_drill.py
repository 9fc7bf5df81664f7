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


def test_the_practice_test_scores_practice_questions_without_an_echo(tmp_path):
    """practice_test.ipynb, answered right in two cells and wrong in one: score_my_test() prints per question and
    by difficulty, and returns nothing to echo."""
    import sys

    sys.path.insert(0, str(ROOT / "tests"))
    from course.graded_key import literal

    nb = nbformat.read(ROOT / "notebooks" / "practice_test.ipynb", as_version=4)
    ns = {"__name__": "__main__"}
    from course.build import checks_source
    exec(compile(checks_source((), questions="practice"), "<checks>", "exec"), ns)
    api = ns["_course_answers"]
    api["start_practice"]("first try")
    mine = api["practice_test"]()
    assert all(q["pool"] == "practice" for q in mine.values())
    for cell in nb.cells:
        if cell.source.startswith("# Set answer_q1 "):
            cell.source = f"answer_q1 = {literal(mine['q1'], mine['q1']['answer'])}"
        elif cell.source.startswith("# Set answer_q2 "):
            cell.source = f"answer_q2 = {literal(mine['q2'], mine['q2']['mistakes'][0][0])}"
    NotebookClient(nb, timeout=120, kernel_name="python3", kernel_manager_class=SlicedKernelManager,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    score = next(c for c in nb.cells if c.source.strip() == "score_my_test()")
    printed = "".join(o.get("text", "") for o in score.outputs)
    assert not [o for o in score.outputs if o.output_type == "execute_result"]
    assert printed.startswith("q1 (easy): right\nq2 (easy): wrong: ") and "q3 (easy): not answered" in printed
    assert "total 1/10" in printed and mine["q2"]["mistakes"][0][1].replace("`", "") in printed
