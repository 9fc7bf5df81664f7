"""The question generator (course/questions.py): the same question for the same seed everywhere,
well spread over students, every answer what torch itself says, and no mistake equal to an answer.

Every expected answer is checked here a second way: the question's *text*, the only thing a
student sees, is read back (the layer it builds, the input it describes, the expression it asks
about) and run through torch with random inputs. So an answer is right for what the question
says, not merely for what the template meant.

The golden values (tests/data/questions_golden.json) pin the draws: regenerate them with
`UPDATE_GOLDEN=1 python -m pytest tests/test_questions.py -k golden` only when a template is
meant to change (and then every student gets a new test: bump the course's salt too).
"""
import collections
import json
import os
import re
import time
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

import question_snapshot
from question_snapshot import GOLDEN_STUDENTS, SALT, plain, snapshot

from course.build import checks_source

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "data" / "questions_golden.json"
SPREAD_IDS = 1000


def load_api():
    namespace = {"__name__": "__main__"}
    exec(compile(checks_source((), questions=True), "<checks>", "exec"), namespace)
    return namespace["_course_answers"]


API = load_api()


def qid_of(name):
    return question_snapshot.qid_of(API, name)


# --- determinism ------------------------------------------------------------------------------------

def test_golden_values_are_reproduced():
    now = snapshot(API)
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(now, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert set(golden) == set(now), "templates or golden students changed: regenerate on purpose (see docstring)"
    changed = [k for k in golden if golden[k] != now[k]]
    assert not changed, f"questions changed for {changed[:3]}: the same seed must give the same question"


def test_same_seed_same_question_and_a_new_salt_a_new_test():
    again = load_api()  # a fresh checks cell, as another kernel would run it
    for qid, name in API["COURSE_TEST"]:
        assert API["question"](name, "alice", qid, SALT)["text"] == again["question"](name, "alice", qid, SALT)["text"]
    texts = {salt: [API["question"](n, "alice", q, salt)["text"] for q, n in API["COURSE_TEST"]]
             for salt in (SALT, "lstm-course-2027")}
    assert sum(a != b for a, b in zip(texts[SALT], texts["lstm-course-2027"])) >= 8


def test_draws_come_from_sha256_of_salt_id_qid_and_counter():
    import hashlib

    d = API["draws"]("salt", "alice", "q3")
    first = int.from_bytes(hashlib.sha256(b"salt|alice|q3|0").digest()[:8], "big") % 1000
    second = int.from_bytes(hashlib.sha256(b"salt|alice|q3|1").digest()[:8], "big") % 7
    assert (d.below(1000), d.below(7)) == (first, second)


# --- the course test ------------------------------------------------------------------------------

def test_course_test_is_three_easy_four_medium_three_hard_from_every_lesson():
    levels = collections.Counter(API["templates"][name]["difficulty"] for _, name in API["COURSE_TEST"])
    assert levels == {"easy": 3, "medium": 4, "hard": 3}
    assert [q for q, _ in API["COURSE_TEST"]] == [f"q{i}" for i in range(1, 11)]
    lessons = {API["templates"][name]["lesson"] for _, name in API["COURSE_TEST"]}
    assert {"01_syntax", "02_shapes", "03_states", "04_cell", "05_sequences"} <= lessons
    kinds = {API["templates"][name]["kind"] for _, name in API["COURSE_TEST"]}
    assert kinds == {"lstm", "shape", "int", "choice"}


def test_hard_questions_combine_settings_or_pack_or_ask_the_backward_direction():
    for name in (n for n, t in API["templates"].items() if t["difficulty"] == "hard"):
        for student in GOLDEN_STUDENTS:
            q = API["question"](name, student, qid_of(name), SALT)
            cfg = q["show"]
            settings = sum(bool(cfg.get(k)) for k in ("batch_first", "bidirectional", "proj_size")) + \
                (cfg.get("num_layers", 1) > 1)
            assert settings >= 2 or "lengths" in q or "backward direction" in q["text"], (name, student, cfg)


@pytest.fixture(scope="module")
def spread():
    """Every template's questions for SPREAD_IDS student ids, and the time each took."""
    made, started = {}, time.perf_counter()
    for name in API["templates"]:
        made[name] = [API["question"](name, f"s{1000000 + i}", qid_of(name), SALT) for i in range(SPREAD_IDS)]
    per_question = (time.perf_counter() - started) / (SPREAD_IDS * len(API["templates"]))
    print(f"\ngenerator: {per_question * 1000:.2f} ms per question ({len(API['templates'])} templates)")
    return made


def test_answers_spread_over_students(spread):
    for name, questions in spread.items():
        counts = collections.Counter(json.dumps(plain(q["answer"]), sort_keys=True) for q in questions)
        if API["templates"][name]["kind"] == "choice":
            for letter in questions[0]["options"]:
                share = counts[json.dumps(letter)] / SPREAD_IDS
                assert 0.15 <= share <= 0.35, f"{name}: the right letter is {letter} for {share:.0%} of ids"
        else:
            assert len(counts) >= 20, f"{name}: only {len(counts)} distinct answers over {SPREAD_IDS} ids"
            top, n = counts.most_common(1)[0]
            assert n / SPREAD_IDS <= 0.10, f"{name}: {top} is the answer for {n / SPREAD_IDS:.0%} of ids"


def test_no_mistake_equals_the_answer_or_another_mistake(spread):
    for name, questions in spread.items():
        for q in questions:
            values = [json.dumps(plain(q["answer"]), sort_keys=True)] + \
                [json.dumps(plain(m), sort_keys=True) for m, _ in q["mistakes"]]
            assert len(set(values)) == len(values), (name, q["student"])
            assert all(hint for _, hint in q["mistakes"]), (name, q["student"])


def test_a_named_mistake_gets_its_hint_and_the_answer_passes():
    for name in API["templates"]:
        for student in GOLDEN_STUDENTS:
            q = API["question"](name, student, qid_of(name), SALT)
            answer = nn.LSTM(**q["answer"]) if q["kind"] == "lstm" else q["answer"]
            assert API["generated_verdict"](q, answer) is None
            for mistake, hint in q["mistakes"]:
                wrong = nn.LSTM(**mistake) if q["kind"] == "lstm" else mistake
                message = API["generated_verdict"](q, wrong)
                assert message == hint, (name, student, mistake, message)
                assert str(plain(q["answer"])) not in message


# --- every answer, a second time, from the question's text -------------------------------------------

def _layer_in(text):
    found = re.search(r"`(?:lstm = )?(nn\.LSTM\([^`]*\))`", text)
    assert found, text
    torch.manual_seed(0)
    return eval(found.group(1), {"nn": nn})  # noqa: S307 - the generator's own text


def _input_for(text):
    found = re.search(r"`x` of shape `\((\d+), (\d+), (\d+)\)`", text)
    assert found, text
    return torch.randn(*map(int, found.groups()))


def _run(text):
    lstm = _layer_in(text)
    output, (h_n, c_n) = lstm(_input_for(text))
    return {"lstm": lstm, "output": output, "h_n": h_n, "c_n": c_n}


def independent_answer(q):
    """The answer to q["text"], from torch alone: what the text describes, run on random numbers."""
    text = q["text"]
    if q["template"] == "constructor":
        m = re.search(r"reads (\d+) features per time step, has (\d+) hidden units, and takes its input as "
                      r"\((\w+), (\w+), features\)", text)
        return {"input_size": int(m.group(1)), "hidden_size": int(m.group(2)), "batch_first": m.group(3) == "batch"}
    if q["template"] == "input_shape":
        lstm = _layer_in(text)
        n, steps = map(int, re.search(r"read (\d+) sequences of (\d+) steps", text).groups())
        shape = (n, steps, lstm.input_size) if lstm.batch_first else (steps, n, lstm.input_size)
        output, _ = lstm(torch.randn(shape))  # torch reads it
        assert output.shape[0 if lstm.batch_first else 1] == n
        return shape
    if q["template"] == "parameter_count":
        return sum(p.numel() for p in _layer_in(text).parameters())
    if q["template"] == "weight_shape":
        name = re.search(r"`lstm\.(\w+)`", text).group(1)
        return tuple(getattr(_layer_in(text), name).shape)
    if q["template"] == "packed_data":
        lstm = _layer_in(text)
        lengths = json.loads(re.search(r"lengths (\[[\d, ]+\])", text).group(1))
        first = "batch-first" in text
        n, longest = len(lengths), max(lengths)
        x = torch.randn((n, longest, lstm.input_size) if first else (longest, n, lstm.input_size))
        packed = pack_padded_sequence(x, lengths, batch_first=first, enforce_sorted=False)
        return tuple(lstm(packed)[0].data.shape)
    if q["kind"] == "choice":
        scope = _run(text)
        target = re.search(r"equals `([^`]+)`", text).group(1)
        want = eval(target, {}, scope)  # noqa: S307
        options = re.findall(r"^- ([A-D])\. `([^`]+)`$", text, flags=re.M)
        right = [letter for letter, expr in options
                 if eval(expr, {}, scope).shape == want.shape and torch.allclose(eval(expr, {}, scope), want)]  # noqa: S307
        assert len(right) == 1, text
        return right[0]
    asked = re.search(r"What is the shape of `(output|h_n|c_n)`\?", text).group(1)
    return tuple(_run(text)[asked].shape)


def test_every_answer_is_what_torch_says_for_the_text():
    checked = collections.Counter()
    with torch.no_grad():
        for name in API["templates"]:
            for i in range(40):
                q = API["question"](name, f"v{i}", qid_of(name), SALT)
                assert plain(independent_answer(q)) == plain(q["answer"]), (name, q["student"], q["text"])
                checked[name] += 1
    assert set(checked) == set(API["templates"]) and min(checked.values()) == 40


def test_three_students_get_different_versions_of_a_hard_question():
    texts = [API["question"]("h_n_everything", s, "q8", SALT)["text"] for s in ("alice", "bob", "carol")]
    assert len(set(texts)) == 3
