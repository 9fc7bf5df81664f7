"""The lessons' keys (course/keys/) never reach a student, and what a student's notebook carries computes no answer.

- No notebook a student receives (release/, notebooks/, the student edition) holds a line of a key file or a
  compressed key.
- Each lesson's checks cell, run as the student has it: no reference holds a key field, and nothing reachable
  from its namespace (globals, `_course_answers`, the closures, defaults and globals of every function, class
  dictionaries) is a function of a key file.
- The cheat of calling what the notebook carries (`_course_answers["references"][name]["reference"]`, or any
  function of the key's it can reach) gets 0 for every function and class exercise, in `grade` and in
  `nbgrader autograde`, and the rest of the notebook full marks.
- Under nbgrader (one kernel), after each hidden test that carried a key, nothing of it is left: no new name,
  no reference field, no compressed key in the input history or linecache (best effort: docs/hostile-corpus.md).
"""
import ast
import json
import re
import subprocess
import sys
import types

import nbformat
import pytest
from conftest import AG_REPO, ag_make_course
from corpus import exercises, honest, source_notebook

from autograder import course
from course import keys
from course.build import student_edition

LESSONS = ("02_shapes", "03_states", "04_cell", "05_sequences", "06_model", "07_gradients", "08_generation")


@pytest.fixture(scope="module")
def student_notebooks(tmp_path_factory):
    """Every notebook a student receives: the student edition (release/ and notebooks/)."""
    return sorted(student_edition(tmp_path_factory.mktemp("edition") / "student").rglob("*.ipynb"))


def key_lines(text):
    """The distinctive lines of a key file: the defs of its own functions, and every line holding a long string
    (a named mistake's hint, an error's), less any line a public file also holds (a shape message that one
    lesson's key and another lesson's public part word alike is no leak)."""
    own, found, public = key_functions(text), set(), public_lines()
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("def ") and line[4:].split("(")[0] in own and len(line) >= 30:
            found.add(line)
        elif re.search(r"[\"'][^\"']{25,}[\"']", line) and not line.startswith(("#", '"""')):
            found.add(line)
    return found - public


def public_lines():
    return {line.strip() for path in (AG_REPO / "course" / "references").glob("*.py")
            for line in path.read_text().splitlines()}


def key_functions(text):
    """The names of the functions a key file defines (at any depth), less those a public file also defines."""
    names = {n.name for n in ast.walk(ast.parse(text)) if isinstance(n, ast.FunctionDef)}
    public = set()
    for path in sorted((AG_REPO / "course" / "references").glob("*.py")):
        public |= {n.name for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.FunctionDef)}
    return names - public


def test_no_notebook_a_student_receives_holds_a_lessons_key(student_notebooks):
    assert len(student_notebooks) >= 14 and keys.files()
    for path in keys.files():
        text = keys.text(path)
        lines, blob = key_lines(text), keys.blob(text)
        assert len(lines) >= 5, path
        for notebook in student_notebooks:
            cells = "\n".join(c.source for c in nbformat.read(notebook, as_version=4).cells)
            assert not [line for line in lines if line in cells], (path.name, notebook)
            assert blob[:100] not in cells and not re.search(r"key=['\"][A-Za-z0-9+/=]{200,}", cells), \
                (path.name, notebook)


