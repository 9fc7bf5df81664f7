"""What to reteach: mistakes.md, mistakes.csv and wrong_answers.csv (pure functions of result records).

A student made a *named mistake* when a failed test's feedback shows one of the hints listed in
the hidden `expect_*(..., mistakes=[(wrong, hint), ...])` of its test cell in source/. The
other failures are "not answered" or "other wrong answers"; the latter are counted by the
answer the grader showed (answers.display), so the most frequent ones are the next mistakes
to name. mistakes.md ends with the item analysis (items.py): which questions work.
"""
import csv
import io
import re
from collections import Counter

from .outputs import record_status

MISTAKES_COLUMNS = ("assignment", "test", "kind", "mistake", "students", "graded")
WRONG_ANSWERS_COLUMNS = ("assignment", "test", "answer", "students", "graded")
TOP_WRONG = 5  # unmatched wrong answers listed per test in mistakes.md
OTHER = "other wrong answers"
NOT_ANSWERED = "not answered"
# What a test reports when there was no answer: the placeholder left as is (the release's
# `raise NotImplementedError()` leaves answer_qN undefined: the judge says "Not answered",
# nbgrader NameError), or None / ... as the answer ("No answer yet", from the checks).
_NOT_ANSWERED = re.compile(r"^Not answered:|NameError: name 'answer_\w+' is not defined|No answer yet", re.M)


def test_specs(source_nb):
    """{test grade_id: the HiddenSpec of its hidden expect_*(...) call, or None when it has none we can read}."""
    from course.build import HiddenSpecError, parse_hidden

    from . import cells as utils
    from .course import grade_id

    found = {}
    for cell in source_nb.cells:
        gid = grade_id(cell)
        if not gid or gid in found or cell.get("cell_type") != "code" or not utils.is_grade(cell) \
                or utils.is_solution(cell):
            continue
        try:
            found[gid] = parse_hidden(cell.source)
        except (HiddenSpecError, SyntaxError, ValueError):
            found[gid] = None
    return found


def named_mistakes(specs):
    """{test grade_id: [hint, ...]} from test_specs(source)."""
    found = {}
    for gid, spec in specs.items():
        hints = []
        for item in (spec.mistakes if spec is not None else []):
            hint = item[1] if isinstance(item, (tuple, list)) and len(item) == 2 else None
            if isinstance(hint, str) and hint and hint not in hints:
                hints.append(hint)
        found[gid] = hints
    return found


def classify(output, hints):
    """Which answer a failed test's output shows: one of `hints`, NOT_ANSWERED or OTHER."""
    output = output or ""
    # The longest first: a hint that contains a shorter one is the more precise match.
    for hint in sorted(hints, key=len, reverse=True):
        if hint in output:
            return hint
    if _NOT_ANSWERED.search(output):
        return NOT_ANSWERED
    return OTHER


def answer_shown(test):
    """The student's answer as the grader showed it (answers.display), "" if none."""
    extra = test.get("extra_data") if isinstance(test.get("extra_data"), dict) else {}
    return str(extra.get("answer") or "")


def mistake_counts(recs, tests_by_assignment):
    """{assignment: {"graded": n, "ungradable": m,
                     "tests": {test: {"wrong": w, "counts": Counter, "answers": Counter}}}}.

    `tests_by_assignment`: {assignment: {test: [hint, ...]}} (named_mistakes of each source).
    "answers" counts the wrong answers no named mistake matched, as the grader showed them
    (answers.display): the next named mistakes to add. Only graded records count (flagged
    ones too: they were graded); tests keep the source's order.
    """
    stats = {}
    for name, tests in tests_by_assignment.items():
        stats[name] = {"graded": 0, "ungradable": 0,
                       "tests": {t: {"wrong": 0, "counts": Counter(), "answers": Counter()} for t in tests}}
    for r in recs:
        name = r.get("assignment")
        if name not in stats:
            continue
        if record_status(r) not in ("graded", "flagged"):
            stats[name]["ungradable"] += 1
            continue
        stats[name]["graded"] += 1
        for t in r.get("tests") or []:
            entry = stats[name]["tests"].get(t.get("name"))
            if entry is None or t.get("status") == "passed":
                continue
            entry["wrong"] += 1
            kind = classify(t.get("output"), tests_by_assignment[name][t["name"]])
            entry["counts"][kind] += 1
            if kind == OTHER and answer_shown(t):
                entry["answers"][answer_shown(t)] += 1
    return {name: s for name, s in stats.items() if s["graded"] or s["ungradable"]}


