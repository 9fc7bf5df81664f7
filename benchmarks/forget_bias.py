"""The forget gate's bias on a task that needs memory: the multi-seed evidence lesson 04 cites.

    python benchmarks/forget_bias.py [--seeds 20] [--steps 300]

First-symbol recall: each sequence holds 20 random symbols out of 8, and the label is the first one
(chance is 0.125). Each model (hidden size 32, one thread, Adam at 1e-2, batches of 128, gradient
norm clipped to 1) with a linear head on h_n is trained once per seed: an nn.LSTM with PyTorch's own
initialisation (the bias of every gate uniform in +-1/sqrt(H)), the same LSTM with the forget gate's
rows of bias_ih_l0 set to 1 and to 3 (bias_hh_l0's zeroed), and a plain nn.RNN(8, 32) (tanh).
Each seed trains on its own stream of batches (generator seed 1000 + seed) and is measured on its own
1000 held-out sequences (generator seed 2000 + seed), exactly as lesson 04's `train` does, so the
lesson's run is this benchmark's seed 0. Prints, per run, the step at which held-out accuracy first
reached 90 % (checked every 25 steps), the accuracy at step 150 (where the lesson's cell stops) and
at the last step, and the time; then a summary per model, the figures the lesson quotes.
"""
import argparse
import time

import torch
from torch import nn

LESSON_STEPS = 150  # lesson 04 trains this long in its own cell


def batch(n, generator, steps=20, symbols=8):
    tokens = torch.randint(0, symbols, (n, steps), generator=generator)
    return nn.functional.one_hot(tokens, symbols).float(), tokens[:, 0]


def make(kind, forget_bias, hidden):
    if kind == "rnn":
        return nn.RNN(8, hidden, batch_first=True)
    lstm = nn.LSTM(8, hidden, batch_first=True)
    if forget_bias is not None:
        with torch.no_grad():
            lstm.bias_ih_l0[hidden:2 * hidden].fill_(forget_bias)
            lstm.bias_hh_l0[hidden:2 * hidden].zero_()
    return lstm


def last_state(recurrent, x):
    _, state = recurrent(x)
    return (state[0] if isinstance(state, tuple) else state)[-1]  # an LSTM's (h_n, c_n), an RNN's h_n


def run(seed, kind, forget_bias, steps, hidden=32):
    torch.manual_seed(seed)
    recurrent, head = make(kind, forget_bias, hidden), nn.Linear(hidden, 8)
    params = list(recurrent.parameters()) + list(head.parameters())
    optimizer = torch.optim.Adam(params, lr=1e-2)
    data = torch.Generator().manual_seed(1000 + seed)
    test_x, test_y = batch(1000, torch.Generator().manual_seed(2000 + seed))
    started, reached, accuracy, at_lesson = time.perf_counter(), None, 0.0, None
    for step in range(1, steps + 1):
        x, y = batch(128, data)
        loss = nn.functional.cross_entropy(head(last_state(recurrent, x)), y)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        if step % 25 == 0:
            with torch.no_grad():
                accuracy = (head(last_state(recurrent, test_x)).argmax(1) == test_y).float().mean().item()
            if accuracy >= 0.9 and reached is None:
                reached = step
            if step == LESSON_STEPS:
                at_lesson = accuracy
    return reached, at_lesson, accuracy, time.perf_counter() - started


MODELS = {  # label: (kind, forget bias)
    "LSTM, PyTorch's init": ("lstm", None),
    "LSTM, forget bias 1": ("lstm", 1.0),
    "LSTM, forget bias 3": ("lstm", 3.0),
    "RNN (tanh)": ("rnn", None),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(f"first-symbol recall, 20 steps, 8 symbols (chance 0.125); {args.steps} steps, {args.seeds} seeds, "
          "1 thread")
    print(f"{'model':<24}{'seed':>5}{'steps to 90 %':>15}{f'acc. at {LESSON_STEPS}':>14}"
          f"{f'acc. at {args.steps}':>14}{'seconds':>9}")
    summary = {}
    for label, (kind, bias) in MODELS.items():
        rows = []
        for seed in range(args.seeds):
            reached, at_lesson, accuracy, seconds = run(seed, kind, bias, args.steps)
            rows.append((reached, at_lesson, accuracy))
            shown = f"{at_lesson:.3f}" if at_lesson is not None else "-"
            print(f"{label:<24}{seed:>5}{str(reached or 'never'):>15}{shown:>14}{accuracy:>14.3f}{seconds:>9.1f}",
                  flush=True)
        summary[label] = rows
    print("\nsummary")
    for label, rows in summary.items():
        solved = [r[0] for r in rows if r[0] is not None]
        lesson = [r[1] for r in rows if r[1] is not None]
        print(f"  {label}: {len(solved)}/{len(rows)} seeds reached 90 %"
              + (f" (steps {min(solved)}-{max(solved)})" if solved else "")
              + (f"; at step {LESSON_STEPS}: {min(lesson):.2f}-{max(lesson):.2f}" if lesson else "")
              + f"; at step {args.steps}: {min(r[2] for r in rows):.2f}-{max(r[2] for r in rows):.2f}")


if __name__ == "__main__":
    main()
