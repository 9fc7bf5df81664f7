"""Answer checks for the LSTM course: the one copy every lesson notebook carries.

`python -m course.build` pastes this file into the locked "course_checks" cell at
the top of each notebook in source/ (a student's notebook must stand alone in
Colab, so it cannot import it). Edit it here, never in a notebook.

Three kinds of answer exist: a shape (tuple, list or torch.Size of ints), a
multiple-choice letter, and an `nn.LSTM` layer. Each is reduced by `describe`
to plain data, so it is judged by meaning, not spelling:

- `check(answer, qid, key, hints)` is the visible self-check. It compares a
  salted hash, so the notebook never holds the answer in readable form, and it
  names a common mistake when the answer hashes to one.
- `expect_shape`, `expect_choice` and `expect_lstm` are the hidden tests'
  helpers. They take the expected answer in plain text (instructors only see
  them) and never put it in a message.

Every built-in, type and torch function used below is captured when this cell
runs, before any student code, so answers that compare equal to anything,
subclasses of tuple or int, and later patches of builtins or torch cannot fool
these checks. Code that rewrites the checks themselves (or the kernel) can:
inside one shared kernel nothing can stop it. The project's grader
(`python -m autograder`) runs student code in its own process for that reason.
"""


def _install_checks():
    import hashlib
    import json
    import warnings

    import torch
    from torch import nn

    # Captured now: student cells run later and may rebind or patch any of these.
    type_, tuple_, list_, int_, str_, float_, bool_, dict_ = type, tuple, list, int, str, float, bool, dict
    len_, sorted_, print_, exc_ = len, sorted, print, AssertionError
    lstm_type, size_type = nn.LSTM, torch.Size
    lstm_forward = nn.LSTM.forward
    get_attr = object.__getattribute__
    dict_get = dict.get
    randn, no_grad, generator, fork_rng = torch.randn, torch.no_grad, torch.Generator, torch.random.fork_rng
    catch_warnings, simplefilter = warnings.catch_warnings, warnings.simplefilter
    sha256, dumps = hashlib.sha256, json.dumps

    defaults = {"num_layers": 1, "bias": True, "batch_first": False, "dropout": 0.0,
                "bidirectional": False, "proj_size": 0}
    config_keys = ("input_size", "hidden_size") + tuple_(defaults)

    def invalid(why):
        return {"kind": "invalid", "why": why}

    def full_config(config):
        full = dict_(defaults)
        full.update(config)
        return {k: (bool_(full[k]) if type_(defaults.get(k)) is bool_ else
                    float_(full[k]) if k == "dropout" else full[k])
                for k in config_keys}

    def expected_param_shapes(cfg):
        d = 2 if cfg["bidirectional"] else 1
        h, p = cfg["hidden_size"], cfg["proj_size"]
        h_out = p if p > 0 else h
        shapes = {}
        for layer in range(cfg["num_layers"]):
            for suffix in ("", "_reverse")[:d]:
                in_k = cfg["input_size"] if layer == 0 else d * h_out
                shapes[f"weight_ih_l{layer}{suffix}"] = [4 * h, in_k]
                shapes[f"weight_hh_l{layer}{suffix}"] = [4 * h, h_out]
                if cfg["bias"]:
                    shapes[f"bias_ih_l{layer}{suffix}"] = [4 * h]
                    shapes[f"bias_hh_l{layer}{suffix}"] = [4 * h]
                if p > 0:
                    shapes[f"weight_hr_l{layer}{suffix}"] = [p, h]
        return shapes

    def describe_lstm(layer):
        # Read the instance's own __dict__: properties or __getattr__ added later can't lie here.
        state = get_attr(layer, "__dict__")
        raw = {k: dict_get(state, k) for k in config_keys}
        if any(type_(raw[k]) is not int_ for k in ("input_size", "hidden_size", "num_layers", "proj_size")):
            return invalid("This layer's sizes are not plain integers.")
        cfg = full_config(raw)
        params = dict_get(state, "_parameters") or {}
        shapes = {name: list_(t.shape) for name, t in params.items()}
        if shapes != expected_param_shapes(cfg):
            return invalid("This layer's weights do not match its settings: build it with nn.LSTM(...) "
                           "and don't change its attributes afterwards.")
        # A real forward pass: the layer must also behave like its settings say.
        d = 2 if cfg["bidirectional"] else 1
        h_out = cfg["proj_size"] or cfg["hidden_size"]
        first = next(iter(params.values()))
        # fork_rng and a private generator: checking must not shift the notebook's random numbers
        # (a dropout layer in train mode draws from the global generator).
        with no_grad(), catch_warnings(), fork_rng(devices=[]):
            simplefilter("ignore")  # e.g. proj_size on CPU warns on stderr, which nbgrader scores as a failure
            x = randn(3, 2, cfg["input_size"], dtype=first.dtype, generator=generator().manual_seed(0))
            if cfg["batch_first"]:
                x = x.transpose(0, 1)
            try:
                out, (h_n, c_n) = lstm_forward(layer, x)
            except Exception as err:  # the student's layer is broken; say so rather than crash
                return invalid(f"Running this layer failed: {type_(err).__name__}: {err}")
        want_out = [2, 3, d * h_out] if cfg["batch_first"] else [3, 2, d * h_out]
        want_h = [d * cfg["num_layers"], 2, h_out]
        want_c = [d * cfg["num_layers"], 2, cfg["hidden_size"]]
        if [list_(out.shape), list_(h_n.shape), list_(c_n.shape)] != [want_out, want_h, want_c]:
            return invalid("This layer does not behave like an nn.LSTM with its settings.")
        return {"kind": "lstm", "config": cfg}

    def describe(answer):
        """Reduce an answer to plain data (JSON-ready), judging types before values."""
        kind = type_(answer)
        if kind is lstm_type:
            return describe_lstm(answer)
        if kind is tuple_ or kind is list_ or kind is size_type:
            items = list_(answer)
            if not all(type_(n) is int_ for n in items):
                return invalid("A shape holds plain Python ints, for example (2, 3, 4).")
            return {"kind": "shape", "value": items}
        if kind is str_:
            letter = answer.strip().strip("()[].").upper()
            if len_(letter) != 1 or not ("A" <= letter <= "Z"):
                return invalid("Answer a multiple-choice question with a single letter, for example 'B'.")
            return {"kind": "choice", "value": letter}
        if answer is None or answer is ...:
            return invalid("No answer yet: replace the placeholder with your answer.")
        return invalid(f"Expected a shape tuple, a letter or an nn.LSTM layer; this answer's type is {kind.__name__}.")

    def digest(qid, description):
        canon = dumps(description, sort_keys=True, separators=(",", ":"))
        return description["kind"] + ":" + sha256(f"{qid}|{canon}".encode()).hexdigest()[:20]

    what = {"shape": "a shape, such as (2, 3, 4)", "choice": "a single letter",
            "lstm": "an nn.LSTM layer"}
    not_yet = {"shape": "That is not the right shape. Write down which axis is which, then try again.",
               "choice": "That is not the right choice.",
               "lstm": "That layer is not configured as asked. Read the task again, argument by argument."}

    def verdict(qid, answer, key, hints):
        description = describe(answer)
        want = key.split(":")[0]
        if description["kind"] == "invalid":
            return description["why"]
        if description["kind"] != want:
            return f"This question wants {what[want]}."
        got = digest(qid, description)
        if got == key:
            return None
        return dict_get(hints or {}, got) or not_yet[want]

    def check(answer, qid, key, hints=None):
        """Visible test: says whether `answer` is right, and names a known mistake, without revealing it."""
        message = verdict(qid, answer, key, hints)
        if message is not None:
            raise exc_(message)
        print_(f"Correct! ({qid})")

    def expect(qid, answer, expected, mistakes):
        # Hidden tests: the same judgement, with the expected answer in plain text.
        key = digest(qid, expected)
        hints = {digest(qid, wrong): message for wrong, message in mistakes}
        message = verdict(qid, answer, key, hints)
        if message is not None:
            raise exc_(message)

    def expect_shape(qid, answer, shape, mistakes=()):
        as_data = lambda s: {"kind": "shape", "value": list_(s)}
        expect(qid, answer, as_data(shape), [(as_data(s), m) for s, m in mistakes])

    def expect_choice(qid, answer, letter, mistakes=()):
        as_data = lambda c: {"kind": "choice", "value": c}
        expect(qid, answer, as_data(letter), [(as_data(c), m) for c, m in mistakes])

    def expect_lstm(qid, answer, config, mistakes=()):
        as_data = lambda c: {"kind": "lstm", "config": full_config(c)}
        expect(qid, answer, as_data(config), [(as_data(c), m) for c, m in mistakes])

    return check, expect_shape, expect_choice, expect_lstm, describe, digest


check, expect_shape, expect_choice, expect_lstm, describe_answer, answer_digest = _install_checks()
del _install_checks
