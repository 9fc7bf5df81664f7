"""Live gradient explorer for lesson 07: `lab = explore_gradients(kind="LSTM", length=50, ...)`.

`python -m course.build` pastes this file into the hidden "gradients" code cell of the notebooks
that use it (a notebook must stand alone in Colab). Edit it here, never in a notebook.

A one-layer nn.RNN, nn.GRU or nn.LSTM (6 inputs, 32 units, PyTorch's initialisation from the
seed, as the lesson's `make` builds it) reads 8 sequences of lesson 06's task, L steps long. The
picture is ||dy/dx_t|| against t on a log scale, y being the sum of the last step's output: the
chosen model bold, the other two kinds faint, on the same input; the text gives the ratio between
the first and the last step and where, going back from the last step, the curve first falls below
1e-6 of its peak. The learner moves the model, L (up to 100), the LSTM's forget-gate bias, a scale
on the recurrent weights and the seed.

The backward pass is written out in float64 NumPy (a few milliseconds for all three curves, where
autograd took 12 to 47 ms for one), so the log scale never meets an exact zero; curves are cached
per setting. Every new curve checks itself against PyTorch's own layer in float64: run over the last
5 steps from the NumPy state entering them, its output and, by autograd, its gradients (for those
inputs and for that state) must equal the NumPy ones; the earlier steps run the same code (it raises
if they disagree: a wrong picture is worse than none).
tests/test_gradients_explorer.py holds every curve equal to the lesson's autograd curve. Only
ipywidgets API common to 7.x (Colab) and 8.x is used; LSTM_COURSE_NO_FIGURES=1 turns the picture
off (grading, tests).
"""


