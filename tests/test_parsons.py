"""course/parsons.py ("put the lines in order"): orders are judged by running them, refusals are clear,
the widget is driven with its list and buttons to "correct", and notebooks/parsons.ipynb runs in a kernel.

Paths can be pointed elsewhere (for a run outside the repo): COURSE_DIR (the folder holding parsons.py),
COURSE_ROOT (the repo, for course.build and autograder) and PARSONS_NOTEBOOK."""
import os
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
COURSE_ROOT = Path(os.environ.get("COURSE_ROOT", ROOT))
COURSE_DIR = Path(os.environ.get("COURSE_DIR", COURSE_ROOT / "course"))
MODULE = COURSE_DIR / "parsons.py"
NOTEBOOK = Path(os.environ.get("PARSONS_NOTEBOOK", COURSE_ROOT / "notebooks" / "parsons.ipynb"))
if str(COURSE_ROOT) not in sys.path:
    sys.path.insert(0, str(COURSE_ROOT))

# The programs, written out here on purpose: the test states what a right answer is.
SOLUTIONS = {
    1: ["lstm = nn.LSTM(input_size=3, hidden_size=5, batch_first=True)",
        "x = torch.randn(2, 7, 3)  # (batch, steps, features)",
        "output, (h_n, c_n) = lstm(x)",
        "last = output[:, -1, :]",
        'print("output:", tuple(output.shape))',
        'print("last step:", tuple(last.shape))'],
    2: ["class Classifier(nn.Module):",
        "    def __init__(self, n_features, hidden, n_classes):",
        "        super().__init__()",
        "        self.lstm = nn.LSTM(n_features, hidden, batch_first=True)",
        "        self.head = nn.Linear(hidden, n_classes)",
        "    def forward(self, x):",
        "        output, (h_n, c_n) = self.lstm(x)",
        "        return self.head(h_n[-1])",
        "model = Classifier(3, 8, 4)",
        'print("scores:", tuple(model(torch.randn(5, 6, 3)).shape))'],
    3: ["model = Classifier(3, 8, 2)",
        "optimizer = torch.optim.Adam(model.parameters(), lr=0.01)",
        "loss_fn = nn.CrossEntropyLoss()",
        "optimizer.zero_grad()",
        "loss = loss_fn(model(x), y)",
        "loss.backward()",
        "optimizer.step()",
        'print("loss before the step:", round(loss.item(), 4))'],
    4: ["lstm = nn.LSTM(2, 6, batch_first=True)",
        "long_x = torch.randn(1, 60, 2)",
        "state = None",
        "outputs = []",
        "for chunk in long_x.split(20, dim=1):",
        "    out, state = lstm(chunk, state)",
        "    state = tuple(s.detach() for s in state)",
        "    outputs.append(out)",
        "whole = torch.cat(outputs, dim=1)",
        'print(len(outputs), "chunks joined:", tuple(whole.shape))'],
    5: ["gen = torch.Generator().manual_seed(0)",
        "ids = torch.tensor([[1, 2]])  # the prompt, a batch of one",
        "logits, state = model(ids)",
        "chosen = []",
        "for step in range(6):",
        "    probs = torch.softmax(logits[0, -1] / 0.8, dim=0)",
        "    next_id = torch.multinomial(probs, 1, generator=gen)",
        "    chosen.append(int(next_id))",
        "    logits, state = model(next_id.view(1, 1), state)",
        'print("sampled:", chosen)'],
}
# Other correct programs (indices into SOLUTIONS[k]): independent lines swapped, or moved.
ALTERNATIVES = {
    1: [[1, 0, 2, 3, 4, 5], [0, 1, 2, 4, 3, 5]],
    2: [[0, 1, 2, 4, 3, 5, 6, 7, 8, 9], [0, 5, 6, 7, 1, 2, 3, 4, 8, 9]],  # head first; forward before __init__
    3: [[2, 0, 1, 3, 4, 5, 6, 7], [0, 1, 2, 4, 5, 6, 3, 7], [0, 2, 4, 5, 1, 6, 3, 7]],  # zero_grad last; late Adam
    4: [[3, 2, 1, 0, 4, 5, 6, 7, 8, 9], [0, 1, 2, 3, 4, 5, 7, 6, 8, 9]],
    5: [[1, 3, 2, 0, 4, 5, 6, 7, 8, 9], [0, 1, 2, 3, 4, 5, 6, 8, 7, 9]],  # the generator late; fed back, then kept
}
# Wrong orders and a stable fragment of what the learner is told.
WRONG = {
    1: [([2, 0, 1, 3, 4, 5], ["Line 1 of your order", "NameError", "lstm"])],
    2: [([0, 1, 3, 2, 4, 5, 6, 7, 8, 9], ["Line 3 of your order", "AttributeError", "__init__"]),
        ([0, 1, 2, 3, 4, 5, 7, 6, 8, 9], ["Line 7 of your order", "h_n"]),
        ([8, 0, 1, 2, 3, 4, 5, 6, 7, 9], ["Line 1 of your order", "NameError", "Classifier"]),
        ([0, 1, 2, 3, 5, 4, 6, 7, 8, 9], ["Line 6 of your order", "NameError", "hidden"]),
        ([1, 0, 2, 3, 4, 5, 6, 7, 8, 9], ["Line 1 of your order", "IndentationError"])],
    3: [([0, 1, 2, 4, 5, 3, 6, 7], ["The program ran, but", "did not change"]),  # zero_grad between backward, step
        ([0, 1, 2, 3, 6, 4, 5, 7], ["The program ran, but", "did not change"])],  # step before the loss
    4: [([0, 1, 2, 3, 4, 6, 5, 7, 8, 9], ["Line 6 of your order", "TypeError"]),
        ([0, 1, 3, 4, 5, 6, 7, 2, 8, 9], ["Line 5 of your order", "NameError", "state"]),
        ([0, 1, 2, 3, 4, 5, 6, 8, 7, 9], ["Line 9 of your order", "IndentationError"])],
    5: [([0, 1, 2, 3, 4, 6, 5, 7, 8, 9], ["Line 6 of your order", "NameError", "probs"]),
        ([0, 1, 3, 4, 2, 5, 6, 7, 8, 9], ["Line 5 of your order", "IndentationError"]),
        ([0, 1, 2, 4, 5, 6, 7, 8, 3, 9], ["Line 7 of your order", "NameError", "chosen"])],
}


