"""Item analysis: which questions work (item_analysis.csv, its section of mistakes.md, its bars in report.png).

Its input is one `Response` per student and assignment: the score of each test, and for a
multiple-choice test the option the student chose. It comes from grade-all's result records
(`from_records`) or from nbgrader's gradebook (`from_gradebook`: per-cell scores, no options).

One row per test of an assignment (its grade_id), and for the course test one more per
template (a question maker of course/questions.py), whichever test drew it. Columns
(ITEM_COLUMNS):

- n: the students who answered the item (graded submissions with a student id; a student who
  drew a template in two tests counts twice in its row);
- facility: the share of them with full marks on it (score = max_score: partial credit is not
  "right"; mean_score is the average share of the points, partial credit included);
- discrimination: the corrected item-rest point-biserial correlation, i.e. Pearson's r between
  the item's score and the student's total on the *other* tests of the same assignment; blank
  below MIN_N_DISCRIMINATION students, or when either never varies;
- not_answered: the share whose verdict was "not answered" (blank from a gradebook);
- key and options: for multiple choice, the right option and the share who chose each option
  (a JSON object, identity -> share, then NO_OPTION: not answered or not one of the options).
  Options are counted by identity, not by letter: the course test shuffles letters per
  student and its results name the option (`item.option`, `item.options`); a lesson's options
  are fixed, so the letter is the identity;
- flags (codes, "; "-separated): TOO_EASY when facility > EASY, TOO_HARD when facility < HARD,
  NEGATIVE when discrimination < 0 (never below MIN_N_DISCRIMINATION), and UNFAIR on a course-test
  template whose facility differs by more than UNFAIR_GAP from another template of its pool
  (same difficulty; both with at least MIN_N_COMPARE students): students who drew it had an
  easier or a harder test.

A course-test result carries `item = {"template", "difficulty", "option", "options"}` (in the
test's dict or its extra_data); a lesson's result carries the answer shown (answers.display:
'B' for a letter) and its verdict.
"""
import csv
import io
import json
import math
import re
from dataclasses import dataclass

EASY, HARD = 0.9, 0.2  # facility above / below: nearly everyone / nearly nobody got it right
MIN_N_DISCRIMINATION = 20
UNFAIR_GAP, MIN_N_COMPARE = 0.2, 10
TOO_EASY, TOO_HARD, NEGATIVE, UNFAIR = "too_easy", "too_hard", "negative_discrimination", "unfair_draw"
FLAG_TEXT = {TOO_EASY: f"nearly everyone right (facility > {EASY})",
             TOO_HARD: f"nearly nobody right (facility < {HARD})",
             NEGATIVE: "negative discrimination: the weaker students get it right more often than the stronger",
             UNFAIR: f"unfair draw: its facility differs by more than {UNFAIR_GAP} from another template of its pool"}
NO_OPTION = "(no option)"
ITEM_COLUMNS = ("assignment", "level", "test", "template", "difficulty", "n", "max_score", "facility", "mean_score",
                "discrimination", "not_answered", "key", "options", "flags")
_LETTER = re.compile(r"^'([A-Za-z])'$")  # how answers.display / checks.show print a letter answer


@dataclass
class Answer:
    score: float
    max_score: float
    verdict: str = ""  # "" when unknown (a gradebook)
    option: str = None  # multiple choice: the identity of the chosen option, None for none
    options: tuple = ()  # multiple choice: the identities offered; () otherwise
    template: str = ""  # the course test: the template that made this student's question
    difficulty: str = ""

    @property
    def right(self):
        return self.max_score > 0 and self.score >= self.max_score - 1e-9


@dataclass
class Response:
    student: str
    assignment: str
    answers: dict  # {test grade_id: Answer}


# --- reading results ------------------------------------------------------------------------------

def item_of(test):
    """The course test's `item` dict of a result's test (top level or in extra_data), or None."""
    extra = test.get("extra_data") if isinstance(test.get("extra_data"), dict) else {}
    item = test.get("item", extra.get("item"))
    return item if isinstance(item, dict) else None


def choices(specs):
    """{test: (letters, key)} of the multiple-choice tests among test_specs(source) (mistakes.test_specs)."""
    return {gid: (tuple(spec.kwargs.get("options", "ABCD")), str(spec.expected))
            for gid, spec in specs.items() if spec is not None and spec.kind == "expect_choice"}


def _number(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) else 0.0


