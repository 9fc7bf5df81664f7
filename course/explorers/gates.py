"""Live gate explorer for lesson 04: `lab = explore_gates(pattern="pulse", forget_bias=0.0, ...)`.

`python -m course.build` pastes this file into the hidden "gates" code cell of the notebooks
that use it (a notebook must stand alone in Colab). Edit it here, never in a notebook.

A one-unit LSTM cell (input size 1, hidden size 1) reads a short input sequence: a pulse, a
step or noise. Its gates are computed step by step from the equations of the lesson, and every
update checks that h and c equal those of PyTorch's own nn.LSTMCell with the same weights (it
raises if they don't: a wrong picture is worse than none). The learner moves the forget-gate and
input-gate biases and a scale on the weights, and sees i, f, g, o, c and h over time, as lines
with labelled axes and as a table of numbers. Only ipywidgets API common to 7.x (Colab) and
8.x is used; LSTM_COURSE_NO_FIGURES=1 turns the picture off (grading, tests).
"""


def _install_gates():
    import io
    import math
    import os

    import ipywidgets as widgets
    import torch
    from IPython import get_ipython
    from IPython.display import Image, display
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from torch import nn

    patterns = ("pulse", "step", "noise")
    steps = 16
    # name: (default, min, max, step)
    sliders = {"forget_bias": (0.0, -6.0, 6.0, 0.5), "input_bias": (0.0, -6.0, 6.0, 0.5),
               "weight_scale": (1.0, 0.0, 4.0, 0.25)}
    labels = {"forget_bias": "forget-gate bias", "input_bias": "input-gate bias", "weight_scale": "weight scale"}
    # The cell's weights before scaling, one number per gate (i, f, g, o): the input drives i and g up,
    # f a little down; h feeds every gate a little.
    w_ih, w_hh = (2.0, -1.0, 2.0, 1.0), (0.5, 0.5, 0.5, 0.5)
    # Okabe-Ito: told apart with every common colour-vision deficiency.
    colours = {"i": "#0072B2", "f": "#D55E00", "g": "#009E73", "o": "#CC79A7",
               "x": "#999999", "c": "#E69F00", "h": "#000000"}
    # At zero input i, f and o all equal sigmoid(0.5 h + bias): with the biases at 0 their curves
    # coincide. So they are drawn in layers, each narrower than the one below (i, then f, then o
    # dashed on top), and all three stay visible where they meet; the input x is dotted.
    styles = {"i": {"lw": 6.0, "marker": "o", "ms": 7, "zorder": 2.1},
              "f": {"lw": 3.4, "marker": "o", "ms": 5, "zorder": 2.2},
              "o": {"lw": 1.6, "marker": "s", "ms": 3, "linestyle": "--", "zorder": 2.3},
              "x": {"lw": 2.2, "marker": "o", "ms": 4, "linestyle": ":"}}
    names = {"i": "i (input gate)", "f": "f (forget gate)", "g": "g (candidate)", "o": "o (output gate)",
             "x": "x_t (input)", "c": "c_t (cell state)", "h": "h_t (hidden state)"}
    noise = torch.randn(steps, generator=torch.Generator().manual_seed(4)) * 0.8
    sigmoid = lambda z: 1.0 / (1.0 + math.exp(-z))

    def in_kernel():
        shell = get_ipython()
        return shell is not None and getattr(shell, "kernel", None) is not None

    def inputs(pattern):
        if pattern == "pulse":
            return [1.0 if t == 2 else 0.0 for t in range(steps)]
        if pattern == "step":
            return [1.0 if t >= 4 else 0.0 for t in range(steps)]
        return [float(v) for v in noise]

    class GateExplorer:
        """A live one-unit LSTM cell: .controls, .rows, .text, .figure, .widget and .update()."""

        def __init__(self, initial):
            unknown = sorted(set(initial) - set(sliders) - {"pattern"})
            if unknown:
                raise ValueError(f"explore_gates(): unknown setting(s) {', '.join(unknown)}; "
                                 f"known: pattern, {', '.join(sliders)}")
            self.settings = {"pattern": "pulse", **{k: v[0] for k, v in sliders.items()}, **initial}
            if self.settings["pattern"] not in patterns:
                raise ValueError(f"explore_gates(): pattern must be one of {', '.join(patterns)}")
            self.controls = {"pattern": widgets.Dropdown(options=list(patterns), value=self.settings["pattern"],
                                                         description="input")}
            for name, (_, low, high, step) in sliders.items():
                self.controls[name] = widgets.FloatSlider(
                    value=self.settings[name], min=low, max=high, step=step, description=labels[name],
                    continuous_update=False, readout_format=".2f", style={"description_width": "130px"})
            for name, control in self.controls.items():
                control.observe(lambda change, name=name: self._changed(name, change["new"]), names="value")
            self.figure, self._lines = None, {}
            if os.environ.get("LSTM_COURSE_NO_FIGURES") != "1":
                self._build_figure()
            self._out = widgets.Output()
            self.widget = widgets.VBox([widgets.HBox([widgets.VBox(list(self.controls.values()))]), self._out])
            self._live = False
            self.update()

        def _changed(self, name, value):
            self.settings[name] = value
            self.update()

        def cell(self):
            """The nn.LSTMCell these settings make (weights scaled, biases on the i and f rows)."""
            s, scale = self.settings, self.settings["weight_scale"]
            layer = nn.LSTMCell(1, 1)
            with torch.no_grad():
                layer.weight_ih.copy_(torch.tensor(w_ih).reshape(4, 1) * scale)
                layer.weight_hh.copy_(torch.tensor(w_hh).reshape(4, 1) * scale)
                layer.bias_ih.copy_(torch.tensor([s["input_bias"], s["forget_bias"], 0.0, 0.0]))
                layer.bias_hh.zero_()
            return layer

        def update(self):
            """Run the cell over the input, step by step by the equations, and check it against nn.LSTMCell."""
            layer = self.cell()
            (wi, wf, wg, wo), (ui, uf, ug, uo) = layer.weight_ih[:, 0].tolist(), layer.weight_hh[:, 0].tolist()
            (bi, bf, bg, bo) = (layer.bias_ih + layer.bias_hh).tolist()
            xs, h, c, rows = inputs(self.settings["pattern"]), 0.0, 0.0, []
            state = (torch.zeros(1, 1), torch.zeros(1, 1))
            for t, x in enumerate(xs):
                i = sigmoid(wi * x + ui * h + bi)
                f = sigmoid(wf * x + uf * h + bf)
                g = math.tanh(wg * x + ug * h + bg)
                o = sigmoid(wo * x + uo * h + bo)
                c = f * c + i * g
                h = o * math.tanh(c)
                with torch.no_grad():
                    state = layer(torch.tensor([[x]]), state)
                if abs(state[0].item() - h) > 1e-5 or abs(state[1].item() - c) > 1e-5:
                    raise AssertionError(f"step {t}: the equations and nn.LSTMCell disagree")
                rows.append({"t": t, "x": x, "i": i, "f": f, "g": g, "o": o, "c": c, "h": h})
            self.rows = rows
            s = self.settings
            head = (f"one LSTM unit, input: {s['pattern']}; forget-gate bias {s['forget_bias']:+.2f}, "
                    f"input-gate bias {s['input_bias']:+.2f}, weight scale {s['weight_scale']:.2f}")
            table = [" t     x_t    i      f      g      o      c_t    h_t"]
            table += [f"{r['t']:>2}  " + "  ".join(f"{r[k]:+.2f}" for k in "xifgoch") for r in rows]
            self.text = "\n".join([head] + table + ["(h_t and c_t equal nn.LSTMCell's at every step)"])
            if self.figure is not None:
                self._draw()
            if self._live:
                self._show()

        def _build_figure(self):
            self.figure = Figure(figsize=(8.4, 5.4), dpi=100, layout="constrained")  # 840 px wide
            FigureCanvasAgg(self.figure)
            top, bottom = self.figure.subplots(2, 1, sharex=True)
            for ax, keys, title, limits in ((top, "ifgo", "the four gates", (-1.1, 1.1)),
                                            (bottom, "xch", "input, cell state and hidden state", (-2.2, 2.2))):
                for k in keys:
                    style = styles.get(k, {"lw": 2.2, "marker": "o", "ms": 4})
                    (self._lines[k],) = ax.plot(range(steps), [0.0] * steps, color=colours[k], label=names[k],
                                                **style)
                ax.set_ylim(*limits)
                ax.set_title(title, fontsize=12)
                ax.set_ylabel("value", fontsize=11)
                ax.axhline(0, color="#cccccc", lw=1, zorder=0)
                ax.tick_params(labelsize=11)
                ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=11, frameon=False)
            bottom.set_xlabel("time step t", fontsize=11)
            bottom.set_xticks(range(0, steps, 2))
            self._axes = (top, bottom)
            # Lay the figure out once, with the widest tick labels c can bring, then freeze it: the
            # layout engine would otherwise cost most of every redraw.
            bottom.set_ylim(-20, 20)
            self.figure.canvas.draw()
            self.figure.set_layout_engine("none")

        def _draw(self):
            for k, line in self._lines.items():
                line.set_ydata([r[k] for r in self.rows])
            low = min(min(r[k] for r in self.rows) for k in "xch")
            high = max(max(r[k] for r in self.rows) for k in "xch")
            self._axes[1].set_ylim(min(-1.1, low - 0.1), max(1.1, high + 0.1))  # c is not bounded: keep it in view

        def promised(self):
            """Every label the picture must show (tests/test_readability.py)."""
            return list(names.values()) + ["the four gates", "input, cell state and hidden state", "time step t"]

        def _show(self):
            png = None
            if self.figure is not None:
                buf = io.BytesIO()
                self.figure.canvas.print_png(buf, pil_kwargs={"compress_level": 1})  # ~25 ms less than savefig here
                png = buf.getvalue()
            self._out.clear_output(wait=True)
            with self._out:
                print(self.text)
                if png:
                    display(Image(data=png, format="png"))

    def explore_gates(**initial):
        """Show a live one-unit LSTM cell and return its GateExplorer.

        Keywords set starting values: pattern ("pulse", "step", "noise"), forget_bias, input_bias,
        weight_scale, e.g. explore_gates(pattern="step", forget_bias=4.0).
        """
        explorer = GateExplorer(initial)
        if in_kernel():
            explorer._live = True
            explorer._show()
            display({"text/plain": explorer.text,
                     "application/vnd.jupyter.widget-view+json": {"model_id": explorer.widget.model_id,
                                                                   "version_major": 2, "version_minor": 0}},
                    raw=True)
        else:
            print(explorer.text)
        return explorer

    return explore_gates, GateExplorer


explore_gates, GateExplorer = _install_gates()
del _install_gates
