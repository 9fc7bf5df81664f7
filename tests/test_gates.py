"""Lesson 04's gate explorer (course/explorers/gates.py), loaded the way its notebook cell runs it."""
import io
import math
import pathlib

import nbformat
import pytest
import torch
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE = (ROOT / "course" / "explorers" / "gates.py").read_text()
OTHER = {"pattern": "noise", "forget_bias": 4.0, "input_bias": -3.0, "weight_scale": 2.5}


def load(figures, monkeypatch):
    if figures:
        monkeypatch.delenv("LSTM_COURSE_NO_FIGURES", raising=False)
    else:
        monkeypatch.setenv("LSTM_COURSE_NO_FIGURES", "1")
    namespace = {"__name__": "__main__"}
    exec(compile(SOURCE, "gates-cell", "exec"), namespace)
    return namespace


def png(figure):
    buf = io.BytesIO()
    figure.savefig(buf, format="png")
    return buf.getvalue()


@pytest.mark.parametrize("name", list(OTHER))
def test_every_control_changes_the_text_and_the_picture(name, monkeypatch):
    explorer = load(True, monkeypatch)["GateExplorer"]({})
    text, picture = explorer.text, png(explorer.figure)
    explorer.controls[name].value = OTHER[name]
    assert explorer.text != text and png(explorer.figure) != picture
    assert explorer.settings[name] == OTHER[name]


def test_the_numbers_are_nn_lstm_cells(monkeypatch):
    explorer = load(False, monkeypatch)["GateExplorer"](dict(pattern="step", forget_bias=2.0, weight_scale=1.5))
    cell, state = explorer.cell(), None
    for row in explorer.rows:
        with torch.no_grad():
            state = cell(torch.tensor([[row["x"]]]), state)
        assert abs(state[0].item() - row["h"]) < 1e-5 and abs(state[1].item() - row["c"]) < 1e-5
        assert 0 < row["i"] < 1 and 0 < row["f"] < 1 and 0 < row["o"] < 1 and -1 < row["g"] < 1
    printed = explorer.text.splitlines()
    assert len(printed) == 2 + len(explorer.rows) + 1 and "equal nn.LSTMCell's" in printed[-1]


def test_a_wrong_equation_is_caught_not_drawn(monkeypatch):
    """Every update checks itself against nn.LSTMCell: a wrong picture raises instead of teaching."""
    ns = load(False, monkeypatch)
    monkeypatch.setattr(math, "tanh", lambda z: z)  # a "cell" without its tanh
    with pytest.raises(AssertionError, match="disagree"):
        ns["GateExplorer"]({"pattern": "pulse"})


def test_the_forget_gate_keeps_or_wipes_what_the_pulse_wrote(monkeypatch):
    make = load(False, monkeypatch)["GateExplorer"]
    keep = make(dict(pattern="pulse", forget_bias=6.0, input_bias=2.0)).rows
    wipe = make(dict(pattern="pulse", forget_bias=-6.0, input_bias=2.0)).rows
    assert keep[-1]["c"] > 0.8 * keep[2]["c"] > 0  # written at the pulse (t = 2), still there 13 steps later
    assert abs(wipe[-1]["c"]) < 0.01 * abs(wipe[2]["c"])


def test_unknown_settings_are_refused(monkeypatch):
    make = load(False, monkeypatch)["GateExplorer"]
    with pytest.raises(ValueError, match="forgetbias"):
        make({"forgetbias": 1.0})
    with pytest.raises(ValueError, match="pattern"):
        make({"pattern": "square"})


def test_in_a_kernel_it_is_one_output_with_the_table_for_viewers_without_widgets(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(SOURCE),
        nbformat.v4.new_code_cell("gates = explore_gates(pattern='step')\ngates.controls['forget_bias'].value = 3.0"),
    ])
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    (output,) = nb.cells[1].outputs
    assert output.output_type == "display_data"
    assert output.data["text/plain"].startswith("one LSTM unit, input: step; forget-gate bias +0.00")
    assert "application/vnd.jupyter.widget-view+json" in output.data
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    (shown,) = [m["state"]["outputs"] for m in state.values() if m["model_name"] == "OutputModel"]
    text = "".join(o.get("text", "") for o in shown if o["output_type"] == "stream")
    assert "forget-gate bias +3.00" in text and any("image/png" in o.get("data", {}) for o in shown)


def coloured_pixels(figure, colour):
    """How many pixels of the drawn figure have this colour (a #rrggbb string), to within a little antialiasing."""
    import numpy as np

    figure.canvas.draw()
    pixels = np.asarray(figure.canvas.buffer_rgba())[:, :, :3].astype(int)
    rgb = np.array([int(colour[k:k + 2], 16) for k in (1, 3, 5)])
    return int((np.abs(pixels - rgb).sum(axis=2) < 40).sum())


def test_at_the_defaults_no_gate_curve_hides_another(monkeypatch):
    """At zero input i, f and o are all sigmoid(0.5 h): their curves coincide, and each must still show."""
    explorer = load(True, monkeypatch)["GateExplorer"]({})
    rows = explorer.rows
    assert sum(abs(r["i"] - r["o"]) < 1e-9 and abs(r["f"] - r["o"]) < 1e-9 for r in rows) >= len(rows) - 1
    lines = explorer._lines
    for gate in "ifo":
        shown = coloured_pixels(explorer.figure, lines[gate].get_color())
        others = [lines[k] for k in "ifgo" if k != gate]
        for line in others:
            line.set_visible(False)
        alone = coloured_pixels(explorer.figure, lines[gate].get_color())
        for line in others:
            line.set_visible(True)
        assert shown > 0.35 * alone, f"{gate}: {shown} of its {alone} pixels show"
