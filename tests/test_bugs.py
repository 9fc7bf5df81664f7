"""notebooks/bugs.ipynb's "Spot the bug" (course/bugs.py): every program shows the symptom promised,
every digest stands for the line meant, wrong picks get a nudge and never the answer, correct fixes
(spelled several ways) pass by running and no-op or wrong ones fail with what still fails; and the
notebook runs top to bottom in a real kernel, with nothing on stderr.

COURSE_DIR and BUGS_NOTEBOOK point the tests at another copy (default: this repo's course/ and notebook).
"""
import hashlib
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest
import torch
from torch import nn
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
COURSE = Path(os.environ.get("COURSE_DIR", ROOT / "course"))
NOTEBOOK = Path(os.environ.get("BUGS_NOTEBOOK", ROOT / "notebooks" / "bugs.ipynb"))
MODULE = COURSE / "bugs.py"

# The line each bug is meant to have, and a piece of that line's text, so a program edited without
# its digest fails here.
INTENDED = {1: (5, "torch.stack([start] * L, dim=1)"), 2: (4, "last = output[-1]"),
            3: (5, "final = output[:, -1]"), 4: (5, "h_n.view(N, -1)"), 5: (6, "last = output[:, -1]"),
            6: (6, "lstm(chunk, (h, c))"), 7: (7, "init_hidden(B)"), 8: (2, "nn.LSTM(hidden, features"),
            9: (3, "nn.Sequential(lstm, head)"), 10: (3, "output, (h_n, c_n) = gru(x)"),
            11: (4, "for layer in range(1):"), 12: (5, "cross_entropy(logits.reshape(-1, 4), tags.reshape(-1))")}
SILENT, LOUD = (1, 2, 3, 4, 5, 10, 11, 12), (6, 7, 8, 9)
COUNT = len(INTENDED)