def load():
    ns = {"__name__": "parsons_test"}
    exec(compile(MODULE.read_text(), str(MODULE), "exec"), ns)
    return ns


@pytest.fixture(scope="module")
def parsons():
    return load()


def numbers(parsons, k, texts):
    """The shown line numbers that put the lines in the order of texts."""
    shown = parsons["parsons_problems"]()[k][1]
    return [shown.index(t) + 1 for t in texts]


def test_shown_lines_are_the_program_shuffled_the_same_every_time(parsons):
    again = load()["parsons_problems"]()
    assert set(parsons["parsons_problems"]()) == set(SOLUTIONS) == {1, 2, 3, 4, 5}
    for k, (title, shown) in parsons["parsons_problems"]().items():
        assert 6 <= len(shown) <= 10 and sorted(shown) == sorted(SOLUTIONS[k]), title
        assert shown == again[k][1]  # sha256-drawn, not random
        assert all(a != b for a, b in zip(shown, SOLUTIONS[k])), f"problem {k}: a line was left in place"


def test_correct_orders_pass_and_shown_orders_fail(parsons):
    for k, lines in SOLUTIONS.items():
        ok, message = parsons["check_order"](k, numbers(parsons, k, lines))
        assert ok and message.startswith("Correct!"), message
        ok, message = parsons["check_order"](k, list(range(1, len(lines) + 1)))
        assert not ok and message.startswith("Not yet."), message
    # What the check reports comes from the run: the printed shapes.
    ok, message = parsons["check_order"](1, numbers(parsons, 1, SOLUTIONS[1]))
    assert "output: (2, 7, 5)" in message and "last step: (2, 5)" in message and "equals h_n[-1]: True" in message
    assert "chunks joined: (1, 60, 6)" in parsons["check_order"](4, numbers(parsons, 4, SOLUTIONS[4]))[1]


