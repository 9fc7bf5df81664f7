"""The answer checks every lesson carries (course/checks.py): judged by meaning, hard to fool in-kernel."""
import builtins
from pathlib import Path

import pytest
import torch
from torch import nn

CHECKS = Path(__file__).resolve().parent.parent / "course" / "checks.py"
SOURCE = __import__("course.build", fromlist=["checks_source"]).checks_source(None)  # what a checks cell holds


@pytest.fixture
def ns():
    """A fresh notebook-like namespace with the checks cell already run."""
    namespace = {"__name__": "__main__"}
    exec(compile(SOURCE, str(CHECKS), "exec"), namespace)
    return namespace


def fails(fn, *args, **kwargs):
    with pytest.raises(AssertionError) as info:
        fn(*args, **kwargs)
    return str(info.value)


# --- shapes -------------------------------------------------------------------------------------

@pytest.mark.parametrize("spelling", [(4, 2, 3), [4, 2, 3], torch.Size([4, 2, 3])])
def test_shape_accepts_tuple_list_and_size(ns, spelling):
    ns["expect_shape"]("t.q1", spelling, (4, 2, 3))


def test_shape_mistake_gets_its_hint_and_never_the_answer(ns):
    message = fails(ns["expect_shape"], "t.q1", (2, 4, 3), (4, 2, 3), mistakes=[((2, 4, 3), "swapped batch and seq")])
    assert message == "swapped batch and seq"
    generic = fails(ns["expect_shape"], "t.q1", (9, 9, 9), (4, 2, 3), mistakes=[((2, 4, 3), "swapped")])
    assert "4, 2, 3" not in generic and "(4" not in generic


@pytest.mark.parametrize("bad", [(4.0, 2, 3), (True, 2, 3), ("4", 2, 3), 423, None, ...])
def test_shape_rejects_non_int_sizes_and_other_types(ns, bad):
    message = fails(ns["expect_shape"], "t.q1", bad, (4, 2, 3))
    assert message


def test_visible_check_matches_hidden_expectation(ns):
    key = ns["answer_digest"]("t.q1", ns["describe_answer"]((4, 2, 3)))
    ns["check"]((4, 2, 3), "t.q1", key)
    wrong = ns["answer_digest"]("t.q1", ns["describe_answer"]((2, 4, 3)))
    sealed = ns["_course_answers"]["seal_hint"]("t.q1", ns["describe_answer"]((2, 4, 3)), "swapped")  # as build writes it
    assert fails(ns["check"], (2, 4, 3), "t.q1", key, {wrong: sealed}) == "swapped"
    # Keys are salted per question: the same shape elsewhere gives another key.
    assert ns["answer_digest"]("t.q2", ns["describe_answer"]((4, 2, 3))) != key
    assert key.startswith("shape:") and "4" not in key.split(":")[0]


def test_wrong_kind_is_named(ns):
    key = ns["answer_digest"]("t.q1", ns["describe_answer"]((4, 2, 3)))
    assert "shape" in fails(ns["check"], "B", "t.q1", key)


# --- multiple choice ----------------------------------------------------------------------------

@pytest.mark.parametrize("spelling", ["B", "b", " B ", "(B)", "B."])
def test_choice_normalises_spelling(ns, spelling):
    ns["expect_choice"]("t.q2", spelling, "B")


@pytest.mark.parametrize("bad", ["AB", "", "B or C", 2])
def test_choice_rejects_non_letters(ns, bad):
    fails(ns["expect_choice"], "t.q2", bad, "B")


# --- constructor answers ------------------------------------------------------------------------

@pytest.mark.parametrize("build", [
    lambda: nn.LSTM(8, 12),
    lambda: nn.LSTM(input_size=8, hidden_size=12),
    lambda: nn.LSTM(hidden_size=12, input_size=8),
    lambda: nn.LSTM(8, 12, 1, True, False, 0.0, False, 0),
    lambda: nn.LSTM(8, 12, num_layers=1, bias=True, batch_first=False, dropout=0, bidirectional=False, proj_size=0),
    lambda: torch.nn.modules.rnn.LSTM(8, 12),
])
def test_equivalent_spellings_get_full_credit(ns, build):
    ns["expect_lstm"]("t.q3", build(), {"input_size": 8, "hidden_size": 12})