# Correct fixes, several spellings each; some on another line than the intended one, some indented.
FIXES = {
    1: [(5, "h0 = torch.stack([start] * L, dim=0)"), (5, "h0 = start.unsqueeze(0).repeat(L, 1, 1)"),
        (5, "h0 = start.expand(L, N, H).contiguous()"), (5, "h0 = torch.stack([start] * L, dim=1).transpose(0, 1)")],
    2: [(4, "last = output[:, -1]"), (4, "last = output[:, -1, :]  # batch first: steps are dim 1"),
        (4, "last = h_n[-1]")],
    3: [(5, "final = torch.cat([h_n[0], h_n[1]], dim=1)"),
        (5, "final = torch.cat((output[:, -1, :H], output[:, 0, H:]), dim=-1)"),
        (5, "final = h_n.transpose(0, 1).reshape(-1, 2 * H)")],
    4: [(5, "per_seq = h_n.permute(1, 0, 2).reshape(N, -1)"), (5, "per_seq = torch.cat([h_n[0], h_n[1]], dim=1)"),
        (5, "per_seq = h_n.transpose(0, 1).flatten(1)")],
    5: [(6, "last = output[torch.arange(3), lengths - 1]"),
        (6, "last = torch.stack([output[i, n - 1] for i, n in enumerate(lengths)])"),
        (6, "last = output.gather(1, (lengths - 1).view(-1, 1, 1).expand(-1, 1, 3)).squeeze(1)")],
    6: [(6, "output, (h, c) = lstm(chunk, (h.detach(), c.detach()))"),
        (6, "    output, (h, c) = lstm(chunk, tuple(s.detach() for s in (h, c)))"),
        (7, "loss = output.pow(2).mean(); h, c = h.detach(), c.detach()")],
    7: [(7, "output, (h_n, c_n) = lstm(batch, init_hidden(len(batch)))"),
        (7, "output, (h_n, c_n) = lstm(batch, init_hidden(batch.size(0)))"), (7, "output, (h_n, c_n) = lstm(batch)")],
    8: [(2, "lstm = nn.LSTM(features, hidden, batch_first=True)"),
        (2, "lstm = nn.LSTM(input_size=features, hidden_size=hidden, batch_first=True)")],
    9: [(3, "model = lambda x: head(lstm(x)[0])"), (3, "def model(x): return head(lstm(x)[0])"),
        (5, "scores = head(lstm(x)[0])"),
        (3, "class Output(nn.Module):\n    def forward(self, pair):\n        return pair[0]\n"
            "model = nn.Sequential(lstm, Output(), head)")],
    10: [(3, "output, h_n = gru(x)"), (3, "output, h_n = gru(x)  # a GRU carries h alone"),
         (4, "top = gru(x)[1][-1]")],
    11: [(4, "for layer in range(lstm.num_layers):"), (4, "for layer in range(2):"),
         (4, "for layer in (0, 1):")],
    12: [(5, "loss = nn.functional.cross_entropy(logits.reshape(-1, 4), tags.reshape(-1), ignore_index=0)"),
         (5, "loss = nn.functional.cross_entropy(logits[tags > 0], tags[tags > 0])"),
         (2, "tags = nn.utils.rnn.pad_sequence([torch.randint(1, 4, (n,)) for n in lengths.tolist()], "
             "padding_value=-100,")],
}
# Wrong fixes, and a piece of what the message must say still fails.
WRONG = [
    (1, 5, "h0 = torch.zeros(L, N, H)", "equal? False"),
    (1, 5, "h0 = start.repeat(1, L).view(L, N, H)", "equal? False"),
    (2, 4, "last = output[:, 0]", "last equals h_n[-1]? False"), (2, 4, "last = output[-1, :]", "shape (5, 3)"),
    (3, 5, "final = output[:, 0]", "final equals torch.cat([h_n[0], h_n[1]], dim=1)? False"),
    (3, 5, "final = h_n.view(-1, 2 * H)", "? False"),
    (4, 5, "per_seq = h_n.reshape(N, -1)", "[False, False, False]"),
    (4, 5, "per_seq = h_n.permute(1, 0, 2).view(N, -1)", "RuntimeError at line 5"),
    (5, 6, "last = h_n[-1]", "[True, False, False]"), (5, 6, "last = output[:, lengths - 1]", "shape (3, 3, 3)"),
    (6, 8, "    loss.backward(retain_graph=True)", "retain_graph=True keeps that graph"),
    (6, 6, "output, (h, c) = lstm(chunk)", "from the last state, detached? False"),
    (7, 6, "for batch in data.split(B)[:-1]:", "shape (1, 4, 3)"),
    (7, 7, "output, (h_n, c_n) = lstm(batch, init_hidden(2))", "RuntimeError at line 7"),
    (8, 3, "x = torch.randn(4, 7, hidden)", "RuntimeError at line 5"),
    (8, 2, "lstm = nn.LSTM(hidden, features)", "input_size"),
    (9, 3, "model = nn.Sequential(head, lstm)", "RuntimeError at line 5"),
    (9, 3, "model = lambda x: head(lstm(x)[1][0])", "shape (1, 3, 2)"),
    (9, 5, "scores = model(x)[0]", "TypeError at line 5"),
    (10, 3, "output, h_n = gru(x)[0], gru(x)[1][0]", "top equals it? False"),
    (10, 4, "top = h_n", "top equals it? False"),
    (11, 4, "for layer in range(H):", "AttributeError at line 5"),
    (11, 6, "        getattr(lstm, f\"bias_hh_l{layer}\")[H:2 * H].fill_(1.0)", "l1: the forget gate's"),
    (12, 5, "loss = nn.functional.cross_entropy(logits.reshape(-1, 4), tags.reshape(-1), reduction='sum')",
     "equal? False"),
    (12, 5, "loss = nn.functional.cross_entropy(logits.permute(0, 2, 1), tags)", "equal? False"),
    (12, 5, "loss = nn.functional.cross_entropy(logits, tags)", "RuntimeError at line 5"),
]
# Loud bugs: the error and a stable fragment of its message (lower case).
ERRORS = {6: (RuntimeError, "backward through the graph a second time"), 7: (RuntimeError, "expected hidden"),
          8: (RuntimeError, "input_size"), 9: (TypeError, "tuple")}