def test_other_correct_programs_pass(parsons):
    for k, orders in ALTERNATIVES.items():
        for idx in orders:
            assert idx != list(range(len(SOLUTIONS[k])))
            ok, message = parsons["check_order"](k, numbers(parsons, k, [SOLUTIONS[k][i] for i in idx]))
            assert ok, (k, idx, message)


def test_wrong_orders_are_told_what_went_wrong(parsons):
    for k, cases in WRONG.items():
        for idx, fragments in cases:
            ok, message = parsons["check_order"](k, numbers(parsons, k, [SOLUTIONS[k][i] for i in idx]))
            assert not ok and message.startswith("Not yet.")
            for fragment in fragments:
                assert fragment in message, (k, idx, message)


def test_lists_that_are_not_permutations_are_refused(parsons):
    check = parsons["check_order"]
    for given, fragment in [([1, 2, 3], "missing 4, 5, 6"), ([1, 1, 2, 3, 4, 5], "more than once: 1"),
                            ([0, 1, 2, 3, 4, 5], "no such line: 0"), ([1, 2, 3, 4, 5, 6, 7], "no such line: 7"),
                            ([1.0, 2, 3, 4, 5, 6], "whole line numbers"), ([True, 2, 3, 4, 5, 6], "whole line numbers"),
                            ("123456", "list of line numbers"), (3, "list of line numbers"),
                            (None, "Type your order")]:
        ok, message = check(1, given)
        assert not ok and fragment in message, (given, message)
        assert "each of the numbers 1 to 6 once" in message or "exactly once" in message
    assert check(1, (6, 5, 4, 3, 2, 1))[1].startswith("Not yet.")  # a tuple is a list of numbers too
    with pytest.raises(ValueError, match="problems 1 to 5"):
        check(6, [1])


def test_text_interface_prints(parsons, capsys):
    parsons["show_problem"](3)
    out = capsys.readouterr().out
    assert out.startswith("Problem 3: One training step") and "Already defined for you" in out
    assert "1 | " in out and "order(3, [...])" in out
    parsons["order"](2, None)
    assert capsys.readouterr().out.startswith("Type your order")
    parsons["order"](2, numbers(parsons, 2, SOLUTIONS[2]))
    assert "scores: (5, 4)" in capsys.readouterr().out


def test_checking_runs_fast_and_leaves_the_learners_random_state_alone(parsons):
    import torch

    for k, lines in SOLUTIONS.items():
        seconds = []
        for _ in range(2):
            start = time.perf_counter()
            assert parsons["check_order"](k, numbers(parsons, k, lines))[0]
            seconds.append(time.perf_counter() - start)
        assert min(seconds) < 1.0, (k, seconds)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    parsons["check_order"](4, numbers(parsons, 4, SOLUTIONS[4]))
    assert torch.equal(torch.rand(3), expected)


def solve_with_buttons(board, target):
    """Move each line of target into place with the list and the up button, as a learner would."""
    for pos, number in enumerate(target):
        if pos % 2:
            board.select.index = board.numbers.index(number)
        else:
            board.select.value = number
        while board.numbers.index(number) > pos:
            board.up.click()
            assert board.select.value == number  # the moved line stays selected


