"""What the item analysis adds to every grade-all run: a class's item_analysis.csv, its markdown and report.png.

    python benchmarks/item_analysis.py [--students 1000] [--runs 3]

grade-all rebuilds its course files from every result after each run, so this cost is paid on
every run, however few submissions changed. Builds a simulated class (one lesson of 10 tests
with a multiple-choice one, and a course test of 10 tests drawn from pools of 4 templates, letters
shuffled per student) as Response objects, and prints the minimum wall time of items.analyse,
of the CSV and markdown, and of charts.report_png over `--runs` runs.
"""
import argparse
import math
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograder import charts, items  # noqa: E402


def simulate(students, seed=1):
    rng = random.Random(seed)
    pools = [("easy", 3), ("medium", 4), ("hard", 3)]
    responses, recs = [], []
    for i in range(students):
        ability = rng.gauss(0, 1)
        lesson, test = {}, {}
        for q in range(1, 11):
            right = rng.random() < 1 / (1 + math.exp(-(ability - (q - 5) / 3)))
            options, option = ("ABCD", ("C" if right else rng.choice("ABD"))) if q == 5 else ((), None)
            lesson[f"q{q}_test"] = items.Answer(float(right), 1.0, "correct" if right else "wrong", option, options)
        number = 1
        for difficulty, count in pools:
            for template in rng.sample([f"{difficulty}_{k}" for k in range(4)], count):
                right = rng.random() < 1 / (1 + math.exp(-ability))
                identities = [f"{template}:{k}" for k in range(4)]
                seen = tuple(rng.sample(identities, 4))
                test[f"q{number}_test"] = items.Answer(float(right), 1.0, "correct" if right else "wrong",
                                                       identities[0] if right else rng.choice(identities[1:]),
                                                       seen, template, difficulty)
                number += 1
        for name, answers in (("03_lesson", lesson), ("07_test", test)):
            responses.append(items.Response(f"s{i}", name, answers))
            recs.append({"student": f"s{i}", "assignment": name, "status": "graded", "flags": [], "max_score": 10.0,
                         "score": sum(a.score for a in answers.values())})
    tests = {name: [f"q{q}_test" for q in range(1, 11)] for name in ("03_lesson", "07_test")}
    return responses, recs, tests


def best(runs, work):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return min(times), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    responses, recs, tests = simulate(args.students)
    analyse, rows = best(args.runs, lambda: items.analyse(responses, tests))
    write, _ = best(args.runs, lambda: (items.csv_text(rows), items.markdown(rows)))
    png, _ = best(args.runs, lambda: charts.report_png(recs, tests, rows))
    print(f"{args.students} students, 2 assignments of 10 tests ({len(rows)} item rows), min of {args.runs} runs:")
    print(f"  items.analyse          {1000 * analyse:8.1f} ms")
    print(f"  CSV and markdown       {1000 * write:8.1f} ms")
    print(f"  report.png (charts)    {1000 * png:8.1f} ms")


if __name__ == "__main__":
    main()
