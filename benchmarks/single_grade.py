"""One notebook graded, against importing torch: what a self-grading student, a TA or a Gradescope run waits.

    python benchmarks/single_grade.py [--runs 5] [--lesson 02_shapes]

Prints the minimum (and median) wall time of `python -c "import torch"` and of
`python -m autograder grade <the lesson's solution>` over the same number of runs on this
machine, and their ratio. The goal is a ratio of at most 1.5: grading (sandbox, self-test and
all) should cost little more than the torch import every grader must pay.
"""
import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def wall(args, runs):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(args, cwd="/", capture_output=True, text=True)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(map(str, args))} failed:\n{done.stderr[-2000:]}")
    return min(times), statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--lesson", default="02_shapes")
    args = parser.parse_args()
    notebook = ROOT / "source" / args.lesson / f"{args.lesson}.ipynb"
    torch_min, torch_median = wall([sys.executable, "-c", "import torch"], args.runs)
    grade_min, grade_median = wall([sys.executable, "-m", "autograder", "grade", str(notebook), "--course", str(ROOT)],
                                   args.runs)
    print(f"python -c 'import torch'          min {torch_min:.2f} s, median {torch_median:.2f} s ({args.runs} runs)")
    print(f"python -m autograder grade {args.lesson}  min {grade_min:.2f} s, median {grade_median:.2f} s")
    print(f"ratio (min/min): {grade_min / torch_min:.2f}  (goal: at most 1.5)")


if __name__ == "__main__":
    main()
