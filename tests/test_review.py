"""course/review.py and notebooks/review.ipynb: a deck whose fact cards say what torch computes, questions
that are never a graded one, an SM-2-like schedule over simulated days, the widget driven by its
buttons, the state saved to a fake Drive and loaded back, and the notebook run top to bottom."""
import datetime
import html
import json
import os
import re
import sys
import tomllib
import warnings
from pathlib import Path

import nbformat
import pytest
import torch
from nbclient import NotebookClient
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

ROOT = Path(__file__).resolve().parent.parent
REPO = Path(os.environ.get("COURSE_ROOT", ROOT))  # course/, source/, pyproject.toml
MODULE = Path(os.environ.get("REVIEW_MODULE", REPO / "course" / "review.py"))
DECK = MODULE.with_name("review_deck.py")  # its cell runs first: the deck the scheduler reviews
NOTEBOOK = Path(os.environ.get("REVIEW_NOTEBOOK", REPO / "notebooks" / "review.ipynb"))
sys.path.insert(0, str(REPO))
from course.build import checks_source  # noqa: E402

DAY1 = datetime.date(2026, 3, 2)


@pytest.fixture(scope="module")
def checks():
    namespace = {"__name__": "course_checks"}
    exec(compile(checks_source((), questions="practice"), "checks", "exec"), namespace)
    return namespace


