"""Lesson 06's training progress bar (course/progress.py): a widget in a kernel, then one summary line, shown once."""
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


def test_in_a_kernel_the_bar_becomes_one_summary_line_shown_once(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(SOURCE),
        nbformat.v4.new_code_cell("p = Progress(1000, 'RNN')\nfor s in range(1, 1001):\n    p.update(s)\n"
                                  "assert p.bar.value == 1000\np.close()"),
    ])
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    (output,) = nb.cells[1].outputs  # no second copy printed beside it, nothing on stderr
    assert output.output_type == "display_data" and list(output.data) == ["text/plain"]
    assert output.data["text/plain"].startswith("RNN: 1000/1000 steps (")
