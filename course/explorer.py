"""Live nn.LSTM explorer for the course notebooks: `lab = explore(controls, view, **initial)`.

`python -m course.build` pastes this file verbatim into the hidden "explorer" code cell
of the notebooks (Colab opens one notebook alone, so it cannot be imported). Edit it
here, never in a notebook.

Every control change rebuilds a real nn.LSTM and runs a random input through it, so
each shape, count, warning and error shown is PyTorch's own. The plain-text table goes
out once, in the same display bundle as the widget: frontends that render widgets show
the live one, and GitHub/nbviewer, which can't, show the table.
Only ipywidgets API common to 7.x (Colab) and 8.x is used. LSTM_COURSE_NO_FIGURES=1
turns the picture off (grading, tests); outside a kernel only the state is updated.
"""


def _install_explorer():
    import io
    import os
    import warnings

    import ipywidgets as widgets
    import torch
    from IPython import get_ipython
    from IPython.display import Image, display
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle
    from torch import nn

    # name: (default, min, max); a bool default makes a checkbox. data_features None: same as input_size.
    spec = {"input_size": (10, 1, 32), "hidden_size": (20, 1, 32), "num_layers": (1, 1, 4),
            "proj_size": (0, 0, 31), "seq_len": (5, 1, 12), "batch": (3, 1, 8),
            "data_features": (None, 1, 32), "bias": (True,), "batch_first": (False,),
            "bidirectional": (False,), "unbatched": (False,), "dropout": (0.0, 0.0, 0.9)}
    labels = {"seq_len": "seq_len (L)", "batch": "batch (N)", "data_features": "data features"}
    views = ("shapes", "params", "states")
    # Okabe-Ito: told apart with every common colour-vision deficiency.
    colours = {"input": "#E69F00", "output": "#56B4E9", "h_n": "#009E73", "c_n": "#CC79A7", "error": "#D55E00"}

    def in_kernel():
        # Output widgets capture only inside a kernel; elsewhere `with out:` would leak to stdout.
        shell = get_ipython()
        return shell is not None and getattr(shell, "kernel", None) is not None

    def show_once(widget, text):
        """One output holding both the widget and its plain-text table: a frontend that renders
        widgets (JupyterLab, Colab) shows the live widget, one that can't (GitHub, nbviewer)
        the text. A kernel can't know which frontend will look, so it sends both, once."""
        display({"text/plain": text,
                 "application/vnd.jupyter.widget-view+json": {"model_id": widget.model_id,
                                                               "version_major": 2, "version_minor": 0}},
                raw=True)

    def make_control(name, value):
        default, low, high = (spec[name] + (None, None))[:3]
        if isinstance(default, bool):
            return widgets.Checkbox(value=bool(value), description=labels.get(name, name), indent=False)
        slider, extra = widgets.IntSlider, {}
        if isinstance(default, float):
            slider, extra = widgets.FloatSlider, {"step": 0.1, "readout_format": ".1f"}
        return slider(value=value, min=low, max=max(high, value), description=labels.get(name, name),
                      continuous_update=False, style={"description_width": "100px"}, **extra)

    class Explorer:
        """A live nn.LSTM: .controls, .text, .error, .figure, .layer, .widget and .update()."""

        def __init__(self, controls, view, initial):
            unknown = sorted((set(controls) | set(initial)) - set(spec))
            if unknown:
                raise ValueError(f"explore(): unknown control(s) {', '.join(unknown)}; "
                                 f"known: {', '.join(spec)}")
            if view not in views:
                raise ValueError(f"explore(): view must be one of {', '.join(views)}, not {view!r}")
            self.settings = {name: s[0] for name, s in spec.items()}
            self.settings.update(initial)
            if self.settings["data_features"] is None:
                self.settings["data_features"] = self.settings["input_size"]
            self.view, self.text, self.error, self.layer = view, "", None, None
            self._live = self._syncing = False
            self.controls = {n: make_control(n, self.settings[n]) for n in controls}
            for name, control in self.controls.items():
                control.observe(lambda change, name=name: self._changed(name, change["new"]), names="value")
            self.figure = None
            if os.environ.get("LSTM_COURSE_NO_FIGURES") != "1":
                self.figure = Figure(figsize=(7.2, 2.4), dpi=80)  # not pyplot's: never auto-shown or leaked
                FigureCanvasAgg(self.figure)
                self._ax = self.figure.add_axes((0.01, 0.01, 0.98, 0.86))
            self._out = widgets.Output()
            sliders = [c for c in self.controls.values() if not isinstance(c, widgets.Checkbox)]
            boxes = [c for c in self.controls.values() if isinstance(c, widgets.Checkbox)]
            self.widget = widgets.VBox([widgets.HBox([widgets.VBox(sliders), widgets.VBox(boxes)]), self._out])
            self.update()

        def __repr__(self):
            return f"<Explorer view={self.view!r}: {self._call()}>"

        def _changed(self, name, value):
            follows = self.settings["data_features"] == self.settings["input_size"]
            self.settings[name] = value
            if name == "input_size" and follows:  # a match stays a match; a mismatch you made stays
                self.settings["data_features"] = value
                if "data_features" in self.controls:
                    self._syncing = True  # one rebuild per change, not two
                    try:
                        self.controls["data_features"].value = value
                    finally:
                        self._syncing = False
            if not self._syncing:
                self.update()

        def _call(self):
            s = self.settings
            args = [str(s["input_size"]), str(s["hidden_size"])] + [
                f"{k}={round(s[k], 2) if k == 'dropout' else s[k]}" for k in
                ("num_layers", "bias", "batch_first", "dropout", "bidirectional", "proj_size")
                if s[k] != spec[k][0]]
            return f"nn.LSTM({', '.join(args)})"

        def update(self):
            """Rebuild the layer from the controls, run it, and redraw the text and figure."""
            s = self.settings
            d, h_out = (2 if s["bidirectional"] else 1), (s["proj_size"] or s["hidden_size"])
            feat = "H_in" if s["data_features"] == s["input_size"] else "data_features"
            x_axes = ("L",) if s["unbatched"] else ("N", "L") if s["batch_first"] else ("L", "N")
            x_axes += (feat,)
            x_shape = tuple({"L": s["seq_len"], "N": s["batch"], feat: s["data_features"]}[a] for a in x_axes)
            self.error, self.layer, result = None, None, None
            one_dnn = torch.backends.mkldnn.enabled
            # fork_rng: moving a control must not shift the notebook's own random numbers.
            with warnings.catch_warnings(record=True) as caught, torch.random.fork_rng(devices=[]), \
                    torch.no_grad():
                warnings.simplefilter("always")
                try:
                    self.layer = nn.LSTM(s["input_size"], s["hidden_size"], num_layers=s["num_layers"],
                                         bias=s["bias"], batch_first=s["batch_first"],
                                         dropout=round(float(s["dropout"]), 2),
                                         bidirectional=s["bidirectional"], proj_size=s["proj_size"])
                    # On CPU, oneDNN compiles kernels for every new layer size (0.1-0.2 s each);
                    # PyTorch's plain path gives the same shapes and errors at once.
                    torch.backends.mkldnn.enabled = False
                    result = self.layer(torch.randn(x_shape))
                except Exception as err:  # an invalid combination: show PyTorch's own words
                    self.error = f"{type(err).__name__}: {err}"
                finally:
                    torch.backends.mkldnn.enabled = one_dnn
            tensors, lines = [("input", x_shape, x_axes)], [self._call()]
            if result is not None:
                out, (h_n, c_n) = result
                state = ("D*num_layers",) if s["unbatched"] else ("D*num_layers", "N")
                tensors += [("output", tuple(out.shape), x_axes[:-1] + ("D*H_out",)),
                            ("h_n", tuple(h_n.shape), state + ("H_out",)),
                            ("c_n", tuple(c_n.shape), state + ("H_cell",))]
                lines.append(f"D = {d}, H_out = {h_out} ({'proj_size' if s['proj_size'] else 'hidden_size'}), "
                             f"H_cell = {s['hidden_size']} (hidden_size)")
            lines += [f"{name:<9}{str(shape):<14}({', '.join(axes)})" for name, shape, axes in tensors]
            if s["unbatched"] and s["batch_first"]:
                lines.append("(batch_first is ignored for unbatched input)")
            if result is not None:
                params = list(self.layer.named_parameters())
                lines.append(f"parameters: {sum(p.numel() for _, p in params)}")
                if self.view == "params":
                    wide = max(len(n) for n, _ in params) + 2
                    lines += [f"  {n:<{wide}}{str(tuple(p.shape)):<10}{p.numel():>6}" for n, p in params]
                if self.view == "states":
                    lines += self._states(out, h_n, d, h_out)
            # C++ warnings end with the source line that raised them: noise for a learner.
            lines += [f"warning: {w.category.__name__}: {str(w.message).split(' (Triggered internally')[0]}"
                      for w in caught]
            self.text = "\n".join(lines + ([self.error] if self.error else []))
            if self.figure is not None:
                self._draw(tensors, d)
            if self._live:
                self._show()

        def _show(self):
            png = None
            if self.figure is not None:
                buf = io.BytesIO()
                self.figure.savefig(buf, format="png")  # PNG bytes: shown the same by every frontend
                png = buf.getvalue()
            self._out.clear_output(wait=True)
            with self._out:
                print(self.text)
                if png:
                    display(Image(data=png, format="png"))

        def _states(self, out, h_n, d, h_out):
            s = self.settings
            batch_first = s["batch_first"] and not s["unbatched"]
            view = (s["num_layers"], d) + tuple(h_n.shape[1:])
            lines = [f"h_n.view(num_layers, D{'' if s['unbatched'] else ', N'}, H_out) = {view}"]
            lines += [f"  h_n[{r}] = layer {r // d}, {'backward' if r % d else 'forward'}"
                      for r in range(len(h_n))]
            lines.append("  (c_n has the same row order)")
            steps = out.transpose(0, 1) if batch_first else out  # time first, whatever the layout

            def compare(t, cut, expr, b):
                a = steps[t] if cut is None else steps[t][..., cut]
                index = f"{':, ' if batch_first else ''}{t}"
                if cut is not None:
                    index += f", {'' if batch_first or s['unbatched'] else ':, '}"
                    index += f"{cut.start or ''}:{cut.stop or ''}"
                equal = a.shape == b.shape and torch.allclose(a, b, atol=1e-6)
                return f"  output[{index}] equals {expr}: {equal}"
            if d == 1:
                return lines + [compare(-1, None, "h_n[-1]", h_n[-1])]
            both = torch.cat((h_n[-2], h_n[-1]), -1)
            return lines + [compare(-1, slice(None, h_out), "h_n[-2]", h_n[-2]),
                            compare(0, slice(h_out, None), "h_n[-1]", h_n[-1]),
                            compare(-1, None, "torch.cat((h_n[-2], h_n[-1]), -1)", both)]

        def _draw(self, tensors, d):
            # First axis: stacked strips; middle axis (3-D only): copies behind; last axis: width.
            ax, x, top = self._ax, 2.0, 0.0
            ax.cla()
            ax.set_axis_off()
            ax.set_title(self._call(), fontsize=9, family="monospace")
            for name, shape, axes in tensors:
                rows, width = shape[0], shape[-1]
                shadows = min(shape[1], 6) - 1 if len(shape) == 3 else 0
                for k in range(shadows, 0, -1):
                    ax.add_patch(Rectangle((x + 0.8 * k, 0.6 * k), width, rows, fc="white",
                                           ec=colours[name], lw=0.8))
                state = name in ("h_n", "c_n")
                for r in range(rows):  # a state's backward rows are lighter, and labelled if there is room
                    ax.add_patch(Rectangle((x, rows - r - 1), width, 1, fc=colours[name],
                                           alpha=0.45 if state and r % d else 0.9, ec="black", lw=0.4))
                    if state and rows > 1 and width >= 7:
                        arrow = (" ←" if r % d else " →") * (d - 1)
                        ax.text(x + width / 2, rows - r - 0.5, f"l{r // d}{arrow}", ha="center", va="center",
                                fontsize=6)
                ax.text(x - 0.6, rows / 2, f"{axes[0]}={rows}", rotation=90, ha="right", va="center",
                        fontsize=7)
                ax.text(x + width / 2, -0.4, f"{axes[-1]}={width}", ha="center", va="top", fontsize=7)
                if len(shape) == 3:
                    ax.text(x + width + 0.8 * shadows + 0.5, rows + 0.6 * shadows, f"{axes[1]}={shape[1]}",
                            ha="left", va="bottom", fontsize=7)
                ax.text(x, rows + 0.6 * shadows + 1.6, f"{name} {shape}", fontsize=8, weight="bold")
                top, x = max(top, rows + 0.6 * shadows + 3), x + width + 0.8 * shadows + 14
            if self.error:
                ax.text(x, 2, self.error.split(":")[0], color=colours["error"], fontsize=9, weight="bold")
            # Fixed limits up to a floor, so growing one size visibly grows its box.
            ax.set_xlim(-2, max(x + (40 if self.error else 0), 150))
            ax.set_ylim(-3, max(top, 16))

    def explore(controls=None, view="shapes", **initial):
        """Show a live nn.LSTM with the named controls (None: all) and return its Explorer.

        view: "shapes" (tensor shapes, parameter count), "params" (also every parameter)
        or "states" (also h_n's row layout and how output's last step relates to it).
        Keywords set starting values, e.g. explore(["hidden_size"], input_size=8).
        """
        explorer = Explorer(list(spec) if controls is None else list(controls), view, initial)
        if in_kernel():
            explorer._live = True
            explorer._show()
            show_once(explorer.widget, explorer.text)
        else:
            print(explorer.text)
        return explorer

    return explore, Explorer


explore, Explorer = _install_explorer()
del _install_explorer
