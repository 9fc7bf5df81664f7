"""course/numbers.py, the numeric answer kind: a float, or a tuple of floats, judged to k decimals.

Its describe/valid/show, the salted hash of the rounded value that a visible check holds, the
hidden tests `expect_float` / `expect_floats`, the messages for an answer of another kind (a
tensor, a string, a bool, a numpy scalar), what crosses from the grader's child as plain data,
and the rounding edges a generator must avoid.
"""
import json

import numpy as np
import pytest
import torch

from course.build import checks_source

NS = {"__name__": "__main__"}
exec(compile(checks_source(()), "<checks>", "exec"), NS)  # every checks cell holds numbers.py
API = NS["_course_answers"]


def verdict(check, *args, **kwargs):
    try:
        check(*args, **kwargs)
    except AssertionError as err:
        return str(err)
    return None


def test_describe_valid_and_show():
    assert API["describe"](0.25) == {"kind": "float", "value": 0.25}
    assert API["describe"]((0.5, 1)) == {"kind": "floats", "value": [0.5, 1.0]}
    assert API["describe"]((2, 3)) == {"kind": "shape", "value": [2, 3]}  # whole numbers alone stay a shape
    assert API["describe"](float("nan")) == {"kind": "float", "value": None}  # JSON carries no NaN
    for data in (API["describe"](0.25), API["describe"]((0.5, -1.25))):
        assert API["valid"](json.loads(json.dumps(data))) == data  # what the grader's child sends comes back
    assert API["valid"]({"kind": "float", "value": "0.25"})["kind"] == "invalid"  # forged: unreadable
    assert API["valid"]({"kind": "floats", "value": [0.1] * 9})["kind"] == "invalid"
    assert API["show"]({"kind": "floats", "value": [0.42712, -0.25]}) == "(0.42712, -0.25)"
    assert API["show"]({"kind": "float", "value": None}) == "nan"


def test_rounded_values_are_judged_and_hashed_not_spelled():
    assert verdict(API["expect_float"], "x.q1", 0.4271, 0.42712, 3) is None
    assert verdict(API["expect_float"], "x.q1", 0.427, 0.42712, 3) is None
    assert verdict(API["expect_float"], "x.q1", 1, 1.0004, 3) is None  # a whole number is a number
    assert "not the right number to 3 decimals" in verdict(API["expect_float"], "x.q1", 0.5, 0.42712, 3)
    assert "looks rounded to fewer" in verdict(API["expect_float"], "x.q1", 0.43, 0.42712, 3)
    assert verdict(API["expect_float"], "x.q1", 0.2, 0.42712, 3, mistakes=[(0.2, "swapped f and i")]) == \
        "swapped f and i"
    key = API["number_key"]("x.q2", (0.42712, 0.28903), 3)
    assert key.startswith("floats:3x2:") and "427" not in key
    assert verdict(NS["check"], (0.427, 0.289), "x.q2", key, {}) is None
    assert verdict(NS["check"], [0.4271, 0.2894], "x.q2", key, {}) is None
    assert "Those are not the right numbers" in verdict(NS["check"], (0.427, 0.3), "x.q2", key, {})
    # The hidden test knows the numbers: it says which one is right, never its value.
    message = verdict(API["expect_floats"], "x.q2", (0.427, 0.3), (0.42712, 0.28903), 3)
    assert message.startswith("Your first number is right") and "0.289" not in message


@pytest.mark.parametrize("answer, fragment", [
    (torch.tensor(0.427), "use x.item()"),
    ("0.427", "without quotes"),
    (True, "True and False are not numbers"),
    (np.float64(0.427), "float(x)"),
    (None, "No answer yet"),
    ((0.427,), "a tuple of one number"),
    ([0.1, 0.2], "Your answer is 2 numbers"),
])
def test_an_answer_of_another_kind_is_told_what_to_give(answer, fragment):
    message = verdict(API["expect_float"], "x.q1", answer, 0.42712, 3)
    assert message.startswith(("This question wants a number", "No answer yet")) and fragment in message, message


def test_pairs_want_their_count_and_other_kinds_name_a_number():
    assert "wants 2 numbers" in verdict(API["expect_floats"], "x.q2", 0.427, (0.4, 0.3), 3)
    assert "Your answer is 3 numbers" in verdict(API["expect_floats"], "x.q2", (0.4, 0.3, 0.1), (0.4, 0.3), 3)
    assert "Give a whole number: 120, not 120.0" in verdict(NS["expect_int"], "x.q3", 120.0, 120)
    assert "A shape holds whole numbers" in verdict(NS["expect_shape"], "x.q4", (2.0, 3, 4), (2, 3, 4))


def test_rounding_edges():
    assert API["rounded"](0.42751, 3) == 428 and API["rounded"](-0.42749, 3) == -427
    assert API["near_edge"](0.4275, 3) and API["near_edge"](0.42751, 3)  # within 1e-4 of 0.4275
    assert not API["near_edge"](0.42761, 3) and not API["near_edge"](0.42, 2) and API["near_edge"](0.425, 2)


def test_a_lessons_number_exercise_gets_its_visible_check_from_the_hidden_one():
    """A lesson's test cell written as `expect_float(...)`: `make release` derives the visible check (hashes only)."""
    from course import build

    hidden = ('### BEGIN HIDDEN TESTS\nexpect_floats("07_x.q2", answer_q2, (0.42712, 0.28903), decimals=3, '
              'mistakes=[((0.2, 0.1), "tanh forgotten")])\n### END HIDDEN TESTS')
    visible = build.visible_part(hidden)
    # Neither the answer nor a hint is readable: the hint is sealed under the mistake's own numbers.
    assert "0.427" not in visible and "0.289" not in visible and "tanh forgotten" not in visible
    scope = dict(NS)
    for answer, expected in (((0.427, 0.289), None), ((0.2, 0.1), "tanh forgotten")):
        scope["answer_q2"] = answer
        assert verdict(exec, visible, scope) == expected  # noqa: S102 - the generated check, run
