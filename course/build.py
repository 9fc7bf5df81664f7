"""Instructor tooling: keep the generated parts of the notebooks in sync, and export the student edition.

    python -m course.build                      rewrite generated cells in source/ and notebooks/
    python -m course.build --check              exit 1 (listing the files) if anything is out of date
    python -m course.build --student-edition DIR  copy what students get into DIR

Generated cells (see docs/architecture.md) carry `metadata.course.generated`:
"checks" gets course/checks.py and numbers.py, and, where the notebook's tests name references,
hidden_key.py, channel.py, probes.py, verdicts.py, self_checks.py and the course/references/ files
that define them; "explorer", "gates", "packing", "gradients" and "progress" the text of their file
(GENERATED below); "badge" gets the Open-in-Colab link built from pyproject.toml's [tool.lstm-course] setting.
The visible part of every nbgrader test cell is derived from the hidden `expect_*` call below it, so
the answer is written once, in plain text, where only instructors see it. A hidden call that names a
reference gets that lesson's key (course/keys/, compressed) added to it, and its visible check the
cases and hashes course/visible_cases.py draws: no notebook a student receives computes an answer.
"""
import argparse
import ast
import json
import pprint
import shutil
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from course import graded_key, keys, visible_cases

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
VISIBLE_COMMENT = "# Checks your answer without revealing it; a failure names a common mistake when it can."


def settings(root=ROOT):
    return tomllib.loads((root / "pyproject.toml").read_text())["tool"]["lstm-course"]


def colab_url(relpath, root=ROOT):
    s = settings(root)
    return f"https://colab.research.google.com/github/{s['student_repo']}/blob/{s['branch']}/{relpath}"


def badge_markdown(relpath, root=ROOT):
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(relpath, root)})"
            f"  \nRuns on CPU in a few seconds per cell; needs only torch, ipywidgets, matplotlib and numpy "
            "(Colab has them all).")


def test_salt_source(root=ROOT):
    """The course test's settings cell: the salt that, with each student's id, makes their questions."""
    salt = settings(root).get("test_salt")
    if not salt:
        raise HiddenSpecError("pyproject.toml's [tool.lstm-course] needs test_salt = \"...\" for the course test")
    return ("# The course's salt for this term: a new salt gives every student a new test.\n"
            f"_course_answers[\"set_salt\"]({salt!r})")


def course_map(root=ROOT):
    """The lesson table of notebooks/00_start_here.ipynb: each lesson's title and links."""
    import nbformat  # here, not at the top: the grader imports parse_hidden and must not pay for it

    rows = ["| Lesson | Open in JupyterLab | Open in Colab |", "|---|---|---|"]
    for path in sorted(root.glob("source/*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        title = next((line.lstrip("# ").strip() for cell in nb.cells if cell.cell_type == "markdown"
                      for line in cell.source.splitlines() if line.startswith("# ")), path.stem)
        rel = student_path(path, root)
        rows.append(f"| {title} | [`{rel}`](../{rel}) | [Colab]({colab_url(rel, root)}) |")
    return "\n".join(rows)


# The course map's ten ways to learn: (mode, how a learner uses it, the notebook it opens; None: every lesson).
MODES = [
    ("Read", "Work through the lessons in order: short explanations, code you run, exercises that check "
             "themselves.", "release/01_syntax/01_syntax.ipynb"),
    ("Explore", "Move the sliders of the lab (or any lesson's explorer): the layer is rebuilt and the network "
                "redrawn, unrolled in time.", "notebooks/lstm_lab.ipynb"),
    ("Predict, then run", "In every lesson, type what you expect (a shape, a number) before the code runs; the "
                          "cell tells you if you were right and names the mistake if not.", None),
    ("Practice with hints", "Stuck on an exercise? `hint(\"q3\")` gives a nudge, then the rule, then a worked "
                            "example on other numbers; never the answer.", None),
    ("Spot the bug", "Short programs with one classic LSTM bug each: name the line, then fix it; both are "
                     "checked by running the program.", "notebooks/bugs.ipynb"),
    ("Put the lines in order", "Parsons problems: order the shuffled lines of a model, with buttons or by "
                               "listing line numbers.", "notebooks/parsons.ipynb"),
    ("Drill", "Endless generated questions at your level, with a streak counter and feedback that names your "
              "mistake.", "notebooks/practice.ipynb"),
    ("Test", "A 10-question practice test (3 easy, 4 medium, 3 hard), scored at once; the graded course test is "
             "release/course_test, its questions drawn for your student id.", "notebooks/practice_test.ipynb"),
    ("Cheat sheet", "Every rule on one page, each line printed by code that checks it; `make cheatsheet` "
                    "prints it on A4.", "notebooks/cheatsheet.ipynb"),
    ("Review", "Flashcards with spaced repetition: the cards due today, rated again, good or easy; come back "
               "next week.", "notebooks/review.ipynb"),
]


