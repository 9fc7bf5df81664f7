"""Lesson 08's seeded figures, over seeds: the tagger, padding invariance, and the aⁿbⁿ language model.

    python benchmarks/generation.py [--seeds 10] [--only tagger,padding,classifier,lm]

It runs the lesson's own code: every code cell of source/08_generation/08_generation.ipynb before its
exercises, once (that is the lesson's seed 0), on one thread as the lesson and the grader run it.
Then, for each seed, it repeats each experiment with the lesson's functions and that seed (the
model's `torch.manual_seed` and the training batches), and prints:

- tagger: held-out accuracy after 200 steps, the first step (of every 25) at 0.98 or more, the
  training time, and the largest logit change at a real step when the 512 held-out strings are padded
  from 30 to 60 steps;
- padding: that change for untrained taggers (one direction or two, packed or not), and for a
  bidirectional tagger trained without packing, with its accuracy padded to 30 and to 60;
- classifier: the last-symbol classifier that reads h_n without packing (and the same packed):
  accuracy padded to 30 and to 60, the largest logit change, the training time;
- lm: the aⁿbⁿ model after 500 steps: training time, rule accuracy (greedy completions exactly right)
  for n = 1..10 and for n = 11..20, the exercise's measure (next-symbol accuracy from the weights at the
  positions the rule decides, n = 1..15, by the grader's own reference), the counting cell unit
  (correlation with the count, and whether it rises on every a and falls on every b), the
  next-symbol probabilities after ^aaa and after ten a's, and the share of 50 strings sampled at
  temperatures 0.5, 1 and 2 that are in the language.

Each block ends with the range over seeds; the lesson asserts margins outside those ranges.
"""
import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import nbformat  # noqa: E402
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# The instructor's lesson in the course's repository; in the student edition, the released one (the cells this
# script runs, those before the exercises, are the same).
LESSON = next(p for p in (ROOT / folder / "08_generation" / "08_generation.ipynb" for folder in ("source", "release"))
              if p.exists())
sys.path.insert(0, str(ROOT))


def lesson_namespace():
    """The lesson's namespace after every code cell before its exercises ran (its checks cell included)."""
    import contextlib
    import io

    namespace = {"__name__": "__main__"}
    for cell in nbformat.read(LESSON, as_version=4).cells:
        if cell.cell_type == "markdown" and cell.source.startswith("## Exercises"):
            break
        if cell.cell_type == "code":
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(cell.source, str(LESSON), "exec"), namespace)
    return namespace


def span(values, digits=3):
    return f"{min(values):.{digits}f} to {max(values):.{digits}f}"


def timed(run):
    started = time.perf_counter()
    result = run()
    return result, time.perf_counter() - started


def tagger(ns, seeds):
    rows = []
    for seed in seeds:
        torch.manual_seed(seed)
        model = ns["BracketTagger"]()
        curve, seconds = timed(lambda: ns["train_tagger"](model, seed=seed))
        first = next((step for step, accuracy in curve if accuracy >= 0.98), None)
        rows.append({"seed": seed, "accuracy": curve[-1][1], "first_0.98": first, "seconds": seconds,
                     "change": ns["padding_change"](model)})
        print(f"  seed {seed}: accuracy {curve[-1][1]:.4f} (0.98 at step {first}), {seconds:.1f} s, "
              f"change when re-padded {rows[-1]['change']:.2g}", flush=True)
    print(f"tagger: accuracy {span([r['accuracy'] for r in rows], 4)}; 0.98 first at steps "
          f"{sorted(r['first_0.98'] or 0 for r in rows)}; {span([r['seconds'] for r in rows], 1)} s; "
          f"change {span([r['change'] for r in rows], 2)}")
    return rows


