"""The live explorer (course/explorers/layer.py), loaded the way a notebook cell runs it: exec'd source.

Only the public API is used: explore(), and the Explorer's .controls, .text, .error,
.figure, .layer, .widget and .update(). Shapes and errors are compared with a real
nn.LSTM built here, never with torch's wording.
"""
import ast
import io
import pathlib
import re
import warnings

import nbformat
import pytest
import torch
from nbclient import NotebookClient
from torch import nn

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE = (ROOT / "course" / "explorers" / "layer.py").read_text()
ALL = ["input_size", "hidden_size", "num_layers", "proj_size", "seq_len", "batch", "data_features",
       "bias", "batch_first", "bidirectional", "unbatched", "dropout"]
# Another valid value for each control, starting from the defaults.
OTHER = {"input_size": 12, "hidden_size": 24, "num_layers": 2, "proj_size": 5, "seq_len": 7, "batch": 4,
         "data_features": 8, "bias": False, "batch_first": True, "bidirectional": True, "unbatched": True,
         "dropout": 0.5}
CONSTRUCTOR = {"input_size", "hidden_size", "num_layers", "proj_size", "bias", "batch_first",
               "bidirectional", "dropout"}


def load():
    """A fresh namespace holding the explorer cell's names, as in a notebook."""
    namespace = {"__name__": "__main__"}
    exec(compile(SOURCE, "explorer-cell", "exec"), namespace)
    return namespace


@pytest.fixture(params=["drawn", "text-only"])
def mode(request, monkeypatch):
    if request.param == "drawn":
        monkeypatch.delenv("LSTM_COURSE_NO_FIGURES", raising=False)
    else:
        monkeypatch.setenv("LSTM_COURSE_NO_FIGURES", "1")
    return request.param


@pytest.fixture
def explore(monkeypatch):
    monkeypatch.setenv("LSTM_COURSE_NO_FIGURES", "1")
    return load()["explore"]


def png(figure):
    buf = io.BytesIO()
    figure.savefig(buf, format="png")
    return buf.getvalue()


def shown(text, name):
    """The shape the explorer's table gives for `name` (input, output, h_n, c_n)."""
    match = re.search(rf"^{name}\s+(\([\d, ]*\))", text, re.M)
    assert match, f"no {name} row in:\n{text}"
    return ast.literal_eval(match.group(1))


def param_count(text):
    match = re.search(r"^parameters: (\d+)$", text, re.M)
    assert match, f"no parameter count in:\n{text}"
    return int(match.group(1))


def real(config):
    """What PyTorch itself gives for a config: shapes of input, output, h_n, c_n and the count."""
    args = {k: config[k] for k in CONSTRUCTOR if k in config}
    L, N = config.get("seq_len", 5), config.get("batch", 3)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layer = nn.LSTM(**{"input_size": 10, "hidden_size": 20, **args})
        features = config.get("data_features", layer.input_size)
        shape = (L, features) if config.get("unbatched") else (N, L, features) if layer.batch_first else (L, N, features)
        out, (h_n, c_n) = layer(torch.randn(shape))
    return {"input": shape, "output": tuple(out.shape), "h_n": tuple(h_n.shape), "c_n": tuple(c_n.shape),
            "params": sum(p.numel() for p in layer.parameters())}


def assert_table(ex, want):
    for name in ("input", "output", "h_n", "c_n"):
        assert shown(ex.text, name) == want[name], (name, ex.text)
    assert param_count(ex.text) == want["params"], ex.text


@pytest.mark.parametrize("name", ALL)
def test_every_control_changes_text_and_figure(name, mode, capfd):
    ex = load()["explore"]()
    assert set(ex.controls) == set(ALL)
    text = ex.text
    picture = png(ex.figure) if mode == "drawn" else None
    ex.controls[name].value = OTHER[name]
    assert ex.text != text, f"setting {name} left the text unchanged:\n{text}"
    if mode == "drawn":
        assert png(ex.figure) != picture, f"setting {name} left the figure unchanged"
    else:
        assert ex.figure is None
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("name", ALL)
def test_every_control_reaches_the_layer_or_the_input(name, explore):
    ex = explore()
    ex.controls[name].value = OTHER[name]
    if name in CONSTRUCTOR:
        assert ex.layer is not None and getattr(ex.layer, name) == OTHER[name]
    if name == "data_features":
        assert ex.error is not None and shown(ex.text, "input") == (5, 3, 8)
    else:
        assert ex.error is None, ex.error
        assert_table(ex, real({name: OTHER[name]}))