def modes_map(root=ROOT):
    """The start page's table of learning modes, each linked for JupyterLab and Colab."""
    rows = ["| Mode | How you use it | Open |", "|---|---|---|"]
    for number, (mode, how, target) in enumerate(MODES, 1):
        if target is None:
            where = "in every lesson"
        else:
            path = root / ("source/" + target.split("/", 1)[1] if target.startswith("release/") else target)
            if not path.is_file():
                raise HiddenSpecError(f"the course map links {target}, which does not exist")
            where = f"[`{target}`](../{target}) · [Colab]({colab_url(target, root)})"
        rows.append(f"| {number}. **{mode}** | {how} | {where} |")
    return "\n".join(rows)


def student_path(nb_path, root=ROOT):
    """Where a notebook lives in the student edition: source/ notebooks are released under release/."""
    rel = nb_path.resolve().relative_to(root)
    if rel.parts[0] == "source":
        rel = Path("release", *rel.parts[1:])
    return rel.as_posix()


_checks_namespace = None


# Every checks cell: value answers (numbers among them), predictions and hints (predict.py, last).
CORE = ("checks.py", "numbers.py")
LAST = ("predict.py",)
# A notebook whose hidden tests carry a key (a lesson's references, the course test's solvers): running one.
KEY_RUNNER = "hidden_key.py"
# A notebook whose tests name references: answers judged by running them, hidden tests and visible checks.
CALLS = ("channel.py", "probes.py", "verdicts.py", "self_checks.py")
# generated cell -> the file pasted into it
GENERATED = {"explorer": "explorers/layer.py", "gates": "explorers/gates.py", "packing": "explorers/packing.py",
             "gradients": "explorers/gradients.py", "progress": "progress.py", "drill": "drill.py", "bugs": "bugs.py",
             "parsons": "parsons.py", "review_deck": "review_deck.py", "review": "review.py"}
# A notebook with generated questions gets questions.py and one pool after the checks: the course test its graded
# pool (never its key: see course/graded_key/), practice_test, practice and review the practice pool.
QUESTIONS = "questions.py"
POOLS = {"graded": "graded_pool.py", "practice": "practice_pool.py"}

# Every generated code cell is hidden: JupyterLab reads metadata.jupyter.source_hidden, Colab a form
# ("cellView": "form") whose first line, "# @title ...", is all it shows of the cell.
TITLES = {"checks": "Course checks", "test_salt": "Course test settings", "explorer": "Layer explorer",
          "gates": "Gate explorer", "packing": "Packing explorer", "gradients": "Gradient explorer",
          "progress": "Training progress bar",
          "drill": "The drill", "bugs": "Spot the bug", "parsons": "Parsons problems",
          "review_deck": "Flashcard deck", "review": "Flashcard review"}
RUN_ME = "(run me; no need to read)"


def title_line(generated):
    return f"# @title {TITLES.get(generated, 'Course code')} {RUN_ME}"


def hide(cell, generated):
    """Give a generated code cell both conventions of a hidden cell; True if its metadata changed."""
    before = (cell.metadata.get("jupyter", {}).get("source_hidden"), cell.metadata.get("cellView"))
    cell.metadata.setdefault("jupyter", {})["source_hidden"] = True
    cell.metadata["cellView"] = "form"
    return before != (True, "form")


def titled(generated, text):
    return f"{title_line(generated)}\n{text}"


def reference_files():
    """course/references/*.py: what graded functions, classes and models compute, one file per lesson."""
    return sorted((HERE / "references").glob("*.py"))


def _text(path):
    return path.read_text().rstrip("\n")


