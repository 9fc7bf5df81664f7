"""Lesson 06's training progress bar (course/progress.py): a widget in a kernel, one stdout line always."""
import pathlib

import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE = (ROOT / "course" / "progress.py").read_text()


def test_outside_a_kernel_it_prints_one_summary_line_to_stdout(capsys):
    namespace = {"__name__": "__main__"}
    exec(compile(SOURCE, "progress-cell", "exec"), namespace)
    progress = namespace["Progress"](200, "LSTM")
    for step in range(1, 201):
        progress.update(step, **({"accuracy": step / 200} if step % 50 == 0 else {}))
    assert progress.bar.value == 200 and progress.line.value.startswith("200/200 steps, accuracy 1.000")
    progress.close()
    out, err = capsys.readouterr()
    assert err == "" and out.startswith("LSTM: 200/200 steps, accuracy 1.000 (") and out.count("\n") == 1


def test_in_a_kernel_it_shows_a_bar_and_writes_nothing_to_stderr(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(SOURCE),
        nbformat.v4.new_code_cell("p = Progress(1000, 'RNN')\nfor s in range(1, 1001):\n    p.update(s)\np.close()"),
    ])
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = nb.cells[1].outputs
    views = [o for o in outputs if o.output_type == "display_data"]
    streams = [o for o in outputs if o.output_type == "stream"]
    assert len(views) == 1 and "application/vnd.jupyter.widget-view+json" in views[0].data
    assert [s.name for s in streams] == ["stdout"] and streams[0].text.startswith("RNN: 1000/1000 steps (")
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    (bar,) = [m["state"] for m in state.values() if m["model_name"] == "IntProgressModel"]
    assert bar["value"] == bar["max"] == 1000
