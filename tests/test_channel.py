"""The answer channel of function and class answers (course/channel.py, probes.py, verdicts.py), in one process.

What crosses between the judge and the student's process is plain data: each case argument's
type round-trips, modules are rebuilt with their weights and fresh for every call, what a call
does to its modules, its exception and an observe hook's extra data come back as plain data,
and forged or oversized data is refused. The references are tests/channel_demo.py's, never
shipped; tests/test_channel_graders.py runs the same lesson through both graders.
"""
import json
import math
import signal
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import channel_demo  # noqa: E402


@pytest.fixture(scope="module")
def base():
    """The demo's checks cell, its references holding their key (as in the grader's worker and judge)."""
    return channel_demo.trusted_namespace()


@pytest.fixture
def ns(base):
    """A fresh checks cell (with the demo references and their key) per test: some tests seal or patch it."""
    namespace = channel_demo.trusted_namespace()
    exec("import torch\nfrom torch import nn", namespace)
    return namespace


def wire(data):
    """What the pipe between the child and the worker does to plain data."""
    return json.loads(json.dumps(data, allow_nan=False))


def answer(ns, n, code=None):
    """The demo lesson's answer to exercise n (its solution unless `code` is given), defined in `ns`."""
    exec(code or channel_demo.SOLUTIONS[n], ns)
    return ns[next(name for k, name, *_ in channel_demo.EXERCISES if k == n)]


def fails(fn, *args, **kwargs):
    with pytest.raises(AssertionError) as info:
        fn(*args, **kwargs)
    return str(info.value)


# --- case arguments: plain data -> the same value ------------------------------------------------------

def same(a, b):
    if isinstance(a, torch.Tensor):
        return (type(b) is torch.Tensor and a.dtype == b.dtype and a.shape == b.shape
                and a.requires_grad == b.requires_grad and (torch.equal(a, b) or a.is_floating_point() and torch.allclose(
                    a.detach().double(), b.detach().double(), rtol=0, atol=0, equal_nan=True)))
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return type(b) is dict and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("value", [
    True, False, 0, -7, 2 ** 40, 0.5, -1e-30, float("nan"), float("inf"), float("-inf"), "batch_first", "", None,
    torch.float64, torch.int8, [3, 1, 2], [], (4, 5), [torch.ones(2), torch.zeros(1, 3)],
    (torch.ones(2, dtype=torch.int64), torch.tensor([True, False])), {"num_layers": 2, "dropout": 0.25},
    {"nested": [1, (2.5, None)]}, torch.arange(6, dtype=torch.int32).reshape(2, 3), torch.tensor(3.25),
    torch.randn(2, 3, dtype=torch.float64), torch.tensor([1.5, -2.0], dtype=torch.float16),
    torch.tensor([0.5, 3.0], dtype=torch.bfloat16), torch.tensor([250, 3], dtype=torch.uint8), torch.zeros(0, 4),
    torch.randn(3, 2).requires_grad_(), torch.tensor([float("nan"), float("inf")]),
], ids=repr)
def test_each_case_argument_type_round_trips(base, value):
    api = base["_course_answers"]
    (back,) = api["data_case"](wire(api["case_data"]([value])))
    assert same(value, back), (value, back)


def test_a_non_leaf_tensor_crosses_without_its_graph(base):
    api = base["_course_answers"]
    x = torch.randn(3, requires_grad=True)
    (back,) = api["data_case"](wire(api["case_data"]([x * 2])))
    assert not back.requires_grad and torch.allclose(back, x.detach() * 2)


@pytest.mark.parametrize("value, why", [
    (nn.LSTM(2, 3), "case_module"), ("x" * 201, "at most 200"), (torch.zeros(20_001), "small"),
    (object(), "can't be carried"), ({1: 2}, "can't be carried"), (torch.zeros(2, dtype=torch.complex64), "small"),
])
def test_what_cannot_cross_is_refused_when_the_cases_are_made(base, value, why):
    with pytest.raises(ValueError, match=why):
        base["_course_answers"]["case_data"]([value])