def padding(ns, seeds):
    rows = []
    for seed in seeds:
        row = {"seed": seed}
        for bidirectional in (False, True):
            for pack in (True, False):
                torch.manual_seed(seed)
                row[f"{'bi' if bidirectional else 'uni'}-{'packed' if pack else 'unpacked'}"] = ns["padding_change"](
                    ns["BracketTagger"](bidirectional=bidirectional, pack=pack))
        torch.manual_seed(seed)
        model = ns["BracketTagger"](bidirectional=True, pack=False)
        _, seconds = timed(lambda: ns["train_tagger"](model, seed=seed))
        row["trained_at_30"], row["trained_at_60"] = ns["repadded_accuracy"](model)
        row["trained_change"], row["trained_seconds"] = ns["padding_change"](model), seconds
        rows.append(row)
        print(f"  seed {seed}: untrained uni packed {row['uni-packed']:.2g}, uni unpacked {row['uni-unpacked']:.2g}, "
              f"bi packed {row['bi-packed']:.2g}, bi unpacked {row['bi-unpacked']:.3f}; trained bi unpacked: "
              f"accuracy {row['trained_at_30']:.4f} / {row['trained_at_60']:.4f}, change {row['trained_change']:.2f}, "
              f"{seconds:.1f} s", flush=True)
    print("padding, untrained: " + "; ".join(f"{k} {span([r[k] for r in rows])}" for k in
                                             ("uni-packed", "uni-unpacked", "bi-packed", "bi-unpacked")))
    print(f"padding, bidirectional trained unpacked: accuracy at 30 {span([r['trained_at_30'] for r in rows], 4)}, "
          f"|at 30 - at 60| up to {max(abs(r['trained_at_30'] - r['trained_at_60']) for r in rows):.4f}, "
          f"change {span([r['trained_change'] for r in rows], 2)}")
    return rows


def classifier(ns, seeds):
    import torch.nn.utils.rnn as rnn

    class Packed(ns["LastSymbolClassifier"]):
        def forward(self, ids, lengths):
            packed = rnn.pack_padded_sequence(self.embed(ids), lengths, batch_first=True, enforce_sorted=False)
            _, (h_n, c_n) = self.lstm(packed)
            return self.head(h_n[-1])

    rows = []
    for seed in seeds:
        row = {"seed": seed}
        for name, make in (("unpacked", ns["LastSymbolClassifier"]), ("packed", Packed)):
            torch.manual_seed(seed)
            model = make()
            _, seconds = timed(lambda: ns["train_classifier"](model, seed=seed))
            at_30, at_60, change = ns["classifier_padding"](model)
            row[name] = {"at_30": at_30, "at_60": at_60, "change": change, "seconds": seconds}
        rows.append(row)
        print("  seed {}: ".format(seed) + "; ".join(
            f"{k}: accuracy {v['at_30']:.3f} / {v['at_60']:.3f}, change {v['change']:.2f}, {v['seconds']:.1f} s"
            for k, v in row.items() if k != "seed"), flush=True)
    for name in ("unpacked", "packed"):
        print(f"classifier {name}: accuracy at 30 {span([r[name]['at_30'] for r in rows])}, |at 30 - at 60| up to "
              f"{max(abs(r[name]['at_30'] - r[name]['at_60']) for r in rows):.3f}, change "
              f"{span([r[name]['change'] for r in rows], 2)}, {span([r[name]['seconds'] for r in rows], 1)} s")
    return rows


def exercise_measure(ns):
    """The grader's own measure of exercise 8 (course/references/08_generation.py), from a model's weights: the
    reference as the lesson's checks cell holds it, else as course/ does."""
    ref = ns.get("_course_answers", {}).get("references", {}).get("anbn_lm")
    if ref is None:
        from course.build import checks_source

        namespace = {"__name__": "benchmark"}
        exec(compile(checks_source(["anbn_lm"]), "course_checks", "exec"), namespace)
        ref = namespace["_course_answers"]["references"]["anbn_lm"]

    def measure(model):
        ns_, labels = ref["test_set"](torch.Generator().manual_seed(0))
        with torch.no_grad():
            logits = ref["logits"]({k: v.detach() for k, v in model.state_dict().items()}, ns_)
        return (logits.argmax(1) == labels).double().mean().item()
    return measure


