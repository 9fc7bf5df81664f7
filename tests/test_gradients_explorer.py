"""Lesson 07's gradient explorer (course/explorers/gradients.py), loaded the way its notebook cell runs it:
every control changes what is shown, every curve is autograd's (the lesson's own `grad_curve` on the
lesson's own `make` and `inputs`, in float64), a wrong backward pass is caught instead of drawn, and in a
kernel it is one output with its text for viewers without widgets."""
import io
import json
import pathlib

import nbformat
import numpy as np
import pytest
import torch
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE = (ROOT / "course" / "explorers" / "gradients.py").read_text()
LESSON = ROOT / "source" / "07_gradients" / "07_gradients.ipynb"
OTHER = {"kind": "RNN", "forget_bias": "3", "length": 20, "scale": 3.0, "seed": 4}


def load(figures, monkeypatch):
    if figures:
        monkeypatch.delenv("LSTM_COURSE_NO_FIGURES", raising=False)
    else:
        monkeypatch.setenv("LSTM_COURSE_NO_FIGURES", "1")
    namespace = {"__name__": "__main__"}
    exec(compile(SOURCE, "gradients-cell", "exec"), namespace)
    return namespace


def lesson():
    """The lesson's measuring cells (tagged "measure"), run as the notebook runs them."""
    namespace = {"__name__": "lesson07"}
    for cell in json.loads(LESSON.read_text())["cells"]:
        if "measure" in cell["metadata"].get("tags", []):
            exec(compile("".join(cell["source"]), "lesson07", "exec"), namespace)
    return namespace


def png(figure):
    buf = io.BytesIO()
    figure.savefig(buf, format="png")
    return buf.getvalue()


@pytest.mark.parametrize("name", list(OTHER))
def test_every_control_changes_the_text_and_the_picture(name, monkeypatch):
    explorer = load(True, monkeypatch)["GradientExplorer"]({})
    text, picture = explorer.text, png(explorer.figure)
    explorer.controls[name].value = OTHER[name]
    assert explorer.text != text and png(explorer.figure) != picture
    assert explorer.settings()[name] == OTHER[name]


def test_the_curves_are_autograds_on_the_lessons_models(monkeypatch):
    """Every curve equals the lesson's grad_curve(make(...).double(), inputs(...).double()), the chosen model's and
    the faint ones', over kinds, lengths, biases, scales and seeds."""
    explorer = load(False, monkeypatch)["GradientExplorer"]({})
    tools = lesson()
    default = "PyTorch's init"
    for kind, bias, scale, length, seed in [("RNN", default, 1.0, 37, 0), ("GRU", default, 5.0, 12, 3),
                                            ("LSTM", "3", 1.0, 100, 1), ("LSTM", "0", 0.25, 5, 9),
                                            ("LSTM", default, 3.0, 50, 2)]:
        for name, value in (("kind", kind), ("forget_bias", bias), ("scale", scale), ("length", length),
                            ("seed", seed)):
            explorer.controls[name].value = value
        for shown, values in explorer.curves.items():
            forget = None if shown != "LSTM" or bias == "PyTorch's init" else float(bias)
            model = tools["make"](shown, seed, forget_bias=forget, scale=scale).double()
            want = tools["grad_curve"](model, tools["inputs"](seed, length).double()).numpy()
            assert values.shape == (length,) and np.allclose(values, want, rtol=1e-9, atol=0), (shown, kind, length)


def test_seed_0_gives_the_lessons_table(monkeypatch):
    """At seed 0 the explorer's ratios (float64) are the lesson's float32 ones, where float32 has not underflowed."""
    explorer = load(False, monkeypatch)["GradientExplorer"]({"length": 20, "kind": "RNN"})
    tools = lesson()
    for kind in ("RNN", "GRU", "LSTM"):
        single = tools["ratio"](tools["grad_curve"](tools["make"](kind, 0), tools["inputs"](0, 20)))
        assert abs(explorer.facts["ratios"][kind] / single - 1) < 1e-3
    assert f"||dy/dx_1|| / ||dy/dx_20|| = {explorer.facts['ratio']:.1e}" in explorer.text


def test_the_text_says_where_the_curve_falls_below_a_millionth_of_its_peak(monkeypatch):
    make = load(False, monkeypatch)["GradientExplorer"]
    fading = make({"kind": "RNN", "length": 100})
    t = fading.facts["below"]
    values = fading.curves["RNN"]
    assert t is not None and values[t - 1] < 1e-6 * values.max() and (values[t:] >= 1e-6 * values.max()).all()
    assert f"first falls below 1e-6 of its peak at t = {t}" in fading.text
    held = make({"kind": "LSTM", "forget_bias": 3, "length": 100})
    assert held.facts["below"] is None and "never falls below 1e-6 of its peak" in held.text
    assert held.facts["ratio"] > 0.05 and fading.facts["ratio"] < 1e-15   # the lesson's table, L = 100, seed 0