def _rows(stats, tests_by_assignment):
    """(assignment, test, kind, mistake, students, graded), named mistakes most frequent first."""
    for name, s in stats.items():
        for test, entry in s["tests"].items():
            hints = tests_by_assignment[name][test]
            for hint in sorted(hints, key=lambda h: -entry["counts"][h]):
                yield name, test, "named", hint, entry["counts"][hint], s["graded"]
            yield name, test, "other", OTHER, entry["counts"][OTHER], s["graded"]
            yield name, test, "not_answered", NOT_ANSWERED, entry["counts"][NOT_ANSWERED], s["graded"]


def mistakes_csv(stats, tests_by_assignment):
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(MISTAKES_COLUMNS)
    writer.writerows(_rows(stats, tests_by_assignment))
    return buf.getvalue()


def wrong_answers_csv(stats):
    """The wrong answers no named mistake matched, most frequent first per test."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(WRONG_ANSWERS_COLUMNS)
    for name, s in stats.items():
        for test, entry in s["tests"].items():
            for answer, count in entry["answers"].most_common():
                writer.writerow([name, test, answer, count, s["graded"]])
    return buf.getvalue()


def md_cell(text):
    """`text` as one markdown table cell: pipes escaped, on one line, never shortened."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _share(count, total):
    return f"{100 * count / total:.0f}%" if total else "-"


def mistakes_markdown(stats, tests_by_assignment, top=10, items_section=""):
    """What to reteach: the most frequent named mistakes, then every test, the most failed first;
    then `items_section` (items.markdown: which questions work)."""
    lines = ["# Common mistakes", "",
             "A student made a named mistake when the test's feedback shows its hint (the mistakes listed in "
             "the hidden `expect_*(..., mistakes=[...])` of the test cell in source/). Shares are of the "
             "graded submissions of that assignment; ungradable submissions are not counted. Under each test, "
             "the most common wrong answers that no named mistake matched are the next ones to name "
             "(all of them: wrong_answers.csv). Answers and hints are shown whole. The last section, "
             "\"Which questions work\", is item_analysis.csv.", ""]
    named = sorted(((count, name, test, hint) for name, test, kind, hint, count, _ in _rows(stats, tests_by_assignment)
                    if kind == "named" and count), key=lambda row: (-row[0], row[1], row[2]))
    lines += ["## Most frequent named mistakes", ""]
    if named:
        lines += ["| students | share | assignment | test | mistake |", "|---:|---:|---|---|---|"]
        for count, name, test, hint in named[:top]:
            lines.append(f"| {count} | {_share(count, stats[name]['graded'])} | {md_cell(name)} | {md_cell(test)} | "
                         f"{md_cell(hint)} |")
    else:
        lines.append("No named mistake was made.")
    for name, s in stats.items():
        lines += ["", f"## {name}", "",
                  f"{s['graded']} graded submission(s), {s['ungradable']} ungradable."]
        order = sorted(s["tests"], key=lambda t: -s["tests"][t]["wrong"])  # stable: ties keep notebook order
        for test in order:
            entry = s["tests"][test]
            lines += ["", f"### {test}: {entry['wrong']} of {s['graded']} wrong ({_share(entry['wrong'], s['graded'])})"]
            if not entry["wrong"]:
                continue
            lines += ["", "| students | share | mistake |", "|---:|---:|---|"]
            for _, _, kind, hint, count, graded in (row for row in _rows({name: s}, tests_by_assignment)
                                                    if row[1] == test):
                label = md_cell(hint) if kind == "named" else f"*({hint})*"
                lines.append(f"| {count} | {_share(count, graded)} | {label} |")
            if entry["answers"]:
                lines += ["", "Wrong answers no named mistake matched:", "",
                          "| students | answer |", "|---:|---|"]
                lines += [f"| {count} | `{md_cell(answer)}` |" for answer, count in entry["answers"].most_common(TOP_WRONG)]
    if items_section:
        lines += ["", items_section.rstrip("\n")]
    return "\n".join(lines) + "\n"