def wrong_by(k, ns):
    """Computed from the buggy program's own tensors: the right value differs from the one it made."""
    o = ns
    if k == 1:  # the states passed torch's shape check, yet sequence 1's first layer starts from sequence 0's
        return o["h0"].shape == (2, 2, 3) and torch.equal(o["h0"][0, 1], o["start"][0]) and \
            not torch.equal(o["h0"][0, 1], o["start"][1])
    if k == 2:
        return o["last"].shape != o["h_n"][-1].shape
    if k == 3:
        return torch.allclose(o["final"][:, :3], o["h_n"][0]) and not torch.allclose(o["final"][:, 3:], o["h_n"][1])
    if k == 4:  # h_n is (num_layers, N, H) though batch_first=True
        return o["h_n"].shape == (2, 3, 2) and not torch.allclose(o["per_seq"], o["h_n"].permute(1, 0, 2).reshape(3, -1))
    if k == 5:
        return torch.allclose(o["last"][0], o["output"][0, 4]) and not torch.allclose(o["last"][1], o["output"][1, 1])
    if k == 10:  # the LSTM habit on a two-layer GRU: its h_n split into its two layers' rows, without an error
        real = o["gru"](o["x"])[1]
        return torch.equal(o["h_n"], real[0]) and torch.equal(o["c_n"], real[1]) and o["top"].shape == (3,)
    if k == 11:  # layer 0's forget gate set, layer 1's left as PyTorch drew it
        lstm, h = o["lstm"], 3
        return bool((lstm.bias_ih_l0[h:2 * h] + lstm.bias_hh_l0[h:2 * h] == 1).all()) and \
            not torch.allclose(lstm.bias_ih_l1[h:2 * h] + lstm.bias_hh_l1[h:2 * h], torch.ones(h))
    if k == 12:  # the mean runs over all 18 steps; over the 12 real ones it is another number
        real = torch.arange(6)[None, :] < o["lengths"][:, None]
        over_real = nn.functional.cross_entropy(o["logits"][real], o["tags"][real])
        return o["tags"][~real].eq(0).all() and abs(o["loss"].item() - over_real.item()) > 1e-3


@pytest.fixture
def bugs():
    """The module run as its notebook cell runs it, in a fresh namespace (fresh progress too)."""
    ns = {"__name__": "bugs_cell"}
    exec(compile(MODULE.read_text(), str(MODULE), "exec"), ns)
    return ns


def lines_of(bugs, k):
    return bugs["_spot_bugs"]["source"](k).splitlines()


def test_public_names_and_short_programs(bugs):
    assert {"show_bug", "name_line", "fix", "bugs_progress"} <= set(bugs)
    assert "_install_bugs" not in bugs
    api = bugs["_spot_bugs"]
    assert sorted(api["bugs"]) == list(range(1, COUNT + 1)) and api["loud"] == set(LOUD)
    for k in api["bugs"]:
        assert 5 <= len(lines_of(bugs, k)) <= 12, k


@pytest.mark.parametrize("k", SILENT)
def test_silent_bug_runs_and_shows_wrong_next_to_right(bugs, k):
    api = bugs["_spot_bugs"]
    ns, err = api["run"](k, lines_of(bugs, k))
    assert err is None, err
    assert wrong_by(k, ns)
    ok, report, raised = api["judge"](k, lines_of(bugs, k))
    assert not ok and not raised and any(line.endswith("False") or "False]" in line for line in report), report
    text = api["show_text"](k)
    assert "Running it: no error." in text and "computed another way" in text
    assert f"  1  {lines_of(bugs, k)[0]}" in text