def checks_source(references=(), questions=None, hints=None, calls=None):
    """The text of a checks cell whose tests use the named references (all of them for None), and, for
    questions = "graded" or "practice", course/questions.py with that pool of generated questions.
    hints: {"q3": [nudge, rule, {"text", "code"}]} of the notebook's exercises, registered at the end.
    calls: whether to paste what judges answers by running them (default: when references are named)."""
    calls = (references is None or bool(references)) if calls is None else calls
    names = list(CORE)
    if calls or questions == "graded":
        names.append(KEY_RUNNER)
    if calls:
        names += CALLS
    names += LAST
    files = [HERE / name for name in names]
    if references is None or references:
        files += [f for f in reference_files() if references is None or _defined_by()[f.name] & set(references)]
    if questions:
        files += [HERE / QUESTIONS, HERE / POOLS[questions]]
    text = "\n\n\n".join(_text(path) for path in files)
    if hints:
        # JSON of strings, lists and dicts is also a Python literal.
        text += ("\n\n\n# This notebook's hints, from its answer cells' metadata (course.hints): hint(\"q3\").\n"
                 f"_course_answers[\"set_hints\"]({json.dumps(hints, indent=1, ensure_ascii=False)})")
    return text


def notebook_hints(nb):
    """{"q3": [...]} from the answer cells' metadata course.hints (an exercise's hints live with it)."""
    found = {}
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        hints = cell.metadata.get("course", {}).get("hints")
        if hints and gid.endswith("_answer"):
            found[gid[:-len("_answer")]] = hints
    return found


_defined = None


def _defined_by():
    """{reference file name: the references it defines}."""
    global _defined
    if _defined is None:
        _defined = {}
        core = checks_source((), calls=True)
        for path in reference_files():
            namespace = {"__name__": "course_checks"}
            exec(compile(core + "\n\n\n" + _text(path), f"course_checks+{path.name}", "exec"), namespace)
            references = namespace["_course_answers"]["references"]
            for name, fields in sorted(references.items()):
                found = [field for field in keys.KEY_FIELDS if field in fields]
                if found:  # an answer key in a file every notebook carries
                    raise HiddenSpecError(f"course/references/{path.name}: {name!r} has {', '.join(found)}, which "
                                          f"belong to its key: move them to course/keys/{path.name} "
                                          "(docs/architecture.md, \"Writing a reference\")")
            _defined[path.name] = set(references)
    return _defined


_key_of = None


def _checks():
    # The same code the notebooks run decides the keys, so build and check can't disagree. Trusted: the
    # references hold their keys (course/keys/), for the visible checks' cases and hashes.
    global _checks_namespace, _key_of
    if _checks_namespace is None:
        _checks_namespace = {"__name__": "course_checks"}
        exec(compile(checks_source(None, questions="graded"), "course_checks", "exec"), _checks_namespace)
        _key_of = keys.install(_checks_namespace["_course_answers"])
    return _checks_namespace


def key_source(reference):
    """The text of the key file that defines `reference`."""
    _checks()
    if reference not in _key_of:
        raise HiddenSpecError(f"no file of course/keys/ defines {reference!r}")
    return _key_of[reference]


def _as_answer(kind, value, kwargs):
    if kind == "expect_tensor":
        import torch
        return torch.tensor(value, dtype=getattr(torch, kwargs.get("dtype", "int64")))
    if kind == "expect_lstm":
        import warnings
        from torch import nn
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a listed mistake may be a layer torch warns about (dropout, 1 layer)
            return nn.LSTM(**value)
    return value


class HiddenSpecError(ValueError):
    pass


@dataclass
class HiddenSpec:
    """The one `expect_*(qid, answer_qN, ...)` call of a test cell's hidden region."""

    kind: str       # one of KEYWORDS
    qid: str
    name: str       # the answer variable, answer_qN
    expected: object  # the literal answer (None where a reference computes it: see BY_REFERENCE)
    kwargs: dict    # the literal keyword arguments: mistakes=[(wrong, hint), ...], options, dtype, reference, ...

    @property
    def mistakes(self):
        return list(self.kwargs.get("mistakes", []))