def test_below_on_made_up_curves(monkeypatch):
    below = load(False, monkeypatch)["_gradient_curves"]["below"]
    assert below(np.array([1e-9, 1e-3, 1.0])) == 1
    assert below(np.array([1e-9, 1e-7, 1e-3, 1.0])) == 2
    assert below(np.array([1.0, 1e-9, 1.0])) == 2   # a dip is found, going back from the last step
    assert below(np.array([0.5, 1.0])) is None


def test_a_wrong_backward_pass_is_caught_not_drawn(monkeypatch):
    """Every new curve checks itself against PyTorch: a wrong output or gradient raises instead of being drawn."""
    api = load(False, monkeypatch)["_gradient_curves"]
    for kind in ("RNN", "GRU", "LSTM"):
        layer = api["model"](kind, 0, "3", 5.0)   # exploding where it can: the check must hold there too
        x = api["sequences"](0, 30).numpy()
        weights = [getattr(layer, f"{name}_l0").detach().numpy() for name in ("weight_ih", "weight_hh", "bias_ih",
                                                                              "bias_hh")]
        last, grad, entering, carried = api["backprop"](kind, *weights, x, 8)
        api["checked"](kind, layer, x, last, grad, 8, entering, carried)   # the real pass passes
        with pytest.raises(AssertionError, match="gradient"):
            api["checked"](kind, layer, x, last, grad * (1 + 1e-6), 8, entering, carried)
        with pytest.raises(AssertionError, match="gradient"):   # a wrong state gradient at the tail's start
            api["checked"](kind, layer, x, last, grad, 8, entering, tuple(c * 1.001 for c in carried))
        with pytest.raises(AssertionError, match="forward pass"):
            api["checked"](kind, layer, x, last + 1e-6, grad, 8, entering, carried)
    # The gate blocks read in another order (i, f, o, g, as some courses stack them): caught.
    layer = api["model"]("LSTM", 0, "PyTorch's init", 1.0)
    x = api["sequences"](0, 30).numpy()
    weights = [getattr(layer, f"{name}_l0").detach().numpy().copy() for name in ("weight_ih", "weight_hh",
                                                                                 "bias_ih", "bias_hh")]
    for w in weights:
        w[64:96], w[96:] = w[96:].copy(), w[64:96].copy()
    with pytest.raises(AssertionError):
        api["checked"]("LSTM", layer, x, *api["backprop"]("LSTM", *weights, x, 8)[:2], 8,
                       *api["backprop"]("LSTM", *weights, x, 8)[2:])


def test_curves_are_cached_per_setting_and_the_notebooks_random_numbers_untouched(monkeypatch):
    ns = load(False, monkeypatch)
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    explorer = ns["GradientExplorer"]({})
    cache = ns["_gradient_curves"]["cache"]
    assert len(cache) == 3
    explorer.controls["kind"].value = "RNN"            # the same three curves: nothing new computed
    assert len(cache) == 3
    explorer.controls["forget_bias"].value = "1"        # only the LSTM's curve is new
    assert len(cache) == 4
    explorer.controls["length"].value = 30              # all three
    assert len(cache) == 7
    assert torch.equal(torch.rand(3), expected)


def test_unknown_settings_are_refused(monkeypatch):
    make = load(False, monkeypatch)["GradientExplorer"]
    with pytest.raises(ValueError, match="lenght"):
        make({"lenght": 20})
    with pytest.raises(ValueError, match="kind"):
        make({"kind": "Transformer"})
    with pytest.raises(ValueError, match="forget_bias"):
        make({"forget_bias": 2.5})
    assert make({"forget_bias": 3.0}).settings()["forget_bias"] == "3"
    assert make({"forget_bias": None}).settings()["forget_bias"] == "PyTorch's init"


def test_in_a_kernel_it_is_one_output_with_the_text_for_viewers_without_widgets(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(SOURCE),
        nbformat.v4.new_code_cell("lab = explore_gradients(kind='GRU', length=30)\nlab.controls['scale'].value = 2.0"),
    ])
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    (output,) = nb.cells[1].outputs
    assert output.output_type == "display_data"
    assert output.data["text/plain"].startswith("GRU, L = 30, recurrent weights x1.00, seed 0")
    assert "application/vnd.jupyter.widget-view+json" in output.data
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    (shown,) = [m["state"]["outputs"] for m in state.values() if m["model_name"] == "OutputModel"]
    text = "".join(o.get("text", "") for o in shown if o["output_type"] == "stream")
    assert "recurrent weights x2.00" in text and any("image/png" in o.get("data", {}) for o in shown)
