"""The question generator (course/questions.py) and its two pools: the course test's (graded_pool.py,
solved by course/graded_key/) and the practice pool (practice_pool.py, solvers public).

The same question for the same seed everywhere; each student's template set meets the reasoning
quota, and the number of such sets is computed; rendering never needs the key, and the key never
rejects a rendered draw; options are balanced; and every answer is checked a second way: the
question's *text*, the only thing a student sees, is read back (the layer it builds, the numbers it
gives, the program it shows) and worked out here with torch or plain formulas. So an answer is
right for what the question says, not merely for what the template meant.

The suite's share is kept small (tens of ids per template); `benchmarks/question_pools.py` does
the full counts over 10,000 ids. The golden values (tests/data/questions_golden.json) pin the
draws: regenerate them with `UPDATE_GOLDEN=1 python -m pytest tests/test_questions.py -k golden`
only when a template is meant to change (and then every student gets a new test: bump the salt).
"""
import collections
import itertools
import json
import math
import os
import re
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from question_snapshot import GOLDEN_STUDENTS, SALT, key_lines, plain, snapshot

from course import graded_key
from course.build import checks_source

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "data" / "questions_golden.json"
IDS = 40  # ids per template in the suite (benchmarks/question_pools.py does 10,000)
NEW_REASONING = {"cell_update", "gate_extremes", "gate_rows", "gate_step", "bptt_reach", "bptt_backward", "head_width",
                 "running_sequences", "packed_last_state", "head_states", "params_in_words", "cell_recurrence"}


def load_api(pool):
    namespace = {"__name__": "__main__"}
    exec(compile(checks_source((), questions=pool), f"<checks {pool}>", "exec"), namespace)
    return namespace["_course_answers"]


GRADED, PRACTICE = load_api("graded"), load_api("practice")
KEY = graded_key.load(GRADED)


def graded(name, student, qid="q1", salt=SALT):
    return KEY["solve"](GRADED["question"](name, student, qid, salt))


def practice(name, student, qid="q1", salt=SALT):
    return PRACTICE["practice_question"](name, student, qid, salt)


def names(api, pool):
    return sorted(n for n, t in api["templates"].items() if t["pool"] == pool)


def complete(name, student, qid="q1"):
    return graded(name, student, qid) if name in GRADED["templates"] else practice(name, student, qid)


def as_answer(q, value):
    return nn.LSTM(**value) if q["kind"] == "lstm" else value


# --- determinism --------------------------------------------------------------------------------------

