"""Predict, then run; and progressive hints: `compare_prediction(...)` and `hint("q3")`.

`python -m course.build` pastes this file into every lesson's checks cell, after checks.py and
probes.py. A prediction cell never fails: the code under it runs whatever the learner guessed,
and the comparison only prints. Hints come in three steps per exercise, a nudge, then the rule,
then a worked example on other numbers that runs when shown, so what it prints is PyTorch's
own; none gives the answer. They live in the source notebook's answer cells
(metadata course.hints) and build.py registers them here, so they survive `nbgrader
generate_assignment` in a locked cell.
"""


def _install_predict(api):
    import contextlib
    import io
    import warnings

    import torch
    from torch import nn

    hints, shown = {}, {}
    print_, str_, tuple_, list_, isinstance_, len_, sorted_, zip_ = print, str, tuple, list, isinstance, len, sorted, zip

    def plain(value):
        """A prediction or a result as plain data: a shape as a tuple of ints, else the value."""
        if isinstance_(value, torch.Size):
            return tuple_(int(v) for v in value)
        if isinstance_(value, (list_, tuple_)) and all(isinstance_(v, int) and not isinstance_(v, bool) for v in value):
            return tuple_(value)
        if isinstance_(value, torch.Tensor):
            return value
        if isinstance_(value, str_):
            return value.strip()
        return value

    def same(a, b):
        if isinstance_(a, torch.Tensor) or isinstance_(b, torch.Tensor):
            return isinstance_(a, torch.Tensor) and isinstance_(b, torch.Tensor) and a.shape == b.shape and \
                bool(torch.equal(a, b))
        if isinstance_(a, str_) and isinstance_(b, str_):
            return a.upper() == b.upper()
        return type(a) is type(b) and a == b or (isinstance_(a, tuple_) and isinstance_(b, tuple_) and a == b)

    def why(guess, truth):
        """The usual reason a shape guess is off, read from how it differs."""
        if not (isinstance_(guess, tuple_) and isinstance_(truth, tuple_)):
            return "Look at the printed value and work out which rule gives it."
        if len_(guess) != len_(truth):
            return f"PyTorch's result has {len_(truth)} axes, your guess {len_(guess)}: which axis is missing or extra?"
        if sorted_(guess) == sorted_(truth):
            return "The right sizes in the wrong order: which axis comes first here (think of batch_first)?"
        off = [(g, t) for g, t in zip_(guess, truth) if g != t]
        if len_(off) == 1 and off[0][1] == 2 * off[0][0]:
            return "One size is half of PyTorch's: count what multiplies it (D = 2 for two directions, num_layers for a stack)."
        if len_(off) == 1 and off[0][0] == 2 * off[0][1]:
            return "One size is twice PyTorch's: is the layer really bidirectional, or is that axis per direction?"
        if len_(off) == 1:
            return "One axis is off: compare it with the rule for that axis."
        return "Several axes are off: write down what each axis means, then compare."

    def compare_prediction(prediction, actual, mistakes=None):
        """Print how a prediction compares with what PyTorch computed. Never raises: the code runs either way."""
        guess, truth = plain(prediction), plain(actual)
        if prediction is None:
            print_("No prediction yet: type yours in the cell above, run it, then run this cell again.")
            return None
        if same(guess, truth):
            print_(f"You predicted {guess!r}: right.")
            return True
        named = None
        for wrong, message in (mistakes or {}).items():
            if same(guess, plain(wrong)):
                named = message
        print_(f"You predicted {guess!r}; PyTorch says {truth!r}. {named or why(guess, truth)}")
        return False

    # --- progressive hints ------------------------------------------------------------------------

    LEVELS = ("a nudge", "the rule", "a worked example, on other numbers")

    def set_hints(found):
        hints.update(found)

    def run_example(code):
        out = io.StringIO()
        scope = {"torch": torch, "nn": nn, "__name__": "__hint__"}
        with contextlib.redirect_stdout(out), warnings.catch_warnings(), torch.random.fork_rng(devices=[]):
            warnings.simplefilter("ignore")
            torch.manual_seed(0)
            exec(compile(code, "<worked example>", "exec"), scope)  # noqa: S102 - the course's own example
        return out.getvalue().rstrip()

    def hint(question, number=None):
        """Print the next hint for `question` ("q3"), or hint number 1-3 again; return nothing."""
        key = str_(question).rsplit(".", 1)[-1]
        steps = hints.get(key)
        if not steps:
            known = ", ".join(sorted_(hints, key=lambda q: int(q[1:]) if q[1:].isdigit() else 0)) or "none"
            print_(f"No hints for {question!r} in this notebook (hints exist for: {known}).")
            return None
        if number is None:
            number = shown.get(key, 0) + 1
            if number > len_(steps):
                print_(f"That was the last hint for {key}. hint({key!r}, 1) shows the first one again.")
                return None
        number = max(1, min(int(number), len_(steps)))
        shown[key] = max(shown.get(key, 0), number)
        step = steps[number - 1]
        head = f"Hint {number} of {len_(steps)} for {key} ({LEVELS[min(number, 3) - 1]}):"
        if isinstance_(step, dict):
            text = f"{head} {step.get('text', '')}\n\n{step['code']}\n\nIt prints:\n{run_example(step['code'])}"
        else:
            text = f"{head} {step}"
        print_(text)  # and nothing returned: Jupyter would show the text a second time, quoted

    def has_hints(qid):
        return str_(qid).rsplit(".", 1)[-1] in hints

    api.update({"compare_prediction": compare_prediction, "set_hints": set_hints, "hint": hint,
                "has_hints": has_hints, "run_example": run_example, "hints": hints})
    return compare_prediction, hint


compare_prediction, hint = _install_predict(_course_answers)
del _install_predict
