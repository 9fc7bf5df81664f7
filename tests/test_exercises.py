"""The reasoning items of lessons 01-06 (issue 17): what each asks is true, and every named mistake is named.

- The three functions graded by behaviour (02's to_time_major, 03's top_layer_states, 05's run_in_chunks):
  the lesson's own solution passes on many seeds, each classic mistake, written as a student would, gets its
  own message from the hidden test and from the visible check, in the lesson's own checks cell; the visible
  cases stay small (their results are a few dozen numbers, so that they can be hashed at build time).
- run_in_chunks's observe hook reports plain gradient norms per chunk, zero before each chunk for a detached run.
- The same mistakes through the real grader (the sandboxed child, plain data, the judge).
- Every number, shape, layer and option the new value items expect is computed here by torch.
- Every multiple-choice item of lessons 01-06 gives each wrong option a hint of its own.
"""
import math
import re
from pathlib import Path

import nbformat
import pytest
import torch
from torch import nn

from autograder import course, pipeline
from autograder.engine import Engine
from course import build, keys
from course.visible_cases import visible_data
from corpus import exercises, source_notebook

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ("01_syntax", "02_shapes", "03_states", "04_cell", "05_sequences", "06_model")


def checks(lesson):
    """A namespace with the lesson's own checks cell run, and torch imported, as the notebook has them; its
    references hold the lesson's key (course/keys/), as a hidden test has them."""
    nb = source_notebook(lesson)
    cell = next(c for c in nb.cells if c.metadata.get("course", {}).get("generated") == "checks")
    ns = {"__name__": "__main__"}
    exec(compile(cell.source, f"<{lesson} checks>", "exec"), ns)
    exec("import torch\nfrom torch import nn", ns)
    if (keys.HERE / f"{lesson}.py").exists():
        keys.install(ns["_course_answers"], [keys.text(keys.HERE / f"{lesson}.py")])
    return ns


def solution(lesson, name):
    """The function the lesson's solution cell defines, as the notebook runs it."""
    ns = checks(lesson)
    code = next(e.solution for e in exercises(source_notebook(lesson)) if f"def {name}(" in e.solution)
    exec(code, ns)
    return ns, ns[name]


def hidden_specs(lesson):
    return {build.parse_hidden(c.source).qid: build.parse_hidden(c.source) for c in source_notebook(lesson).cells
            if build.HIDDEN_BEGIN in c.source}


def message(fn, *args, **kwargs):
    with pytest.raises(AssertionError) as info:
        fn(*args, **kwargs)
    return str(info.value)


# --- the functions: right answers pass, each mistake is named -------------------------------------------

TO_TIME_MAJOR = {
    "x.reshape(x.shape[1], x.shape[0], x.shape[2])": "A reshape (or a view) to (L, N, H_in) keeps the numbers",
    "x.view(x.shape[1], x.shape[0], -1)": "A reshape (or a view) to (L, N, H_in) keeps the numbers",
    "x.permute(2, 1, 0)": "reverses all three axes",
    "x.transpose(1, 2)": "swaps the last two axes",
    "x.permute(1, 2, 0)": "rolled round",
}

TOP_LAYER_STATES = {
    "h_n.view(h_n.shape[1], -1)": "h_n.view(N, -1) mixes samples",
    "h_n[-1]": "h_n[-1] is one row",
    "h_n[-2:].reshape(h_n.shape[1], -1)": "put N first (permute(1, 0, 2))",
    "h_n.view(num_layers, h_n.shape[0] // num_layers, h_n.shape[1], -1)[0].permute(1, 0, 2)"
    ".reshape(h_n.shape[1], -1)": "bottom layer's states",
    "torch.cat((h_n[-2], h_n[-1]), dim=1)": "with one direction the top layer has one row",
    "torch.cat((h_n[-1], h_n[-2]), dim=1) if h_n.shape[0] // num_layers == 2 else h_n[-1]": "other way round",
    "torch.cat((h_n[-2], h_n[-1]), dim=0) if h_n.shape[0] // num_layers == 2 else h_n[-1]": "stacked as extra rows",
    "h_n.permute(1, 0, 2).reshape(h_n.shape[1], -1)": "every layer's states",
    "h_n.view(h_n.shape[0] // num_layers, num_layers, h_n.shape[1], -1)[:, -1].permute(1, 0, 2)"
    ".reshape(h_n.shape[1], -1)": "not view(D, num_layers, N, H)",
}