def test_golden_values_are_reproduced():
    now = snapshot(GRADED, KEY["solve"], PRACTICE)
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(now, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert set(golden) == set(now), "templates or golden students changed: regenerate on purpose (see docstring)"
    changed = [k for k in golden if golden[k] != now[k]]
    assert not changed, f"questions changed for {changed[:3]}: the same seed must give the same question"


def test_same_seed_same_question_and_a_new_salt_a_new_test():
    again = load_api("graded")  # a fresh checks cell, as another kernel would run it
    for name in names(GRADED, "graded"):
        assert GRADED["question"](name, "alice", "q3", SALT) == again["question"](name, "alice", "q3", SALT)
    sets = {salt: GRADED["draw_set"]("graded", "alice", salt, 6) for salt in (SALT, "lstm-course-2027")}
    texts = {salt: [GRADED["question"](sets[salt][q], "alice", q, salt)["text"] for q in sets[salt]] for salt in sets}
    assert sum(a != b for a, b in zip(texts[SALT], texts["lstm-course-2027"])) >= 8


def test_draws_come_from_sha256_of_salt_id_qid_and_counter():
    import hashlib

    d = GRADED["draws"]("salt", "alice", "q3")
    first = int.from_bytes(hashlib.sha256(b"salt|alice|q3|0").digest()[:8], "big") % 1000
    second = int.from_bytes(hashlib.sha256(b"salt|alice|q3|1").digest()[:8], "big") % 7
    assert (d.below(1000), d.below(7)) == (first, second)


# --- the pools -----------------------------------------------------------------------------------------

def test_pools_by_difficulty_tag_and_the_new_reasoning_templates():
    pool = {n: t for n, t in GRADED["templates"].items() if t["pool"] == "graded"}
    assert set(pool).isdisjoint(names(PRACTICE, "practice")), "the practice pool never holds a graded template"
    assert not names(PRACTICE, "graded") and not names(GRADED, "practice"), "each notebook carries one pool"
    assert all(t["tag"] in ("recall", "reasoning") for t in list(pool.values()) + list(PRACTICE["templates"].values()))
    reasoning = {n for n, t in pool.items() if t["tag"] == "reasoning"}
    assert NEW_REASONING <= reasoning and len(NEW_REASONING) >= 10
    levels = collections.Counter(t["difficulty"] for t in pool.values())
    assert levels["easy"] >= 3 and levels["medium"] >= 4 and levels["hard"] >= 3
    assert {t["kind"] for t in pool.values()} == {"lstm", "shape", "int", "choice", "float", "floats"}
    assert {t["lesson"] for t in pool.values()} >= {"01_syntax", "02_shapes", "03_states", "04_cell", "05_sequences",
                                                     "06_model"}
    for level in GRADED["LEVELS"]:  # the practice test draws 3, 4 and 3 too
        assert len(PRACTICE["pool_names"]("practice", level)) >= dict(easy=3, medium=4, hard=3)[level]


def test_the_number_of_template_sets_meeting_the_quota_is_computed_and_at_least_50000():
    counted = GRADED["count_sets"]("graded", GRADED["REASONING"])
    assert counted >= 50_000
    # The same number by listing every set (about 1.4 million of them), to check the formula.
    tag = {n: t["tag"] == "reasoning" for n, t in GRADED["templates"].items()}
    per_level = [[sum(tag[n] for n in c) for c in itertools.combinations(GRADED["pool_names"]("graded", level), size)]
                 for level, size in (("easy", 3), ("medium", 4), ("hard", 3))]
    listed = collections.Counter(a + b for a in per_level[0] for b in per_level[1])
    assert sum(n * sum(1 for c in per_level[2] if r + c >= 6) for r, n in listed.items()) == counted
    print(f"\n{counted} template sets meet the quota of {GRADED['REASONING']} reasoning questions")


def test_every_students_set_meets_the_quota_and_students_get_different_sets():
    sets = [GRADED["draw_set"]("graded", f"s{1000000 + i}", SALT, GRADED["REASONING"]) for i in range(300)]
    for chosen in sets:
        assert list(chosen) == [q for q, _ in GRADED["TEST_LAYOUT"]]
        levels = [GRADED["templates"][n]["difficulty"] for n in chosen.values()]
        assert levels == [level for _, level in GRADED["TEST_LAYOUT"]]
        assert len(set(chosen.values())) == 10
        assert sum(GRADED["templates"][n]["tag"] == "reasoning" for n in chosen.values()) >= GRADED["REASONING"]
    assert len({tuple(sorted(s.values())) for s in sets}) >= 290  # 300 students, nearly all different sets
    used = collections.Counter(n for s in sets for n in s.values())
    assert set(used) == set(names(GRADED, "graded"))  # every template is drawn


# --- rendering never needs the key; the key never rejects a rendered draw -----------------------------

def test_rendering_holds_no_answer_and_the_public_files_hold_none_of_the_key():
    for name in names(GRADED, "graded"):
        q = GRADED["question"](name, "alice", "q1", SALT)
        assert not {"answer", "mistakes", "right"} & set(q), name
    public = "\n".join((ROOT / "course" / name).read_text()
                       for name in ("questions.py", "graded_pool.py", "practice_pool.py"))
    shared = {line for line in key_lines(graded_key.source()) if line in public}
    assert not shared, f"the key's lines in a public file: {sorted(shared)[:3]}"


def test_the_key_never_rejects_a_rendered_draw(spread):
    """IDS ids per template here; benchmarks/question_pools.py does 10,000 ids and prints the count."""
    rejected = collections.Counter()
    for name in names(GRADED, "graded"):
        for q in spread[name]:
            rejected.update(f"{name}: {p}" for p in GRADED["question_problems"](q))
    assert not rejected, rejected


def test_every_entry_of_the_vetted_number_tables_passes_the_key():
    tables, digits = GRADED["vetted_tables"], GRADED["vetted_digits"]

    class Fixed:  # the draws of one table entry
        def __init__(self, index):
            self.index = index

        def below(self, n):
            return self.index

    for name, table in tables.items():
        spec, width = GRADED["templates"][name], {"cell_update": 4}.get(name, 5)
        entries = [table[k:k + width] for k in range(0, len(table), width)]
        assert len(entries) == 256 and len(set(entries)) == 256 and set(table) <= set(digits)
        for index in range(len(entries)):
            q = dict(spec["render"](Fixed(index)), template=name, kind=spec["kind"], qid="q1")
            assert not GRADED["question_problems"](KEY["solve"](q)), (name, entries[index])


def test_every_forget_pair_passes_the_key():
    """forget_steps draws (f, share) from a fixed list: each pair's answer and named mistakes all differ."""
    class Fixed:  # the draws of one pair
        def __init__(self, index):
            self.index = index

        def pick(self, options):
            return options[self.index]

    spec = GRADED["templates"]["forget_steps"]
    for index in range(28):
        q = dict(spec["render"](Fixed(index)), template="forget_steps", kind="int", qid="q1")
        assert not GRADED["question_problems"](KEY["solve"](q)), q["given"]


# --- the answers -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def spread():
    """Every template's completed questions for IDS student ids, each in one of the test's ten slots."""
    return {name: [complete(name, f"s{1000000 + i}", f"q{1 + i % 10}") for i in range(IDS)]
            for name in names(GRADED, "graded") + names(PRACTICE, "practice")}


def test_answers_spread_over_students(spread):
    for name, questions in spread.items():
        counts = collections.Counter(json.dumps(plain(q["answer"], 3), sort_keys=True) for q in questions)
        if questions[0]["kind"] == "choice":
            continue  # test_options_are_balanced
        assert len(counts) >= 5, f"{name}: only {len(counts)} distinct answers over {IDS} ids"
        top, n = counts.most_common(1)[0]
        assert n / IDS <= 0.45, f"{name}: {top} is the answer for {n / IDS:.0%} of ids"


def test_options_are_balanced(spread):
    """Every option of a multiple-choice question lands on each letter for 15-35% of 400 ids (25% expected),
    whichever option is right; and the right letter varies (benchmarks/question_pools.py counts it over 10,000)."""
    for api, pool in ((GRADED, "graded"), (PRACTICE, "practice")):
        for name in [n for n in names(api, pool) if api["templates"][n]["kind"] == "choice"]:
            where = collections.Counter()
            for i in range(400):
                q = api["question"](name, f"b{i}", "q1", SALT)
                where.update((key, letter) for letter, (key, _) in zip("ABCD", q["choices"]))
            for (key, letter), n in where.items():
                assert 0.15 <= n / sum(v for (k, _), v in where.items() if k == key) <= 0.35, (name, key, letter, n)
            assert len({q["answer"] for q in spread[name]}) == 4, name


def test_a_named_mistake_gets_its_hint_and_the_answer_passes():
    for name in names(GRADED, "graded") + names(PRACTICE, "practice"):
        for student in GOLDEN_STUDENTS:
            q = complete(name, student)
            api = GRADED if q["pool"] == "graded" else PRACTICE
            assert api["judge_question"](q, as_answer(q, q["answer"])) is None, (name, student)
            for mistake, hint in q["mistakes"]:
                message = api["judge_question"](q, as_answer(q, mistake))
                assert message == hint, (name, student, mistake, message)
                if q["kind"] in ("shape", "float", "floats"):  # a hint never gives the answer away
                    values = [q["answer"]] if q["kind"] == "float" else q["answer"]
                    shown = str(tuple(values)) if q["kind"] == "shape" else \
                        ", ".join(f"{v:.{q['decimals']}f}" for v in values)
                    assert shown not in message, (name, message)


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
    return {"lstm": lstm, "output": output, "h_n": h_n, "c_n": c_n, "torch": torch}


def _number(name, text):
    return float(re.search(rf"\b{name} = (-?\d+\.\d+)", text).group(1))


def _options(text):
    return dict(re.findall(r"^- ([A-D])\. (.+)$", text, flags=re.M))


def _letter_where(text, holds):
    """The one option letter whose (code, unquoted) `holds`."""
    right = [letter for letter, said in _options(text).items() if holds(said.strip("`"))]
    assert len(right) == 1, (text, right)
    return right[0]


def _equal(scope, code, want):
    try:
        got = eval(code, {}, scope)  # noqa: S307 - the generator's own text
    except Exception:
        return False
    return tuple(got.shape) == tuple(want.shape) and bool(torch.allclose(got, want, atol=1e-6))


def _ints(pattern, text):
    return [int(v) for v in re.search(pattern, text).groups()]


def _count(cfg):
    return sum(p.numel() for p in nn.LSTM(**cfg).parameters())


def _run_program(program, k, chunks):
    """The question's training loop, executed as it is shown: which statement does torch make true?"""
    torch.manual_seed(0)
    lstm = nn.LSTM(2, 3)
    x = torch.randn(k * chunks, 1, 2, requires_grad=True)
    scope = {"lstm": lstm, "x": x, "h0": torch.zeros(1, 1, 3), "c0": torch.zeros(1, 1, 3)}
    body = program.replace("for chunk in", "for n, chunk in enumerate(") .replace(f"x.split({k}):", f"x.split({k})):")
    body = body.replace("    out, (h, c)", "    x.grad = None\n    lstm.zero_grad()\n    out, (h, c)")
    try:
        exec(body, scope)  # noqa: S102 - the generator's own program
    except RuntimeError:
        return "raises"
    reached = bool(x.grad[:k * (chunks - 1)].abs().sum() > 0)  # the last chunk's backward, into earlier steps
    return "every chunk" if reached else "own chunk"


def independent_answer(q):
    """The answer to q["text"], from torch or the formulas alone: what the text describes."""
    text, name = q["text"], q["template"]
    if name == "constructor":
        m = re.search(r"reads (\d+) features per time step, has (\d+) hidden units, and takes its input as "
                      r"\((\w+), (\w+), features\)", text)
        return {"input_size": int(m.group(1)), "hidden_size": int(m.group(2)), "batch_first": m.group(3) == "batch"}
    if name == "input_shape":
        lstm = _layer_in(text)
        n, steps = map(int, re.search(r"read (\d+) sequences of (\d+) steps", text).groups())
        shape = (n, steps, lstm.input_size) if lstm.batch_first else (steps, n, lstm.input_size)
        output, _ = lstm(torch.randn(shape))  # torch reads it
        assert output.shape[0 if lstm.batch_first else 1] == n
        return shape
    if name in ("parameter_count", "bidirectional_parameters"):
        return sum(p.numel() for p in _layer_in(text).parameters())
    if name in ("weight_shape", "bias_shape", "weight_ih_upper", "weight_hh_projected"):
        param = re.search(r"`lstm\.(\w+)`", text).group(1)
        return tuple(getattr(_layer_in(text), param).shape)
    if name == "packed_data":
        lstm = _layer_in(text)
        lengths = json.loads(re.search(r"lengths (\[[\d, ]+\])", text).group(1))
        first = "batch-first" in text
        n, longest = len(lengths), max(lengths)
        x = torch.randn((n, longest, lstm.input_size) if first else (longest, n, lstm.input_size))
        packed = pack_padded_sequence(x, lengths, batch_first=first, enforce_sorted=False)
        return tuple(lstm(packed)[0].data.shape)
    if name == "padded_output":
        lstm = _layer_in(text)
        lengths = json.loads(re.search(r"lengths (\[[\d, ]+\])", text).group(1))
        first = lstm.batch_first
        x = torch.randn((len(lengths), max(lengths), lstm.input_size) if first else
                        (max(lengths), len(lengths), lstm.input_size))
        out, _ = lstm(pack_padded_sequence(x, lengths, batch_first=first, enforce_sorted=False))
        return tuple(pad_packed_sequence(out, batch_first=first)[0].shape)
    if name == "cell_update":
        i, f, g, c = (_number(v, text) for v in ("i", "f", "g", r"c_\(t-1\)"))
        return f * c + i * g
    if name == "gate_step":
        i, f, o, g, c = (_number(v, text) for v in ("i", "f", "o", "g", r"c_\(t-1\)"))
        new = f * c + i * g
        return (new, o * math.tanh(new))
    if name == "cell_recurrence":
        i, f, g, c = (_number(v, text) for v in ("i", "f", "g", "c_0"))
        steps = int(re.search(r"after (\d+) steps", text).group(1))
        for _ in range(steps):
            c = f * c + i * g
        return c
    if name == "gate_value":
        z = float(re.search(r"pre-activation .* is (-?\d+\.\d+)\.", text).group(1))
        return math.tanh(z) if "candidate" in text else 1 / (1 + math.exp(-z))
    if name == "forget_bias":
        p = float(re.search(r"start at f = (\d\.\d+)", text).group(1))
        return math.log(p / (1 - p)) / 2
    if name == "bptt_reach":
        k, t = _ints(r"in chunks of (\d+) steps.*output at step (\d+) alone", text)
        return (t - 1) % k + 1  # from the start of step t's chunk to step t
    if name == "bptt_chunks":
        total, k = _ints(r"sequence of (\d+) steps .* chunks of (\d+) steps", text)
        return math.ceil(total / k)
    if name == "running_sequences":
        lengths = json.loads(re.search(r"lengths (\[[\d, ]+\])", text).group(1))
        t = int(re.search(r"At time step (\d+)", text).group(1))
        return sum(length > t for length in lengths)
    if name == "head_width":
        h, = _ints(r"has (\d+) hidden units", text)
        proj = re.search(r"proj_size=(\d+)", text)
        return 2 * (int(proj.group(1)) if proj else h)
    if name == "params_in_words":
        f, h, layers, p = _ints(r"reads (\d+) features per step, has (\d+) hidden units .* stacks (\d+) layers, .* "
                                r"hidden state to (\d+) feature", text)
        per_direction = [4 * h * ((f if k == 0 else 2 * p) + p) + 8 * h + p * h for k in range(layers)]
        return 2 * sum(per_direction)
    if name == "layer_from_shapes":
        steps, n, f, width, rows, h = _ints(r"`x` of shape `\((\d+), (\d+), (\d+)\)`.*`output` of shape `\(\d+, \d+, "
                                            r"(\d+)\)`.*`h_n` of shape `\((\d+), \d+, (\d+)\)`", text)
        assert width == 2 * h  # both directions side by side
        return {"input_size": f, "hidden_size": h, "num_layers": rows // 2, "bidirectional": True}
    if name == "gate_extremes":
        pinned = ("closed" if "output gate o = 0;" in text or "its output gate o = 0," in text else
                  "keep" if "f = 1 and its input gate i = 0" in text else
                  "replace" if "f = 0 and its input gate i = 1" in text else "reset")
        said = {"keep": "never changes", "replace": "candidate g_t", "reset": "is 0 from the first step",
                "closed": "h_t is 0 at every step"}[pinned]
        return _letter_where(text, lambda option: said in option)
    if name == "gate_rows":
        h = int(re.search(r"four blocks of (\d+)", text).group(1))
        gate = re.search(r"Which block is the \w+ \w* ?(\w)'s", text).group(1)
        block = "ifgo".index(gate)  # PyTorch's documented order: W_ii|W_if|W_ig|W_io
        return _letter_where(text, lambda code: code.endswith(f"[{block * h}:{(block + 1) * h}]"))
    if name == "padding_after_unpack":
        value = re.search(r"padding_value=(-?\d+\.\d+)", text).group(1)
        return _letter_where(text, lambda said: said.endswith(f"padding value, {value}"))
    if name == "bptt_backward":
        program = re.search(r"```python\n(.*?)```", text, flags=re.S).group(1)
        k, chunks = _ints(r"# (?:\d+) chunks of (\d+) steps", text)[0], int(re.search(r"# (\d+) chunks", text).group(1))
        seen = _run_program(program, k, chunks)
        said = {"raises": "raises a RuntimeError", "every chunk": "through every chunk", "own chunk": "within its own"}
        return _letter_where(text, lambda option: said[seen] in option)
    if name == "packed_last_state":
        lstm = _layer_in(text)
        lengths = json.loads(re.search(r"lengths (\[[\d, ]+\])", text).group(1))
        first, n = lstm.batch_first, len(lengths)
        seqs = [torch.randn(length, lstm.input_size) for length in lengths]
        want = torch.stack([lstm(s.unsqueeze(1))[1][0][-1, 0] if not first else lstm(s.unsqueeze(0))[1][0][-1, 0]
                            for s in seqs])  # each sequence alone: its top layer's last state
        x = nn.utils.rnn.pad_sequence(seqs, batch_first=first)
        scope = {"x": x, "lstm": lstm, "lengths": torch.tensor(lengths), "N": n, "torch": torch,
                 "pack_padded_sequence": pack_padded_sequence, "pad_packed_sequence": pad_packed_sequence}
        exec(re.search(r"```python\n(.*?)```", text, flags=re.S).group(1), scope)  # noqa: S102 - the shown program
        return _letter_where(text, lambda code: _equal(scope, code, want))
    if name == "forget_steps":
        f, share = (float(v) for v in re.search(r"holds at f = (\d\.\d+) .* less than (\d\.\d+) of the", text).groups())
        steps = 0
        while f ** steps >= share:  # what is left after k steps along c: f ** k
            steps += 1
        return steps
    if name == "gru_unpack":
        program = re.search(r"```python\n(.*?)```", text, flags=re.S).group(1)
        shape = _ints(r"# x: \((\d+), (\d+), (\d+)\)", text)
        scope = {"nn": nn, "x": torch.randn(*shape)}
        try:
            exec(program, scope)  # noqa: S102 - the generator's own program
        except ValueError:
            return _letter_where(text, lambda said: said.startswith("It raises a ValueError"))
        real = scope["gru"](scope["x"])[1]
        assert torch.equal(scope["h_n"], real[0]) and torch.equal(scope["c_n"], real[1])
        return _letter_where(text, lambda said: "the first and the second row" in said)
    if name == "forget_survival":
        f1, k1, f2, k2 = re.search(r"f = (\d\.\d+) for (\d+) steps, then f = (\d\.\d+) for the next (\d+)",
                                   text).groups()
        return float(f1) ** int(k1) * float(f2) ** int(k2)
    if name == "clip_factor":
        norm, max_norm = (float(v) for v in re.search(r"have the norm (\d+(?:\.\d+)?)\..*max_norm=(\d+(?:\.\d+)?)\)",
                                                       text).groups())
        return min(1.0, max_norm / norm)  # one factor for every gradient, and never above 1
    if name == "head_states":
        scope = _run(text)
        out, first = scope["output"], scope["lstm"].batch_first
        width = out.shape[-1] // 2
        scope["N"] = out.shape[0 if first else 1]
        last, start = (out[:, -1], out[:, 0]) if first else (out[-1], out[0])  # output: the top layer's states
        want = torch.cat([last[:, :width], start[:, width:]], dim=1)
        return _letter_where(text, lambda code: _equal(scope, code, want))
    if name == "tagger_logits":  # the tagger the text describes, built and run on a batch of its shape
        n, steps, longest, e = _ints(r"shape `\((\d+), (\d+)\)`.* the longest of them (\d+) steps long.* into (\d+) "
                                     r"features", text)
        lstm = eval(re.search(r"`(nn\.LSTM\([^`]*\))`", text).group(1), {"nn": nn})  # noqa: S307
        head = eval(re.search(r"`(nn\.Linear\([^`]*\))`", text).group(1), {"nn": nn})  # noqa: S307
        total = re.search(r"total_length=(\d+)", text)
        lengths = [longest] + [1] * (n - 1)
        packed = pack_padded_sequence(torch.randn(n, steps, e), lengths, batch_first=True, enforce_sorted=False)
        out, _ = pad_packed_sequence(lstm(packed)[0], batch_first=True,
                                     **({"total_length": int(total.group(1))} if total else {}))
        return tuple(head(out).shape)
    if name == "generation_cost":
        steps, prompt = _ints(r"writes (\d+) new ids after a prompt of (\d+) ids", text)
        if "runs the whole sequence so far" in text:  # calls of prompt, prompt + 1, ... ids
            return sum(prompt + k for k in range(steps))
        return prompt + steps  # the prompt once, then one id per step
    if name == "loss_terms":
        return sum(json.loads(re.search(r"lengths (\[[\d, ]+\])", text).group(1)))
    if name == "decoder_state":
        scope = _run(text)
        h_n, lstm = scope["h_n"], scope["lstm"]
        layers, n, h = lstm.num_layers, h_n.shape[1], lstm.hidden_size
        h_0 = torch.cat([h_n[0::2], h_n[1::2]], dim=2)  # each layer's forward row, then its backward row
        decoder = nn.LSTM(2, 2 * h, num_layers=layers)
        decoder(torch.randn(3, n, 2), (h_0, torch.zeros_like(h_0)))  # the decoder takes it
        return tuple(h_0.shape)
    if q["kind"] == "choice":
        scope = _run(text)
        target = re.search(r"equals `([^`]+)`", text).group(1)
        want = eval(target, {}, scope)  # noqa: S307
        return _letter_where(text, lambda code: _equal(scope, code, want))
    asked = re.search(r"What is the shape of `(output|h_n|c_n)`\?", text).group(1)
    return tuple(_run(text)[asked].shape)


def same(q, mine):
    if q["kind"] in ("float", "floats"):
        return plain(mine, q["decimals"]) == plain(q["answer"], q["decimals"])
    return plain(mine) == plain(q["answer"])


@pytest.mark.filterwarnings("ignore:LSTM with projections")  # oneDNN's note on a proj_size forward pass
def test_every_answer_is_what_the_text_says(spread):
    checked = collections.Counter()
    for name, questions in spread.items():
        for q in questions:
            mine = independent_answer(q)
            assert same(q, mine), (name, q["student"], q["text"], mine, q["answer"])
            checked[name] += 1
    assert min(checked.values()) == IDS and len(checked) == len(GRADED["templates"]) + len(PRACTICE["templates"])


def test_numbers_are_asked_to_their_decimals_and_hold_no_edge():
    for name in [n for n in names(GRADED, "graded") + names(PRACTICE, "practice")
                 if (GRADED["templates"].get(n) or PRACTICE["templates"][n])["kind"] in ("float", "floats")]:
        q = complete(name, "alice")
        assert f"to {q['decimals']} decimals" in q["text"], name
        values = [q["answer"]] if q["kind"] == "float" else q["answer"]
        assert not any(GRADED["near_edge"](v, q["decimals"]) for v in values)


def test_three_students_get_different_versions_of_a_question():
    texts = [GRADED["question"]("head_states", s, "q8", SALT)["text"] for s in ("alice", "bob", "carol")]
    assert len(set(texts)) == 3