def lm(ns, seeds):
    measure, rows = exercise_measure(ns), []
    up_to = ns["TRAINED_UP_TO"]
    for seed in seeds:
        torch.manual_seed(seed)
        model = ns["CharLM"](len(ns["VOCAB"]), 4, 16)
        _, seconds = timed(lambda: ns["train_lm"](model, seed=seed))
        text, count, unit, fit, sign, counter, hidden = ns["counting_unit"](model)
        n = up_to
        after_3, after_10 = ns["next_probabilities"](model, "^aaa"), ns["next_probabilities"](model, "^" + "a" * 10)
        sampled = {t: sum(ns["in_language"](ns["sample"](model, t, torch.Generator().manual_seed(s)))
                          for s in range(50)) / 50 for t in (0.5, 1.0, 2.0)}
        beyond = [k for k in range(up_to + 1, 2 * up_to + 1)]
        row = {"seed": seed, "seconds": seconds,
               "inside": ns["rule_accuracy"](model, range(1, up_to + 1)),
               "beyond": ns["rule_accuracy"](model, beyond),
               "first_wrong": next((k for k in range(1, 61) if not ns["obeys"](model, k)), None),
               "exercise": measure(model), "unit_fit": abs(fit),
               "counts": bool((counter[1:n + 1].diff() > 0).all() and (counter[n + 1:2 * n + 1].diff() < 0).all()),
               "h_max": hidden.abs().max().item(), "c_max": counter.abs().max().item(),
               "p_a_after_3": after_3[1].item(), "p_b_after_3": after_3[2].item(), "p_b_after_10": after_10[2].item(),
               "sampled_in_language": sampled}
        rows.append(row)
        print(f"  seed {seed}: {seconds:.1f} s; rule accuracy n=1..{up_to} {row['inside']:.2f}, "
              f"n={up_to + 1}..{2 * up_to} {row['beyond']:.2f} (first wrong n: {row['first_wrong']}); exercise measure "
              f"{row['exercise']:.3f}; unit fit {row['unit_fit']:.3f}, counts {row['counts']}; P(a | ^aaa) "
              f"{row['p_a_after_3']:.2f}, P(b | ^aaa) {row['p_b_after_3']:.2f}, P(b | ten a's) {row['p_b_after_10']:.2f}; "
              "sampled in the language at temperature 0.5 / 1 / 2: "
              + " / ".join(f"{v:.2f}" for v in sampled.values()), flush=True)
    print(f"lm: {span([r['seconds'] for r in rows], 1)} s; rule accuracy inside {span([r['inside'] for r in rows], 2)}, "
          f"beyond {span([r['beyond'] for r in rows], 2)}; first wrong n {sorted(r['first_wrong'] or 0 for r in rows)}; "
          f"exercise measure {span([r['exercise'] for r in rows])}; unit fit {span([r['unit_fit'] for r in rows])}, "
          f"counts cleanly in {sum(r['counts'] for r in rows)} of {len(rows)}; P(a | ^aaa) "
          f"{span([r['p_a_after_3'] for r in rows], 2)}; P(b | ten a's) / P(b | ^aaa) "
          f"{span([r['p_b_after_10'] / r['p_b_after_3'] for r in rows], 1)}; sampled in the language at temperature "
          + "; ".join(f"{t}: {span([r['sampled_in_language'][t] for r in rows], 2)}" for t in (0.5, 1.0, 2.0)))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--only", default="tagger,padding,classifier,lm")
    parser.add_argument("--json", help="also write every row to this file")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; "
          f"torch {torch.__version__}, one thread; seeds 0..{args.seeds - 1}", flush=True)
    ns, seconds = timed(lesson_namespace)
    print(f"the lesson's cells before its exercises ran in {seconds:.1f} s", flush=True)
    seeds = range(args.seeds)
    results = {}
    for name in args.only.split(","):
        print(f"\n{name}:", flush=True)
        results[name] = {"tagger": tagger, "padding": padding, "classifier": classifier, "lm": lm}[name](ns, seeds)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    print(f"\nload at the end {os.getloadavg()[0]:.1f} (the seconds above are under this load)")


if __name__ == "__main__":
    main()
