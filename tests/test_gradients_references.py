"""Lesson 07's graded functions (course/references/07_gradients.py): every named mistake of grad_norms and
set_forget_bias is recognised, by the checks the lesson's notebook runs (several seeds: cases drawn at
checking time) and by the real grader (`grade-all`: the answer runs in the sandboxed child, only plain data
crosses, the judge computes the references), and a right answer, spelled several ways, gets full marks.

The grader runs on a small course made of the lesson's own cells: its checks cell, its imports and its two
function exercises (answer and test cells as in source/07_gradients), so that it grades in seconds; the
whole lesson is graded by tests/test_autograder_nbgrader.py.
"""
import copy
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import GRADIENT_CASES, gradient_attack  # noqa: E402

from course import keys  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LESSON = "07_gradients"
SOURCE = ROOT / "source" / LESSON / f"{LESSON}.ipynb"

RIGHT = {
    "q1": '''
def grad_norms(model, x):
    x = x.detach().requires_grad_()
    output, _ = model(x)
    last = output[:, -1] if model.batch_first else output[-1]
    (g,) = torch.autograd.grad(last.sum(), x)
    return g.norm(dim=(0, 2)) if model.batch_first else g.norm(dim=(1, 2))
''',
    "q2": '''
def set_forget_bias(lstm, value):
    if not lstm.bias:
        raise ValueError("no biases")
    H = lstm.hidden_size
    with torch.no_grad():
        for name, p in lstm.named_parameters():
            if name.startswith("bias_ih"):
                p[H:2 * H] = value
            elif name.startswith("bias_hh"):
                p[H:2 * H] = 0.0
''',
}

# Other right answers: h_n[-1] for the last step, backward() with the parameters' .grad cleared, a per-step loop;
# value split between the two biases, written through .data.
ALSO_RIGHT = {
    "q1": ['''
def grad_norms(model, x):
    x = x.clone().requires_grad_(True)
    _, state = model(x)
    h_n = state[0] if isinstance(state, tuple) else state
    h_n[-1].sum().backward()
    model.zero_grad(set_to_none=True)
    dims = (0, 2) if model.batch_first else (1, 2)
    return x.grad.norm(dim=dims)
''', '''
def grad_norms(model, x):
    x = x.detach().requires_grad_()
    output, _ = model(x)
    last = output[:, -1] if model.batch_first else output[-1]
    (g,) = torch.autograd.grad(last.sum(), x)
    steps = g.shape[1] if model.batch_first else g.shape[0]
    return torch.stack([(g[:, t] if model.batch_first else g[t]).pow(2).sum().sqrt() for t in range(steps)])
'''],
    "q2": ['''
def set_forget_bias(lstm, value):
    if not lstm.bias:
        raise ValueError("no biases")
    H = lstm.hidden_size
    for name, p in lstm.named_parameters():
        if name.startswith("bias_"):
            p.data[H:2 * H] = value / 2
'''],
}