@pytest.mark.parametrize("build, why", [
    (lambda: nn.LSTM(12, 8), "swapped"),
    (lambda: nn.LSTM(8, 6, bidirectional=True), "same output width (12), different layer"),
    (lambda: nn.LSTM(6, 12), "seq_len used as input_size"),
    (lambda: nn.LSTM(8, 12, batch_first=True), "an extra setting"),
    (lambda: nn.LSTM(8, 24, proj_size=12), "same output width via projection"),
    (lambda: nn.GRU(8, 12), "another layer type"),
])
def test_different_layers_get_no_credit(ns, build, why):
    fails(ns["expect_lstm"], "t.q3", build(), {"input_size": 8, "hidden_size": 12})


def test_tampered_attributes_are_caught(ns):
    layer = nn.LSTM(8, 6)
    layer.hidden_size = 12  # reads back right, but the weights are for 6
    assert "weights" in fails(ns["expect_lstm"], "t.q3", layer, {"input_size": 8, "hidden_size": 12})


def test_subclass_lying_about_itself_gets_nothing(ns):
    class Liar(nn.LSTM):
        def __eq__(self, other):
            return True

        __hash__ = nn.LSTM.__hash__

    fails(ns["expect_lstm"], "t.q3", Liar(8, 12), {"input_size": 8, "hidden_size": 12})


def test_proj_layer_is_checked_without_writing_to_stderr(ns, capfd):
    ns["expect_lstm"]("t.q4", nn.LSTM(16, 32, proj_size=8), {"input_size": 16, "hidden_size": 32, "proj_size": 8})
    assert capfd.readouterr().err == ""


# --- generic cheats that need no knowledge of the answer --------------------------------------

class EqualsAnything:
    def __eq__(self, other):
        return True

    def __hash__(self):
        return 0


class SneakyTuple(tuple):
    def __eq__(self, other):
        return True

    __hash__ = tuple.__hash__