CHUNK_LOOP = """
def run_in_chunks(lstm, x, k, state=None):
{first}    pieces = []
    for piece in x.split(k, dim=1):
{before}        out, {carried} = lstm(piece{state})
        pieces.append(out)
    return {output}, {carried}
"""
DETACH = "        state = None if state is None else (state[0].detach(), state[1].detach())\n"


def chunks(first="", before=DETACH, carried="state", state=", state", output="torch.cat(pieces, dim=1)"):
    return CHUNK_LOOP.format(first=first, before=before, carried=carried, state=state, output=output)


RUN_IN_CHUNKS = {
    chunks(before=""): "the graph keeps growing with every chunk",
    chunks(before="        state = None if state is None else (state[0].detach(), state[1])\n"):
        "detach both h and c",
    chunks(before="", state=""): "Each chunk starts again from zeros",
    chunks(before="", carried="last"): "Each chunk starts again from",
    chunks(first="    state = None\n"): "It starts from zeros when a starting state is given",
    chunks(output="out"): "output holds only the last chunk",
    chunks(output="torch.cat(pieces, dim=0)"): "dim 1",
    "def run_in_chunks(lstm, x, k, state=None):\n    return lstm(x.detach(), state)\n": "carries no gradient",
    "def run_in_chunks(lstm, x, k, state=None):\n    with torch.no_grad():\n        return lstm(x, state)\n":
        "carries no gradient",
    "def run_in_chunks(lstm, x, k):\n    return lstm(x)\n": "Keep the signature",
}


def as_function(body, name, args):
    return body if body.lstrip().startswith("def ") else f"def {name}({args}):\n    return {body}\n"


@pytest.mark.parametrize("lesson, name, args, mistakes", [
    ("02_shapes", "to_time_major", "x", TO_TIME_MAJOR),
    ("03_states", "top_layer_states", "h_n, num_layers", TOP_LAYER_STATES),
    ("05_sequences", "run_in_chunks", "lstm, x, k, state=None", RUN_IN_CHUNKS),
])
def test_the_solution_passes_and_each_mistake_gets_its_own_message(lesson, name, args, mistakes):
    ns, right = solution(lesson, name)
    api = ns["_course_answers"]
    qid = next(q for q, spec in hidden_specs(lesson).items() if spec.kwargs.get("reference") == name)
    for seed in range(8):
        api["set_seed"](seed)
        ns["expect_function"](qid, right, reference=name)
    data = visible_data(api, name, qid)  # what course/build.py writes into the visible check
    api["check_function"](right, qid, name, data)
    for body, words in mistakes.items():
        scope = dict(ns)
        exec(as_function(body, name, args), scope)
        wrong = scope[name]
        for seed in range(4):
            api["set_seed"](seed)
            said = message(ns["expect_function"], qid, wrong, reference=name)
            assert words in said, (body, seed, said)
        visible = message(api["check_function"], wrong, qid, name, data)  # the visible check names it too
        assert words in visible, (body, visible)


def test_the_visible_cases_are_small_enough_to_hash():
    """Their inputs and results are a few dozen numbers each, so a build can hash them (issue 17's in-flight design)."""
    ns = checks("05_sequences")
    for lesson in ("02_shapes", "03_states"):
        ns_lesson = checks(lesson)
        ns["_course_answers"]["references"].update(ns_lesson["_course_answers"]["references"])
    api = ns["_course_answers"]
    for name in ("to_time_major", "top_layer_states", "run_in_chunks"):
        ref = api["references"][name]
        visible = api["counts"](name)[0]
        for seed in range(20):
            for case in api["cases"](name, seed, visible):
                with torch.enable_grad() if ref.get("grad") else torch.no_grad():
                    out = ref["reference"](*case)
                numbers = sum(t.numel() for t in torch.utils._pytree.tree_leaves(out) if isinstance(t, torch.Tensor))
                assert numbers <= 64, (name, seed, numbers)