# Each named mistake: (the answer, words its message must contain).
MISTAKES = {
    "q1": {
        "output": ('''
def grad_norms(model, x):
    output, _ = model(x)
    last = output[:, -1] if model.batch_first else output[-1]
    (g,) = torch.autograd.grad(last.sum(), output)
    return g.norm(dim=(0, 2)) if model.batch_first else g.norm(dim=(1, 2))
''', "the gradient with respect to the output"),
        "every step": (RIGHT["q1"].replace("last.sum()", "output.sum()"), "sums the output over every step"),
        "batch_first": ('''
def grad_norms(model, x):
    x = x.detach().requires_grad_()
    output, _ = model(x)
    (g,) = torch.autograd.grad(output[-1].sum(), x)
    return g.norm(dim=(1, 2))
''', "batch_first was ignored"),
        "one norm": (RIGHT["q1"].replace("return g.norm(dim=(0, 2)) if model.batch_first else g.norm(dim=(1, 2))",
                                         "return g.norm()"), "one norm over all the steps"),
        "per sequence": (RIGHT["q1"].replace("return g.norm(dim=(0, 2)) if model.batch_first else g.norm(dim=(1, 2))",
                                             "return g.norm(dim=2)"), "norms per step and per sequence"),
        "c_n": ('''
def grad_norms(model, x):
    x = x.detach().requires_grad_()
    output, state = model(x)
    last = state[1][-1] if isinstance(state, tuple) else (output[:, -1] if model.batch_first else output[-1])
    (g,) = torch.autograd.grad(last.sum(), x)
    return g.norm(dim=(0, 2)) if model.batch_first else g.norm(dim=(1, 2))
''', "the gradient of c_n"),
        "detach, raising": (RIGHT["q1"].replace("output, _ = model(x)", "output, _ = model(x.detach())"),
                            "cuts the graph"),
        "detach per step": ('''
def grad_norms(model, x):
    x = x.detach().requires_grad_()
    steps = x.shape[1] if model.batch_first else x.shape[0]
    state = None
    for t in range(steps):
        step = x[:, t:t + 1] if model.batch_first else x[t:t + 1]
        if state is not None:
            state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
        output, state = model(step, state)
    (g,) = torch.autograd.grad(output.sum(), x)
    return g.norm(dim=(0, 2)) if model.batch_first else g.norm(dim=(1, 2))
''', "cuts the graph"),
        "backward": ('''
def grad_norms(model, x):
    x = x.detach().requires_grad_()
    output, _ = model(x)
    last = output[:, -1] if model.batch_first else output[-1]
    last.sum().backward()
    return x.grad.norm(dim=(0, 2)) if model.batch_first else x.grad.norm(dim=(1, 2))
''', "also fills the model's .grad"),
    },
    "q2": {
        "input rows": (RIGHT["q2"].replace("p[H:2 * H]", "p[:H]"), "the input gate's rows"),
        "layer 0 only": (RIGHT["q2"].replace('startswith("bias_ih")', 'startswith("bias_ih_l0")')
                         .replace('startswith("bias_hh")', 'startswith("bias_hh_l0")'), "Only layer 0 changed"),
        "forward only": ('''
def set_forget_bias(lstm, value):
    if not lstm.bias:
        raise ValueError("no biases")
    H = lstm.hidden_size
    with torch.no_grad():
        for name, p in lstm.named_parameters():
            if name.endswith("_reverse"):
                continue
            if name.startswith("bias_ih"):
                p[H:2 * H] = value
            elif name.startswith("bias_hh"):
                p[H:2 * H] = 0.0
''', "Only the forward direction changed"),
        "both biases": (RIGHT["q2"].replace("p[H:2 * H] = 0.0", "p[H:2 * H] = value"), "sum is 2 * value"),
        "proj_size rows": (RIGHT["q2"].replace("H = lstm.hidden_size", "H = lstm.weight_hh_l0.shape[1]"),
                           "not from proj_size"),
        "no no_grad": (RIGHT["q2"].replace("    with torch.no_grad():\n", "    if True:\n"), "torch.no_grad()"),
        "no ValueError": (RIGHT["q2"].replace('        raise ValueError("no biases")', "        return"),
                          "must raise ValueError"),
        "bias=False unchecked": ('''
def set_forget_bias(lstm, value):
    H = lstm.hidden_size
    with torch.no_grad():
        for layer in range(lstm.num_layers):
            for suffix in ("", "_reverse") if lstm.bidirectional else ("",):
                getattr(lstm, f"bias_ih_l{layer}{suffix}")[H:2 * H] = value
                getattr(lstm, f"bias_hh_l{layer}{suffix}")[H:2 * H] = 0.0
''', "has no bias_ih_l0"),
        "replaced": ('''
def set_forget_bias(lstm, value):
    if not lstm.bias:
        raise ValueError("no biases")
    H = lstm.hidden_size
    for name, p in list(lstm.named_parameters()):
        if name.startswith("bias_"):
            new = p.detach().clone()
            new[H:2 * H] = value if name.startswith("bias_ih") else 0.0
            setattr(lstm, name, nn.Parameter(new))
''', "replaced the biases with new tensors"),
    },
}

# A curve of another model or of another input: the hostile corpus's g01 and g02, wrong, 0 for that exercise.
OTHER = {name: (gradient_attack(name).split("\n\n\nanswer_q1")[0], "These are not the norms")
         for name in GRADIENT_CASES}


def lesson_cells():
    return nbformat.read(str(SOURCE), as_version=4).cells


@pytest.fixture(scope="module")
def checks():
    """The lesson's checks cell and imports, run as the notebook runs them."""
    cells = lesson_cells()
    namespace = {"__name__": "__main__"}
    for cell in cells:
        if cell.metadata.get("course", {}).get("generated") == "checks" or cell.source.startswith("import math"):
            exec(compile(cell.source, "lesson07", "exec"), namespace)
    keys.install(namespace["_course_answers"], [keys.text(keys.HERE / f"{LESSON}.py")])  # as a hidden test has it
    return namespace


def visible_message(checks, qid, code):
    """The message of exercise qid's visible check (its test cell above the hidden tests), or None: it passes."""
    namespace = dict(checks)
    exec(compile(f"{code}\n\nanswer_{qid} = {'grad_norms' if qid == 'q1' else 'set_forget_bias'}", qid, "exec"),
         namespace)
    test = next(c.source for c in lesson_cells() if c.metadata.get("nbgrader", {}).get("grade_id") == f"{qid}_test")
    try:
        exec(compile(test.split("### BEGIN HIDDEN TESTS")[0], f"{qid}_test", "exec"), namespace)
    except AssertionError as err:
        return str(err)
    return None


def verdict(checks, qid, code, seed):
    namespace = dict(checks)
    exec(compile(code, qid, "exec"), namespace)
    name = "grad_norms" if qid == "q1" else "set_forget_bias"
    api = checks["_course_answers"]
    api["set_seed"](seed)
    try:
        return api["calls_verdict"](f"{LESSON}.{qid}", namespace[name], name, 8)[0]
    finally:
        api["set_seed"](None)