KEYWORDS = {"expect_shape": {"mistakes"}, "expect_choice": {"mistakes", "options"}, "expect_lstm": {"mistakes"},
            "expect_int": {"mistakes"}, "expect_tensor": {"mistakes", "dtype"},
            "expect_float": {"mistakes", "decimals"}, "expect_floats": {"mistakes", "decimals"},
            "expect_function": {"reference", "cases", "key"}, "expect_module": {"reference", "cases", "key"},
            "expect_trained": {"reference", "accuracy", "key"}, "expect_generated": {"key"}}
# Checked by running the answer against a reference of course/references/: hidden call -> visible call
BY_REFERENCE = {"expect_function": "check_function", "expect_module": "check_module", "expect_trained": "check_trained"}


def parse_hidden(source, api=None):
    """The HiddenSpec of a test cell's hidden region; `api`: whose references it may name (the course's)."""
    if HIDDEN_BEGIN not in source or HIDDEN_END not in source:
        raise HiddenSpecError("test cell has no hidden-tests region")
    hidden = source.split(HIDDEN_BEGIN, 1)[1].split(HIDDEN_END, 1)[0]
    calls = [n.value for n in ast.parse(hidden).body
             if isinstance(n, ast.Expr) and isinstance(n.value, ast.Call)
             and getattr(n.value.func, "id", "").startswith("expect_")]
    if len(calls) != 1:
        raise HiddenSpecError(f"the hidden region needs exactly one call of {', '.join(sorted(KEYWORDS))}")
    call = calls[0]
    kind = call.func.id
    if kind not in KEYWORDS:
        raise HiddenSpecError(f"unknown check {kind}; use one of {', '.join(sorted(KEYWORDS))}")
    positional = 2 if kind in BY_REFERENCE or kind == "expect_generated" else 3
    if len(call.args) != positional or not isinstance(call.args[1], ast.Name):
        raise HiddenSpecError("expected expect_*(qid, answer_qN, expected, mistakes=[...]) or "
                              f"{kind}(qid, answer_qN, reference=..., ...)")
    try:
        kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
        expected = ast.literal_eval(call.args[2]) if positional == 3 else None
        qid = ast.literal_eval(call.args[0])
    except ValueError:
        raise HiddenSpecError("every argument but the answer must be a Python literal") from None
    unknown = set(kwargs) - KEYWORDS[kind]
    if unknown:
        raise HiddenSpecError(f"unknown keyword argument(s) {', '.join(sorted(unknown))}")
    references = (api or _checks()["_course_answers"])["references"]
    if kind in BY_REFERENCE and kwargs.get("reference") not in references:
        raise HiddenSpecError(f"{qid}: unknown reference {kwargs.get('reference')!r}; course/references/ has "
                              f"{', '.join(sorted(references))}")
    if kind == "expect_trained" and not isinstance(kwargs.get("accuracy"), float):
        raise HiddenSpecError(f"{qid}: expect_trained needs accuracy=<a float such as 0.9>")
    return HiddenSpec(kind, qid, call.args[1].id, expected, kwargs)


_visible = {}  # (qid, reference, its key's text) -> the visible check's data: drawn once per build


def reference_test(spec, api, key):
    """(visible part, hidden region) of a test cell whose hidden call names a reference: the visible check with
    the cases and hashes course/visible_cases.py draws, the hidden call with the lesson's key (its text `key`)
    added, compressed. `api`: a checks namespace's _course_answers with that key installed."""
    name = spec.kwargs["reference"]
    cached = (spec.qid, name, key)
    if cached not in _visible:
        try:
            _visible[cached] = visible_cases.visible_data(api, name, spec.qid)
        except visible_cases.VisibleCasesError as err:
            raise HiddenSpecError(str(err)) from None
    data = pprint.pformat(_visible[cached], width=116, compact=True, sort_dicts=False)
    extra = f", {spec.kwargs['accuracy']!r}" if spec.kind == "expect_trained" else ""
    visible = "\n".join([VISIBLE_COMMENT, f"{BY_REFERENCE[spec.kind]}({spec.name}, {spec.qid!r}, {name!r}{extra},",
                         data + ")"]) + "\n"
    kwargs = ", ".join(f"{k}={v!r}" for k, v in spec.kwargs.items() if k != "key")
    hidden = (f"{HIDDEN_BEGIN}\n{spec.kind}({spec.qid!r}, {spec.name}, {kwargs},\n"
              f"{' ' * (len(spec.kind) + 1)}key={keys.blob(key)!r})\n{HIDDEN_END}")
    return visible, hidden


