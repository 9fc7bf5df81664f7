"""Numbers as answers: one float, or a few floats (a pair such as (c_t, h_t)), asked to k decimals.

`python -m course.build` pastes this file right after course/checks.py into every checks cell;
checks.py hands these two kinds here through its `more_kinds` hooks, so the whole story of a
number answer is in this file: what it is as plain data (`describe`, `valid`), its short text
(`show`), its salted hash (`number_key`), the checks (`expect_float`, `expect_floats` and the
visible `check` through checks.py's verdict) and the messages for an answer of another kind.

A number is judged rounded to the question's k decimals: the answer and a student's value are
compared as round-half-up integers of 10^k (so 0.4271 and 0.427 are the same answer to 3
decimals), and a visible check holds only the salted hash of that integer. A value that lies
within EDGE of a rounding bin's edge could round either way, so generators never ask for one
(`near_edge`), and no named mistake may round to the answer or to another mistake.

Only plain Python floats (and ints, for a number that happens to be whole) are numbers here:
a tensor, a numpy scalar, a string or a bool gets a message saying what to give instead.
"""


def _install_numbers(api):
    import hashlib
    import json
    import math

    type_, int_, float_, tuple_, list_ = type, int, float, tuple, list
    len_, all_, any_, abs_, zip_, enumerate_, round_ = len, all, any, abs, zip, enumerate, round
    isfinite, floor, sha256, dumps = math.isfinite, math.floor, hashlib.sha256, json.dumps
    dict_get = dict.get
    fail = api["fail"]
    MAX_NUMBERS = 8
    EDGE = 1e-4  # a value this close to a rounding edge is never asked for
    ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")

    def is_number(value):
        return type_(value) is float_ or type_(value) is int_

    def plain_number(value):
        """A finite float as plain data; None for NaN, infinities and ints too large (JSON has neither)."""
        try:
            value = float_(value)
        except OverflowError:
            return None
        return value if isfinite(value) else None

    def describe(answer):
        """A float, or a tuple or list of 1 to 8 numbers with at least one float; None for anything else."""
        kind = type_(answer)
        if kind is float_:
            return {"kind": "float", "value": plain_number(answer)}
        if (kind is tuple_ or kind is list_) and 1 <= len_(answer) <= MAX_NUMBERS:
            items = list_(answer)
            if all_(is_number(v) for v in items) and any_(type_(v) is float_ for v in items):
                return {"kind": "floats", "value": [plain_number(v) for v in items]}
        return None

    def valid(data):
        value = dict_get(data, "value")
        ok = lambda v: v is None or (type_(v) is float_ and isfinite(v))  # noqa: E731
        if data["kind"] == "float" and ok(value):
            return {"kind": "float", "value": value}
        if data["kind"] == "floats" and type_(value) is list_ and 1 <= len_(value) <= MAX_NUMBERS \
                and all_(ok(v) for v in value):
            return {"kind": "floats", "value": list_(value)}
        return None

    def given(data):
        if data["kind"] == "float":
            return "a number" if data["value"] is not None else "a number that is NaN or infinite"
        return f"{len_(data['value'])} numbers"

    def number_text(value):
        return "nan" if value is None else f"{value:.6g}"

    def show(data):
        if data["kind"] == "float":
            return number_text(data["value"])
        return "(" + ", ".join(number_text(v) for v in data["value"]) + ")"

    # --- rounding and hashing --------------------------------------------------------------------------

    def rounded(value, decimals):
        """value to `decimals` decimals, round half up, as an int of 10^-decimals."""
        return floor(float_(value) * 10 ** decimals + 0.5)

    def near_edge(value, decimals, edge=EDGE):
        """True when value lies within `edge` of a rounding edge at `decimals` decimals (it could round either way)."""
        scaled = float_(value) * 10 ** decimals + 0.5
        return abs_(scaled - round_(scaled)) < edge * 10 ** decimals

    def numbers_of(value):
        return [value] if is_number(value) else list_(value)

    def number_description(value, decimals):
        """What a number answer is judged as: its kind, decimals and values rounded (plain data, for hashing)."""
        kind = "float" if is_number(value) else "floats"
        return {"kind": kind, "decimals": decimals, "value": [rounded(v, decimals) for v in numbers_of(value)]}

    def number_key(qid, value, decimals):
        """The salted hash of `value` (a number, or a tuple of them) rounded to `decimals`:
        "float:3:<hash>", or "floats:3x2:<hash>" for two numbers."""
        values = numbers_of(value)
        kind = "float" if is_number(value) else "floats"
        canon = dumps(number_description(value, decimals), sort_keys=True, separators=(",", ":"))
        spec = f"{decimals}" if kind == "float" else f"{decimals}x{len_(values)}"
        return f"{kind}:{spec}:" + sha256(f"{qid}|{canon}".encode()).hexdigest()[:20]

    # --- verdicts ------------------------------------------------------------------------------------

    fixes = {  # what to give instead, by what was given
        "tensor": "Give a plain number: use x.item() (for two numbers, (a.item(), b.item())).",
        "choice": "Give the number itself, without quotes: 0.427, not '0.427'.",
        "string": "Give the number itself, without quotes: 0.427, not '0.427'.",
        "shape-string": "Give the numbers themselves, without quotes: (0.427, -0.25).",
        "bool": "True and False are not numbers here: give the value, such as 0.427.",
        "shape-items": "Give plain Python numbers: float(x) turns a numpy or torch scalar into one.",
        "other": "Give a plain Python number: float(x) turns a numpy or torch scalar into one.",
    }

    def wants(count):
        return "a number such as 0.427" if count == 1 else f"{count} numbers, as a tuple such as (0.427, -0.25)"

    def numbers_given(description, alone=None):
        """The student's numbers (whole ones too), or None when the answer is not numbers. alone: True when
        one number is wanted by itself, False when a tuple is (a tuple of one number is not a number)."""
        kind, value = description["kind"], dict_get(description, "value")
        if kind == "float" and alone is not False:
            return [value]
        if kind == "floats" and alone is not True:
            return list_(value)
        if kind == "int" and alone is not False:
            return [plain_number(value)]
        if kind == "shape" and alone is not True:  # a tuple of whole numbers: numbers that happen to be whole
            return [plain_number(v) for v in value]
        return None

    def wrong_kind(description, count):
        code = dict_get(description, "code", description["kind"])
        if code == "none":
            return api["wrong_kind"]("float", description, None)  # checks.py's one "No answer yet" message
        values = numbers_given(description)
        if values is not None:
            got = ("one number" if description["kind"] in ("float", "int") else "a tuple of one number") \
                if len_(values) == 1 else f"{len_(values)} numbers"
            return f"This question wants {wants(count)}. Your answer is {got}." + \
                (" Put them in one tuple, in the order the question asks." if count > 1 else "")
        if code == "other" and dict_get(description, "type") == "bool":
            code = "bool"
        fix = dict_get(fixes, code) or ""
        return " ".join(part for part in (f"This question wants {wants(count)}. Your answer is "
                                          f"{api['given'](description)}.", fix) if part)

    def number_form(kind, description, count=1):
        """None when `description` is the numbers a question of `kind` ("float", or "floats" of `count`) wants,
        else the message saying what to give instead (the course test's visible check)."""
        values = numbers_given(description, alone=kind == "float")
        if values is None or len_(values) != (1 if kind == "float" else count):
            return wrong_kind(description, 1 if kind == "float" else count)
        return None

    def parse_key(key):
        """(kind, decimals, count) of a number_key: "float:3:<hash>" or "floats:3x2:<hash>"."""
        kind, spec = key.split(":")[:2]
        decimals, _, count = spec.partition("x")
        return kind, int_(decimals), int_(count) if count else 1

    def verdict(qid, description, key, hints, opened=None, expected=None):
        """checks.py's verdict for a number question: None when right, else the message. opened(named, hint):
        the hint's text, `named` being the number_description of the answer it names (a visible check's hints may
        be sealed); `expected`: the numbers themselves (hidden tests only), for a message about each one."""
        kind, decimals, count = parse_key(key)
        values = numbers_given(description, alone=kind == "float")
        if values is None or len_(values) != count:
            return wrong_kind(description, count)
        if any_(v is None for v in values):
            return "Your answer holds NaN or an infinite value: compute it again."
        given_value = values[0] if kind == "float" else tuple_(values)
        got = number_key(qid, given_value, decimals)
        if got == key:
            return None
        hint = dict_get(hints or {}, got)
        if hint and opened is not None:
            hint = opened(number_description(given_value, decimals), hint)
        if hint:
            return hint
        if expected is not None and count > 1:
            right = [rounded(v, decimals) == rounded(e, decimals) for v, e in zip_(values, expected)]
            if any_(right):
                said = " and ".join(ORDINALS[i] for i, ok in enumerate_(right) if ok)
                return f"Your {said} number{'s are' if right.count(True) > 1 else ' is'} right, to {decimals} " \
                       "decimals; check the others."
        return (f"{'Those are not the right numbers' if count > 1 else 'That is not the right number'} to {decimals} "
                "decimals. Work it out again step by step, keeping all decimals until the end.")

    def expect_numbers(qid, answer, expected, decimals, mistakes):
        key = number_key(qid, expected, decimals)
        hints = {}
        for wrong, message in mistakes:
            hints[number_key(qid, wrong, decimals)] = message
        # Rounded too early: the answer to fewer decimals, asked to `decimals`.
        coarse = [floor(float_(v) * 10 ** (decimals - 1) + 0.5) / 10 ** (decimals - 1) for v in numbers_of(expected)]
        coarse_key = number_key(qid, coarse[0] if is_number(expected) else tuple_(coarse), decimals)
        if decimals > 1 and coarse_key != key and coarse_key not in hints:
            hints[coarse_key] = (f"Give {decimals} decimals: your answer looks rounded to fewer. Keep every decimal "
                                 "until the end, then round.")
        description = api["describe"](answer)
        message = verdict(qid, description, key, hints, None, None if is_number(expected) else list_(expected))
        if message is not None:
            fail(message)

    def expect_float(qid, answer, number, decimals=3, mistakes=()):
        """Hidden test: `answer` is `number` to `decimals` decimals; mistakes: [(wrong number, hint), ...]."""
        expect_numbers(qid, answer, float_(number), decimals, mistakes)

    def expect_floats(qid, answer, numbers, decimals=3, mistakes=()):
        """Hidden test: `answer` is the tuple `numbers`, each to `decimals` decimals."""
        expect_numbers(qid, answer, tuple_(float_(v) for v in numbers), decimals, mistakes)

    for kind in ("float", "floats"):
        api["more_kinds"][kind] = {"describe": describe, "valid": valid, "given": given, "show": show,
                                   "verdict": verdict, "fixes": {"int": "Give a whole number: 120, not 120.0.",
                                                                 "shape": "A shape holds whole numbers, such as "
                                                                          "(2, 3, 4)."}}
    api.update({"expect_float": expect_float, "expect_floats": expect_floats, "number_key": number_key,
                "number_form": number_form, "number_description": number_description,
                "rounded": rounded, "near_edge": near_edge, "number_edge": EDGE})


_install_numbers(_course_answers)
del _install_numbers
expect_float, expect_floats = _course_answers["expect_float"], _course_answers["expect_floats"]