def test_run_in_chunks_observed_gradients_are_plain_and_cut_at_each_chunk():
    ns, right = solution("05_sequences", "run_in_chunks")
    api = ns["_course_answers"]
    ref = api["references"]["run_in_chunks"]
    for seed in range(6):
        for lstm, x, k, state in (api["data_case"](api["case_data"](c))
                                  for c in api["cases"]("run_in_chunks", seed, 6)):
            with torch.enable_grad():
                _, extra = ref["observe"](right, lstm, x, k, state)
            assert api["valid_extra"](extra) == extra
            norms = extra["norms"]
            starts = list(range(0, x.shape[1], k))
            assert len(norms) == len(starts) and all(len(row) == x.shape[1] for row in norms)
            for row, s in zip(norms, starts):
                assert all(v == 0.0 for v in row[:s] + row[s + k:]) and all(v > 0.0 for v in row[s:s + k])
            assert ref["extra_check"](extra, lstm, x, k, state) is None
    # The cases cover what the named mistakes need: a given state, a shorter last chunk, two layers.
    cases = api["cases"]("run_in_chunks", 3, 6)
    assert any(state is not None for *_, state in cases) and any(state is None for *_, state in cases)
    assert any(x.shape[1] % k for _, x, k, _ in cases) and any(lstm.num_layers == 2 for lstm, *_ in cases)


# --- the same mistakes through the real grader ---------------------------------------------------------

GRADER_MISTAKES = [  # (lesson, exercise, answer cell, words its feedback must hold)
    ("02_shapes", 8, "def to_time_major(x):\n    return x.reshape(x.shape[1], x.shape[0], x.shape[2])\n\n\n"
                     "answer_q8 = to_time_major", "keeps the numbers in their memory order"),
    ("03_states", 8, "def top_layer_states(h_n, num_layers):\n    return h_n.view(h_n.shape[1], -1)\n\n\n"
                     "answer_q8 = top_layer_states", "h_n.view(N, -1) mixes samples"),
    ("03_states", 8, "def top_layer_states(h_n, num_layers):\n    return h_n[-2:].reshape(h_n.shape[1], -1)\n\n\n"
                     "answer_q8 = top_layer_states", "put N first"),
    ("05_sequences", 9, chunks(before="") + "\n\nanswer_q9 = run_in_chunks", "the graph keeps growing"),
    ("05_sequences", 9, chunks(state="") + "\n\nanswer_q9 = run_in_chunks", "Each chunk starts again from zeros"),
]


def test_the_real_grader_names_each_mistake_and_takes_only_that_exercise(tmp_path):
    from corpus import honest

    jobs = []
    for k, (lesson, n, code, words) in enumerate(GRADER_MISTAKES):
        nb = honest(lesson)
        cell = next(c for c in nb.cells if course.grade_id(c) == f"q{n}_answer")
        cell.source = code
        path = tmp_path / f"s{k}" / f"{lesson}.ipynb"
        path.parent.mkdir()
        nbformat.write(nb, str(path))
        jobs.append(pipeline.prepare(path, ROOT, lesson))
    with Engine(workers=2, timeout=30) as engine:
        graded = {id(job): results for job, results in engine.grade_all(jobs)}
    for job, (lesson, n, code, words) in zip(jobs, GRADER_MISTAKES):
        results = {r.name: r for r in graded[id(job)]}
        assert results[f"q{n}_test"].score == 0.0 and words in results[f"q{n}_test"].output, \
            (lesson, n, results[f"q{n}_test"].output)
        assert all(r.score == r.max_score for name, r in results.items() if name != f"q{n}_test"), \
            (lesson, {name: r.output for name, r in results.items() if r.score != r.max_score})


# --- what the value items expect is what torch computes -------------------------------------------------

def rounded(v, decimals=3):
    return math.floor(v * 10 ** decimals + 0.5)


def near_edge(v, decimals=3):
    scaled = v * 10 ** decimals + 0.5
    return abs(scaled - round(scaled)) < 1e-4 * 10 ** decimals