def answer_of(test, choice=None):
    """The Answer of one test dict of a result record; `choice`: (letters, key) for a lesson's multiple choice."""
    extra = test.get("extra_data") if isinstance(test.get("extra_data"), dict) else {}
    answer = Answer(_number(test.get("score")), _number(test.get("max_score")), str(extra.get("verdict") or ""))
    item = item_of(test)
    if item is not None:
        options = item.get("options")
        answer.options = tuple(str(o) for o in options) if isinstance(options, (list, tuple)) else ()
        answer.option = None if item.get("option") is None else str(item["option"])
        answer.template, answer.difficulty = str(item.get("template") or ""), str(item.get("difficulty") or "")
    elif choice is not None:
        letters = choice[0]
        match = _LETTER.match(str(extra.get("answer") or ""))
        letter = match.group(1).upper() if match else None
        answer.options, answer.option = letters, letter if letter in letters else None
    return answer


def from_records(recs, choices_by_assignment=None):
    """[Response] of grade-all's records: graded (or flagged) ones with a student id only."""
    from .outputs import has_student_id, record_status

    choices_by_assignment = choices_by_assignment or {}
    found = []
    for r in recs:
        if not r.get("assignment") or record_status(r) not in ("graded", "flagged") or not has_student_id(r):
            continue
        mine = choices_by_assignment.get(r["assignment"], {})
        answers = {str(t.get("name")): answer_of(t, mine.get(t.get("name"))) for t in r.get("tests") or []
                   if isinstance(t, dict)}
        found.append(Response(r["student"], r["assignment"], answers))
    return found


def from_gradebook(db):
    """([Response], {assignment: [test, ...]}) of an nbgrader gradebook, through nbgrader's own API.

    Per-cell scores only (the gradebook keeps no answers, so no options); a test is named by its
    grade_id, or `<notebook>/<grade_id>` in an assignment of several notebooks.
    """
    from nbgrader.api import Gradebook

    responses, tests = [], {}
    with Gradebook(f"sqlite:///{db}") as gb:
        for assignment in gb.assignments:
            several = len(assignment.notebooks) > 1
            names = tests.setdefault(assignment.name, [])
            for submission in assignment.submissions:
                answers = {}
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        name = f"{notebook.name}/{grade.name}" if several else grade.name
                        answers[name] = Answer(_number(grade.score), _number(grade.max_score))
                        if name not in names:
                            names.append(name)
                responses.append(Response(submission.student_id, assignment.name, answers))
    return responses, {name: sorted(found, key=natural) for name, found in tests.items()}


def natural(name):
    """Sort key: q2_test before q10_test."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


# --- statistics -----------------------------------------------------------------------------------

def pearson(xs, ys):
    """Pearson's r, or None when either list never varies (or has fewer than two values)."""
    n = len(xs)
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx <= 1e-12 or syy <= 1e-12:
        return None
    return sxy / math.sqrt(sxx * syy)


def _options(observed, single):
    """(key, {identity: share, ..., NO_OPTION: share}) of multiple-choice observations, or ("", None)."""
    if not single or not any(a.options for a, _ in observed):
        return "", None
    order = []
    for a, _ in observed:
        order += [o for o in a.options if o not in order]
    order += [a.option for a, _ in observed if a.option is not None and a.option not in order]
    n = len(observed)
    chosen = [a.option for a, _ in observed]
    right = [a.option for a, _ in observed if a.right and a.option is not None]
    key = max(sorted(set(right)), key=right.count) if right else ""
    if len({a.options for a, _ in observed}) > 1:  # shuffled per student: the key first, then the most chosen
        order.sort(key=lambda o: (o != key, -chosen.count(o), o))
    shares = {o: chosen.count(o) / n for o in order}
    shares[NO_OPTION] = chosen.count(None) / n
    return key, shares