class SneakyInt(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


@pytest.mark.parametrize("cheat", [EqualsAnything(), SneakyTuple((0,)), (SneakyInt(0), SneakyInt(0), SneakyInt(0)),
                                   SneakyTuple((SneakyInt(0),))])
def test_answers_that_compare_equal_to_anything_fail(ns, cheat):
    fails(ns["expect_shape"], "t.q1", cheat, (4, 2, 3))
    key = ns["answer_digest"]("t.q1", ns["describe_answer"]((4, 2, 3)))
    fails(ns["check"], cheat, "t.q1", key)


def test_patched_builtins_and_torch_after_the_checks_cell_do_not_help(ns):
    # Everything a cheat could patch once the (locked, first) checks cell has run. Patched by hand
    # and restored at once: pytest itself needs the real builtins.
    patches = [(builtins, "type", lambda obj: tuple), (builtins, "tuple", SneakyTuple),
               (builtins, "isinstance", lambda *a: True), (builtins, "all", lambda *a: True),
               (builtins, "len", lambda obj: 1), (torch, "allclose", lambda *a, **k: True),
               (torch, "equal", lambda *a, **k: True), (torch, "Size", SneakyTuple)]
    saved = [(obj, name, getattr(obj, name)) for obj, name, _ in patches]
    outcomes = []
    try:
        for obj, name, value in patches:
            setattr(obj, name, value)
        for answer in (EqualsAnything(), SneakyTuple((1,)), SneakyTuple((4, 2, 3))):
            try:
                ns["expect_shape"]("t.q1", answer, (4, 2, 3))
                outcomes.append("pass")
            except Exception:  # an error in a test cell scores 0 too
                outcomes.append("fail")
    finally:
        for obj, name, value in saved:
            setattr(obj, name, value)
    assert outcomes == ["fail", "fail", "fail"]


def test_rebinding_names_in_the_notebook_namespace_does_not_help(ns):
    exec("type = lambda obj: tuple\ntuple = list\nisinstance = lambda *a: True", ns)
    fails(ns["expect_shape"], "t.q1", EqualsAnything(), (4, 2, 3))


def test_replacing_nn_lstm_does_not_fool_the_type_check(ns, monkeypatch):
    class Fake(nn.Module):
        input_size, hidden_size = 8, 12

    monkeypatch.setattr(nn, "LSTM", Fake)
    monkeypatch.setattr(torch.nn.modules.rnn, "LSTM", Fake)
    fails(ns["expect_lstm"], "t.q3", Fake(), {"input_size": 8, "hidden_size": 12})


def test_patched_forward_on_the_real_class_does_not_help_a_wrong_layer(ns, monkeypatch):
    wrong = nn.LSTM(8, 6, bidirectional=True)
    monkeypatch.setattr(nn.LSTM, "__getattr__", lambda self, name: 12 if name == "hidden_size" else None,
                        raising=False)
    fails(ns["expect_lstm"], "t.q3", wrong, {"input_size": 8, "hidden_size": 12})


def test_checks_return_none_so_nbgrader_never_sees_partial_credit(ns, capsys):
    key = ns["answer_digest"]("t.q1", ns["describe_answer"]((4, 2, 3)))
    assert ns["check"]((4, 2, 3), "t.q1", key) is None
    assert "Correct!" in capsys.readouterr().out
    assert ns["expect_shape"]("t.q1", (4, 2, 3), (4, 2, 3)) is None


def test_checking_does_not_shift_the_notebooks_random_numbers(ns):
    layer = nn.LSTM(3, 4, num_layers=2, dropout=0.5)  # train mode: its forward draws dropout masks
    torch.manual_seed(1)
    expected = torch.rand(3)
    torch.manual_seed(1)
    ns["expect_lstm"]("t.q5", layer, {"input_size": 3, "hidden_size": 4, "num_layers": 2, "dropout": 0.5})
    assert torch.equal(torch.rand(3), expected)


# --- the messages a student reads ----------------------------------------------------------------

@pytest.mark.parametrize("check, answer, wanted, says", [
    # What the question wants, what it got, and the fix: never a message meant for another kind.
    ("shape", "(4, 2, 3)", "a shape", "looks like a shape. Remove the quotes"),
    ("choice", ["C"], "the letter of one option (A, B, C, D)", "a list holding a letter. Write the letter alone"),
    ("shape", torch.zeros(4, 2, 3), "a shape", "a float32 tensor of shape (4, 2, 3). If you meant the tensor's shape, use tuple(x.shape)"),
    ("shape", 5, "a shape", "A shape is a tuple even when it has one axis"),
    ("lstm", nn.GRU(8, 12), "an nn.LSTM layer", "a module of type GRU"),
])
def test_a_wrong_kind_says_what_this_question_wants_and_how_to_fix_it(ns, check, answer, wanted, says):
    expect = {"shape": lambda a: ns["expect_shape"]("t.q1", a, (4, 2, 3)),
              "choice": lambda a: ns["expect_choice"]("t.q2", a, "C"),
              "lstm": lambda a: ns["expect_lstm"]("t.q3", a, {"input_size": 8, "hidden_size": 12})}[check]
    message = fails(expect, answer)
    assert f"This question wants {wanted}" in message and says in message, message
    assert "multiple-choice" not in message or check != "shape"


def test_a_letter_outside_the_options_is_named():
    ns = {"__name__": "__main__"}
    exec(compile(SOURCE, str(CHECKS), "exec"), ns)
    assert fails(ns["expect_choice"], "t.q2", "E", "C") == "'E' is not one of this question's options: choose A, B, C or D."
    assert "not one of" in fails(ns["expect_choice"], "t.q2", "D", "B", options="ABC")


def test_dtype_is_compared_and_named(ns):
    message = fails(ns["expect_lstm"], "t.q3", nn.LSTM(8, 12, dtype=torch.float64), {"input_size": 8, "hidden_size": 12})
    assert "float64" in message and "default dtype (float32)" in message


def test_a_failed_check_shows_its_message_alone_in_a_kernel(tmp_path):
    """No 15-line traceback through the checker: Jupyter shows WrongAnswer and the message."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SOURCE),
                                         nbformat.v4.new_code_cell("expect_shape('t.q1', (2, 4, 3), (4, 2, 3))")])
    NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    (error,) = [o for o in nb.cells[1].outputs if o.output_type == "error"]
    assert error.ename == "WrongAnswer" and isinstance(error.evalue, str) and error.evalue
    assert len(error.traceback) == 1 and "WrongAnswer" in error.traceback[0]
    assert "_install_checks" not in "".join(error.traceback) and "File " not in "".join(error.traceback)


# --- function answers -------------------------------------------------------------------------------

def good_step(x, h, c, w_ih, w_hh, b_ih, b_hh):
    z = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
    i, f, g, o = z.chunk(4, dim=1)
    c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_next), c_next


@pytest.mark.parametrize("alias", [
    lambda x, h, c, *w: torch.lstm_cell(x, (h, c), *w),
    lambda x, h, c, *w: tuple(torch.ops.aten.lstm_cell(x, [h, c], *w)),
    lambda x, h, c, *w: torch.ops.aten.lstm_cell.default(x, [h, c], *w),
    lambda x, h, c, *w: torch._C._VariableFunctions.lstm_cell(x, (h, c), *w),
    lambda x, h, c, *w: torch._VF.lstm_cell(x, (h, c), *w),
    lambda x, h, c, *w: getattr(torch, "lstm" + "_cell")(x, (h, c), *w),
    lambda x, h, c, *w: nn.LSTMCell(x.shape[1], h.shape[1])(x, (h, c)),
    lambda x, h, c, *w: tuple(t[0] for t in nn.LSTM(x.shape[1], h.shape[1])(x.unsqueeze(0))[1]),
], ids=["torch.lstm_cell", "aten", "aten.default", "_VariableFunctions", "_VF", "getattr", "nn.LSTMCell", "nn.LSTM"])
def test_calling_pytorchs_own_lstm_earns_nothing(ns, alias):
    message = fails(ns["expect_function"], "t.q8", alias, reference="lstm_step")
    assert "PyTorch's own LSTM" in message


def test_a_hand_written_step_passes_and_classic_mistakes_are_named(ns):
    ns["expect_function"]("t.q8", good_step, reference="lstm_step", cases=12)
    swapped = lambda *a: good_step(*a)[::-1]
    one_bias = lambda x, h, c, w_ih, w_hh, b_ih, b_hh: good_step(x, h, c, w_ih, w_hh, b_ih, b_hh * 0)
    untransposed = lambda x, h, c, w_ih, w_hh, b_ih, b_hh: good_step(x, h, c, w_ih.T, w_hh, b_ih, b_hh)
    assert "swapped" in fails(ns["expect_function"], "t.q8", swapped, reference="lstm_step")
    assert "two biases" in fails(ns["expect_function"], "t.q8", one_bias, reference="lstm_step")
    assert "transpose" in fails(ns["expect_function"], "t.q8", untransposed, reference="lstm_step")


def test_the_cases_are_random_sizes_and_the_same_for_a_seed(ns):
    api = ns["_course_answers"]
    one, two = api["cases"]("lstm_step", 7, 30), api["cases"]("lstm_step", 7, 30)
    assert all(torch.equal(a, b) for case_a, case_b in zip(one, two) for a, b in zip(case_a, case_b))
    sizes = {(x.shape[0], x.shape[1], h.shape[1]) for x, h, *_ in one}
    assert len(sizes) > 20  # not one fixed example
    assert all(1 <= n <= 8 and 1 <= h_in <= 16 and 1 <= h <= 16 and h_in != h for n, h_in, h in sizes)
    assert all(x.dtype == torch.float32 for x, *_ in one)
    assert api["cases"]("lstm_step", 8, 1)[0][0].shape != one[0][0].shape or \
        not torch.equal(api["cases"]("lstm_step", 8, 1)[0][0], one[0][0])


def test_the_answer_runs_before_the_reference_is_computed(ns):
    """A function that reads its callers' frames finds no result to copy: none exists yet."""
    import sys

    def snoop(x, h, c, *w):
        frame, found = sys._getframe(1), []
        while frame is not None:
            found += [v for v in frame.f_locals.values() if isinstance(v, tuple) and len(v) == 2
                      and all(isinstance(t, torch.Tensor) and t.shape == h.shape for t in v)]
            frame = frame.f_back
        return found[0] if found else (torch.zeros_like(h), torch.zeros_like(c))

    fails(ns["expect_function"], "t.q8", snoop, reference="lstm_step")


# --- what the learner reads (issue 15) ----------------------------------------------------------------

def test_a_visible_checks_messages_are_sealed_and_open_only_for_their_own_answer(ns):
    api = ns["_course_answers"]
    describe, digest = ns["describe_answer"], ns["answer_digest"]
    key = digest("t.q2", describe("C"))
    sealed = {digest("t.q2", describe(letter)): api["seal_hint"]("t.q2", describe(letter), f"option {letter} is wrong")
              for letter in "ABD"}
    assert not any("option" in text or "wrong" in text for text in sealed.values())
    for letter in "ABD":
        assert fails(ns["check"], letter, "t.q2", key, sealed, options="ABCD") == f"option {letter} is wrong"
    ns["check"]("C", "t.q2", key, sealed, options="ABCD")
    # A message sealed for one answer does not open for another, nor for the same answer of another question.
    crossed = {digest("t.q2", describe("A")): sealed[digest("t.q2", describe("B"))]}
    assert "option" not in fails(ns["check"], "A", "t.q2", key, crossed, options="ABCD")


def test_a_list_for_a_tensor_question_is_not_called_a_shape(ns):
    message = fails(ns["expect_tensor"], "t.q2", [3, 3, 2, 1], [3, 3, 2, 1])
    assert "Your answer is a tuple or list of whole numbers." in message and "a shape" not in message
    assert "torch.tensor([...])" in message


def float64_step(x, h, c, w_ih, w_hh, b_ih, b_hh):
    h_next, c_next = good_step(x, h, c, w_ih, w_hh, b_ih, b_hh)
    return h_next.double(), c_next.double()


def test_a_right_step_in_float64_is_told_to_keep_float32_and_names_keep_their_case(ns):
    message = fails(ns["expect_function"], "t.q8", float64_step, reference="lstm_step")
    assert message.startswith("Its values are right, but h_next is float64: keep the dtype of the inputs, float32")
    wrong = lambda *a: tuple(t * 2 for t in float64_step(*a))
    assert fails(ns["expect_function"], "t.q8", wrong, reference="lstm_step").startswith("h_next is float64;")


def test_function_checks_point_to_the_hints_when_the_notebook_has_them(ns):
    api = ns["_course_answers"]
    api["set_hints"]({"q8": ["a nudge", "the rule", {"text": "an example", "code": "print(1)"}]})
    message = fails(api["check_function"], lambda *a: good_step(*a)[::-1], "t.q8", "lstm_step")
    assert "swapped" in message and message.endswith("Stuck? hint('q8') shows a hint.")


def last_valid_without_lengths(output, lengths, batch_first=True):
    """The cheat: each sequence's last step whose features are not all zero; lengths never read."""
    rows = output if batch_first else output.transpose(0, 1)
    real = (rows != 0).any(-1)
    last = torch.tensor([int(r.nonzero().max()) if r.any() else 0 for r in real])
    return rows[torch.arange(rows.shape[0]), last]


def right_last_valid(output, lengths, batch_first=True):
    rows = output if batch_first else output.transpose(0, 1)
    return rows[torch.arange(rows.shape[0]), torch.as_tensor(lengths) - 1]


@pytest.mark.parametrize("seed", range(20))
def test_last_valid_must_read_lengths(ns, seed):
    """Real steps that are exactly zero and padding that is not: only lengths says where a sequence ends."""
    api = ns["_course_answers"]
    api["set_seed"](seed)
    ns["expect_function"]("t.q6", right_last_valid, reference="last_valid")
    fails(ns["expect_function"], "t.q6", last_valid_without_lengths, reference="last_valid")  # hidden test: 6 cases
    fails(api["check_function"], last_valid_without_lengths, "t.q6", "last_valid")          # visible check: 2
    padding_kinds = set()
    for out, lengths, batch_first in api["cases"]("last_valid", seed, 6):
        rows = out if batch_first else out.transpose(0, 1)
        last = rows[torch.arange(rows.shape[0]), torch.as_tensor(lengths) - 1]
        assert bool((last == 0).all(-1).any())  # a sequence's last real step is all zeros
        padding = torch.cat([rows[n, length:] for n, length in enumerate(lengths)])
        padding_kinds.add("zeros" if bool((padding == 0).all()) else "one value" if len(padding.unique()) == 1
                          else "any numbers")
    assert padding_kinds == {"zeros", "one value", "any numbers"}


def test_last_valid_that_ignores_the_layout_gets_the_layout_hint_even_when_it_fails(ns):
    ignores = lambda output, lengths, batch_first=True: right_last_valid(output, lengths, True)
    api = ns["_course_answers"]
    seen = set()
    for seed in range(30):
        api["set_seed"](seed)
        message = fails(ns["expect_function"], "t.q6", ignores, reference="last_valid")
        assert message.startswith("With batch_first=False, output is (L, N, D*H_out)"), message
        out, lengths, batch_first = api["cases"]("last_valid", seed, 2)[1]
        seen.add("N > L" if len(lengths) > out.shape[0] else "N <= L")
    assert seen == {"N > L", "N <= L"}  # an IndexError (N > L) and a wrong value alike