def test_a_layer_from_its_weights():
    spec = hidden_specs("01_syntax")["01_syntax.q9"]
    layer = nn.LSTM(**spec.expected)
    assert tuple(layer.weight_ih_l1.shape) == (64, 32) and layer.input_size == 10 and layer.proj_size == 0
    for wrong, _ in spec.mistakes:  # none of the named mistakes has the weights the exercise describes
        other = nn.LSTM(**wrong)
        assert (tuple(other.weight_ih_l1.shape), other.input_size) != ((64, 32), 10), wrong


def test_words_as_steps_raise_on_the_feature_axis():
    assert hidden_specs("01_syntax")["01_syntax.q10"].expected == "B"
    with pytest.raises(RuntimeError, match="input_size"):
        nn.LSTM(40, 128, batch_first=True)(torch.randn(8, 40, 300))


def test_one_sequence_through_a_stacked_two_way_layer():
    spec = hidden_specs("02_shapes")["02_shapes.q9"]
    _, (h_n, _) = nn.LSTM(3, 5, num_layers=2, bidirectional=True)(torch.randn(6, 3))
    assert tuple(h_n.shape) == tuple(spec.expected)


def test_batch_first_states_run_silently_with_the_wrong_states():
    assert hidden_specs("03_states")["03_states.q9"].expected == "C"
    torch.manual_seed(0)
    lstm = nn.LSTM(4, 7, num_layers=2, batch_first=True)
    x, h0, c0 = torch.randn(2, 5, 4), torch.randn(2, 2, 7), torch.randn(2, 2, 7)
    wrong, (h_n, _) = lstm(x, (h0, c0))  # no error, and states of the shape PyTorch expects
    right, _ = lstm(x, (h0.transpose(0, 1).contiguous(), c0.transpose(0, 1).contiguous()))
    assert h_n.shape == h0.shape and not torch.allclose(wrong, right)


def cell_step(z, c_prev):
    """One step of a one-unit nn.LSTMCell whose pre-activations are z (weights zero, bias_ih = z): (c_t, h_t)."""
    cell = nn.LSTMCell(1, 1).double()
    with torch.no_grad():
        for p in cell.parameters():
            p.zero_()
        cell.bias_ih.copy_(torch.tensor(z, dtype=torch.float64))
        h, c = cell(torch.zeros(1, 1, dtype=torch.float64),
                    (torch.zeros(1, 1, dtype=torch.float64), torch.full((1, 1), c_prev, dtype=torch.float64)))
    return c.item(), h.item()


def test_one_step_in_numbers_is_pytorchs_cell_and_its_mistakes_are_what_they_say():
    spec = hidden_specs("04_cell")["04_cell.q11"]
    z, c_prev = [1.0, -1.0, 1.5, 2.0], 0.6
    right = cell_step(z, c_prev)
    assert [rounded(v) for v in right] == [rounded(v) for v in spec.expected]
    assert not any(near_edge(v) for v in spec.expected)
    # i, f, o, g: PyTorch's cell given z with its last two blocks swapped, read in PyTorch's order
    assert [rounded(v) for v in cell_step([z[0], z[1], z[3], z[2]], c_prev)] == \
        [rounded(v) for v in spec.mistakes[0][0]]
    assert [rounded(v) for v in cell_step([z[1], z[0], z[2], z[3]], c_prev)] == \
        [rounded(v) for v in spec.mistakes[4][0]]
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    c_t = right[0]
    assert rounded(sig(z[3]) * math.tanh(c_prev)) == rounded(spec.mistakes[2][0][1])      # h from the old c
    assert rounded(sig(z[3]) * c_t) == rounded(spec.mistakes[3][0][1])                     # no tanh on c
    keys = [tuple(rounded(v) for v in wrong) for wrong, _ in spec.mistakes]
    assert len(set(keys)) == len(keys) and tuple(rounded(v) for v in right) not in keys