def visible_part(source):
    spec = parse_hidden(source)
    if spec.kind == "expect_generated":  # the course test: the visible check confirms only the answer's form
        return "\n".join(["# Checks that your answer has the right form; whether it is right is told after grading.",
                          f"check_form({spec.name}, {spec.qid!r})"]) + "\n"
    if spec.kind in BY_REFERENCE:  # cases and hashes drawn at build time: the key stays in the hidden test
        return reference_test(spec, _checks()["_course_answers"], key_source(spec.kwargs["reference"]))[0]
    ns = _checks()
    api = ns["_course_answers"]
    if spec.kind in ("expect_float", "expect_floats"):  # numbers: the hash of the value rounded (course/numbers.py)
        decimals = spec.kwargs.get("decimals", 3)
        as_number = (lambda v: v) if spec.kind == "expect_float" else tuple
        described = lambda value: api["number_description"](as_number(value), decimals)  # noqa: E731
        digest_of = lambda value: api["number_key"](spec.qid, as_number(value), decimals)  # noqa: E731
    else:
        described = lambda value: ns["describe_answer"](_as_answer(spec.kind, value, spec.kwargs))  # noqa: E731
        digest_of = lambda value: ns["answer_digest"](spec.qid, described(value))  # noqa: E731
    key = digest_of(spec.expected)
    hints = {}
    for wrong, message in spec.mistakes:
        description = described(wrong)
        hint_key = digest_of(wrong)
        if hint_key == key:
            raise HiddenSpecError(f"{spec.qid}: a listed mistake equals the answer")
        hints[hint_key] = api["seal_hint"](spec.qid, description, message)  # readable only by giving that answer
    options = ""
    if spec.kind == "expect_choice":
        letters = spec.kwargs.get("options", "ABCD")
        if spec.expected not in letters or any(c not in letters for c, _ in spec.mistakes):
            raise HiddenSpecError(f"{spec.qid}: the answer and every listed mistake must be among the options")
        options = f", options={letters!r}"
    lines = [VISIBLE_COMMENT, f"check({spec.name}, {spec.qid!r}, {key!r}, {{"]
    lines += [f"    {k!r}: {m!r}," for k, m in hints.items()]
    lines.append(f"}}{options})")
    return "\n".join(lines) + "\n"


def sync_notebook(nb, nb_path, root=ROOT):
    """Rewrite the generated parts of one notebook in place; return True if anything changed."""
    changed = False

    def put(cell, text):
        nonlocal changed
        if cell.source != text:
            cell.source, changed = text, True

    used, generated_questions = set(), False
    for cell in nb.cells:
        if cell.cell_type == "code" and HIDDEN_BEGIN in cell.source:
            try:
                spec = parse_hidden(cell.source)
            except HiddenSpecError:
                continue  # reported below, with the cell's grade_id
            used.add(spec.kwargs.get("reference"))
            generated_questions |= spec.kind == "expect_generated"
    for cell in nb.cells:
        generated = cell.metadata.get("course", {}).get("generated")
        if cell.cell_type == "code" and generated and hide(cell, generated):
            changed = True
        if generated == "checks":
            wanted = "graded" if generated_questions else \
                "practice" if "questions" in cell.metadata.get("course", {}).get("with", []) else None
            put(cell, titled(generated, checks_source(used - {None}, questions=wanted, hints=notebook_hints(nb))))
        elif generated == "test_salt":
            put(cell, titled(generated, test_salt_source(root)))
        elif generated in GENERATED:
            put(cell, titled(generated, _text(HERE / GENERATED[generated])))
        elif generated == "badge":
            put(cell, badge_markdown(student_path(nb_path, root), root))
        elif generated == "course_map":
            put(cell, course_map(root))
        elif generated == "modes":
            put(cell, modes_map(root))
        elif cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade") \
                and not cell.metadata["nbgrader"].get("solution"):
            try:
                head = visible_part(cell.source)
            except HiddenSpecError as err:
                raise HiddenSpecError(f"{nb_path}: cell {cell.metadata['nbgrader'].get('grade_id')}: {err}")
            spec = parse_hidden(cell.source)
            if spec.kind == "expect_generated":  # the course test: its hidden test carries the key (course/graded_key)
                put(cell, head + graded_key.hidden_region(spec.qid, spec.name, _checks()["_course_answers"]))
            elif spec.kind in BY_REFERENCE:  # the lesson's key, compressed (course/keys/)
                put(cell, head + reference_test(spec, _checks()["_course_answers"],
                                                key_source(spec.kwargs["reference"]))[1])
            else:
                put(cell, head + HIDDEN_BEGIN + cell.source.split(HIDDEN_BEGIN, 1)[1])
        elif generated_questions and cell.metadata.get("nbgrader", {}).get("grade_id", "").endswith("_answer"):
            number = cell.metadata["nbgrader"]["grade_id"][:-len("_answer")]  # the example id's answer, solved
            put(cell, graded_key.example_solution(number, example_id(nb), settings(root)["test_salt"],
                                                  _checks()["_course_answers"]))
    return changed