@pytest.mark.parametrize("k", LOUD)
def test_loud_bug_raises_its_real_error(bugs, k):
    api = bugs["_spot_bugs"]
    ns, err = api["run"](k, lines_of(bugs, k))
    kind, fragment = ERRORS[k]
    assert isinstance(err, kind) and fragment in str(err).lower(), repr(err)
    text = api["show_text"](k)
    assert f"Running it raises {kind.__name__} at line " in text and fragment in text.lower().replace("\n  ", " ")


def test_each_digest_stands_for_the_intended_line(bugs):
    api = bugs["_spot_bugs"]
    salt = re.search(r'SALT = "([^"]+)"', MODULE.read_text()).group(1)
    for k, (line, fragment) in INTENDED.items():
        lines = lines_of(bugs, k)
        assert fragment in lines[line - 1], (k, lines[line - 1])
        stored = api["bugs"][k][3]
        assert stored == hashlib.sha256(f"{salt}|{k}|{line}".encode()).hexdigest()[:24] == api["digest"](k, line)
        assert [n for n in range(1, len(lines) + 1) if api["digest"](k, n) == stored] == [line]


def test_name_line_right_and_wrong_picks(bugs, capsys):
    api = bugs["_spot_bugs"]
    for k, (right, _) in INTENDED.items():
        for n in range(1, len(lines_of(bugs, k)) + 1):
            if n == right:
                continue
            text = api["name_text"](k, n)
            # A nudge: names the pick, never the answer.
            assert text.startswith(f"Not line {n}") and len(text) > len(f"Not line {n}.") + 10, text
            assert not re.search(rf"\blines? {right}\b", text) and "Right" not in text, text
            assert not api["progress"][k]["named"]
        assert api["name_text"](k, right).startswith(f"Right: line {right} is the bug")
        assert api["progress"][k]["named"]
    bugs["name_line"](3, "5")  # typed as text works too
    assert capsys.readouterr().out.startswith("Right")


def test_name_line_odd_input_prints_what_to_type(bugs, capsys):
    for call, expected in [((1, None), "Type your answer"), ((1, 99), "Bug 1 has lines 1 to 7."),
                           ((1, 2.5), "whole number"), ((1, True), "whole number"),
                           ((0, 1), f"There are bugs 1 to {COUNT}"), (("one", 1), f"There are bugs 1 to {COUNT}")]:
        assert bugs["name_line"](*call) is None
        out = capsys.readouterr()
        assert expected in out.out and not out.err, (call, out)


@pytest.mark.parametrize("k,line,text", [(k, n, t) for k, fixes in FIXES.items() for n, t in fixes])
def test_correct_fix_passes(bugs, k, line, text):
    api = bugs["_spot_bugs"]
    message = api["fix_text"](k, line, text)
    assert message.startswith("Fixed!"), message
    assert api["progress"][k]["fixed"]


def test_at_least_two_spellings_pass_for_two_bugs():
    assert sum(len({t for n, t in fixes if n == INTENDED[k][0]}) >= 2 for k, fixes in FIXES.items()) >= 2


@pytest.mark.parametrize("k", sorted(INTENDED))
def test_no_op_fix_fails(bugs, k):
    api = bugs["_spot_bugs"]
    line = INTENDED[k][0]
    message = api["fix_text"](k, line, lines_of(bugs, k)[line - 1])
    assert message.startswith("Not fixed yet"), message
    if k in LOUD:
        assert f"it raises {ERRORS[k][0].__name__} at line" in message
    else:
        assert "False" in message
    assert not api["progress"][k]["fixed"]


@pytest.mark.parametrize("k,line,text,fragment", WRONG)
def test_wrong_fix_says_what_still_fails(bugs, k, line, text, fragment):
    api = bugs["_spot_bugs"]
    message = api["fix_text"](k, line, text)
    assert message.startswith("Not fixed yet") and fragment in " ".join(message.split()), message
    assert not api["progress"][k]["fixed"]