@pytest.mark.parametrize("name, kwargs", [
    ("LSTM", {"input_size": 3, "hidden_size": 4, "num_layers": 2, "bidirectional": True, "proj_size": 2}),
    ("LSTM", {"input_size": 2, "hidden_size": 3, "bias": False, "batch_first": True, "dtype": torch.float64}),
    ("GRU", {"input_size": 2, "hidden_size": 3, "num_layers": 2}), ("RNN", {"input_size": 2, "hidden_size": 5,
                                                                      "nonlinearity": "relu"}),
    ("LSTMCell", {"input_size": 2, "hidden_size": 3}), ("GRUCell", {"input_size": 4, "hidden_size": 2}),
    ("RNNCell", {"input_size": 3, "hidden_size": 3}), ("Linear", {"in_features": 3, "out_features": 2}),
    ("Embedding", {"num_embeddings": 6, "embedding_dim": 3, "padding_idx": 0}),
    ("DemoLM", {"vocab_size": 5, "hidden_size": 3}),  # a class a reference file registers
])
def test_modules_are_rebuilt_with_their_weights_and_fresh_for_every_call(base, name, kwargs):
    api = base["_course_answers"]
    made = api["case_module"](torch.Generator().manual_seed(5), name, **kwargs)
    again = api["case_module"](torch.Generator().manual_seed(5), name, **kwargs)
    assert all(torch.equal(a, b) for a, b in zip(made.state_dict().values(), again.state_dict().values()))
    made.eval()
    data = wire(api["case_data"]([made]))
    assert data[0]["t"] == "module" and data[0]["class"] == name and data[0]["training"] is False
    one, = api["data_case"](data)
    two, = api["data_case"](data)
    assert type(one) is type(made) and one is not two and one is not made and not one.training
    want = made.state_dict()
    for rebuilt in (one, two):
        got = rebuilt.state_dict()
        assert got.keys() == want.keys() and all(torch.equal(got[k], want[k]) and got[k].dtype == want[k].dtype
                                                 for k in want)
    with torch.no_grad():
        next(one.parameters()).add_(1.0)  # a call that changes its module changes no other call's
    assert all(torch.equal(a, b) for a, b in zip(two.state_dict().values(), want.values()))


def test_rebuilding_a_module_does_not_move_the_notebooks_random_numbers(base):
    api = base["_course_answers"]
    data = api["case_data"]([api["case_module"](torch.Generator().manual_seed(1), "LSTM", input_size=2,
                                                hidden_size=3)])
    torch.manual_seed(3)
    expected = torch.rand(2)
    torch.manual_seed(3)
    api["data_case"](data)
    assert torch.equal(torch.rand(2), expected)


def test_the_plan_is_plain_json_and_the_same_for_a_seed(base):
    api = base["_course_answers"]
    for reference in ("demo_forget_bias", "demo_grad_norms", "demo_tagger", "demo_take", "demo_chunks",
                      "demo_generate"):
        plan = api["call_plan"](reference, 99, None)
        assert wire(plan) == plan == api["call_plan"](reference, 99, None)
        assert len(plan["cases"]) == api["counts"](reference)[1] == 6
        assert plan != api["call_plan"](reference, 100, None)
    assert api["counts"]("demo_take") == (3, 6) and api["counts"]("demo_take", 2) == (3, 3)
    assert api["spec_of"]("demo_forget_bias") == {"reference": "demo_forget_bias", "kind": "function",
                                                  "report": ["state", "replaced"], "observe": False, "grad": False}
    assert api["spec_of"]("demo_chunks")["observe"] and api["spec_of"]("demo_chunks")["grad"]
    assert api["spec_of"]("demo_tagger")["kind"] == "module"


def test_the_worker_reads_a_tests_count_or_leaves_it_to_the_reference():
    from autograder import answers

    src = ("check_function(answer_q1, 'a.q1', 'r')\nexpect_function('a.q1', answer_q1, reference='r', cases=9)\n"
           "expect_module('a.q2', answer_q2, reference='m')\nexpect_function('a.q3', answer_q3, reference='r', "
           "cases='9')\n")
    assert answers.function_calls(src) == {"answer_q1": ("r", 9, None), "answer_q2": ("m", None, None)}
    assert answers.function_calls("expect_function('a.q1', answer_q1, reference='r', key='eJz')") == {
        "answer_q1": ("r", None, "eJz")}


# --- what comes back: results, module reports, exceptions, observations --------------------------------

def probe_one(ns, reference, fn, seed=7, count=6):
    api = ns["_course_answers"]
    plan = wire(api["call_plan"](reference, seed, count))
    return plan, wire(api["probe"](fn, plan["cases"], None, plan["spec"]))