@pytest.mark.parametrize("qid,code", [(q, c) for q in RIGHT for c in [RIGHT[q], *ALSO_RIGHT[q]]])
def test_right_answers_pass_on_every_seed(checks, qid, code):
    assert [verdict(checks, qid, code, seed) for seed in range(4)] == [None] * 4


@pytest.mark.parametrize("qid,code", [(q, c) for q in RIGHT for c in [RIGHT[q], *ALSO_RIGHT[q]]])
def test_right_answers_pass_the_visible_check(checks, qid, code):
    assert visible_message(checks, qid, code) is None


@pytest.mark.parametrize("qid,name", [(q, n) for q in MISTAKES for n in MISTAKES[q]])
def test_the_visible_check_names_each_mistake(checks, qid, name):
    """On its fixed cases, from hashes and sealed hints alone (the key stays in the hidden test)."""
    code, words = MISTAKES[qid][name]
    message = visible_message(checks, qid, code)
    assert message is not None and words in message, (name, message)


@pytest.mark.parametrize("qid,name", [(q, n) for q in MISTAKES for n in MISTAKES[q]] + [("q1", n) for n in OTHER])
def test_each_named_mistake_is_named_on_every_seed(checks, qid, name):
    code, words = (MISTAKES[qid].get(name) or OTHER[name])
    for seed in range(4):
        message = verdict(checks, qid, code, seed)
        assert message is not None and words in message, (name, seed, message)


def test_every_variant_of_the_references_is_covered():
    """Each (hint, variant) the references list has an answer here that is named by it."""
    namespace = {"__name__": "refs"}
    exec(compile(lesson_checks_source(), "checks", "exec"), namespace)
    keys.install(namespace["_course_answers"], [keys.text(keys.HERE / f"{LESSON}.py")])
    references = namespace["_course_answers"]["references"]
    for qid, reference in (("q1", "grad_norms"), ("q2", "set_forget_bias")):
        hints = [hint for hint, _ in references[reference]["mistakes"]]
        said = [words for _, words in MISTAKES[qid].values()]
        assert all(any(words in hint for words in said) for hint in hints), reference


def lesson_checks_source():
    return next(c.source for c in lesson_cells() if c.metadata.get("course", {}).get("generated") == "checks")


def small_lesson():
    """The lesson's checks cell, imports and two function exercises, in a notebook of their own."""
    cells = lesson_cells()
    keep = [c for c in cells if c.metadata.get("course", {}).get("generated") == "checks"
            or c.source.startswith("import math")
            or c.metadata.get("nbgrader", {}).get("grade_id", "") in ("q1_answer", "q1_test", "q2_answer", "q2_test")]
    nb = nbformat.v4.new_notebook(cells=[copy.deepcopy(c) for c in keep],
                                  metadata=nbformat.read(str(SOURCE), as_version=4).metadata)
    return nb


def answered(nb, answers):
    nb = copy.deepcopy(nb)
    names = {"q1": "grad_norms", "q2": "set_forget_bias"}
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        qid = gid[:-len("_answer")]
        if gid.endswith("_answer") and qid in answers:
            cell.source = f"{answers[qid].strip()}\n\n\nanswer_{qid} = {names[qid]}"
    return nb


def test_the_grader_names_every_mistake_and_gives_right_answers_full_marks(tmp_path, ag_env):
    from conftest import ag_make_course

    source = small_lesson()
    root = ag_make_course(tmp_path / "course", {LESSON: source})
    students = {"right": {"q1": RIGHT["q1"], "q2": RIGHT["q2"]},
                "also-right": {"q1": ALSO_RIGHT["q1"][0], "q2": ALSO_RIGHT["q2"][0]}}
    expect = {"right": {}, "also-right": {}}
    q1, q2 = list(MISTAKES["q1"]) + list(OTHER), list(MISTAKES["q2"])
    for k in range(max(len(q1), len(q2))):  # one mistake of each exercise per submission
        answers, wanted = {}, {}
        for qid, names in (("q1", q1), ("q2", q2)):
            name = names[k % len(names)]
            code, words = MISTAKES[qid].get(name) or OTHER[name]
            answers[qid], wanted[f"{qid}_test"] = code, words
        students[f"mistakes-{k}"], expect[f"mistakes-{k}"] = answers, wanted
    subs = tmp_path / "submitted"
    for student, answers in students.items():
        path = subs / student / LESSON / f"{LESSON}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(answered(source, answers), str(path))
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "autograder", "grade-all", str(subs), "--out", str(out), "--course",
                           str(root), "--workers", "2", "--timeout", "60", "--force"], env=ag_env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    for student, wanted in expect.items():
        record = json.loads((out / student / f"{LESSON}.json").read_text())
        tests = {t["name"]: (t["score"], t["output"]) for t in record["tests"]}
        assert set(tests) == {"q1_test", "q2_test"}, student
        for test, (score, output) in tests.items():
            if test in wanted:
                assert score == 0 and wanted[test] in output, (student, test, output)
            else:
                assert score == 1 and "Correct!" in output, (student, test, output)
