"""Every explorer picture can be read at 100 %: the rule, over a sweep of every control.

- the PNG is 760 to 900 px wide (JupyterLab and Colab show it unscaled);
- every text is at least 14 px high (its font size, in pixels of the PNG);
- no two texts overlap, and none leaves the figure (matplotlib's get_window_extent);
- every label the view promises (its tensors' names and shapes, its axes, its curves) is there,
  so the rule can't be met by dropping labels.

Each control is set to its lowest, middle and highest value (both values of a checkbox, every
option of a menu) from the defaults, and to a few combinations of extremes.
"""
import io
import itertools
import pathlib

import ipywidgets
import pytest
from matplotlib.text import Text

ROOT = pathlib.Path(__file__).resolve().parent.parent
MIN_PX, WIDTH = 14, (760, 900)


def load(name):
    namespace = {"__name__": "__main__"}
    exec(compile((ROOT / "course" / name).read_text(), name, "exec"), namespace)
    return namespace


def values(control):
    if isinstance(control, ipywidgets.Checkbox):
        return [False, True]
    if isinstance(control, ipywidgets.Dropdown):
        return list(control.options)
    low, high = control.min, control.max
    middle = (low + high) / 2 if isinstance(control, ipywidgets.FloatSlider) else (low + high) // 2
    return [low, middle, high]


def problems(explorer):
    """What breaks the rule in the explorer's current picture ([] when nothing does)."""
    figure = explorer.figure
    figure.savefig(io.BytesIO(), format="png")  # a full draw, as the notebook's PNG gets
    renderer = figure.canvas.get_renderer()
    width, height = figure.get_size_inches() * figure.dpi
    found = []
    if not WIDTH[0] <= width <= WIDTH[1]:
        found.append(f"the PNG is {width:.0f} px wide")
    hidden = set()  # tick labels of ticks outside the view: matplotlib keeps them, but never draws them
    for ax in figure.axes:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not low - 1e-9 <= tick.get_loc() <= high + 1e-9:
                    hidden.update({id(tick.label1), id(tick.label2)})
    texts = [t for t in figure.findobj(Text) if t.get_visible() and t.get_text().strip() and id(t) not in hidden]
    boxes = []
    for t in texts:
        px = t.get_fontsize() * figure.dpi / 72
        if px < MIN_PX:
            found.append(f"{t.get_text()!r} is {px:.1f} px high")
        box = t.get_window_extent(renderer)
        if box.x0 < -0.5 or box.y0 < -0.5 or box.x1 > width + 0.5 or box.y1 > height + 0.5:
            found.append(f"{t.get_text()!r} leaves the figure ({box.x0:.0f}, {box.y0:.0f}, {box.x1:.0f}, {box.y1:.0f})")
        boxes.append((t.get_text(), box))
    for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
        if box_a.overlaps(box_b) and box_a.intersection(box_a, box_b).width > 1 and \
                box_a.intersection(box_a, box_b).height > 1:
            found.append(f"{a!r} and {b!r} overlap")
    shown = " | ".join(t.get_text() for t in texts)
    found += [f"promised label {label!r} is missing" for label in explorer.promised() if label not in shown]
    return found


def sweep(explorer):
    """Yield a description of each setting of the sweep, the explorer set to it."""
    start = {name: control.value for name, control in explorer.controls.items()}
    yield "defaults"
    for name, control in explorer.controls.items():
        for value in values(control):
            control.value = value
            yield f"{name}={value}"
        control.value = start[name]
    for pick in (min, max):
        for name, control in explorer.controls.items():
            control.value = pick(values(control), key=lambda v: (isinstance(v, str), v))
        yield f"every control at its {pick.__name__}"
    for name, control in explorer.controls.items():
        control.value = start[name]


ARTIFACTS = ROOT / "test-artifacts"


def keep(explorer, name):
    """The picture as a learner gets it, for a person to look at: test-artifacts/explorer-<name>.png."""
    ARTIFACTS.mkdir(exist_ok=True)
    explorer.figure.savefig(ARTIFACTS / f"explorer-{name}.png", format="png")


@pytest.mark.parametrize("view", ["shapes", "params", "states"])
def test_the_layer_explorer_is_readable(view, monkeypatch):
    monkeypatch.delenv("LSTM_COURSE_NO_FIGURES", raising=False)
    explorer = load("explorers/layer.py")["Explorer"]([
        "input_size", "hidden_size", "num_layers", "proj_size", "seq_len", "batch", "data_features", "bias",
        "batch_first", "bidirectional", "unbatched", "dropout"], view, {"num_layers": 2, "bidirectional": True})
    keep(explorer, view)
    failures = []
    for setting in sweep(explorer):
        failures += [f"{setting}: {p}" for p in problems(explorer)]
    assert not failures, "\n".join(failures[:40])


def test_the_gate_explorer_is_readable(monkeypatch):
    monkeypatch.delenv("LSTM_COURSE_NO_FIGURES", raising=False)
    explorer = load("explorers/gates.py")["GateExplorer"]({})
    keep(explorer, "gates")
    failures = []
    for setting in sweep(explorer):
        failures += [f"{setting}: {p}" for p in problems(explorer)]
    assert not failures, "\n".join(failures[:40])


@pytest.mark.parametrize("bidirectional", [False, True])
def test_the_packing_explorer_is_readable(bidirectional, monkeypatch):
    monkeypatch.delenv("LSTM_COURSE_NO_FIGURES", raising=False)
    explorer = load("explorers/packing.py")["PackingExplorer"]({"lengths": (3, 5, 2, 4), "bidirectional": bidirectional})
    keep(explorer, f"packing{'-bidirectional' if bidirectional else ''}")
    failures = []
    for setting in sweep(explorer):
        failures += [f"{setting}: {p}" for p in problems(explorer)]
    assert not failures, "\n".join(failures[:40])


def test_the_gradient_explorer_is_readable(monkeypatch):
    monkeypatch.delenv("LSTM_COURSE_NO_FIGURES", raising=False)
    explorer = load("explorers/gradients.py")["GradientExplorer"]({})
    keep(explorer, "gradients")
    failures = []
    for setting in sweep(explorer):
        failures += [f"{setting}: {p}" for p in problems(explorer)]
    assert not failures, "\n".join(failures[:40])


def test_the_rule_catches_what_it_forbids(monkeypatch):
    """A rule that passes everything proves nothing: small text, overlaps and missing labels fail it."""
    monkeypatch.delenv("LSTM_COURSE_NO_FIGURES", raising=False)
    explorer = load("explorers/gates.py")["GateExplorer"]({})
    assert problems(explorer) == []
    axes = explorer.figure.axes[0]
    axes.text(0.5, 0.5, "tiny", fontsize=6, transform=axes.transAxes)
    axes.text(0.5, 0.5, "on top", fontsize=12, transform=axes.transAxes)
    axes.text(2.0, 0.5, "outside", fontsize=12, transform=axes.transAxes)
    explorer.promised = lambda: ["a label nobody drew"]
    found = " ".join(problems(explorer))
    for words in ("'tiny' is", "overlap", "'outside' leaves the figure", "'a label nobody drew' is missing"):
        assert words in found, found
