"""Live packing explorer for lesson 05: `lab = explore_packing(lengths=(5, 3, 2), bidirectional=False)`.

`python -m course.build` pastes this file into the hidden "packing" code cell of the notebooks
that use it (a notebook must stand alone in Colab). Edit it here, never in a notebook.

A batch of up to four sequences, whose lengths the learner sets, is padded, packed with
`pack_padded_sequence` and run through a small `nn.LSTM` (batch_first=True). The picture is the
padded batch as a grid (sequences down, time steps across): each valid step shows where it sits
in the packed `data`, padded steps are grey, the step each sequence's `h_n` comes from is
outlined (and, for a bidirectional layer, the step its backward `h_n` comes from), and under
each column is that step's `batch_sizes` entry. The text says the same in numbers. Every update
checks what it shows against PyTorch's own results (it raises if they disagree: a wrong picture
is worse than none). With enforce_sorted=True and unsorted lengths it shows PyTorch's error. The
length sliders of sequences beyond N are disabled: every enabled control changes what is shown.
Only ipywidgets API common to 7.x (Colab) and 8.x is used; LSTM_COURSE_NO_FIGURES=1 turns the
picture off (grading, tests).
"""


def _install_packing():
    import io
    import os

    import ipywidgets as widgets
    import torch
    from IPython import get_ipython
    from IPython.display import Image, display
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import PatchCollection
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle
    from torch import nn
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    most, longest, features, hidden = 4, 8, 2, 3
    # Okabe-Ito: told apart with every common colour-vision deficiency.
    colours = {"valid": "#56B4E9", "pad": "#E8E8E8", "forward": "#E69F00", "backward": "#D55E00"}

    def in_kernel():
        shell = get_ipython()
        return shell is not None and getattr(shell, "kernel", None) is not None

    class PackingExplorer:
        """A live packed batch: .controls, .facts, .text, .figure, .widget and .update()."""

        def __init__(self, initial):
            unknown = sorted(set(initial) - {"lengths", "bidirectional", "enforce_sorted"})
            if unknown:
                raise ValueError(f"explore_packing(): unknown setting(s) {', '.join(unknown)}; "
                                 "known: lengths, bidirectional, enforce_sorted")
            lengths = list(initial.get("lengths", (5, 3, 2)))
            if not 1 <= len(lengths) <= most or not all(isinstance(n, int) and 1 <= n <= longest for n in lengths):
                raise ValueError(f"explore_packing(): lengths must be 1 to {most} whole numbers from 1 to {longest}")
            style = {"description_width": "110px"}
            self.controls = {"sequences": widgets.IntSlider(value=len(lengths), min=1, max=most,
                                                            description="sequences N", style=style,
                                                            continuous_update=False)}
            for k in range(most):
                self.controls[f"length_{k}"] = widgets.IntSlider(
                    value=lengths[k] if k < len(lengths) else 1, min=1, max=longest, description=f"length of {k}",
                    style=style, continuous_update=False)
            self.controls["bidirectional"] = widgets.Checkbox(value=bool(initial.get("bidirectional", False)),
                                                              description="bidirectional")
            self.controls["enforce_sorted"] = widgets.Checkbox(value=bool(initial.get("enforce_sorted", False)),
                                                               description="enforce_sorted")
            for control in self.controls.values():
                control.observe(lambda change: self.update(), names="value")
            torch.manual_seed(0)
            self._layers = {d: nn.LSTM(features, hidden, batch_first=True, bidirectional=d) for d in (False, True)}
            self._data = torch.randn(most, longest, features, generator=torch.Generator().manual_seed(5))
            self.figure = None
            if os.environ.get("LSTM_COURSE_NO_FIGURES") != "1":
                self._build_figure()
            self._out = widgets.Output()
            left = widgets.VBox([self.controls[k] for k in ("sequences", "length_0", "length_1")])
            right = widgets.VBox([self.controls[k] for k in ("length_2", "length_3", "bidirectional",
                                                             "enforce_sorted")])
            self.widget = widgets.VBox([widgets.HBox([left, right]), self._out])
            self._live = False
            self.update()

        def lengths(self):
            return [self.controls[f"length_{k}"].value for k in range(self.controls["sequences"].value)]

        def update(self):
            n = self.controls["sequences"].value
            for k in range(most):  # a length slider of a sequence not in the batch changes nothing: grey it out
                self.controls[f"length_{k}"].disabled = k >= n
            lengths = self.lengths()
            bidirectional = self.controls["bidirectional"].value
            enforce_sorted = self.controls["enforce_sorted"].value
            n, steps = len(lengths), max(lengths)
            x = self._data[:n, :steps].clone()
            for row, length in enumerate(lengths):
                x[row, length:] = 0.0  # padding
            call = (f"pack_padded_sequence(x, lengths={lengths}, batch_first=True, "
                    f"enforce_sorted={enforce_sorted})")
            self.facts = {"lengths": lengths, "padded": (n, steps, features), "error": None}
            try:
                packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=enforce_sorted)
            except RuntimeError as err:
                self.facts["error"] = str(err).split("\n")[0]
                self.text = "\n".join([f"x: {tuple(x.shape)}, padded, batch_first=True", call,
                                       f"RuntimeError: {self.facts['error']}",
                                       "Sort the batch by length, longest first, or pass enforce_sorted=False."])
            else:
                self._facts(packed, x, lengths, bidirectional)
                self.text = self._describe(call, bidirectional)
            if self.figure is not None:
                self._draw(call, bidirectional)
            if self._live:
                self._show()

        def _facts(self, packed, x, lengths, bidirectional):
            """Read every fact off PyTorch's own objects, and check the ones the picture draws."""
            layer = self._layers[bidirectional]
            with torch.no_grad():
                out_packed, (h_n, c_n) = layer(packed)
            output, out_lengths = pad_packed_sequence(out_packed, batch_first=True)
            n, steps = len(lengths), max(lengths)
            sizes = packed.batch_sizes.tolist()
            order = packed.sorted_indices.tolist() if packed.sorted_indices is not None else list(range(n))
            # Where each valid step of each sequence sits in packed.data: time-major over the sorted batch.
            where, start = {}, 0
            for t, size in enumerate(sizes):
                for rank in range(size):
                    where[(order[rank], t)] = start + rank
                start += size
            assert packed.data.shape == (sum(lengths), x.shape[2])
            assert sizes == [sum(1 for length in lengths if length > t) for t in range(steps)]
            for (row, t), index in where.items():
                assert torch.equal(packed.data[index], x[row, t]), "packed data is not where the picture says"
            for row, length in enumerate(lengths):
                assert torch.allclose(h_n[0 if not bidirectional else -2][row], output[row, length - 1, :hidden])
                if bidirectional:
                    assert torch.allclose(h_n[-1][row], output[row, 0, hidden:])
                assert bool((output[row, length:] == 0).all()), "padded steps of output are not zeros"
            assert out_lengths.tolist() == lengths
            unsorted = packed.unsorted_indices.tolist() if packed.unsorted_indices is not None else list(range(n))
            self.facts.update(data=tuple(packed.data.shape), batch_sizes=sizes, sorted_indices=order,
                              unsorted_indices=unsorted, where=where, output=tuple(output.shape),
                              h_n=tuple(h_n.shape), zeros_at_end=[r for r, l in enumerate(lengths) if l < steps])

        def _describe(self, call, bidirectional):
            f, lengths = self.facts, self.facts["lengths"]
            lines = [f"x: {f['padded']}, padded to the longest sequence, batch_first=True", call,
                     f"  packed.data: {f['data']} (sum(lengths) = {sum(lengths)} steps, no padding)",
                     f"  packed.batch_sizes: {f['batch_sizes']} (sequences still running at each step)",
                     f"  packed.sorted_indices: {f['sorted_indices']}, unsorted_indices: {f['unsorted_indices']}",
                     f"output, lengths = pad_packed_sequence(lstm(packed)[0], batch_first=True): {f['output']}, "
                     "zeros after each sequence's length",
                     f"h_n: {f['h_n']}, in the batch's own order:"]
            for row, length in enumerate(lengths):
                back = ", backward direction from step 0" if bidirectional else ""
                lines.append(f"  sequence {row} (length {length}): h_n from step {length - 1}{back}")
            if f["zeros_at_end"]:
                lines.append(f"output[:, -1] is zeros for sequence(s) {f['zeros_at_end']}: shorter than "
                             f"{max(lengths)}")
            else:
                lines.append("every sequence has the same length: output[:, -1] holds each last step")
            return "\n".join(lines)

        def _build_figure(self):
            self.figure = Figure(figsize=(8.4, 4.6), dpi=100)  # 840 px wide
            FigureCanvasAgg(self.figure)
            self._ax = self.figure.add_axes((0.2, 0.13, 0.55, 0.68))

        def _draw(self, call, bidirectional):
            ax, f = self._ax, self.facts
            ax.clear()
            lengths = f["lengths"]
            n, steps = len(lengths), max(lengths)
            ax.set_xlim(-0.5, longest - 0.5)
            ax.set_ylim(n + 0.5, -0.5)  # one row per sequence, then the batch_sizes row
            ax.set_xticks(range(steps))
            ax.set_yticks(range(n))
            ax.set_yticklabels([f"seq {row} (len {length})" for row, length in enumerate(lengths)])
            ax.tick_params(labelsize=11, length=0)
            ax.set_xlabel("time step t", fontsize=11)
            for side in ("top", "right", "left", "bottom"):
                ax.spines[side].set_visible(False)
            self.figure.texts.clear()
            self.figure.text(0.02, 0.95, "\n".join(self._wrap(call)), fontsize=11, va="top", family="monospace")
            if f["error"]:
                ax.text(0.5 * (longest - 1), 0.5 * n, "RuntimeError: lengths must be sorted,\n"
                        "longest first (or enforce_sorted=False)", ha="center", va="center", fontsize=12,
                        color=colours["backward"])
                ax.set_xticks([])
                return
            cells, faces = [], []
            for row, length in enumerate(lengths):
                for t in range(steps):
                    cells.append(Rectangle((t - 0.45, row - 0.4), 0.9, 0.8))
                    faces.append(colours["valid"] if t < length else colours["pad"])
            edges, widths = ["white"] * len(cells), [0.0] * len(cells)
            marks = [(row, length - 1, "forward") for row, length in enumerate(lengths)]
            if bidirectional:
                marks += [(row, 0, "backward") for row in range(n)]
            outlines = [Rectangle((t - 0.45, row - 0.4), 0.9, 0.8) for row, t, _ in marks]
            ax.add_collection(PatchCollection(cells, facecolors=faces, edgecolors=edges, linewidths=widths))
            ax.add_collection(PatchCollection(outlines, facecolors="none",
                                              edgecolors=[colours[k] for _, _, k in marks], linewidths=3.5))
            for (row, t), index in f["where"].items():
                ax.text(t, row, f"d{index}", ha="center", va="center", fontsize=11)
            for t, size in enumerate(f["batch_sizes"]):
                ax.text(t, n, f"{size}", ha="center", va="center", fontsize=11, color="#444444")
            ax.text(-0.6, n, "batch_sizes", ha="right", va="center", fontsize=11, color="#444444")
            legend = [("d3 = packed.data[3]", "#000000"), ("grey: padding", "#777777"),
                      ("h_n (forward)", colours["forward"])]
            if bidirectional:
                legend.append(("h_n (backward)", colours["backward"]))
            for k, (label, colour) in enumerate(legend):
                self.figure.text(0.78, 0.78 - 0.09 * k, label, fontsize=11, color=colour)

        def _wrap(self, call):
            words, lines = call.split(" "), [""]
            for word in words:
                if len(lines[-1]) + len(word) > 70:
                    lines.append("    ")
                lines[-1] += word + " "
            return [line.rstrip() for line in lines]

        def promised(self):
            """Every label the picture must show (tests/test_readability.py)."""
            if self.facts["error"]:
                return ["pack_padded_sequence", "RuntimeError"]
            labels = ["pack_padded_sequence", "time step t", "batch_sizes", "h_n (forward)", "grey: padding"]
            labels += [f"seq {row} (len {length})" for row, length in enumerate(self.facts["lengths"])]
            if self.controls["bidirectional"].value:
                labels.append("h_n (backward)")
            return labels

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

    def explore_packing(**initial):
        """Show a live packed batch and return its PackingExplorer.

        Keywords set starting values: lengths (1 to 4 whole numbers from 1 to 8), bidirectional,
        enforce_sorted, e.g. explore_packing(lengths=(2, 5, 3), enforce_sorted=True).
        """
        explorer = PackingExplorer(initial)
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

    return explore_packing, PackingExplorer


explore_packing, PackingExplorer = _install_packing()
del _install_packing