# L=5, N=3, H_in=10, H=20, from /work/shared/lstm-facts.md, plus the layouts it mentions.
FACTS = [
    ({}, (5, 3, 20), (1, 3, 20), (1, 3, 20), 2560),
    ({"num_layers": 2}, (5, 3, 20), (2, 3, 20), (2, 3, 20), 5920),
    ({"bidirectional": True}, (5, 3, 40), (2, 3, 20), (2, 3, 20), 5120),
    ({"proj_size": 7}, (5, 3, 7), (1, 3, 7), (1, 3, 20), 1660),
    ({"num_layers": 2, "bidirectional": True, "proj_size": 7, "batch_first": True}, (3, 5, 14), (4, 3, 7),
     (4, 3, 20), 7280),
]


@pytest.mark.parametrize("config, output, h_n, c_n, params", FACTS)
def test_shapes_are_the_verified_ones(config, output, h_n, c_n, params, explore):
    ex = explore(**config)
    assert (shown(ex.text, "output"), shown(ex.text, "h_n"), shown(ex.text, "c_n")) == (output, h_n, c_n)
    assert param_count(ex.text) == params
    assert_table(ex, real(config))


@pytest.mark.parametrize("config", [
    {"unbatched": True}, {"unbatched": True, "batch_first": True, "bidirectional": True},
    {"batch_first": True, "seq_len": 2, "batch": 7}, {"bias": False, "num_layers": 3, "proj_size": 4},
    {"input_size": 1, "hidden_size": 1, "seq_len": 1, "batch": 1},
])
def test_shapes_match_a_real_layer(config, explore):
    ex = explore(**config)
    assert ex.error is None
    assert_table(ex, real(config))


def test_live_changes_reach_the_verified_row(mode):
    ex = load()["explore"]()
    for name, value in [("num_layers", 2), ("bidirectional", True), ("proj_size", 7), ("batch_first", True)]:
        ex.controls[name].value = value
    assert (shown(ex.text, "output"), shown(ex.text, "h_n"), shown(ex.text, "c_n")) == ((3, 5, 14), (4, 3, 7),
                                                                                     (4, 3, 20))
    assert param_count(ex.text) == 7280
    assert isinstance(ex.layer, nn.LSTM) and ex.layer.proj_size == 7


def pytorch_error(make):
    try:
        make()
    except Exception as err:
        return f"{type(err).__name__}: {err}"
    raise AssertionError("expected PyTorch to refuse this")


@pytest.mark.parametrize("config, make, kind", [
    ({"data_features": 8}, lambda: nn.LSTM(10, 20)(torch.randn(5, 3, 8)), "RuntimeError"),
    ({"proj_size": 20}, lambda: nn.LSTM(10, 20, proj_size=20), "ValueError"),
    ({"proj_size": 25, "unbatched": True}, lambda: nn.LSTM(10, 20, proj_size=25), "ValueError"),
])
def test_invalid_settings_show_pytorchs_error(config, make, kind, mode, capfd):
    ex = load()["explore"](**config)
    expected = pytorch_error(make)
    assert ex.error == expected and expected.startswith(kind + ": ")
    assert ex.text.splitlines()[-1] == expected
    assert "parameters:" not in ex.text
    if kind == "ValueError":
        assert ex.layer is None
    assert capfd.readouterr().err == ""


def test_invalid_then_valid_again_through_controls(explore, capfd):
    ex = explore()
    ex.controls["proj_size"].value = 7
    ex.controls["hidden_size"].value = 7  # proj_size is no longer smaller: refused
    assert ex.error and ex.error.startswith("ValueError: ") and ex.error in ex.text and ex.layer is None
    ex.controls["hidden_size"].value = 8
    assert ex.error is None and shown(ex.text, "h_n") == (1, 3, 7) and shown(ex.text, "c_n") == (1, 3, 8)
    ex.controls["data_features"].value = 9
    assert ex.error and ex.error.startswith("RuntimeError: ")
    ex.controls["input_size"].value = 9
    assert ex.error is None
    assert capfd.readouterr().err == ""