def _row(assignment, level, test, template, observed, keys):
    """One row of the item analysis: `observed` is [(Answer, rest score)] of the students who answered it."""
    n = len(observed)
    max_score = max((a.max_score for a, _ in observed), default=0.0)
    facility = sum(a.right for a, _ in observed) / n
    mean = sum(a.score / a.max_score for a, _ in observed if a.max_score > 0) / n
    r = pearson([a.score for a, _ in observed], [rest for _, rest in observed]) if n >= MIN_N_DISCRIMINATION else None
    verdicts = [a.verdict for a, _ in observed]
    templates = {a.template for a, _ in observed}
    key, shares = _options(observed, single=len(templates) == 1)
    flags = [flag for flag, on in ((TOO_EASY, facility > EASY), (TOO_HARD, facility < HARD),
                                   (NEGATIVE, r is not None and r < 0)) if on]
    difficulties = sorted({a.difficulty for a, _ in observed if a.difficulty})
    return {"assignment": assignment, "level": level, "test": test, "template": template,
            "difficulty": " ".join(difficulties), "n": n, "max_score": max_score, "facility": facility,
            "mean_score": mean, "discrimination": r,
            "not_answered": verdicts.count("not answered") / n if all(verdicts) else None,
            "key": key or (keys.get(test, "") if shares is not None else ""), "options": shares, "flags": flags,
            "compared": []}


def _flag_unfair(template_rows):
    """UNFAIR on each template whose facility differs by more than UNFAIR_GAP from another of its pool."""
    for row in template_rows:
        if row["n"] < MIN_N_COMPARE:
            continue
        for other in template_rows:
            if other is not row and other["difficulty"] == row["difficulty"] and other["n"] >= MIN_N_COMPARE \
                    and abs(other["facility"] - row["facility"]) > UNFAIR_GAP + 1e-12:
                row["compared"].append((other["template"], other["facility"]))
        if row["compared"] and UNFAIR not in row["flags"]:
            row["flags"].append(UNFAIR)


def analyse(responses, tests, keys=None):
    """Rows (dicts of ITEM_COLUMNS) for every assignment of `tests` ({assignment: [test, ...]} in order)
    that has responses: its tests, then its templates by difficulty. `keys`: {assignment: {test: right
    option}}, named when nobody chose it."""
    keys = keys or {}
    rows = []
    for assignment, order in tests.items():
        mine = [r for r in responses if r.assignment == assignment]
        if not mine:
            continue
        order = list(order) + sorted({t for r in mine for t in r.answers} - set(order), key=natural)
        totals = [sum(a.score for a in r.answers.values()) for r in mine]
        by_template = {}
        for test in order:
            observed = []
            for r, total in zip(mine, totals):
                answer = r.answers.get(test)
                if answer is not None:
                    observed.append((answer, total - answer.score))
                    if answer.template:
                        by_template.setdefault(answer.template, []).append((test, answer, total - answer.score))
            if observed:
                rows.append(_row(assignment, "test", test, "", observed, keys.get(assignment, {})))
        template_rows = []
        for template, seen in by_template.items():
            row = _row(assignment, "template", " ".join(dict.fromkeys(t for t, _, _ in seen)), template,
                       [(a, rest) for _, a, rest in seen], {})
            template_rows.append(row)
        _flag_unfair(template_rows)
        rank = {"easy": 0, "medium": 1, "hard": 2}
        rows += sorted(template_rows, key=lambda row: (rank.get(row["difficulty"], 3), row["difficulty"],
                                                       row["template"]))
    return rows


# --- what is written --------------------------------------------------------------------------------

def _fixed(value, digits=3):
    return "" if value is None else f"{value:.{digits}f}"


def csv_text(rows):
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(ITEM_COLUMNS)
    for row in rows:
        options = "" if row["options"] is None else json.dumps({k: round(v, 3) for k, v in row["options"].items()},
                                                               ensure_ascii=False)
        writer.writerow([row["assignment"], row["level"], row["test"], row["template"], row["difficulty"], row["n"],
                         f"{row['max_score']:g}", _fixed(row["facility"]), _fixed(row["mean_score"]),
                         _fixed(row["discrimination"]), _fixed(row["not_answered"]), row["key"], options,
                         "; ".join(row["flags"])])
    return buf.getvalue()


def _percent(share):
    return "" if share is None else f"{100 * share:.0f}%"


def _options_text(row, cell):
    if row["options"] is None:
        return ""
    parts = []
    for identity, share in row["options"].items():
        if identity == NO_OPTION and not share:
            continue
        label = f"`{cell(identity)}`" if identity != NO_OPTION else "none"
        parts.append(f"**{label} {_percent(share)}**" if identity == row["key"] else f"{label} {_percent(share)}")
    return ", ".join(parts)


def _flags_text(row):
    parts = []
    for flag in row["flags"]:
        if flag == UNFAIR:
            others = ", ".join(f"{name} {_percent(f)}" for name, f in row["compared"])
            parts.append(f"unfair draw (vs {others})")
        else:
            parts.append(FLAG_TEXT[flag].split(" (")[0].split(":")[0])
    return "; ".join(parts)