def install(checks):
    """A fresh review cell run after the checks cell, as after a runtime reset."""
    namespace = dict(checks)
    exec(compile(DECK.read_text(), str(DECK), "exec"), namespace)
    exec(compile(MODULE.read_text(), str(MODULE), "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def ns(checks):
    return install(checks)


class Clock:
    def __init__(self, day=DAY1):
        self.day = day

    def __call__(self):
        return self.day

    def forward(self, days):
        self.day += datetime.timedelta(days=days)


def session(ns, **kwargs):
    clock = Clock()
    return ns["Review"](today=clock, **kwargs), clock


def ordinal(day, plus=0):
    return day.toordinal() + plus


# --- the deck ------------------------------------------------------------------------------------------

def seeded_run(layer, shape):
    torch.manual_seed(0)
    return layer(torch.randn(shape))


def gate_step_matches():
    """One step written out by hand with the rows read as i, f, g, o: does it give torch's h_1 and c_1?"""
    torch.manual_seed(5)
    layer = nn.LSTM(2, 3)
    x, h0, c0 = torch.randn(1, 1, 2), torch.randn(1, 1, 3), torch.randn(1, 1, 3)
    _, (h1, c1) = layer(x, (h0, c0))
    z = layer.weight_ih_l0 @ x[0, 0] + layer.bias_ih_l0 + layer.weight_hh_l0 @ h0[0, 0] + layer.bias_hh_l0
    i, f, g, o = z[0:3].sigmoid(), z[3:6].sigmoid(), z[6:9].tanh(), z[9:12].sigmoid()
    c = f * c0[0, 0] + i * g
    return torch.allclose(c, c1[0, 0], atol=1e-6) and torch.allclose(o * c.tanh(), h1[0, 0], atol=1e-6)


def error_of(action):
    with pytest.raises(Exception) as caught:  # noqa: PT011 - whichever torch raises, shown on the card
        action()
    return type(caught.value).__name__, str(caught.value).strip().splitlines()[0]


def independent():
    """Each fact card's value, worked out here another way (other sizes, formulas, hand-written steps)."""
    layer = nn.LSTM(4, 8)
    out, (h, c) = seeded_run(nn.LSTM(10, 20, num_layers=2, bidirectional=True), (5, 3, 10))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "LSTM with projections is not supported with oneDNN"
        pout, (ph, pc) = seeded_run(nn.LSTM(10, 20, proj_size=5), (5, 3, 10))
    torch.manual_seed(3)
    x = torch.randn(2, 6, 3)
    two = nn.LSTM(3, 4, num_layers=2, batch_first=True)
    o2, (h2, _) = two(x)
    bi = nn.LSTM(3, 4, bidirectional=True)
    ob, (hb, _) = bi(torch.randn(5, 2, 3))
    seqs = torch.randn(3, 5, 4)
    packer = nn.LSTM(4, 6, batch_first=True)
    phn = packer(pack_padded_sequence(seqs, [5, 3, 2], batch_first=True))[1][0]
    alone = [packer(seqs[b:b + 1, :n])[1][0][-1, 0] for b, n in enumerate([5, 3, 2])]  # each run unpadded
    padded_end = [packer(seqs[b:b + 1])[1][0][-1, 0] for b in (1, 2)]
    cell_layer, cell = nn.LSTM(3, 4), nn.LSTMCell(3, 4)
    cell.load_state_dict({k[:-3]: v for k, v in cell_layer.state_dict().items()})
    xs = torch.randn(1, 2, 3)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        nn.LSTM(4, 8, dropout=0.5)
    zero_layer, zx = nn.LSTM(3, 4), torch.randn(4, 2, 3)
    return {
        **{f"default_{a}": getattr(layer, a) for a in ("batch_first", "num_layers", "bias", "dropout",
                                                       "bidirectional", "proj_size")},
        "default_layout": ((5, 3, 20), (1, 3, 20)),
        "h_n_bidirectional": (tuple(h.shape),), "output_bidirectional": (tuple(out.shape),),
        "shape_weight_ih_l0": (4 * 16, 8), "shape_weight_hh_l0": (4 * 16, 16), "shape_weight_ih_l1": (4 * 16, 16),
        "shape_weight_hr_l0": (4, 16), "parameter_count": 4 * 16 * (8 + 16) + 2 * 4 * 16,
        "reverse_names": [n for n in dict(nn.LSTM(8, 16, bidirectional=True).named_parameters()) if "reverse" in n],
        "gate_order": "ifgo" if gate_step_matches() else "not ifgo",
        "lstm_cell": all(torch.allclose(a, b[0], atol=1e-6) for a, b in zip(cell(xs[0]), cell_layer(xs)[1])),
        "last_step_batch_first": ("h_n[-1]",) if torch.allclose(o2[:, -1], h2[-1]) and not
        torch.allclose(o2[:, -1], h2[0]) else "?",
        "bidirectional_final": ("output[-1, :, :4]", "output[0, :, 4:]") if torch.allclose(ob[-1, :, :4], hb[0])
        and torch.allclose(ob[0, :, 4:], hb[1]) else "?",
        "proj_states": (tuple(pout.shape), tuple(ph.shape), tuple(pc.shape)),
        "packed_h_n": all(torch.allclose(phn[-1, b], a, atol=1e-6) for b, a in enumerate(alone)) and not any(
            torch.allclose(phn[-1, b], p, atol=1e-6) for b, p in zip((1, 2), padded_end)),
        "packed_data": ((5 + 3 + 2, 4), [3, 3, 2, 1, 1]),
        "error_input_size": error_of(lambda: nn.LSTM(10, 20)(torch.zeros(5, 3, 7))),
        "error_unsorted": error_of(lambda: pack_padded_sequence(torch.zeros(3, 5, 4), [2, 5, 3], batch_first=True)),
        "warning_dropout": (seen[0].category.__name__, str(seen[0].message)),
        "unbatched": ((5, 20), (1, 20)),
        "zero_state": bool(torch.equal(zero_layer(zx)[0], zero_layer(zx, (torch.zeros(1, 2, 4),) * 2)[0])),
    }


def test_every_fact_card_says_what_torch_computes(ns):
    facts = [c for c in ns["Review"]().deck if c["kind"] == "fact"]
    expected = independent()
    assert 20 <= len(facts) <= 30
    assert {c["id"].split(":", 1)[1] for c in facts} == set(expected)  # every fact card is checked here
    for card in facts:
        name = card["id"].split(":", 1)[1]
        assert card["value"] == expected[name], (name, card["value"], expected[name])
        shown = card["value"] if isinstance(card["value"], tuple | list) else [card["value"]]
        for part in shown:  # the back shows the computed value, not something else
            text = ", ".join(part) if isinstance(part, list) and isinstance(part[0], str) else str(part)
            assert text in card["back"] or text in card["back"].replace(", ", ""), (name, text, card["back"])
    byid = {c["id"]: c for c in facts}
    assert byid["fact:gate_order"]["back"].startswith("i, f, g, o")
    assert "Expected 10" in byid["fact:error_input_size"]["back"] and "7" in byid["fact:error_input_size"]["back"]
    assert "sorted" in byid["fact:error_unsorted"]["back"]


def test_question_cards_are_the_review_salt_never_graded_ones(ns, checks):
    api = checks["_course_answers"]
    cards = [c for c in ns["Review"]().deck if c["kind"] == "question"]
    assert {c["origin"]["template"] for c in cards} == set(api["templates"])
    assert all(t["pool"] == "practice" for t in api["templates"].values())  # never the course test's pool
    test_salt = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["lstm-course"]["test_salt"]
    graded_qids = {qid for qid, _ in api["TEST_LAYOUT"]}
    for card in cards:
        o = card["origin"]
        assert o["salt"] == "review" and o["salt"] not in {test_salt, "practice", "practice-test"}
        assert o["qid"] not in graded_qids
        q = api["practice_question"](o["template"], o["student"], o["qid"], o["salt"])
        assert q["text"] == card["front"]  # regenerated from its origin: the card is that question
        value = nn.LSTM(**card["value"]) if q["kind"] == "lstm" else card["value"]
        assert api["judge_question"](q, value) is None  # the back is the answer the checks accept
        assert api["question"](o["template"], o["student"], o["qid"], test_salt)["text"] != card["front"]
    # Nothing from a lesson's graded exercises or the course test's cells.
    graded = []
    for path in sorted((REPO / "source").glob("*/*.ipynb")) + sorted((REPO / "release").glob("*/*.ipynb")):
        graded += [cell.source for cell in nbformat.read(path, as_version=4).cells]
    assert graded, "no lesson notebooks found"
    corpus = "\n".join(graded)
    for card in ns["Review"]().deck:
        assert not re.search(r"answer_q\d|student_id|expect_generated", card["front"] + card["back"]), card["id"]
        assert card["front"] not in corpus, card["id"]


# --- the schedule ----------------------------------------------------------------------------------------

def review_all(r, rating="good"):
    seen = []
    while r.next() is not None:
        seen.append(r.card["id"])
        r.reveal()
        r.rate(rating)
    return seen


def test_only_due_cards_and_the_daily_new_limit(ns):
    r, clock = session(ns)
    assert len(r.deck) > 20
    first_day = [c["id"] for c in r.due()]
    assert first_day == [c["id"] for c in r.deck[:10]]  # new cards in deck order, at most 10
    assert r.status() == "due left: 10 (10 new) | reviewed today: 0"
    assert review_all(r) == first_day
    assert r.due() == [] and r.next() is None
    assert r.front_text() == f"Nothing due today: 10 reviewed today. Next card due on {DAY1 + datetime.timedelta(1)}."
    assert r.rate("good").startswith("Nothing due today")
    clock.forward(1)  # the ten are due, and ten new ones join
    due = [c["id"] for c in r.due()]
    assert due[:10] == first_day and due[10:] == [c["id"] for c in r.deck[10:20]]
    r2, _ = session(ns, new_per_day=3)
    assert len(r2.due()) == 3


def test_good_easy_and_again_move_due_dates(ns):
    r, clock = session(ns)
    card = r.next()["id"]
    assert "Show the answer first" in r.rate("good") and card not in r.cards  # no rating before turning over
    assert r.rate("maybe").startswith("Rate with one of")
    r.reveal()
    assert r.rate("good") == f"good: you will see this card in 1 day ({DAY1 + datetime.timedelta(1)})."
    s = r.cards[card]
    assert (s["interval"], s["due"], s["ease"]) == (1, ordinal(DAY1, 1), 2.5)
    assert card not in [c["id"] for c in r.due()]
    for expect in (3, 8, 20):  # 1, then the interval times the ease (2.5), rounded half up
        clock.day = datetime.date.fromordinal(s["due"] - 1)
        assert card not in [c["id"] for c in r.due()]  # not before its day
        clock.day, r.card = datetime.date.fromordinal(s["due"]), None
        assert r.next()["id"] == card  # on its day, and reviews due come before new cards
        r.reveal()
        r.rate("good")
        assert (s["interval"], s["due"]) == (expect, clock.day.toordinal() + expect)
    # easy: a new card waits 4 days, then grows faster than good, and its ease rises
    clock.forward(20)
    r.card = None
    while r.next()["id"] in r.cards:  # the due reviews first
        r.reveal()
        r.rate("good")
    easy = r.card["id"]
    r.reveal()
    r.rate("easy")
    e = r.cards[easy]
    assert (e["interval"], e["due"], e["ease"]) == (4, clock.day.toordinal() + 4, 2.65)
    clock.forward(4)
    r.card = None
    while r.next()["id"] != easy:
        r.reveal()
        r.rate("good")
    r.reveal()
    r.rate("easy")
    assert e["interval"] == int(4 * 2.65 * 1.3 + 0.5) == 14 and e["ease"] == 2.8
    # again: the interval starts over, the card comes back after the rest of today's cards
    clock.forward(14)
    r.card = None
    while r.next()["id"] != easy:
        r.reveal()
        r.rate("good")
    r.reveal()
    assert r.rate("again") == "again: you will see this card again later today."
    assert (e["interval"], e["due"], e["lapses"], e["ease"]) == (0, clock.day.toordinal(), 1, 2.6)
    queue = [c["id"] for c in r.due()]
    assert queue[-1] == easy and len(queue) > 1
    assert review_all(r)[-1] == easy
    assert (e["interval"], e["due"]) == (1, clock.day.toordinal() + 1)  # good after again: tomorrow


def test_overdue_cards_wait_and_come_first(ns):
    r, clock = session(ns, new_per_day=2)
    review_all(r)
    clock.forward(5)  # away for five days: both are still due, before today's new cards
    due = r.due()
    assert [c["id"] for c in due[:2]] == [c["id"] for c in r.deck[:2]] and len(due) == 4


# --- the widget and the text API -------------------------------------------------------------------------

def test_widget_buttons(ns):
    r, clock = session(ns, new_per_day=3)
    first_front = r._front.value
    assert r._front.value.startswith("<p>") and r._back.value == ""
    assert r._show.disabled is False and all(b.disabled for b in r._buttons.values())
    assert r._status_line.value == "due left: 3 (3 new) | reviewed today: 0"
    first = r.card
    r._buttons["good"].click()  # before the answer is shown: refused
    assert "Show the answer first" in r._message.value and not r.cards
    r._show.click()
    shown = html.unescape(re.sub(r"<[^>]+>", "", r._back.value.replace("<br>", "\n")))
    assert shown.split("\n")[0] == first["back"].replace("`", "").split("\n")[0]
    assert not any(b.disabled for b in r._buttons.values()) and r._show.disabled
    r._buttons["again"].click()
    assert r._message.value.startswith("again:") and r._front.value != first_front
    assert r._status_line.value == "due left: 3 (2 new) | reviewed today: 1"
    for rating in ("good", "easy"):
        r._show.click()
        r._buttons[rating].click()
    assert r.card["id"] == first["id"]  # the again-card, after the others
    r._show.click()
    r._buttons["good"].click()
    assert r._status_line.value == "due left: 0 (0 new) | reviewed today: 4"
    assert "Nothing due today" in r._front.value and r._show.disabled
    assert [r.cards[c["id"]]["interval"] for c in r.deck[:3]] == [1, 1, 4]


def test_text_api_prints_what_the_widget_shows(ns, capsys):
    r = ns["start_review"]()
    r.today, r.cards, r.reviewed, r.card = Clock(), {}, {}, None  # the notebook's session, on a known day
    ns["review_next"]()
    front = capsys.readouterr().out
    assert front.startswith("[due left: 10 (10 new) | reviewed today: 0]\n")
    assert front.strip().endswith(r.deck[0]["front"].replace("`", ""))
    ns["rate"]("good")
    assert "Show the answer first" in capsys.readouterr().out
    ns["reveal"]()
    assert capsys.readouterr().out.strip() == r.deck[0]["back"].replace("`", "")
    ns["rate"]("easy")
    assert "in 4 days" in capsys.readouterr().out
    ns["rate"](None)  # the notebook's placeholder: nothing rated
    assert "rate the card with one of" in capsys.readouterr().out and r.reviewed == {DAY1.toordinal(): 1}
    assert ns["review_summary"]() is None and "reviewed today: 1" in capsys.readouterr().out
    ns["review_rules"]()
    rules = capsys.readouterr().out
    assert "rated good, good, good, good, good: seen again after 1, 3, 8, 20, 50 days" in rules


# --- saving ----------------------------------------------------------------------------------------------

def test_save_and_load_through_a_fake_drive(checks, tmp_path, capsys):
    ns = install(checks)
    r = ns["start_review"]()
    r.today, r.cards, r.reviewed, r.card = Clock(), {}, {}, None
    review_all(r, "good")
    r.next()
    assert ns["save_review"](folder=str(tmp_path)) is None  # it prints the line to paste: nothing to echo
    printed = capsys.readouterr().out
    state = json.loads((tmp_path / "lstm-course-review.json").read_text())["state"]
    assert f"load_review({state!r})" in printed and "Also saved to" in printed and len(state) < 600
    ns["save_review"](folder=str(tmp_path / "not-mounted"))
    assert f"load_review({state!r})" in (printed := capsys.readouterr().out) and "Also saved" not in printed
    for restore in (lambda n: n["load_review"](folder=str(tmp_path)), lambda n: n["load_review"](state)):
        fresh = install(checks)  # a reset runtime
        assert restore(fresh) is None
        back = fresh["start_review"]()
        back.today = Clock()
        assert back.cards == r.cards and back.reviewed == r.reviewed and back.seq == r.seq
        assert back.due() == [] and "Review restored." in capsys.readouterr().out
        back.today.forward(1)
        assert [c["id"] for c in back.due()[:10]] == [c["id"] for c in r.deck[:10]]
    with pytest.raises(ValueError, match="not a state string from save_review"):
        ns["load_review"]("banana")
    with pytest.raises(FileNotFoundError, match="mount Drive, or pass the state string"):
        ns["load_review"](folder=str(tmp_path / "empty"))


# --- the notebook ----------------------------------------------------------------------------------------

def filled_notebook():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    kinds = [c.metadata.get("course", {}).get("generated") for c in nb.cells]
    assert kinds[0] == "badge" and kinds.index("checks") < kinds.index("review_deck") < kinds.index("review")
    for cell in nb.cells:
        kind = cell.metadata.get("course", {}).get("generated")
        if kind == "checks":
            assert cell.metadata["course"]["with"] == ["questions"] and cell.metadata["jupyter"]["source_hidden"]
            cell.source = checks_source((), questions="practice")
        elif kind == "review":
            cell.source = MODULE.read_text()
        elif kind == "review_deck":
            cell.source = DECK.read_text()
    return nb


def test_notebook_runs_top_to_bottom(tmp_path):
    nb = filled_notebook()
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    problems = [o for c in code for o in c.outputs if o.output_type == "error" or o.get("name") == "stderr"]
    assert not problems, problems
    text = {c.source: "".join(o.get("text", "") for o in c.outputs) for c in code}
    start = next(c for c in code if c.source == "session = start_review()")
    bundles = [o["data"] for o in start.outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(bundles) == 1 and bundles[0]["text/plain"].startswith("[due left: 10 (10 new) | reviewed today: 0]")
    assert text["review_next()"] == bundles[0]["text/plain"].split("\n(Where")[0] + "\n"  # the same card
    # Run from the top, the example cells rate nothing: the placeholder says what to do, nothing is scheduled.
    rate = next(source for source in text if source.startswith("rate(None)"))
    assert text[rate].startswith("After reveal(), rate the card")
    assert "reviewed today: 0" in text["review_summary()"] and "seen 0," in text["review_summary()"]
    assert "load_review('" in text["save_review()"]
    assert "seen again after 1, 3, 8" in text["review_rules()"]
    echoed = [c.source for c in code for o in c.outputs if o.output_type == "execute_result"]
    assert not echoed, echoed  # no stray return value under any cell
