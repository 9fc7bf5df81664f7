"""What the answer channel costs, per reference of the demo lesson (tests/channel_demo.py), in one process.

    python benchmarks/channel.py [--repeat 5]

For each reference, the median over `repeat` seeds of: drawing the hidden test's cases and making
their plain data (`call_plan`, what the grader's worker does before the child starts), running the
right answer on them (`probe`, what the child does: arguments rebuilt for every call, module
reports, observe hooks), and the judge's verdict on that plain data (references recomputed, the
hook's data checked); the size of the plan and of the reports as JSON; and, for the references
that run an LSTM on many shapes, drawing the cases with oneDNN on (what the channel switches off:
oneDNN compiles a kernel for every new shape). One torch thread, as the grader runs.
"""
import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import channel_demo  # noqa: E402


def timed(action):
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    ns = {"__name__": "__main__"}
    exec(compile(channel_demo.checks_source(), "course_checks", "exec"), ns)
    exec("import torch\nfrom torch import nn", ns)
    api = ns["_course_answers"]
    print(f"torch {torch.__version__}, 1 thread, median of {args.repeat} seeds, 6 cases each")
    print(f"{'reference':<18} {'plan ms':>8} {'probe ms':>9} {'verdict ms':>11} {'plan KB':>8} {'reports KB':>11}")
    for n, name, reference, kind, code in channel_demo.EXERCISES:
        exec(code, ns)
        answer = ns[name]
        expect = ns["expect_module" if kind == "module" else "expect_function"]
        rows = []
        for seed in range(args.repeat):
            plan_s, plan = timed(lambda: api["call_plan"](reference, seed, None))
            plan = json.loads(json.dumps(plan))
            probe_s, calls = timed(lambda: api["probe"](answer, plan["cases"], None, plan["spec"]))
            calls = json.loads(json.dumps(calls, allow_nan=False))
            api["set_seed"](seed)
            verdict_s, _ = timed(lambda: expect("bench.q", api["received"](calls), reference=reference))
            api["set_seed"](None)
            rows.append((plan_s, probe_s, verdict_s, len(json.dumps(plan)), len(json.dumps(calls))))
        med = [statistics.median(column) for column in zip(*rows)]
        print(f"{reference:<18} {med[0] * 1e3:>8.1f} {med[1] * 1e3:>9.1f} {med[2] * 1e3:>11.1f} "
              f"{med[3] / 1024:>8.1f} {med[4] / 1024:>11.1f}")
    print("\ndrawing the cases with oneDNN on (the channel turns it off):")
    make = api["references"]["demo_generate"]["case"]
    for enabled in (False, True):
        times = []
        for seed in range(args.repeat):
            with torch.no_grad(), torch.backends.mkldnn.flags(enabled=enabled):
                times.append(timed(lambda: [make(torch.Generator().manual_seed(seed * 1009 + i), i)
                                            for i in range(6)])[0])
        print(f"  demo_generate, oneDNN {'on ' if enabled else 'off'}: {statistics.median(times) * 1e3:.0f} ms "
              "for 6 cases")


if __name__ == "__main__":
    main()
