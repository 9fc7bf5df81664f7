"""Lesson 05's packing explorer (course/explorers/packing.py), loaded the way its notebook cell runs it."""
import io
import pathlib

import nbformat
import pytest
import torch
from nbclient import NotebookClient
from torch.nn.utils.rnn import pack_padded_sequence

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE = (ROOT / "course" / "explorers" / "packing.py").read_text()
OTHER = {"sequences": 4, "length_0": 8, "length_1": 1, "length_2": 6, "length_3": 7, "bidirectional": True,
         "enforce_sorted": True}


def load(figures, monkeypatch):
    if figures:
        monkeypatch.delenv("LSTM_COURSE_NO_FIGURES", raising=False)
    else:
        monkeypatch.setenv("LSTM_COURSE_NO_FIGURES", "1")
    namespace = {"__name__": "__main__"}
    exec(compile(SOURCE, "packing-cell", "exec"), namespace)
    return namespace


def png(figure):
    buf = io.BytesIO()
    figure.savefig(buf, format="png")
    return buf.getvalue()


@pytest.mark.parametrize("name", list(OTHER))
def test_every_control_changes_the_text_and_the_picture(name, monkeypatch):
    # Four sequences so that every length slider is in use; unsorted lengths so enforce_sorted matters.
    explorer = load(True, monkeypatch)["PackingExplorer"]({"lengths": (3, 5, 2, 4)})
    if name == "sequences":
        explorer.controls["sequences"].value = 2
    text, picture = explorer.text, png(explorer.figure)
    explorer.controls[name].value = OTHER[name]
    assert explorer.text != text and png(explorer.figure) != picture


@pytest.mark.parametrize("sequences", [1, 2, 3, 4])
def test_every_enabled_control_changes_what_is_shown_and_the_others_are_disabled(sequences, monkeypatch):
    """A length slider of a sequence outside the batch would change nothing: it is disabled, the rest all act."""
    explorer = load(True, monkeypatch)["PackingExplorer"]({"lengths": (3, 5, 2, 4)[:sequences]})
    disabled = {name for name, control in explorer.controls.items() if control.disabled}
    assert disabled == {f"length_{k}" for k in range(sequences, 4)}
    for name, control in explorer.controls.items():
        if control.disabled:
            continue
        text, picture = explorer.text, png(explorer.figure)
        start = control.value
        control.value = (not start) if isinstance(start, bool) else (start % control.max) + 1
        assert explorer.text != text and png(explorer.figure) != picture, name
        control.value = start
    explorer.controls["sequences"].value = 4  # every slider in use again
    assert not any(control.disabled for control in explorer.controls.values())


def test_the_facts_are_pytorchs(monkeypatch):
    explorer = load(False, monkeypatch)["PackingExplorer"]({"lengths": (2, 5, 3)})
    facts = explorer.facts
    x = torch.zeros(3, 5, 2)
    packed = pack_padded_sequence(x, [2, 5, 3], batch_first=True, enforce_sorted=False)
    assert facts["data"] == (10, 2) and facts["batch_sizes"] == packed.batch_sizes.tolist() == [3, 3, 2, 1, 1]
    assert facts["sorted_indices"] == packed.sorted_indices.tolist() == [1, 2, 0]
    assert facts["unsorted_indices"] == packed.unsorted_indices.tolist()
    # packed.data is read column by column over the sorted batch: step 0 of sequences 1, 2, 0, then step 1...
    assert [facts["where"][(row, 0)] for row in (1, 2, 0)] == [0, 1, 2]
    assert facts["where"][(1, 4)] == 9 and (0, 2) not in facts["where"]
    assert facts["zeros_at_end"] == [0, 2] and "output[:, -1] is zeros for sequence(s) [0, 2]" in explorer.text
    assert "sequence 1 (length 5): h_n from step 4" in explorer.text


def test_unsorted_lengths_with_enforce_sorted_show_pytorchs_error(monkeypatch):
    explorer = load(False, monkeypatch)["PackingExplorer"]({"lengths": (2, 5, 3), "enforce_sorted": True})
    assert explorer.facts["error"] and "RuntimeError:" in explorer.text and "enforce_sorted" in explorer.text
    explorer.controls["enforce_sorted"].value = False
    assert explorer.facts["error"] is None and "packed.data: (10, 2)" in explorer.text


def test_a_wrong_fact_is_caught_not_drawn(monkeypatch):
    """Every update checks itself against PyTorch: if h_n were not where the picture says, it raises."""
    ns = load(False, monkeypatch)
    explorer = ns["PackingExplorer"]({"lengths": (4, 2)})
    real = torch.allclose
    monkeypatch.setattr(torch, "allclose", lambda *a, **k: False)
    with pytest.raises(AssertionError):
        explorer.controls["length_1"].value = 3
    monkeypatch.setattr(torch, "allclose", real)


def test_unknown_settings_are_refused(monkeypatch):
    make = load(False, monkeypatch)["PackingExplorer"]
    with pytest.raises(ValueError, match="lenghts"):
        make({"lenghts": (2, 1)})
    with pytest.raises(ValueError, match="lengths must be"):
        make({"lengths": (9, 1)})


def test_in_a_kernel_it_is_one_output_with_the_table_for_viewers_without_widgets(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(SOURCE),
        nbformat.v4.new_code_cell("lab = explore_packing(lengths=(5, 3, 2))\nlab.controls['bidirectional'].value = True"),
    ])
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    (output,) = nb.cells[1].outputs
    assert output.output_type == "display_data"
    assert output.data["text/plain"].startswith("x: (3, 5, 2), padded")
    assert "application/vnd.jupyter.widget-view+json" in output.data
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    (shown,) = [m["state"]["outputs"] for m in state.values() if m["model_name"] == "OutputModel"]
    text = "".join(o.get("text", "") for o in shown if o["output_type"] == "stream")
    assert "backward direction from step 0" in text and any("image/png" in o.get("data", {}) for o in shown)