def test_a_mutation_is_reported_as_the_changed_tensors_the_replaced_ones_and_the_grads(ns):
    api = ns["_course_answers"]
    gen = torch.Generator().manual_seed(0)
    lstm = api["case_module"](gen, "LSTM", input_size=2, hidden_size=3, num_layers=2)
    cases = [api["case_data"]([lstm, 1.5])]

    def mutate(lstm, value):
        with torch.no_grad():
            lstm.bias_ih_l1[3:6] = value                         # changed in place
        lstm.bias_hh_l0 = nn.Parameter(lstm.bias_hh_l0.detach() * 2)  # replaced
        lstm(torch.randn(1, 1, 2))[0].sum().backward()           # every parameter now has a .grad
        return None

    spec = {"reference": None, "kind": "function", "report": ["state", "replaced", "grads"], "observe": False,
            "grad": False}
    (entry,) = wire(api["probe"](mutate, cases, None, spec))["results"]
    (report,) = entry["modules"]
    assert sorted(report["changed"]) == ["bias_hh_l0", "bias_ih_l1"]
    assert report["changed"]["bias_ih_l1"]["data"][3:6] == [1.5] * 3
    assert report["replaced"] == ["bias_hh_l0"]
    assert report["grads"] == sorted(lstm.state_dict())
    (clean,) = api["valid_modules"](entry["modules"], cases[0], spec["report"])
    assert clean["state"].keys() == lstm.state_dict().keys()
    assert clean["state"]["weight_ih_l0"] == cases[0][0]["state"]["weight_ih_l0"]  # unchanged: from the case
    assert clean["state"]["bias_ih_l1"] == report["changed"]["bias_ih_l1"]


def test_exceptions_cross_as_type_nearest_builtin_and_a_short_printable_message(ns):
    api = ns["_course_answers"]

    class Mine(ValueError):
        pass

    def raising(x, k):
        raise Mine("bad k\x00\x1b[31m" + "!" * 500)

    _, calls = probe_one(ns, "demo_take", raising, count=1)
    entry = calls["results"][0]
    assert entry["error"] == "Mine" and entry["base"] == "ValueError"
    assert entry["message"].startswith("bad k ") and len(entry["message"]) == 160
    assert all(ch.isprintable() for ch in entry["message"])
    clean = api["valid_calls"]({"kind": "calls", "results": [dict(entry, message="\n" * 999, base="Sk_" * 20)]},
                               [[]], {"kind": "function"})
    assert clean["results"][0]["message"] == " " * 160 and clean["results"][0]["base"] is None


def test_must_raise_accepts_the_declared_type_or_a_subclass_and_names_the_rest(ns):
    expect = ns["expect_function"]
    expect("t.q4", answer(ns, 4), reference="demo_take")
    answer(ns, 4, "class Mine(ValueError):\n    pass\n" + channel_demo.SOLUTIONS[4].replace("raise ValueError",
                                                                                          "raise Mine"))
    expect("t.q4", ns["take"], reference="demo_take")
    assert "must raise ValueError" in fails(expect, "t.q4", answer(ns, 4, "def take(x, k):\n    return x[:k]"),
                                            reference="demo_take")
    message = fails(expect, "t.q4", answer(ns, 4, "def take(x, k):\n    if k < 1 or k > len(x):\n"
                                                  "        raise KeyError(k)\n    return x[:k]"), reference="demo_take")
    assert "must raise ValueError" in message


def test_a_hint_is_chosen_by_the_exceptions_message(ns):
    code, words = channel_demo.MISTAKES["mistakes-b"][1]
    assert words in fails(ns["expect_function"], "t.q1", answer(ns, 1, code), reference="demo_forget_bias")
    other = "def forget_bias(lstm, value):\n    raise RuntimeError('something else')"
    assert "raised RuntimeError" in fails(ns["expect_function"], "t.q1", answer(ns, 1, other),
                                          reference="demo_forget_bias")


