"""LSTM against a plain RNN of about the same size, on lesson 06's temporal-order task, over seeds.

    python benchmarks/lstm_vs_rnn.py [--seeds 10] [--steps 1000]

The task is the lesson's own (course/references/06_model.py, the generator the grader uses too;
in the student edition, read from the released lesson's checks cell): 40 steps of random symbols,
two of which (X or Y, at steps 4-8 and 20-24) decide one of 4 classes; chance is 0.25. Each model
is trained as the lesson trains it (Adam, lr 3e-3, batches of 64 fresh sequences, gradient norm
clipped at 1, one thread) and measured every 25 steps on the same 1000 held-out sequences, so the
lesson's run is seed 0. The LSTM starts with PyTorch's initialisation, or with its forget gate's
bias at 1 or at 3 (lesson 04's first-symbol task needs 3: benchmarks/forget_bias.py). It prints,
per model and seed, the first step at which accuracy reached 0.9, the accuracy at step 300 (where
the lesson stops) and at the last step, and the training time; then a summary per model. The
lesson cites these figures.
"""
import argparse
import pathlib
import statistics
import sys
import time

import torch
from torch import nn

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def checks_cell():
    """The code that defines the task: course/ in the course's repository; in the student edition (no
    course/build.py), the checks cell of the released lesson 06, which pastes the same code."""
    try:
        from course.build import checks_source
    except ImportError:
        import json

        cells = json.loads((ROOT / "release" / "06_model" / "06_model.ipynb").read_text())["cells"]
        return next("".join(c["source"]) for c in cells
                    if c["metadata"].get("nbgrader", {}).get("grade_id") == "course_checks")
    return checks_source(["temporal_order"])


def task():
    namespace = {"__name__": "benchmark"}
    exec(compile(checks_cell(), "course_checks", "exec"), namespace)
    return namespace["_course_answers"]["references"]["temporal_order"]["task"]


class Classifier(nn.Module):
    def __init__(self, cell, hidden, forget_bias=None):
        super().__init__()
        self.rnn = cell(6, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 4)
        if forget_bias is not None:
            with torch.no_grad():
                self.rnn.bias_ih_l0[hidden:2 * hidden].fill_(forget_bias)
                self.rnn.bias_hh_l0[hidden:2 * hidden].zero_()

    def forward(self, x):
        _, state = self.rnn(x)
        h_n = state[0] if isinstance(state, tuple) else state
        return self.head(h_n[-1])


MODELS = {
    "LSTM, H=16, forget bias 1": lambda: Classifier(nn.LSTM, 16, forget_bias=1.0),
    "LSTM, H=16, forget bias 3": lambda: Classifier(nn.LSTM, 16, forget_bias=3.0),
    "LSTM, H=16, PyTorch's init": lambda: Classifier(nn.LSTM, 16),
    "RNN, H=34": lambda: Classifier(nn.RNN, 34),
}


def run(make, seed, steps, make_batch, test):
    torch.manual_seed(seed)
    model = make()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(1000 + seed)
    reached, at_300, accuracy, seconds = None, None, 0.0, 0.0
    for step in range(1, steps + 1):
        start = time.perf_counter()
        x, y = make_batch(64, gen)
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        seconds += time.perf_counter() - start
        if step % 25 == 0:
            with torch.no_grad():
                accuracy = (model(test[0]).argmax(1) == test[1]).float().mean().item()
            if reached is None and accuracy >= 0.9:
                reached = step
            if step == 300:
                at_300 = accuracy
    return reached, at_300, accuracy, seconds, sum(p.numel() for p in model.parameters())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    make_batch = task()
    test = make_batch(1000, torch.Generator().manual_seed(12345))
    print(f"temporal order, length 40, 4 classes (chance 0.25); {args.steps} steps, {args.seeds} seeds, 1 thread")
    summary = {}
    for name, make in MODELS.items():
        rows = [run(make, seed, args.steps, make_batch, test) for seed in range(args.seeds)]
        print(f"\n{name} ({rows[0][4]} parameters)")
        for seed, (reached, at_300, final, seconds, _) in enumerate(rows):
            print(f"  seed {seed}: 0.9 reached at step {reached if reached else 'never'}; accuracy {at_300:.3f} "
                  f"at step 300, {final:.3f} at step {args.steps}; {seconds:.2f} s")
        summary[name] = rows
    print("\nsummary")
    for name, rows in summary.items():
        solved = [r[0] for r in rows if r[0] is not None]
        per_step = statistics.mean(r[3] for r in rows) / args.steps * 1000
        print(f"  {name}: {len(solved)}/{len(rows)} seeds reached 0.9"
              + (f" (steps {min(solved)}-{max(solved)})" if solved else "")
              + f"; at step 300: {min(r[1] for r in rows):.2f}-{max(r[1] for r in rows):.2f}"
              + f"; at step {args.steps}: {min(r[2] for r in rows):.2f}-{max(r[2] for r in rows):.2f}"
              + f"; {per_step:.1f} ms per step")


if __name__ == "__main__":
    main()