def test_warnings_become_text_not_stderr(explore, capfd):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nn.LSTM(10, 20, dropout=0.5)
    assert caught, "PyTorch no longer warns about dropout with one layer; pick another warning"
    ex = explore(dropout=0.5)
    assert ex.error is None
    assert f"warning: {caught[0].category.__name__}: {caught[0].message}" in ex.text
    ex.controls["num_layers"].value = 2
    assert "warning" not in ex.text
    ex.controls["proj_size"].value = 5  # warns on stderr on CPU (oneDNN), once per process
    assert capfd.readouterr().err == ""


def test_data_features_follows_input_size_until_they_differ(explore):
    ex = explore(["input_size"])
    ex.controls["input_size"].value = 7
    assert ex.error is None and shown(ex.text, "input") == (5, 3, 7)
    ex = explore(["input_size", "data_features"])
    ex.controls["input_size"].value = 7
    assert ex.controls["data_features"].value == 7 and ex.error is None
    ex.controls["data_features"].value = 6
    ex.controls["input_size"].value = 9  # the mismatch made by hand stays
    assert shown(ex.text, "input") == (5, 3, 6) and ex.error.startswith("RuntimeError: ")
    ex = explore(["input_size"], data_features=4)  # hidden, but set
    assert ex.error.startswith("RuntimeError: ")


def test_subset_of_controls_and_initial_values(explore):
    ex = explore(["hidden_size", "bidirectional"], input_size=8, hidden_size=16)
    assert list(ex.controls) == ["hidden_size", "bidirectional"]
    assert ex.controls["hidden_size"].value == 16
    assert_table(ex, real({"input_size": 8, "hidden_size": 16}))
    ex.controls["bidirectional"].value = True
    assert shown(ex.text, "output") == (5, 3, 32)


def test_params_view_lists_every_parameter(explore):
    ex = explore(view="params", num_layers=2, bidirectional=True, proj_size=3)
    layer = nn.LSTM(10, 20, num_layers=2, bidirectional=True, proj_size=3)
    for name, p in layer.named_parameters():
        assert re.search(rf"^\s+{name}\s+{re.escape(str(tuple(p.shape)))}\s+{p.numel()}$", ex.text, re.M), name
    assert "weight_hr_l1_reverse" in ex.text
    ex.controls["bias"].value = False
    assert "bias_" not in ex.text and "weight_ih_l0" in ex.text
    assert "weight_ih_l0" not in explore(view="shapes").text


@pytest.mark.parametrize("config, lines", [
    ({}, ["  h_n[0] = layer 0, forward", "  output[-1] equals h_n[-1]: True"]),
    ({"batch_first": True, "num_layers": 2}, ["  h_n[1] = layer 1, forward", "  output[:, -1] equals h_n[-1]: True"]),
    ({"num_layers": 2, "bidirectional": True, "proj_size": 7, "batch_first": True},
     ["h_n.view(num_layers, D, N, H_out) = (2, 2, 3, 7)", "  h_n[3] = layer 1, backward",
      "  output[:, -1, :7] equals h_n[-2]: True", "  output[:, 0, 7:] equals h_n[-1]: True",
      "  output[:, -1] equals torch.cat((h_n[-2], h_n[-1]), -1): False"]),
    ({"bidirectional": True}, ["  output[-1, :, :20] equals h_n[-2]: True", "  output[0, :, 20:] equals h_n[-1]: True"]),
    ({"bidirectional": True, "unbatched": True}, ["h_n.view(num_layers, D, H_out) = (1, 2, 20)",
                                                  "  output[-1, :20] equals h_n[-2]: True"]),
])
def test_states_view(config, lines, explore):
    text = explore(view="states", **config).text
    for line in lines:
        assert line in text.splitlines(), f"{line!r} not in:\n{text}"


@pytest.mark.parametrize("config", [{"num_layers": 3}, {"num_layers": 2, "bidirectional": True},
                                    {"num_layers": 2, "bidirectional": True, "proj_size": 3, "batch_first": True}])
