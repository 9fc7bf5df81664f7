"""The course test's pools over many student ids: the key never rejects a rendered draw, and what it costs.

    python benchmarks/question_pools.py [--ids 10000] [--workers N] [--every-template] [--only TEMPLATE]

For each id (s0000000, s0000001, ...) this draws the student's 10 templates (graded_pool.py's
draw_set, with the term's salt from pyproject.toml), renders each question from its draws alone,
solves it with the key (course/graded_key/) and counts the draws the key rejects
(`question_problems`: a named mistake equal to the answer or to another one, an answer within 1e-4
of a rounding edge, not exactly one right option). It must print 0. With --every-template each id
gets every template of the pool, not only its own ten. It also prints the computed number of
template sets that meet the reasoning quota, how many distinct sets the ids drew, the share of
each right letter per multiple-choice template, and the time per question (render, and key).
The suite (tests/test_questions.py) does the same on 40 ids per template.
"""
import argparse
import collections
import multiprocessing
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from course import graded_key  # noqa: E402
from course.build import checks_source, settings  # noqa: E402

SALT = settings(ROOT)["test_salt"]
_state = {}


def _setup():
    import torch

    torch.set_num_threads(1)
    namespace = {"__name__": "__main__"}
    exec(compile(checks_source((), questions="graded"), "<checks>", "exec"), namespace)
    api = namespace["_course_answers"]
    _state.update(api=api, key=graded_key.load(api))


def _grade_ids(job):
    """Counts for one chunk of ids: rejections, right letters, sets, seconds rendering and solving."""
    ids, every, only = job
    api, key = _state["api"], _state["key"]
    pool = sorted(n for n, t in api["templates"].items() if t["pool"] == "graded" and n in (only or [n]))
    out = {"questions": 0, "rejected": collections.Counter(), "letters": collections.Counter(), "sets": set(),
           "render": 0.0, "solve": 0.0}
    for i in ids:
        student = f"s{i:07d}"
        chosen = api["draw_set"]("graded", student, SALT, api["REASONING"])
        out["sets"].add(tuple(sorted(chosen.values())))
        asked = [(qid, name) for qid, name in chosen.items() if name in pool] if not every else \
            [(f"q{1 + (i + n) % 10}", name) for n, name in enumerate(pool)]
        for qid, name in asked:
            started = time.perf_counter()
            q = api["question"](name, student, qid, SALT)
            rendered = time.perf_counter()
            solved = key["solve"](q)
            out["render"] += rendered - started
            out["solve"] += time.perf_counter() - rendered
            out["questions"] += 1
            out["rejected"].update(f"{name}: {problem}" for problem in api["question_problems"](solved))
            if q["kind"] == "choice":
                out["letters"][(name, solved["answer"])] += 1
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ids", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--every-template", action="store_true", help="every template for each id, not its ten")
    parser.add_argument("--only", action="append", metavar="TEMPLATE", help="only these templates (repeatable)")
    args = parser.parse_args(argv)
    _setup()
    api = _state["api"]
    print(f"template sets meeting the quota of {api['REASONING']} reasoning questions (computed): "
          f"{api['count_sets']('graded', api['REASONING'])}")
    chunks = [(range(start, min(start + 50, args.ids)), args.every_template, args.only)
              for start in range(0, args.ids, 50)]
    started = time.perf_counter()
    with multiprocessing.Pool(args.workers, initializer=_setup) as workers:
        parts = workers.map(_grade_ids, chunks)
    wall = time.perf_counter() - started
    total = {"questions": 0, "rejected": collections.Counter(), "letters": collections.Counter(), "sets": set(),
             "render": 0.0, "solve": 0.0}
    for part in parts:
        for name, value in part.items():
            total[name] = total[name] | value if name == "sets" else total[name] + value
    asked = "every template for each id" if args.every_template else "each id's own ten"
    print(f"{args.ids} ids, {total['questions']} questions ({asked}{', only ' + ', '.join(args.only) if args.only else ''}"
          f"), {args.workers} workers, {wall:.0f} s wall")
    print(f"rejected by the key: {sum(total['rejected'].values())}")
    for problem, n in total["rejected"].most_common(10):
        print(f"  {n} x {problem}")
    print(f"distinct template sets drawn: {len(total['sets'])} of {args.ids} ids")
    print(f"per question: render {total['render'] / total['questions'] * 1000:.2f} ms, key "
          f"{total['solve'] / total['questions'] * 1000:.1f} ms (one process)")
    names = sorted({name for name, _ in total["letters"]})
    for name in names:
        counts = [total["letters"][(name, letter)] for letter in "ABCD"]
        print(f"  right letter of {name}: " + ", ".join(f"{letter} {n / max(1, sum(counts)):.0%}"
                                                      for letter, n in zip("ABCD", counts)))
    return 1 if total["rejected"] else 0


if __name__ == "__main__":
    sys.exit(main())