def markdown(rows):
    """The "Which questions work" section of mistakes.md."""
    from .mistakes import md_cell as cell

    lines = ["## Which questions work (item analysis)", "",
             f"Per test: **n** students; **facility**, the share with full marks; **discrimination**, the "
             f"correlation between the test's score and the student's total on the assignment's other tests "
             f"(blank below {MIN_N_DISCRIMINATION} students); for multiple choice, the share who chose each "
             f"option, the right one in bold. Flags: facility > {EASY} (nearly everyone right), < {HARD} "
             f"(nearly nobody right), discrimination < 0 (the weaker students do better on it: check the "
             f"question and its key), and for the course test a template whose facility differs by more than "
             f"{UNFAIR_GAP} from another of the same difficulty (an unfair draw; templates with at least "
             f"{MIN_N_COMPARE} students). Every column: item_analysis.csv.", ""]
    flagged = [row for row in rows if row["flags"]]
    lines += ["### Items to look at", ""]
    if flagged:
        lines += [f"- {cell(row['assignment'])} {cell(row['template'] or row['test'])}"
                  f"{' (template, ' + row['difficulty'] + ')' if row['level'] == 'template' else ''}: "
                  f"{_flags_text(row)}" for row in flagged]
    else:
        lines.append("None.")
    for assignment in dict.fromkeys(row["assignment"] for row in rows):
        mine = [row for row in rows if row["assignment"] == assignment]
        lines += ["", f"### {assignment}: items", "",
                  "| test | n | facility | discrimination | options | flags |", "|---|---:|---:|---:|---|---|"]
        lines += [f"| {cell(row['test'])} | {row['n']} | {_percent(row['facility'])} | "
                  f"{_fixed(row['discrimination'], 2) or '-'} | {_options_text(row, cell)} | {_flags_text(row)} |"
                  for row in mine if row["level"] == "test"]
        templates = [row for row in mine if row["level"] == "template"]
        if templates:
            lines += ["", f"Templates of {assignment}, by pool (difficulty):", "",
                      "| pool | template | tests | n | facility | discrimination | options | flags |",
                      "|---|---|---|---:|---:|---:|---|---|"]
            lines += [f"| {cell(row['difficulty'])} | {cell(row['template'])} | {cell(row['test'])} | {row['n']} | "
                      f"{_percent(row['facility'])} | {_fixed(row['discrimination'], 2) or '-'} | "
                      f"{_options_text(row, cell)} | {_flags_text(row)} |" for row in templates]
    return "\n".join(lines) + "\n"


def from_course(recs, sources, specs):
    """The item analysis rows of grade-all's records; `sources`: {assignment: source notebook},
    `specs`: {assignment: mistakes.test_specs(its source)}."""
    from .scoring import graded_cells

    mc = {name: choices(found) for name, found in specs.items()}
    tests = {name: [g.grade_id for g in graded_cells(nb)] for name, nb in sources.items()}
    keys = {name: {test: key for test, (_, key) in found.items()} for name, found in mc.items()}
    return analyse(from_records(recs, mc), tests, keys)


def from_nbgrader(db, course_dir=None):
    """The item analysis rows of an nbgrader gradebook (`python -m autograder items --gradebook DB`): each
    assignment's tests in its source notebook's order when the course is found, else by name."""
    from . import course
    from .errors import GraderError
    from .scoring import graded_cells

    if not db.is_file():
        raise GraderError(f"gradebook not found: {db} (nbgrader writes gradebook.db in the course directory)")
    try:
        responses, tests = from_gradebook(db.resolve())
    except Exception as err:  # not a gradebook: sqlalchemy's errors, a schema nbgrader can't read
        raise GraderError(f"{db} could not be read as an nbgrader gradebook ({type(err).__name__}: {err})") from None
    if not responses:
        raise GraderError(f"{db} holds no graded submission: run `nbgrader autograde` first")
    try:
        paths = course.assignments(course.find_course(course_dir))
    except GraderError:
        paths = {}
    for name, found in tests.items():
        if name in paths:
            order = [g.grade_id for g in graded_cells(course.read_notebook(paths[name]))]
            tests[name] = [t for t in order if t in found] + [t for t in found if t not in order]
    return analyse(responses, tests)