def test_the_layer_and_direction_each_row_of_h_n_is_named_with_are_right(config, explore):
    """"h_n[r] = layer k, forward/backward": each row checked against that layer and direction run alone."""
    ex = explore(view="states", **config)
    named = [tuple(m.groups()) for m in re.finditer(r"h_n\[(\d+)\] = layer (\d+), (forward|backward)", ex.text)]
    layer, d = ex.layer, 2 if config.get("bidirectional") else 1
    assert len(named) == d * layer.num_layers
    x = torch.randn(4, 5, layer.input_size) if layer.batch_first else torch.randn(5, 4, layer.input_size)
    weights = layer.state_dict()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, (h_n, _) = layer(x)
        inputs = x
        for k in range(layer.num_layers):  # layer k alone, fed layer k-1's output
            alone = nn.LSTM(inputs.shape[-1], layer.hidden_size, batch_first=layer.batch_first,
                            bidirectional=d == 2, proj_size=layer.proj_size)
            alone.load_state_dict({name.replace(f"_l{k}", "_l0"): w for name, w in weights.items() if f"_l{k}" in name})
            inputs, (h_alone, _) = alone(inputs)
            for row, k_named, direction in named:
                if int(k_named) == k:
                    assert torch.allclose(h_n[int(row)], h_alone[0 if direction == "forward" else 1], atol=1e-6), row


def test_prints_the_table_once_and_nothing_else_outside_a_kernel(capfd):
    ex = load()["explore"](["hidden_size"])
    captured = capfd.readouterr()
    assert captured.out == ex.text + "\n" and captured.err == ""
    ex.controls["hidden_size"].value = 5  # live updates go to the widget only, never to stdout
    assert capfd.readouterr().out == ""


def test_update_and_widget(mode):
    ns = load()
    ex = ns["explore"](["seq_len", "bias"])
    assert isinstance(ex.widget, __import__("ipywidgets").Box)
    first = ex.text
    ex.update()
    assert ex.text == first and isinstance(ex.layer, nn.LSTM)
    assert (ex.figure is None) == (mode == "text-only")
    sliders = [c for c in ex.controls.values() if hasattr(c, "continuous_update")]
    assert sliders and all(not c.continuous_update and c.description for c in sliders)


def test_does_not_move_the_notebooks_random_numbers(explore):
    torch.manual_seed(0)
    want = torch.rand(3)
    torch.manual_seed(0)
    ex = explore()
    ex.controls["hidden_size"].value = 9
    assert torch.equal(torch.rand(3), want)


def test_rejects_unknown_controls_and_views(explore):
    with pytest.raises(ValueError, match="hiden_size"):
        explore(["hiden_size"])
    with pytest.raises(ValueError, match="view"):
        explore(view="gates")


def test_in_a_kernel_the_output_widget_shows_text_and_figure(tmp_path):
    """nbclient runs a real kernel and records what the Output widget received."""
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(SOURCE),
        nbformat.v4.new_code_cell("lab = explore(['hidden_size'])\nlab.controls['hidden_size'].value = 24"),
    ])
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    cell_outputs = nb.cells[1].outputs
    # One output: the widget for frontends that render it, the starting table for those that can't.
    assert [o.output_type for o in cell_outputs] == ["display_data"], cell_outputs
    bundle = cell_outputs[0].data
    assert bundle["text/plain"].startswith("nn.LSTM(10, 20)\n") and shown(bundle["text/plain"], "h_n") == (1, 3, 20)
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert (view["version_major"], view["version_minor"]) == (2, 0)
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert state[view["model_id"]]["model_name"] == "VBoxModel"
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    outputs = [m["state"]["outputs"] for m in state.values() if m["model_name"] == "OutputModel"]
    assert len(outputs) == 1
    text = "".join(o["text"] for o in outputs[0] if o["output_type"] == "stream")
    assert text.startswith("nn.LSTM(10, 24)\n") and "nn.LSTM(10, 20)" not in text
    assert shown(text, "h_n") == (1, 3, 24)
    assert any("image/png" in o.get("data", {}) for o in outputs[0])
    assert not any(o.get("name") == "stderr" for o in outputs[0])


@pytest.mark.parametrize("one_dnn", [True, False])
def test_leaves_the_onednn_setting_as_it_found_it(one_dnn, explore, monkeypatch):
    monkeypatch.setattr(torch.backends.mkldnn, "enabled", one_dnn)
    ex = explore()
    for name, value in [("data_features", 8), ("proj_size", 20), ("proj_size", 5), ("data_features", 10)]:
        ex.controls[name].value = value
        assert torch.backends.mkldnn.enabled is one_dnn
    assert ex.error is None
