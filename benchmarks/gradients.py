"""Every figure lesson 07 teaches about gradients through time, over seeds, with the lesson's own code.

    python benchmarks/gradients.py [--seeds 5] [--first-seeds 20] [--order-seeds 10] [--parts init,...,rates]

The measuring code is the lesson's: the cells of source/07_gradients/07_gradients.ipynb (in the
student edition, release/'s) tagged "measure" (the task, `make`, `grad_curve`, `ratio`, `along_c`,
`Classifier`, `train`) are run here as the notebook runs them, so the lesson asserts margins around
exactly what this prints. One thread.

- init: ||dy/dx_1|| / ||dy/dx_L|| (y the sum of the last step's output) at L = 20, 50 and 100, for
  nn.RNN, nn.GRU and nn.LSTM (PyTorch's initialisation; forget-gate bias 1 and 3) with 32 units, on
  8 sequences of lesson 06's task stretched to L steps; how many float32 norms at step 1 are 0.0
  (they underflow: their entries' squares are below float32's range); the same ratios in float64.
- trained: the same ratios after 100 steps of lesson 06's training (temporal order, 40 steps), and
  the held-out accuracy.
- exploding: nn.RNN with weight_hh multiplied by 2, 3 and 5, at L = 20 and 50.
- cell: along an LSTM's cell state (the lesson's along_c), ||dc_L/dc_t|| against the product of the
  forget gates from t+1 to L (PyTorch's initialisation, L = 20, float64): how far the real gradient
  departs from the cell path alone.
- rates: the forget-gate bias on lesson 04's first-symbol task (benchmarks/forget_bias.py's runs, with
  its plain RNN; 20 seeds, as lesson 04 quotes) and lesson 06's temporal order (benchmarks/lstm_vs_rnn.py's
  runs, with a GRU of the same size; 10 seeds, as lesson 06 quotes): steps to 90 % held-out accuracy.
"""
import argparse
import json
import pathlib
import sys
import time

import torch
from torch import nn

ROOT = pathlib.Path(__file__).resolve().parent.parent
# The course's instructor notebook; in the student edition (no source/), the released one, which keeps the same
# "measure" cells (they hold no solution).
LESSON = next(p for p in (ROOT / "source" / "07_gradients" / "07_gradients.ipynb",
                          ROOT / "release" / "07_gradients" / "07_gradients.ipynb") if p.exists())
sys.path.insert(0, str(ROOT / "benchmarks"))

CONFIGS = {  # label: (kind, forget-gate bias)
    "RNN": ("RNN", None), "GRU": ("GRU", None), "LSTM, PyTorch's init": ("LSTM", None),
    "LSTM, forget bias 1": ("LSTM", 1.0), "LSTM, forget bias 3": ("LSTM", 3.0),
}
LENGTHS = (20, 50, 100)


def lesson_tools():
    """The namespace the lesson's "measure" cells make."""
    cells = json.loads(LESSON.read_text())["cells"]
    namespace = {"__name__": "lesson07"}
    for cell in cells:
        if "measure" in cell["metadata"].get("tags", []):
            exec(compile("".join(cell["source"]), "lesson07-measure", "exec"), namespace)
    return namespace


def span(values):
    shown = [f"{v:.1e}" for v in values]
    return f"{min(values):.1e} to {max(values):.1e}  [{', '.join(shown)}]"


def init(t, seeds):
    print("\n== at initialisation: ||dy/dx_1|| / ||dy/dx_L||, float32 (and float64), 8 sequences, H = 32")
    for length in LENGTHS:
        print(f"L = {length}")
        for label, (kind, bias) in CONFIGS.items():
            single, double, zeros = [], [], 0
            for seed in seeds:
                model, x = t["make"](kind, seed, forget_bias=bias), t["inputs"](seed, length)
                curve = t["grad_curve"](model, x)
                single.append(t["ratio"](curve))
                zeros += int(curve[0] == 0.0)
                double.append(t["ratio"](t["grad_curve"](model.double(), x.double())))
            print(f"  {label:<22} {span(single)}; norm 0.0 at step 1: {zeros}/{len(seeds)}; "
                  f"float64 {min(double):.1e} to {max(double):.1e}")


def trained(t, seeds, steps=100):
    print(f"\n== after {steps} training steps on temporal order (lesson 06's training), same ratios and accuracy")
    for label, (kind, bias) in CONFIGS.items():
        rows = []
        for seed in seeds:
            started = time.perf_counter()
            model = t["train"](t["Classifier"](t["make"](kind, seed, forget_bias=bias)), steps=steps, seed=seed)
            seconds = time.perf_counter() - started
            ratios = [t["ratio"](t["grad_curve"](model.rnn, t["inputs"](seed, n))) for n in LENGTHS]
            rows.append((t["accuracy"](model), ratios, seconds))
        print(f"  {label}")
        for seed, (acc, ratios, seconds) in zip(seeds, rows):
            print(f"    seed {seed}: accuracy {acc:.2f}; " +
                  ", ".join(f"L={n}: {r:.1e}" for n, r in zip(LENGTHS, ratios)) + f"; trained in {seconds:.1f} s")
        for n, k in zip(LENGTHS, range(3)):
            print(f"    L = {n}: {span([r[1][k] for r in rows])}")