def test_widget_is_driven_to_correct(parsons):
    for k, lines in SOLUTIONS.items():
        board = parsons["parsons_widget"](k)
        n = len(lines)
        assert [value for _, value in board.select.options] == list(range(1, n + 1))
        board.check.click()
        assert "Not yet." in board.feedback.value
        board.select.value = None
        board.up.click()
        assert "Select a line first." in board.feedback.value
        board.select.index = 0
        board.up.click()
        assert "already first" in board.feedback.value
        board.down.click()
        assert board.numbers[:2] == [2, 1] and board.select.value == 1
        assert board.select.options[0][0].startswith("2: ") and f"order({k}, [2, 1," in board.program.value
        board.select.index = n - 1
        board.down.click()
        assert "already last" in board.feedback.value
        target = numbers(parsons, k, lines)
        solve_with_buttons(board, target)
        assert board.numbers == target and f"order({k}, {target})" in board.program.value
        board.check.click()
        assert "Correct!" in board.feedback.value, board.feedback.value
    indented = parsons["parsons_widget"](2).select.options
    assert any(label.split(": ", 1)[1].startswith("\u00a0" * 8) for label, _ in indented)  # indentation shows


def filled_notebook():
    """The notebook with its generated cells filled as `python -m course.build` fills them."""
    from course.build import checks_source

    nb = nbformat.read(NOTEBOOK, as_version=4)
    kinds = [c.metadata.get("course", {}).get("generated") for c in nb.cells]
    assert kinds[0] == "badge" and kinds.count("checks") == 1 and kinds.count("parsons") == 1
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].metadata["course"]["generated"] == "checks" and code[1].metadata["course"]["generated"] == "parsons"
    for cell in code[:2]:
        assert cell.metadata["jupyter"]["source_hidden"] is True
        cell.source = checks_source((), questions=False) if cell is code[0] else MODULE.read_text().rstrip("\n")
    return nb


def test_notebook_runs_top_to_bottom_and_its_widgets_work(tmp_path, parsons):
    nb = filled_notebook()
    for k in SOLUTIONS:
        sources = [c.source for c in nb.cells if c.cell_type == "code"]
        assert f"show_problem({k})" in sources and f"order({k}, None)  # your order" in sources
        assert f"parsons_widget({k})" in sources
    target = numbers(parsons, 2, SOLUTIONS[2])
    nb.cells.append(nbformat.v4.new_code_cell(
        f"board = parsons_widget(2)\nfor pos, number in enumerate({target}):\n"
        "    board.select.value = number\n"
        "    while board.numbers.index(number) > pos:\n        board.up.click()\n"
        "board.check.click()\nprint('PARSONS', 'Correct!' in board.feedback.value)\n"
        f"order(1, {numbers(parsons, 1, SOLUTIONS[1])})"))
    try:
        from autograder.kernels import SlicedKernelManager
        extra = {"kernel_manager_class": SlicedKernelManager}
    except ImportError:
        extra = {}
    start = time.perf_counter()
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}},
                   **extra).execute()
    print(f"notebook executed in {time.perf_counter() - start:.1f} s")
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert not [o for o in outputs if o.get("name") == "stderr"], [o.text for o in outputs if o.get("name") == "stderr"]
    for k in SOLUTIONS:
        cell = next(c for c in nb.cells if c.cell_type == "code" and c.source == f"parsons_widget({k})")
        bundles = [o["data"] for o in cell.outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
        assert len(bundles) == 1 and len(cell.outputs) == 1  # the widget once, nothing else
        assert f"problem {k}" in bundles[0]["text/plain"] and f"order({k}, [...])" in bundles[0]["text/plain"]
        asked = next(c for c in nb.cells if c.cell_type == "code" and c.source.startswith(f"order({k}, None)"))
        assert "".join(o.get("text", "") for o in asked.outputs).startswith("Type your order")
        shown = next(c for c in nb.cells if c.cell_type == "code" and c.source == f"show_problem({k})")
        assert "".join(o.get("text", "") for o in shown.outputs).startswith(f"Problem {k}: ")
    last = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    assert "PARSONS True" in last and "Correct!" in last and "last step: (2, 5)" in last