def example_id(nb):
    """The id the course test's source notebook types (its release gets the placeholder)."""
    for cell in nb.cells:
        if cell.metadata.get("course", {}).get("student_id"):
            return ast.literal_eval(cell.source.split("=", 1)[1].split("#", 1)[0].strip())
    raise HiddenSpecError("the course test has no student id cell (metadata course.student_id)")


def course_notebooks(root=ROOT):
    return sorted(root.glob("source/*/*.ipynb")) + sorted(root.glob("notebooks/*.ipynb"))


def sync(check_only=False, root=ROOT, paths=None):
    import nbformat

    stale = []
    for path in paths or course_notebooks(root):
        path = Path(path).resolve()
        nb = nbformat.read(path, as_version=4)
        if sync_notebook(nb, path, root):
            stale.append(path)
            if not check_only:
                nbformat.write(nb, path)
    return stale


# Files the student edition ships besides release/, notebooks/ and course/student_edition/: the cheat
# sheet's export (make cheatsheet) and the benchmarks lessons 04, 06, 07 and 08 cite.
STUDENT_FILES = ("course/sheet.py", "benchmarks/forget_bias.py", "benchmarks/lstm_vs_rnn.py",
                 "benchmarks/gradients.py", "benchmarks/generation.py")


def student_edition(dest, root=ROOT):
    """Copy what students may see (release/, notebooks/ and STUDENT_FILES, never source/) into dest."""
    dest = Path(dest).resolve()
    if dest == root or root in dest.parents and dest.parent != root:
        raise SystemExit(f"student-edition: choose a folder outside the course, or directly in it: {dest}")
    if dest.exists():
        shutil.rmtree(dest)
    for folder in ("release", "notebooks"):
        shutil.copytree(root / folder, dest / folder,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    for name in ("LICENSE",):
        shutil.copy(root / name, dest / name)
    for name in ("README.md", "requirements.txt", "Makefile"):
        shutil.copy(HERE / "student_edition" / name, dest / name)
    # What the students' notebooks and README name, besides release/ and notebooks/:
    for rel in STUDENT_FILES:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(root / rel, dest / rel)
    leaks = [p for p in dest.rglob("*.ipynb") if "BEGIN SOLUTION" in p.read_text() or HIDDEN_BEGIN in p.read_text()]
    if leaks:
        raise SystemExit(f"student-edition: solution text found in {leaks}")
    return dest


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m course.build", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report notebooks that are out of date")
    parser.add_argument("notebooks", nargs="*", help="only these notebooks (default: all in source/ and notebooks/)")
    parser.add_argument("--student-edition", metavar="DIR", help="export release/ and notebooks/ for students into DIR")
    args = parser.parse_args(argv)
    if args.student_edition:
        print(f"student edition written to {student_edition(args.student_edition)}")
        return 0
    try:
        stale = sync(check_only=args.check, paths=args.notebooks)
    except HiddenSpecError as err:
        print(f"course.build: {err}", file=sys.stderr)
        return 2
    for path in stale:
        print(f"{'out of date' if args.check else 'updated'}: {path.relative_to(ROOT)}")
    if args.check and stale:
        print("Run `make release` to regenerate them.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