def exploding(t, seeds):
    print("\n== nn.RNN with weight_hh scaled: ratios (exploded: ratio > 1, the gradient grows going back)")
    for scale in (2.0, 3.0, 5.0):
        for length in (20, 50):
            ratios = [t["ratio"](t["grad_curve"](t["make"]("RNN", seed, scale=scale), t["inputs"](seed, length)))
                      for seed in seeds]
            print(f"  x{scale:g}, L = {length}: exploded on {sum(r > 1 for r in ratios)}/{len(ratios)}; {span(ratios)}")


def cell_path(t, seeds, steps=20):
    print(f"\n== along c, PyTorch's init, L = {steps}, float64 (the lesson's along_c): "
          "||dc_L/dc_t|| / ||the product of the forget gates from t+1 to L||")
    rows = []
    for seed in seeds:
        departures, fell = t["along_c"](seed, steps)
        rows.append((min(departures), max(departures), fell))
        print(f"  seed {seed}: real / cell path {min(departures):.2f} to {max(departures):.2f}; "
              f"||dc_L/dc_1|| / ||dc_L/dc_(L-1)|| = {fell:.1e}")
    print(f"  all seeds: real / cell path {min(r[0] for r in rows):.2f} to {max(r[1] for r in rows):.2f}; "
          f"the gradient along c fell by {min(r[2] for r in rows):.1e} to {max(r[2] for r in rows):.1e} "
          f"over {steps - 1} steps")


def rates(first_seeds, order_seeds, first_steps=300, order_steps=1000):
    """Lessons 04's and 06's own benchmark runs, on the seeds those lessons quote, and a GRU of lesson 06's size."""
    import forget_bias
    import lstm_vs_rnn

    print(f"\n== lesson 04's first-symbol task (L = 20; {first_steps} steps; seeds {first_seeds[0]}-{first_seeds[-1]}; "
          "benchmarks/forget_bias.py's run)")
    for label, (kind, bias) in forget_bias.MODELS.items():
        rows = [forget_bias.run(seed, kind, bias, first_steps) for seed in first_seeds]
        reached = sorted(r[0] for r in rows if r[0] is not None)
        print(f"  {label:<22} reached 90 %: {len(reached)}/{len(rows)}"
              + (f" (steps {reached[0]}-{reached[-1]}: {reached})" if reached else "")
              + f"; at step {forget_bias.LESSON_STEPS} {min(r[1] for r in rows):.2f}-{max(r[1] for r in rows):.2f}"
              + f"; at step {first_steps} {min(r[2] for r in rows):.2f}-{max(r[2] for r in rows):.2f}", flush=True)
    print(f"\n== lesson 06's temporal order (L = 40; {order_steps} steps; seeds {order_seeds[0]}-{order_seeds[-1]}; "
          "benchmarks/lstm_vs_rnn.py's run)")
    make_batch = lstm_vs_rnn.task()
    test = make_batch(1000, torch.Generator().manual_seed(12345))
    models = dict(lstm_vs_rnn.MODELS, **{"GRU, H=19": lambda: lstm_vs_rnn.Classifier(nn.GRU, 19)})
    for label, make in models.items():
        rows = [lstm_vs_rnn.run(make, seed, order_steps, make_batch, test) for seed in order_seeds]
        reached = sorted(r[0] for r in rows if r[0] is not None)
        print(f"  {label:<27} ({rows[0][4]} parameters) reached 90 %: {len(reached)}/{len(rows)}"
              + (f" (steps {reached[0]}-{reached[-1]}: {reached})" if reached else "")
              + f"; at step 300 {min(r[1] for r in rows):.2f}-{max(r[1] for r in rows):.2f}"
              + f"; at step {order_steps} {min(r[2] for r in rows):.2f}-{max(r[2] for r in rows):.2f}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds of init, trained, exploding and cell")
    parser.add_argument("--first-seeds", type=int, default=20, help="seeds of lesson 04's task (as lesson 04 quotes)")
    parser.add_argument("--order-seeds", type=int, default=10, help="seeds of lesson 06's task (as lesson 06 quotes)")
    parser.add_argument("--parts", default="init,trained,exploding,cell,rates")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    seeds = list(range(args.seeds))
    parts = args.parts.split(",")
    tools = lesson_tools()
    print(f"torch {torch.__version__}, 1 thread; seeds {seeds}")
    started = time.perf_counter()
    if "init" in parts:
        init(tools, seeds)
    if "trained" in parts:
        trained(tools, seeds)
    if "exploding" in parts:
        exploding(tools, seeds)
    if "cell" in parts:
        cell_path(tools, seeds)
    if "rates" in parts:
        rates(list(range(args.first_seeds)), list(range(args.order_seeds)))
    print(f"\n{time.perf_counter() - started:.0f} s in all")


if __name__ == "__main__":
    main()
