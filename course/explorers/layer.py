"""Live nn.LSTM explorer for the course notebooks: `lab = explore(controls, view, **initial)`.

`python -m course.build` pastes this file verbatim into the hidden "explorer" code cell
of the notebooks (Colab opens one notebook alone, so it cannot be imported). Edit it
here, never in a notebook.

Every control change rebuilds a real nn.LSTM and runs a random input through it, so
each shape, count, warning and error shown is PyTorch's own. The plain-text table goes
out once, in the same display bundle as the widget: frontends that render widgets show
the live one, and GitHub/nbviewer, which can't, show the table. The "shapes" and "states"
views draw the network unrolled in time above the tensors, drawn to scale: which cells make
`output` and which make `h_n` / `c_n` (patch and line collections: one artist per kind, fast).
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
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import to_rgba
    from matplotlib.collections import LineCollection, PatchCollection
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
            self.figure, self._grid = None, None
            if os.environ.get("LSTM_COURSE_NO_FIGURES") != "1":
                # 840 px wide: JupyterLab and Colab show it at 100 %. Not pyplot's: never auto-shown or leaked.
                unrolled = view in ("shapes", "states")
                self.figure = Figure(figsize=(8.4, 6.0 if unrolled else 3.0), dpi=100)
                FigureCanvasAgg(self.figure)
                # One panel per tensor, at fixed places: room for its title and both axis labels.
                bottom, height = (0.1, 0.27) if unrolled else (0.2, 0.56)
                self._axes = [self.figure.add_axes((0.06 + 0.25 * k, bottom, 0.17, height)) for k in range(4)]
                if unrolled:  # above them, the network unrolled in time, and which cells make which tensor
                    self._grid = self.figure.add_axes((0.16, 0.52, 0.8, 0.3))
                    self._legend = [self.figure.text(0.02, 0.895 - 0.045 * k, "", fontsize=11, bbox={
                        "boxstyle": "square,pad=0.2", "fc": "white", "ec": colours[name], "lw": 2.5})
                        for k, name in enumerate(("output", "h_n"))]
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
                if self._grid is not None:
                    self._draw_unrolled(tensors, d)
            if self._live:
                self._show()

        def _show(self):
            png = None
            if self.figure is not None:
                buf = io.BytesIO()
                self.figure.canvas.print_png(buf, pil_kwargs={"compress_level": 1})  # PNG: every frontend shows it
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

        def _artists(self):
            """The figure's artists, made once: a redraw only updates them (Axes.cla costs more than a draw)."""
            self._panels = []
            for ax in self._axes:
                ax.set_axis_off()  # its labels are plain texts: no tick machinery to lay out on every draw
                blocks = PatchCollection([], zorder=2)
                rules = LineCollection([], colors="black", linewidths=0.6, zorder=3)
                ax.add_collection(blocks)
                ax.add_collection(rules)
                note = ax.text(0.0, 0.5, "", color=colours["error"], fontsize=12, weight="bold",
                               transform=ax.transAxes, va="center")
                across = ax.text(0.5, -0.04, "", fontsize=11, transform=ax.transAxes, ha="center", va="top")
                up = ax.text(-0.04, 0.5, "", fontsize=11, transform=ax.transAxes, ha="right", va="center",
                             rotation=90)
                # A text, not Axes.set_title: placing a title measures the axes' contents on every draw.
                title = ax.text(0.5, 1.04, "", fontsize=12, weight="bold", transform=ax.transAxes, ha="center",
                                va="bottom")
                self._panels.append((blocks, rules, note, across, up, title))
            if self._grid is not None:
                ax = self._grid
                ax.set_axis_off()  # labels as plain texts: ticks cost more to lay out than the whole picture
                rows, steps = spec["num_layers"][2] * 2 + 1, spec["seq_len"][2]
                self._row_labels = [ax.text(-0.02, 0, "", fontsize=11, ha="right", va="center",
                                            transform=ax.get_yaxis_transform()) for _ in range(rows)]
                self._step_labels = [ax.text(0, -0.02, "", fontsize=11, ha="center", va="top",
                                             transform=ax.get_xaxis_transform()) for _ in range(steps)]
                self._time_label = ax.text(0.5, -0.13, "", fontsize=11, ha="center", va="top", transform=ax.transAxes)
                self._cells = PatchCollection([], zorder=2)
                self._arrows = LineCollection([], colors="#333333", linewidths=1.2, zorder=1)
                ax.add_collection(self._cells)
                ax.add_collection(self._arrows)
                self._heads = {m: ax.scatter([], [], marker=m, s=28, c="#333333", zorder=3, linewidths=0)
                               for m in (">", "<", "^")}
                self._marks = ax.scatter([], [], s=40, c=colours["c_n"], zorder=4, linewidths=0)
                self._grid_note = ax.text(0.0, 0.5, "", color=colours["error"], fontsize=12, transform=ax.transAxes,
                                          va="center")

        def _draw(self, tensors, d):
            """Each tensor in its own panel, to one scale: its first axis up, its last across, and its
            middle axis (3-D tensors) as copies behind; every axis named with its size."""
            if not hasattr(self, "_panels"):
                self._artists()
            tall = max([shape[0] for _, shape, _ in tensors] + [1])
            wide = max([shape[-1] for _, shape, _ in tensors] + [1])
            call = self._call()
            if len(call) > 80:  # two lines, broken after an argument, rather than text off the figure
                cut = call.rfind(", ", 0, 80) + 1
                call = call[:cut] + "\n" + call[cut:].lstrip()
            self.figure.suptitle(call, fontsize=11, family="monospace", y=0.99, va="top")
            for k, (ax, (blocks, rules, note, across, up, title)) in enumerate(zip(self._axes, self._panels)):
                shown = k < len(tensors)
                note.set_text(self.error.split(":")[0] if k == len(tensors) and self.error else "")
                if not shown:
                    blocks.set_paths([])
                    rules.set_segments([])
                    title.set_text("")
                    across.set_text("")
                    up.set_text("")
                    continue
                name, shape, axes = tensors[k]
                rows, width = shape[0], shape[-1]
                copies = min(shape[1], 4) if len(shape) == 3 else 1
                step_x, step_y = 0.06 * wide, 0.06 * tall
                patches, faces, edges = [], [], []
                for j in range(copies - 1, -1, -1):  # the copies behind first
                    patches.append(Rectangle((j * step_x, j * step_y), width, rows))
                    faces.append(to_rgba(colours[name], 0.85) if j == 0 else "white")
                    edges.append(colours[name])
                segments = []
                if name in ("h_n", "c_n") and rows > 1:  # a state's rows: forward, then backward (lighter)
                    for r in range(rows):
                        if d == 2 and r % 2:
                            patches.append(Rectangle((0, rows - r - 1), width, 1))
                            faces.append(to_rgba("white", 0.45))
                            edges.append("none")
                        segments.append([(0, r), (width, r)])
                blocks.set_paths(patches)
                blocks.set_facecolor(faces)
                blocks.set_edgecolor(edges)
                blocks.set_linewidth(1.2)
                rules.set_segments(segments)
                ax.set_xlim(-0.05 * wide, 1.3 * wide)
                ax.set_ylim(-0.05 * tall, 1.3 * tall)
                title.set_text(f"{name} {shape}")
                behind = f"\n{axes[1]}={shape[1]} behind" if len(shape) == 3 else ""
                across.set_text(f"{axes[-1]}={width}{behind}")
                up.set_text(f"{axes[0]}={rows}")

        def _draw_unrolled(self, tensors, d):
            """The layer unrolled in time: a cell per step (across) and per layer and direction (up), h and c
            flowing along each row (right to left for the backward direction), the input entering at the
            bottom, and the cells that make output (the top layer, every step) and h_n / c_n (every layer
            and direction, its last step: step 0 for the backward direction) in those tensors' colours."""
            ax, s = self._grid, self.settings
            steps, layers = s["seq_len"], s["num_layers"]
            rows = layers * d
            ax.set_xlim(-0.6, steps - 0.4)
            ax.set_ylim(-1.55, rows - 0.35)
            if self.error:
                for text in self._row_labels + self._step_labels + [self._time_label]:
                    text.set_text("")
                for text in self._legend:
                    text.set_text("")
                    text.set_visible(False)
                self._cells.set_paths([])
                self._arrows.set_segments([])
                for scatter in list(self._heads.values()) + [self._marks]:
                    scatter.set_offsets(np.zeros((0, 2)))
                self._grid_note.set_text("no network: PyTorch refused these settings (see the text)")
                return
            self._grid_note.set_text("")
            half = 0.3
            cells, faces, edges, widths = [], [], [], []
            for r in range(rows):
                layer, backward = divmod(r, d)
                last = 0 if backward else steps - 1
                for t in range(steps):
                    cells.append(Rectangle((t - half, r - half), 2 * half, 2 * half))
                    faces.append(colours["output"] if layer == layers - 1 else "white")
                    edges.append(colours["h_n"] if t == last else "#555555")
                    widths.append(3.5 if t == last else 1.0)
            for t in range(steps):  # the input's steps, below the first layer
                cells.append(Rectangle((t - half, -1.2 - half * 0.6), 2 * half, 1.2 * half))
                faces.append(colours["input"])
                edges.append("#555555")
                widths.append(1.0)
            self._cells.set_paths(cells)
            self._cells.set_facecolor(faces)
            self._cells.set_edgecolor(edges)
            self._cells.set_linewidth(widths)
            # h and c along each row; the input and each layer's output up into the next layer.
            segments, heads = [], {">": [], "<": [], "^": []}
            for r in range(rows):
                backward = r % d == 1
                for t in range(steps - 1):
                    a, b = (t + 1 - half, t + half) if backward else (t + half, t + 1 - half)
                    segments.append([(a, r), (b, r)])
                    heads["<" if backward else ">"].append((b, r))
            for layer in range(layers):  # into both directions of a layer: its input at every step
                source = -1.2 + half * 0.6 if layer == 0 else layer * d - 1 + half
                for t in range(steps):
                    segments.append([(t, source), (t, layer * d + d - 1 - half)])  # behind the lower row's cell
                    heads["^"] += [(t, layer * d + k - half) for k in range(d)]
            self._arrows.set_segments(segments)
            for marker, points in heads.items():
                self._heads[marker].set_offsets(np.array(points, dtype=float).reshape(-1, 2))
            marks = [(t, r) for r in range(rows) for t in ([0] if r % d else [steps - 1])]
            self._marks.set_offsets(np.array(marks, dtype=float).reshape(-1, 2))
            names = [f"layer {r // d}" + ((" back" if r % d else " fwd") if d == 2 else "") for r in range(rows)]
            for k, text in enumerate(self._row_labels):
                text.set_text((["input"] + names)[k] if k <= rows else "")
                text.set_y(-1.2 if k == 0 else k - 1)
            ticks = list(range(steps)) if steps <= 8 else sorted({0, steps - 1} | set(range(0, steps, 2)))
            for k, text in enumerate(self._step_labels):
                text.set_text(str(ticks[k]) if k < len(ticks) else "")
                text.set_x(ticks[k] if k < len(ticks) else 0)
            self._time_label.set_text("time step t (the arrows along a row carry h and c)")
            shapes = {name: shape for name, shape, _ in tensors}
            back = ", step 0 going back" if d == 2 else ""
            self._legend[0].set_text(f"output {shapes['output']}: the top layer, every step (filled)")
            self._legend[1].set_text(f"h_n {shapes['h_n']}, c_n {shapes['c_n']}: every layer's last step{back} "
                                     "(edged, dot)")
            for text in self._legend:
                text.set_visible(True)

        def promised(self):
            """Every label the picture must show (tests/test_readability.py): names, shapes, axes."""
            labels = [part.strip() for part in self._call().split(", ")]  # the call, wrapped or not
            if self._grid is not None and not self.error:
                labels += ["input", "time step t", "carry h and c", "the top layer, every step",
                           "every layer's last step"]
                labels += [f"layer {layer}" for layer in range(self.settings["num_layers"])]
            for line in self.text.splitlines():
                name, _, rest = line.partition(" ")
                if name in ("input", "output", "h_n", "c_n"):
                    shape, axes = rest.strip().split(")", 1)
                    labels.append(f"{name} {shape})")
                    labels += [f"{axis}=" for axis in axes.strip().strip("()").split(", ")]
            return labels

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