def reachable(roots, filename):
    """Every object reachable from `roots` through dicts, lists, tuples, sets, the checks cell's own functions
    (closures, defaults, globals), bound methods and its classes' dictionaries: what a student's code can walk
    to. `filename`: the name the checks cell was compiled under (library code is not walked into)."""
    seen, stack, found = set(), list(roots), []
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        found.append(obj)
        if isinstance(obj, dict):
            stack += list(obj.keys()) + list(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack += list(obj)
        elif isinstance(obj, types.FunctionType) and obj.__code__.co_filename == filename:
            for cell in obj.__closure__ or ():
                try:
                    stack.append(cell.cell_contents)
                except ValueError:  # a cell not filled yet
                    pass
            stack += list(obj.__defaults__ or ()) + list((obj.__kwdefaults__ or {}).values()) + [obj.__globals__]
        elif isinstance(obj, types.MethodType):
            stack += [obj.__func__, obj.__self__]
        elif isinstance(obj, type) and obj.__module__ == "__main__":
            stack += list(vars(obj).values())
    return found


def checks_cell(notebook):
    return next(c.source for c in notebook.cells if c.metadata.get("course", {}).get("generated") == "checks")


@pytest.mark.parametrize("lesson", LESSONS)
def test_nothing_a_checks_cell_carries_computes_an_answer(lesson):
    """The release's checks cell, run alone: no key field in any reference, and no key function reachable."""
    released = nbformat.read(str(AG_REPO / "release" / lesson / f"{lesson}.ipynb"), as_version=4)
    scope = {"__name__": "__main__"}
    exec(compile(checks_cell(released), f"<{lesson} checks>", "exec"), scope)  # noqa: S102 - the course's own cell
    references = scope["_course_answers"]["references"]
    named = [n for n in references if f"'{n}'" in json.dumps([c.source for c in released.cells])]
    assert named, lesson
    for name in named:
        assert not set(references[name]) & set(keys.KEY_FIELDS), (name, sorted(references[name]))
    text = keys.text(keys.HERE / f"{lesson}.py")
    secret = key_functions(text)
    assert secret, lesson
    names = {obj.__name__ for obj in reachable([scope], f"<{lesson} checks>") if isinstance(obj, types.FunctionType)}
    assert "_install_references" not in names and len(names) > 100, len(names)  # the walk reaches the closures
    assert not names & secret, sorted(names & secret)


# --- the cheat, through both graders ----------------------------------------------------------------------

# Each function or class answer calls this: the reference by its old entry point, else any function of the
# lesson's key it can reach from the notebook's namespace (the names are the key file's, handed in).
STEAL = '''
def _steal(name, wanted):
    refs = _course_answers["references"]
    if callable(refs.get(name, {}).get("reference")):
        return refs[name]["reference"]
    seen, stack = set(), [globals(), _course_answers]
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if callable(obj) and getattr(obj, "__name__", None) in wanted:
            return obj
        if isinstance(obj, dict):
            stack += list(obj.values())
        elif isinstance(obj, (list, tuple)):
            stack += list(obj)
        elif hasattr(obj, "__code__"):
            for cell in obj.__closure__ or ():
                try:
                    stack.append(cell.cell_contents)
                except ValueError:
                    pass
            stack += list(obj.__defaults__ or ())
    raise LookupError("no key in reach")
'''


def cheat(ex, name, wanted):
    """An answer cell for exercise `ex` (reference `name`) that computes with whatever it steals."""
    answer = f"answer_q{ex.n}"
    if ex.kind == "module":
        return (f"{STEAL}\nimport torch\nfrom torch import nn\n\n\nclass _Cheat(nn.Module):\n"
                f"    def __init__(self, **settings):\n        super().__init__()\n        self.settings = settings\n"
                f"        self.lstm = nn.LSTM(settings['input_size'], settings['hidden_size'], "
                f"num_layers=settings.get('num_layers', 1), bidirectional=settings.get('bidirectional', False), "
                f"batch_first=True)\n"
                f"        d = 2 if settings.get('bidirectional') else 1\n"
                f"        self.head = nn.Linear(d * settings['hidden_size'], settings['num_classes'])\n\n"
                f"    def forward(self, *inputs):\n"
                f"        return _steal({name!r}, {sorted(wanted)!r})(self.settings, *inputs, dict(self.state_dict()))"
                f"\n\n\n{answer} = _Cheat\n")
    return f"{STEAL}\n\ndef _cheat(*args):\n    return _steal({name!r}, {sorted(wanted)!r})(*args)\n\n\n{answer} = _cheat\n"


def cheating_notebook(lesson):
    """The honest notebook with every function and class exercise answered by the cheat: {test id: points}."""
    source = source_notebook(lesson)
    nb = honest(lesson)
    wanted = key_functions(keys.text(keys.HERE / f"{lesson}.py")) | {"reference"}
    cheated = set()
    for ex in exercises(source):
        test = next(c.source for c in source.cells if course.grade_id(c) == ex.test_id)
        if ex.kind not in ("function", "module"):
            continue
        name = test.split("reference=", 1)[1].split(",", 1)[0].split(")", 1)[0].strip().strip("'\"")
        cell = next(c for c in nb.cells if course.grade_id(c) == ex.answer_id)
        cell.source = f"{ex.solution}\n\n{cheat(ex, name, wanted)}"  # later cells may use the honest names
        cheated.add(ex.test_id)
    return nb, cheated, {ex.test_id: ex.points for ex in exercises(source)}


def nbgrader_scores(root, assignment, student):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        notebook = gb.find_submission_notebook(assignment, assignment, student)
        return {g.name: g.score for g in notebook.grades}


@pytest.mark.parametrize("lesson", LESSONS)
def test_calling_what_the_notebook_carries_gets_0_in_both_graders(lesson, ag_nbgrader, ag_env, tmp_path):
    nb, cheated, points = cheating_notebook(lesson)
    assert cheated, lesson
    root = ag_make_course(tmp_path / "course", {lesson: source_notebook(lesson)})
    ag_nbgrader(root, "generate_assignment", lesson, "--force")
    path = root / "submitted" / "mallory" / lesson / f"{lesson}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, str(path))
    ours = subprocess.Popen([sys.executable, "-m", "autograder", "grade", str(path), "--json", "--course", str(root),
                             "--student-id", "mallory"], env=ag_env, cwd=AG_REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    ag_nbgrader(root, "autograde", lesson, "--force")
    out, err = ours.communicate(timeout=600)
    assert ours.returncode == 0, err
    result = json.loads(out)
    mine = {t["name"]: t["score"] for t in result["tests"]}
    want = {gid: 0.0 if gid in cheated else p for gid, p in points.items()}
    assert mine == want, {t["name"]: t["output"][:200] for t in result["tests"] if t["name"] in cheated}
    assert nbgrader_scores(root, lesson, "mallory") == want


# --- nbgrader's one kernel: nothing of a key stays ----------------------------------------------------------

@pytest.mark.parametrize("lesson", ("05_sequences", "06_model", "08_generation"))
def test_a_hidden_test_with_a_key_leaves_nothing_in_the_kernel(lesson, tmp_path):
    from nbclient import NotebookClient

    from autograder.kernels import SlicedKernelManager

    nb = source_notebook(lesson)
    blob = keys.blob(keys.text(keys.HERE / f"{lesson}.py"))
    needle = blob[40:80][::-1]  # reversed: the probe's own source must not match itself
    probe = ("import linecache as _lc, json as _json\n"
             f"_needle = {needle!r}[::-1]\n"
             "_texts = [str(v) for k, v in list(globals().items()) if k.startswith('_i') or k in ('In', 'Out')]\n"
             "_texts += [''.join(e[2]) for e in _lc.cache.values() if isinstance(e, tuple) and len(e) > 2]\n"
             "_texts += list(get_ipython().history_manager.input_hist_raw)\n"
             "_texts += [row[2] for row in get_ipython().history_manager.search('*' + _needle + '*')]\n"
             "_refs = _course_answers['references']\n"
             "print('PROBE', _json.dumps({'names': sorted(k for k in globals() if not k.startswith('_')),"
             " 'api': sorted(_course_answers), 'key': any(_needle in t for t in _texts),"
             f" 'fields': sorted({{f for r in _refs.values() for f in r}} & set({list(keys.KEY_FIELDS)!r}))}}))")
    cells, tests = [], 0
    for cell in nb.cells:  # a probe before and after each hidden test that carries a key
        hidden = cell.cell_type == "code" and re.search(r"key='[A-Za-z0-9+/=]{200,}'", cell.source)
        cells += [nbformat.v4.new_code_cell(probe), cell, nbformat.v4.new_code_cell(probe)] if hidden else [cell]
        tests += bool(hidden)
    assert tests >= 2, lesson
    nb.cells = cells
    NotebookClient(nb, timeout=300, kernel_name="python3", kernel_manager_class=SlicedKernelManager,
                   allow_errors=True, resources={"metadata": {"path": str(tmp_path)}}).execute()
    broken = [o for c in nb.cells if c.source == probe for o in c.outputs if o.get("output_type") == "error"]
    assert not broken, broken[0]["evalue"][:300]
    stdout = ["".join(o["text"] for o in c.outputs if o.get("name") == "stdout") for c in nb.cells if c.source == probe]
    seen = [json.loads(text.split("PROBE ", 1)[1]) for text in stdout if "PROBE " in text]  # streams may split
    assert len(seen) == 2 * tests
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"
              and course.grade_id(c).endswith("_test")]
    assert not errors, errors[0]["evalue"][:300]  # the solutions pass their hidden tests
    for before, after in zip(seen[::2], seen[1::2]):
        assert after == dict(before, key=False, fields=[]), (before, after)
        assert not after["key"] and not after["fields"]