def test_the_observe_hook_reports_extra_data_with_the_result(ns):
    plan, calls = probe_one(ns, "demo_chunks", answer(ns, 5))
    for case, entry in zip(plan["cases"], calls["results"]):
        norms = entry["extra"]["norms"]
        steps, k = case[1]["shape"][0], case[2]["v"]
        start = ((steps - 1) // k) * k
        assert len(norms) == steps and all(v == 0.0 for v in norms[:start]) and all(v > 0 for v in norms[start:])
    plan, calls = probe_one(ns, "demo_generate", answer(ns, 6))
    assert all(entry["extra"]["lengths"][1:] == [1] * (len(entry["extra"]["lengths"]) - 1)
               and entry["extra"]["lengths"][0] == len(case[1]["data"])
               for case, entry in zip(plan["cases"], calls["results"]))
    api = ns["_course_answers"]
    assert api["extra_data"]({"a": [1, 2.5, float("nan")], "b": (True, None)}) == {"a": [1, 2.5, "nan"],
                                                                                  "b": [True, None]}
    with pytest.raises(ValueError):
        api["extra_data"]([0.0] * 20_000)


def test_a_note_on_a_correct_answer_is_printed_with_its_point(ns, capsys):
    from course.visible_cases import visible_data

    data = visible_data(ns["_course_answers"], "demo_generate", "t.q6")
    code, _ = channel_demo.MISTAKES["mistakes-a"][6]
    ns["check_function"](answer(ns, 6, code), "t.q6", "demo_generate", data)
    assert channel_demo.NOTE in capsys.readouterr().out
    ns["check_function"](answer(ns, 6), "t.q6", "demo_generate", data)
    assert capsys.readouterr().out == "Correct! (t.q6)\n"


# --- forged or oversized data is only a wrong answer ------------------------------------------------------

def forged(ns, reference, change, seed=3):
    """The verdict on the right answer's plain data with `change(entry)` applied to its first result."""
    plan, calls = probe_one(ns, reference, answer(ns, next(n for n, _, r, *_ in channel_demo.EXERCISES
                                                            if r == reference)), seed=seed)
    change(calls["results"][0])
    api = ns["_course_answers"]
    api["set_seed"](seed)
    try:
        return fails(ns["expect_function"], "t.q", api["received"](calls), reference=reference)
    finally:
        api["set_seed"](None)


def test_the_right_answers_plain_data_passes_from_a_received_answer(ns):
    api = ns["_course_answers"]
    for n, _, reference, kind, _ in channel_demo.EXERCISES:
        plan, calls = probe_one(ns, reference, answer(ns, n), seed=11)
        api["set_seed"](11)
        (ns["expect_module"] if kind == "module" else ns["expect_function"])("t.q", api["received"](calls),
                                                                             reference=reference)
    api["set_seed"](None)


@pytest.mark.parametrize("reference, change", [
    ("demo_forget_bias", lambda e: e["modules"].append({})),                         # a module that isn't there
    ("demo_forget_bias", lambda e: e["modules"][0]["keys"].append("bias_ih_l9")),    # a key from nowhere
    ("demo_forget_bias", lambda e: e["modules"][0]["changed"].update(x={"t": "tensor", "dtype": "float32",
                                                                        "shape": [1], "data": [0.0]})),
    ("demo_forget_bias", lambda e: e["modules"][0].update(replaced=["no such name!"])),
    ("demo_forget_bias", lambda e: e["modules"][0].update(replaced="bias_ih_l0")),
    ("demo_forget_bias", lambda e: e["modules"][0]["changed"].update(
        {k: {"t": "tensor", "dtype": "float32", "shape": [10 ** 6], "data": []} for k in ["bias_ih_l0"]})),
    ("demo_grad_norms", lambda e: e.update(modules=[{"grads": list(range(100))}])),
    ("demo_chunks", lambda e: e["extra"].update(norms=[0.0] * 20_000)),               # oversized
    ("demo_chunks", lambda e: e["extra"].update(norms="0, 0, 0")),                    # not numbers
    ("demo_chunks", lambda e: e.update(extra={"a" * 40: 1})),                          # not a name
    ("demo_chunks", lambda e: e.update(extra=[[[[[[1]]]]]])),                          # too deep
    ("demo_chunks", lambda e: e.pop("extra")),
])
def test_forged_or_oversized_reports_are_refused(ns, reference, change):
    assert "could not read" in forged(ns, reference, change)


def test_a_forged_observation_is_judged_by_the_reference(ns):
    message = forged(ns, "demo_chunks", lambda e: e["extra"].update(norms=[1.0] * len(e["extra"]["norms"])))
    assert "reaches the steps before it" in message


def test_the_checks_refuse_what_valid_extra_refuses(base):
    api = base["_course_answers"]
    invalid = api["INVALID"]
    assert api["valid_extra"]({"n": [1, 2.5, "nan", None, True], "d": {"x": 1}}) == {"n": [1, 2.5, "nan", None, True],
                                                                                     "d": {"x": 1}}
    for bad in (float("nan"), "text", 2 ** 60, {"k": object()}, {i: 1 for i in range(3)},
                {f"k{i}": 0 for i in range(17)}, [0] * 10_001):
        assert api["valid_extra"](bad) is invalid, bad


# --- references with autograd; what a student's cells change after the checks cell --------------------------

def test_a_reference_may_run_with_grad_and_runs_without_by_default(base):
    trusted = base["_course_answers"]["trusted"]
    assert trusted(torch.is_grad_enabled) is False and trusted(torch.is_grad_enabled, grad=True) is True
    x = torch.ones(3, requires_grad=True)
    (g,) = trusted(lambda v: torch.autograd.grad((v * v).sum(), v), x, grad=True)
    assert torch.equal(g, 2 * torch.ones(3))


def test_references_compare_in_log10_so_zeros_cannot_pass(base):
    compare = base["_course_answers"]["log10_close"](1e-3)
    want = torch.tensor([1e-8, 1e-3, 1.0], dtype=torch.float64)
    assert compare(want * (1 + 1e-4), want) and not compare(torch.zeros(3, dtype=torch.float64), want)
    assert not compare(want * 1.01, want)


def test_after_seal_a_students_cell_cannot_swap_hooks_or_classes(ns):
    api = ns["_course_answers"]
    plan = wire(api["call_plan"]("demo_chunks", 7, 6))  # in the grader, the worker made it
    api["seal"]()
    api["references"]["demo_chunks"]["observe"] = lambda answer, *args: (answer(*args), {"norms": "forged"})
    api["module_classes"]["LSTM"] = nn.GRU
    calls = wire(api["probe"](answer(ns, 5), plan["cases"], None, plan["spec"]))
    assert all(type(e["extra"]["norms"]) is list for e in calls["results"])
    lstm, *_ = api["data_case"](plan["cases"][0])
    assert type(lstm) is nn.LSTM


def test_a_patched_class_cannot_lie_about_the_modules_state(ns):
    """The child reads a module's tensors from the instance's own dicts, never through its class's methods."""
    from corpus import channel_attack

    api = ns["_course_answers"]
    plan = wire(api["call_plan"]("demo_forget_bias", 2, 6))
    _, code = channel_attack("c01-patch-module-class")
    saved = {k: nn.LSTM.__dict__.get(k) for k in ("state_dict", "named_parameters")}
    try:
        exec(code, ns)
        calls = wire(api["probe"](ns["answer_q1"], plan["cases"], None, plan["spec"]))
        lstm, value = api["data_case"](plan["cases"][0])
        ns["answer_q1"](lstm, value)
        claimed = lstm.state_dict()  # what the patched class says
    finally:
        for k, v in saved.items():
            if v is None:
                delattr(nn.LSTM, k)
            else:
                setattr(nn.LSTM, k, v)
    assert not torch.equal(claimed["bias_ih_l0"], lstm.bias_ih_l0)
    assert all(e["modules"][0]["changed"] == {} and e["modules"][0]["replaced"] == []
               for e in calls["results"] if "modules" in e)
    api["set_seed"](2)
    assert "should be `value`" in fails(ns["expect_function"], "t.q1", api["received"](calls),
                                        reference="demo_forget_bias")
    api["set_seed"](None)


def test_each_call_is_timed_and_a_class_that_hangs_while_rebuilt_is_stopped(ns):
    from autograder.sandbox import _call_guard

    api = ns["_course_answers"]
    plan = api["call_plan"]("demo_grad_norms", 1, 2)
    mask, handler = signal.pthread_sigmask(signal.SIG_BLOCK, []), signal.getsignal(signal.SIGALRM)
    saved = nn.RNN.__init__
    try:
        forever = wire(api["probe"](lambda m, x: [None for _ in iter(int, 1)], plan["cases"], _call_guard(0.2),
                                    plan["spec"]))
        nn.RNN.__init__ = lambda self, *a, **k: [None for _ in iter(int, 1)]
        stuck = wire(api["probe"](answer(ns, 2), plan["cases"][:1], _call_guard(0.2), plan["spec"]))
    finally:
        nn.RNN.__init__ = saved
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        signal.signal(signal.SIGALRM, handler)
    assert [e["error"] for e in forever["results"]] == ["CallTimeout", "CallTimeout"]
    assert stuck["results"][0]["error"] == "CallTimeout" and stuck["results"][0]["phase"] == "arguments"
