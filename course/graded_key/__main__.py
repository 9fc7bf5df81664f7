"""`python -m course.graded_key vet [--write]`: the vetted number tables of course/graded_pool.py.

A numeric question of the course test draws its numbers from a table, so that rendering never
needs an answer. This builds each table from a grid of numbers (in tenths), in an order fixed by
sha256, keeping an entry only when the key solves it without a problem (`question_problems`:
the answer within 1e-4 of a rounding edge, a named mistake that rounds to the answer or to
another mistake), until ENTRIES are kept. --write puts them into graded_pool.py.
"""
import hashlib
import itertools
import re
import sys

from course import build, graded_key

ENTRIES = 256
GATE, CANDIDATE, CELL = range(1, 10), [v for v in range(-9, 10) if v], [v for v in range(-15, 16) if v]
GRIDS = {"cell_update": (4, [GATE, GATE, CANDIDATE, CELL]),
         "gate_step": (5, [GATE, GATE, CANDIDATE, GATE, CELL]),
         "cell_recurrence": (5, [GATE, GATE, CANDIDATE, CELL, range(2, 7)])}


class Fixed:
    """Draws whose first draw is a given index (the renderer's table entry)."""

    def __init__(self, index):
        self.index = index

    def below(self, n):
        return self.index


def vet(api, key, name):
    width, grid = GRIDS[name]
    digits, tables = api["vetted_digits"], api["vetted_tables"]
    candidates = sorted(itertools.product(*grid), key=lambda c: hashlib.sha256(repr((name, c)).encode()).digest())
    tables[name] = "".join(digits[v + 15] for c in candidates for v in c)
    spec, kept = api["templates"][name], []
    for index, numbers in enumerate(candidates):
        made = spec["render"](Fixed(index))
        q = dict(made, template=name, kind=spec["kind"], qid="vet", difficulty=spec["difficulty"])
        if not api["question_problems"](key["solve"](q)):
            kept.append(numbers)
            if len(kept) == ENTRIES:
                break
    table = "".join(digits[v + 15] for c in kept for v in c)
    tables[name] = table
    return table


def main(argv):
    if not argv or argv[0] != "vet":
        print(__doc__)
        return 2
    namespace = {"__name__": "course_checks"}
    exec(compile(build.checks_source((), questions="graded"), "course_checks", "exec"), namespace)
    api = namespace["_course_answers"]
    key = graded_key.load(api)
    found = {name: vet(api, key, name) for name in GRIDS}
    if "--write" in argv:
        path = build.HERE / "graded_pool.py"
        text = path.read_text()
        for name, table in found.items():
            lines = [table[i:i + 96] for i in range(0, len(table), 96)]
            literal = "(\n" + "\n".join(f'{" " * 12}"{line}"' for line in lines) + ")"
            text, count = re.subn(rf'( {{8}}"{name}": )(\([^)]*\)|"[^"]*")', lambda m: m.group(1) + literal, text)
            assert count == 1, name
        path.write_text(text)
    for name, table in found.items():
        print(f"{name}: {len(table) // GRIDS[name][0]} entries")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