def _install_gradient_explorer():
    import io
    import math
    import os

    import ipywidgets as widgets
    import numpy as np
    import torch
    from IPython import get_ipython
    from IPython.display import Image, display
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from torch import nn

    SYMBOLS, HIDDEN, SEQUENCES = 6, 32, 8
    kinds = {"RNN": nn.RNN, "GRU": nn.GRU, "LSTM": nn.LSTM}
    biases = ("PyTorch's init", "0", "1", "2", "3", "4", "5")  # the LSTM's forget-gate bias (bias_ih + bias_hh)
    # name: (default, min, max, step)
    sliders = {"length": (50, 5, 100, 1), "scale": (1.0, 0.25, 5.0, 0.25), "seed": (0, 0, 9, 1)}
    labels = {"kind": "model", "length": "length L", "forget_bias": "forget-gate bias",
              "scale": "recurrent weights x", "seed": "seed"}
    # Okabe-Ito: told apart with every common colour-vision deficiency.
    colours = {"RNN": "#D55E00", "GRU": "#009E73", "LSTM": "#0072B2"}
    FLOOR = 1e-300  # below float64's smallest normal number: never reached, but log10 must never see 0

    def in_kernel():
        shell = get_ipython()
        return shell is not None and getattr(shell, "kernel", None) is not None

    def sequences(seed, length):
        """Lesson 06's task stretched to `length` steps (the lesson's temporal_order), one-hot, float64."""
        gen = torch.Generator().manual_seed(seed)
        symbols = torch.randint(2, SYMBOLS, (SEQUENCES, length), generator=gen)
        first = torch.randint(length // 10, 2 * length // 10 + 1, (SEQUENCES,), generator=gen)
        second = torch.randint(5 * length // 10, 6 * length // 10 + 1, (SEQUENCES,), generator=gen)
        a, b = torch.randint(0, 2, (SEQUENCES,), generator=gen), torch.randint(0, 2, (SEQUENCES,), generator=gen)
        rows = torch.arange(SEQUENCES)
        symbols[rows, first], symbols[rows, second] = a, b
        return nn.functional.one_hot(symbols, SYMBOLS).to(torch.float64)

    def model(kind, seed, forget_bias, scale):
        """The lesson's make(kind, seed, forget_bias, scale), in float64; the notebook's random numbers untouched."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            layer = kinds[kind](SYMBOLS, HIDDEN, batch_first=True)
        with torch.no_grad():
            if kind == "LSTM" and forget_bias != biases[0]:
                layer.bias_ih_l0[HIDDEN:2 * HIDDEN].fill_(float(forget_bias))
                layer.bias_hh_l0[HIDDEN:2 * HIDDEN].zero_()
            layer.weight_hh_l0.mul_(scale)
        return layer.double()

    sigmoid = lambda z: 1.0 / (1.0 + np.exp(-z))
    H = HIDDEN

    def backprop(kind, w_ih, w_hh, b_ih, b_hh, x, tail):
        """The last step's output, dy/dx (y = the sum of the last step's output; x: (N, L, F)), and for the
        check, at step s = L - tail: the state (h, c) entering step s, and dy/dh, dy/dc of that state."""
        n, steps, _ = x.shape
        start = steps - tail
        inputs = x @ w_ih.T + b_ih  # every step's input product at once: (N, L, G*H)
        h, c, saved = np.zeros((n, H)), np.zeros((n, H)), []
        for t in range(steps):
            if t == start:
                entering = (h, c)
            z, r = inputs[:, t], h @ w_hh.T + b_hh
            if kind == "RNN":
                h = np.tanh(z + r)
                saved.append((h,))
            elif kind == "GRU":
                reset, update = sigmoid(z[:, :H] + r[:, :H]), sigmoid(z[:, H:2 * H] + r[:, H:2 * H])
                new = np.tanh(z[:, 2 * H:] + reset * r[:, 2 * H:])
                saved.append((h, reset, update, new, r[:, 2 * H:]))
                h = (1 - update) * new + update * h
            else:
                a = z + r
                i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 3 * H:])
                g = np.tanh(a[:, 2 * H:3 * H])
                saved.append((c, i, f, g, o, np.tanh(f * c + i * g)))
                c = f * c + i * g
                h = o * saved[-1][5]
        grads = np.zeros(inputs.shape)
        dh, dc = np.ones((n, H)), np.zeros((n, H))
        for t in range(steps - 1, -1, -1):
            if kind == "RNN":
                (h_t,) = saved[t]
                da = dh * (1 - h_t ** 2)
                dh = da @ w_hh
            elif kind == "GRU":
                h_prev, reset, update, new, r_new = saved[t]
                d_new = dh * (1 - update) * (1 - new ** 2)
                d_reset = d_new * r_new * reset * (1 - reset)
                da = np.concatenate([d_reset, dh * (h_prev - new) * update * (1 - update), d_new], axis=1)
                dh = dh * update + np.concatenate([da[:, :2 * H], d_new * reset], axis=1) @ w_hh
            else:
                c_prev, i, f, g, o, tanh_c = saved[t]
                dc = dc + dh * o * (1 - tanh_c ** 2)
                da = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g ** 2),
                                     dh * tanh_c * o * (1 - o)], axis=1)
                dc = dc * f
                dh = da @ w_hh
            grads[:, t] = da
            if t == start:
                carried = (dh, dc)
        return h, grads @ w_ih, entering, carried

    def close(mine, theirs):
        theirs = theirs.detach().numpy()
        return np.allclose(mine, theirs, rtol=1e-9, atol=1e-12 * (1 + np.abs(theirs).max()))

    def checked(kind, layer, x, last, grad, tail, entering, carried):
        """Raise unless the NumPy pass is PyTorch's: PyTorch's layer, run over the last `tail` steps from the
        NumPy state entering them, must give the same last output and, by autograd, the same dy/dx there and
        dy/d(that state). (Not the whole sequence at once: where gradients explode, so do rounding errors.)"""
        start = x.shape[1] - tail
        end = torch.from_numpy(x[:, start:]).clone().requires_grad_()
        h0, c0 = (torch.from_numpy(v)[None].clone().requires_grad_() for v in entering)
        output, _ = layer(end, (h0, c0) if kind == "LSTM" else h0)
        if not close(last, output[:, -1]):
            raise AssertionError(f"{kind}: the explorer's forward pass and PyTorch's disagree")
        output[:, -1].sum().backward()
        wanted = [(grad[:, start:], end.grad), (carried[0], h0.grad[0])] + \
            ([(carried[1], c0.grad[0])] if kind == "LSTM" else [])
        if not all(close(mine, theirs) for mine, theirs in wanted):
            raise AssertionError(f"{kind}: the explorer's gradient and PyTorch's autograd disagree")

    cache = {}
    CHECKED_STEPS = 5

    def curve(kind, length, seed, forget_bias, scale):
        """||dy/dx_t|| for t = 1..L (float64), computed once per setting and checked against PyTorch."""
        key = (kind, length, seed, forget_bias if kind == "LSTM" else None, scale)
        if key not in cache:
            layer = model(kind, seed, forget_bias, scale)
            x = sequences(seed, length).numpy()
            weights = [getattr(layer, f"{name}_l0").detach().numpy() for name in ("weight_ih", "weight_hh",
                                                                                  "bias_ih", "bias_hh")]
            tail = min(CHECKED_STEPS, length)
            last, grad, entering, carried = backprop(kind, *weights, x, tail)
            checked(kind, layer, x, last, grad, tail, entering, carried)
            cache[key] = np.maximum(np.sqrt((grad ** 2).sum(axis=(0, 2))), FLOOR)
        return cache[key]

    def below(values, fraction=1e-6):
        """Going back from the last step, the first step t (1-based) whose norm is below fraction * peak, or None."""
        limit = values.max() * fraction
        for t in range(len(values) - 1, -1, -1):
            if values[t] < limit:
                return t + 1
        return None

    class GradientExplorer:
        """A live gradient curve: .controls, .curves, .facts, .text, .figure, .widget and .update()."""

        def __init__(self, initial):
            unknown = sorted(set(initial) - set(labels))
            if unknown:
                raise ValueError(f"explore_gradients(): unknown setting(s) {', '.join(unknown)}; "
                                 f"known: {', '.join(labels)}")
            settings = {"kind": "LSTM", "forget_bias": biases[0], **{k: v[0] for k, v in sliders.items()}, **initial}
            settings["forget_bias"] = self._bias_option(settings["forget_bias"])
            if settings["kind"] not in kinds:
                raise ValueError("explore_gradients(): kind must be one of RNN, GRU, LSTM")
            style = {"description_width": "140px"}
            self.controls = {
                "kind": widgets.Dropdown(options=list(kinds), value=settings["kind"], description=labels["kind"],
                                         style=style),
                "forget_bias": widgets.Dropdown(options=list(biases), value=settings["forget_bias"],
                                                description=labels["forget_bias"], style=style)}
            for name, (_, low, high, step) in sliders.items():
                kind = widgets.FloatSlider if isinstance(step, float) else widgets.IntSlider
                extra = {"readout_format": ".2f"} if kind is widgets.FloatSlider else {}
                self.controls[name] = kind(value=settings[name], min=low, max=high, step=step, description=labels[name],
                                           continuous_update=False, style=style, **extra)
            for control in self.controls.values():
                control.observe(lambda change: self.update(), names="value")
            self.figure = None
            if os.environ.get("LSTM_COURSE_NO_FIGURES") != "1":
                self._build_figure()
            self._out = widgets.Output()
            left = widgets.VBox([self.controls[k] for k in ("kind", "length", "seed")])
            right = widgets.VBox([self.controls[k] for k in ("forget_bias", "scale")])
            self.widget = widgets.VBox([widgets.HBox([left, right]), self._out])
            self._live = False
            self.update()

        @staticmethod
        def _bias_option(value):
            if value is None or value == biases[0]:
                return biases[0]
            option = f"{float(value):g}"
            if option not in biases:
                raise ValueError(f"explore_gradients(): forget_bias must be None or one of {', '.join(biases[1:])}")
            return option

        def settings(self):
            return {name: control.value for name, control in self.controls.items()}

        def update(self):
            s = self.settings()
            self.curves = {kind: curve(kind, s["length"], s["seed"], s["forget_bias"], s["scale"]) for kind in kinds}
            chosen = self.curves[s["kind"]]
            ratios = {kind: values[0] / values[-1] for kind, values in self.curves.items()}
            self.facts = {"ratio": ratios[s["kind"]], "ratios": ratios, "below": below(chosen),
                          "peak_step": int(chosen.argmax()) + 1}
            self.text = self._describe(s)
            if self.figure is not None:
                self._draw(s)
            if self._live:
                self._show()

        def _name(self, kind, s):
            if kind != "LSTM":
                return kind
            return "LSTM, PyTorch's init" if s["forget_bias"] == biases[0] else f"LSTM, forget bias {s['forget_bias']}"

        def _describe(self, s):
            length, facts = s["length"], self.facts
            head = (f"{self._name(s['kind'], s)}, L = {length}, recurrent weights x{s['scale']:.2f}, seed {s['seed']} "
                    f"(32 units, 8 sequences of lesson 06's task, float64)")
            others = ", ".join(f"{self._name(k, s)} {facts['ratios'][k]:.1e}" for k in kinds if k != s["kind"])
            lines = [head, f"||dy/dx_1|| / ||dy/dx_{length}|| = {facts['ratio']:.1e}   (on the same input: {others})"]
            if facts["below"] is None:
                lines.append("the curve never falls below 1e-6 of its peak")
            else:
                lines.append(f"going back from t = L, it first falls below 1e-6 of its peak at t = {facts['below']} "
                             f"(its peak is at t = {facts['peak_step']})")
            return "\n".join(lines)

        def _build_figure(self):
            self.figure = Figure(figsize=(8.4, 4.2), dpi=100, layout="constrained")  # 840 px wide
            FigureCanvasAgg(self.figure)
            ax = self.figure.subplots()
            # log10 of the norms on a linear axis, with ticks at whole decades labelled as plain text: a log
            # axis's mathtext labels cost more than everything else in the picture.
            self._lines = {}
            for kind in kinds:
                (self._lines[kind],) = ax.plot([1, 2], [0, 0], color=colours[kind], label=kind)
            (self._threshold,) = ax.plot([1, 2], [0, 0], color="#555555", lw=1.3, ls="--", label="1e-6 of the peak")
            self._marker = ax.axvline(1, color="#555555", lw=1.3, ls=":")
            ax.set_xlabel("input step t", fontsize=11)
            ax.set_ylabel("||dy/dx_t||, log scale", fontsize=11)
            ax.tick_params(labelsize=11)
            self._legend = ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=11, frameon=False)
            self._title = ax.text(0.0, 1.03, "", transform=ax.transAxes, fontsize=12, ha="left", va="bottom")
            self._ax = ax
            # Lay the figure out once, with the widest labels the controls can bring, then freeze it: the layout
            # engine would otherwise cost most of every redraw.
            for text in self._legend.get_texts()[:3]:
                text.set_text("LSTM, PyTorch's init (chosen)")
            self._title.set_text("y = the sum of the output at the last step, t = L = 100")
            ax.set_xlim(0, 101)
            ax.set_ylim(-300, 30)
            ax.set_yticks([-300, 0], ["1e-300", "1"])
            self.figure.canvas.draw()
            self.figure.set_layout_engine("none")

        def _draw(self, s):
            steps = np.arange(1, s["length"] + 1)
            for kind, line in self._lines.items():
                chosen = kind == s["kind"]
                line.set_data(steps, np.log10(self.curves[kind]))
                line.set_linewidth(2.8 if chosen else 1.6)
                line.set_alpha(1.0 if chosen else 0.35)
                line.set_zorder(3 if chosen else 2)
            for text, kind in zip(self._legend.get_texts(), kinds):
                text.set_text(self._name(kind, s) + (" (chosen)" if kind == s["kind"] else ""))
            chosen = self.curves[s["kind"]]
            limit = math.log10(chosen.max()) - 6
            self._threshold.set_data([1, s["length"]], [limit, limit])
            step = self.facts["below"]
            self._marker.set_xdata([step, step] if step else [0, 0])
            self._marker.set_visible(step is not None)
            logs = np.log10(np.concatenate(list(self.curves.values())))
            low, high = math.floor(min(logs.min(), limit)) - 1, math.ceil(logs.max()) + 1
            every = max(1, math.ceil((high - low) / 6))  # at most 7 ticks, at whole decades
            ticks = list(range(high - (high - low) // every * every, high + 1, every))
            self._ax.set_ylim(low, high)
            self._ax.set_yticks(ticks, ["1" if k == 0 else f"1e{k}" for k in ticks])
            self._ax.set_xlim(0, s["length"] + 1)
            self._title.set_text(f"y = the sum of the output at the last step, t = L = {s['length']}")

        def promised(self):
            """Every label the picture must show (tests/test_readability.py)."""
            s = self.settings()
            return [self._name(k, s) for k in kinds] + ["1e-6 of the peak", "||dy/dx_t||", "input step t",
                                                         f"t = L = {s['length']}"]

        def _show(self):
            png = None
            if self.figure is not None:
                buf = io.BytesIO()
                self.figure.canvas.print_png(buf, pil_kwargs={"compress_level": 1})
                png = buf.getvalue()
            self._out.clear_output(wait=True)
            with self._out:
                print(self.text)
                if png:
                    display(Image(data=png, format="png"))

    def explore_gradients(**initial):
        """Show the live gradient explorer and return its GradientExplorer.

        Keywords set starting values: kind ("RNN", "GRU", "LSTM"), length (5 to 100), forget_bias (None for
        PyTorch's init, or 0 to 5), scale (0.25 to 5), seed (0 to 9), e.g. explore_gradients(kind="RNN", length=20).
        """
        explorer = GradientExplorer(initial)
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

    api = {"curve": curve, "backprop": backprop, "model": model, "sequences": sequences, "below": below,
           "checked": checked, "cache": cache}
    return explore_gradients, GradientExplorer, api


explore_gradients, GradientExplorer, _gradient_curves = _install_gradient_explorer()
del _install_gradient_explorer