def test_fix_odd_input_prints_and_never_raises(bugs, capsys):
    for call, expected in [((2, None, ""), "Type your answer"), ((2, 4, ""), "Type your fixed line"),
                           ((2, 4, "last = output[:, -1"), "SyntaxError"), ((2, 4, "last = nothing"), "NameError"),
                           ((5, 6, "lst = output[:, -1]"), "no longer defines `last`"),
                           ((2, 40, "x"), "Bug 2 has lines 1 to 5."),
                           ((COUNT + 1, 1, "x"), f"There are bugs 1 to {COUNT}")]:
        assert bugs["fix"](*call) is None
        out = capsys.readouterr()
        assert expected in out.out and not out.err, (call, out)


def test_show_bug_prints_and_leaves_the_notebooks_random_numbers_alone(bugs, capsys):
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    for k in range(1, COUNT + 1):
        assert bugs["show_bug"](k) is None
    assert torch.equal(torch.rand(3), expected)
    out = capsys.readouterr()
    assert out.out.count("Running it") == COUNT and not out.err


def test_progress_summary(bugs, capsys):
    bugs["bugs_progress"]()
    assert capsys.readouterr().out.startswith(f"Spot the bug: 0 of {COUNT} named, 0 of {COUNT} fixed.")
    bugs["name_line"](2, 4)
    bugs["fix"](2, 4, "last = output[:, -1]")
    bugs["fix"](8, 2, "lstm = nn.LSTM(features, hidden, batch_first=True)")
    capsys.readouterr()
    bugs["bugs_progress"]()
    out = capsys.readouterr().out
    assert out.startswith(f"Spot the bug: 1 of {COUNT} named, 2 of {COUNT} fixed.")
    assert "bug 2 (silent, the last step, batch first): named, fixed" in out
    assert "bug 8 (loud, sizes in the constructor): not named yet, fixed" in out


def filled(nb):
    """The notebook's generated cells as course.build fills them."""
    sys.path.insert(0, str(COURSE.parent))
    from course.build import checks_source
    for cell in nb.cells:
        kind = cell.metadata.get("course", {}).get("generated")
        if kind == "checks":
            cell.source = checks_source((), questions=False)
        elif kind == "bugs":
            cell.source = MODULE.read_text().rstrip("\n")
    return nb


def test_notebook_runs_top_to_bottom(tmp_path):
    from autograder.kernels import SlicedKernelManager

    nb = nbformat.read(NOTEBOOK, as_version=4)
    kinds = [c.metadata.get("course", {}).get("generated") for c in nb.cells]
    assert kinds[:5] == ["badge", None, None, "checks", "bugs"]
    assert all(c.outputs == [] for c in nb.cells if c.cell_type == "code")  # committed without outputs
    NotebookClient(filled(nb), timeout=120, kernel_name="python3", kernel_manager_class=SlicedKernelManager,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    stderr = [o.text for c in code for o in c.outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not errors and not stderr, (errors, stderr)
    out = {c.source: "".join(o.get("text", "") for o in c.outputs) for c in code}
    for k in range(1, COUNT + 1):
        shown = out[f"show_bug({k})"]
        assert shown.startswith(f"Bug {k}: ") and "Running it" in shown
        assert ("Running it raises " in shown) == (k in LOUD)
        assert out[f"name_line({k}, None)  # put the line number"].startswith("Type your answer")
        assert out[f'fix({k}, None, "")  # the line number and your fixed line'].startswith("Type your answer")
        heading = next(c.source for c in nb.cells if c.source.startswith(f"## Bug {k} "))
        title = shown.splitlines()[0].split(": ", 1)[1].split("  (")[0]
        assert ("(loud)" in heading) == (k in LOUD) and heading.splitlines()[0].endswith(title), (heading, title)
    assert out["bugs_progress()"].startswith(f"Spot the bug: 0 of {COUNT} named, 0 of {COUNT} fixed.")