def test_what_the_forget_gate_keeps_is_what_a_cell_keeps():
    spec = hidden_specs("04_cell")["04_cell.q12"]
    cell = nn.LSTMCell(1, 1).double()
    with torch.no_grad():
        for p in cell.parameters():
            p.zero_()
        cell.bias_ih.copy_(torch.tensor([-40.0, 2.0, 0.0, 0.0], dtype=torch.float64))  # i shut, f's pre-activation 2
        state = (torch.zeros(1, 1, dtype=torch.float64), torch.ones(1, 1, dtype=torch.float64))
        for _ in range(10):
            state = cell(torch.zeros(1, 1, dtype=torch.float64), state)
    assert rounded(state[1].item()) == rounded(spec.expected) and not near_edge(spec.expected)
    assert len({rounded(w) for w, _ in spec.mistakes} | {rounded(spec.expected)}) == len(spec.mistakes) + 1


def test_the_last_chunks_gradient_reaches_what_is_left_after_the_full_chunks():
    spec = hidden_specs("05_sequences")["05_sequences.q10"]
    torch.manual_seed(0)
    lstm = nn.LSTM(1, 2, batch_first=True)
    x = torch.randn(1, 1000, 1, requires_grad=True)
    state, last = None, None
    for piece in x.split(64, dim=1):
        state = None if state is None else tuple(s.detach() for s in state)
        last, state = lstm(piece, state)
    last.sum().backward()
    assert int((x.grad.norm(dim=(0, 2)) > 0).sum()) == spec.expected == 40


def test_the_heads_options_are_what_their_hints_say():
    assert hidden_specs("06_model")["06_model.q9"].expected == "B"
    torch.manual_seed(0)
    lstm = nn.LSTM(6, 16, num_layers=2, bidirectional=True, batch_first=True)
    output, (h_n, _) = lstm(torch.randn(8, 40, 6))
    want = torch.cat((h_n[-2], h_n[-1]), dim=1)
    options = {"A": h_n[-2:].reshape(8, 32), "B": h_n.view(2, 2, 8, 16)[-1].permute(1, 0, 2).reshape(8, 32),
               "C": output[:, -1], "D": torch.cat((h_n[1], h_n[3]), dim=1)}
    assert all(v.shape == (8, 32) for v in options.values())
    assert [k for k, v in options.items() if torch.allclose(v, want)] == ["B"]
    assert torch.allclose(options["C"][:, :16], h_n[-2]) and not torch.allclose(options["C"][:, 16:], h_n[-1])


def test_the_loss_before_training_is_log_of_the_class_count():
    spec = hidden_specs("06_model")["06_model.q10"]
    assert rounded(nn.functional.cross_entropy(torch.zeros(7, 4), torch.randint(0, 4, (7,))).item()) == \
        rounded(spec.expected) == rounded(math.log(4))
    assert not near_edge(spec.expected)
    # A freshly built classifier of the lesson's size starts close to it, as the exercise says.
    for seed in range(5):
        torch.manual_seed(seed)
        lstm, head = nn.LSTM(6, 16, batch_first=True), nn.Linear(16, 4)
        x = nn.functional.one_hot(torch.randint(0, 6, (64, 40)), 6).float()
        logits = head(lstm(x)[1][0][-1])
        assert abs(nn.functional.cross_entropy(logits, torch.randint(0, 4, (64,))).item() - math.log(4)) < 0.1


# --- every multiple-choice item gives every wrong option its own hint ----------------------------------

@pytest.mark.parametrize("lesson", LESSONS)
def test_every_wrong_option_has_a_hint_of_its_own(lesson):
    nb = source_notebook(lesson)
    for spec in hidden_specs(lesson).values():
        if spec.kind != "expect_choice":
            continue
        options = spec.kwargs.get("options", "ABCD")
        hinted = {letter for letter, _ in spec.mistakes}
        assert hinted == set(options) - {spec.expected}, spec.qid
        assert len({hint for _, hint in spec.mistakes}) == len(spec.mistakes), spec.qid
        n = spec.qid.rsplit(".q", 1)[1]
        answer = next(i for i, c in enumerate(nb.cells) if course.grade_id(c) == f"q{n}_answer")
        text = next(c.source for c in reversed(nb.cells[:answer]) if c.cell_type == "markdown")
        shown = set(re.findall(r"^- (?:\*\*)?([A-D])\.", text, re.M))
        assert shown == set(options), (spec.qid, shown)
