"""A training progress bar for lesson 06: `progress = Progress(300, "LSTM")`, `.update(step, accuracy=...)`, `.close()`.

`python -m course.build` pastes this file into the hidden "progress" code cell of the notebooks
that use it (a notebook must stand alone in Colab). Edit it here, never in a notebook.

In a kernel with a frontend it shows an ipywidgets IntProgress and a line of text, using only
API common to ipywidgets 7.7.1 (Colab) and 8; it updates at most 50 times, so a fast loop is not
slowed down by messages to the browser, and `close()` replaces the bar with one summary line
(through its display id), so the result is shown once and stays readable where widgets are not.
Elsewhere (the grader, a script) it shows nothing while it runs, and `close()` prints the line to
stdout. Never to stderr: tqdm's text bar writes there, which nbgrader scores as a failure in a
graded cell.
"""


def _install_progress():
    import time

    import ipywidgets as widgets
    from IPython import get_ipython
    from IPython.display import display

    def in_kernel():
        shell = get_ipython()
        return shell is not None and getattr(shell, "kernel", None) is not None

    class Progress:
        """A progress bar for `total` steps of training named `label`."""

        def __init__(self, total, label):
            self.total, self.label, self.start = total, label, time.perf_counter()
            self.every = max(1, total // 50)
            self.metrics = {}
            self.bar = widgets.IntProgress(value=0, min=0, max=total, description=label,
                                           style={"description_width": "90px"})
            self.line = widgets.Label(value=f"0/{total}")
            self.shown = display(widgets.HBox([self.bar, self.line]), display_id=True) if in_kernel() else None

        def text(self, step):
            shown = ", ".join(f"{k} {v:.3f}" for k, v in self.metrics.items())
            return f"{step}/{self.total} steps" + (f", {shown}" if shown else "")

        def update(self, step, **metrics):
            self.metrics.update(metrics)
            if step % self.every == 0 or step == self.total:
                self.bar.value = step
                self.line.value = self.text(step)

        def close(self):
            self.bar.value = self.total
            seconds = time.perf_counter() - self.start
            self.line.value = self.text(self.total) + f" ({seconds:.1f} s)"
            summary = f"{self.label}: {self.text(self.total)} ({seconds:.1f} s)"
            if self.shown is not None:  # the bar becomes the line: printed as well, it would show twice
                self.shown.update({"text/plain": summary}, raw=True)
            else:
                print(summary)

    return Progress


Progress = _install_progress()
del _install_progress
