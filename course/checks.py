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

A failed check raises `WrongAnswer`, an AssertionError that Jupyter shows as its
message alone (`_render_traceback_`): the checker's own frames mean nothing to a
student. Messages never repeat what a student's code produced beyond a short
type name or a single letter, so feedback can't carry data out of a grader.

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
    len_, print_, all_, any_, next_, iter_ = len, print, all, any, next, iter
    lstm_type, size_type, module_type = nn.LSTM, torch.Size, nn.Module
    tensor_type, parameter_type = torch.Tensor, nn.Parameter
    lstm_forward = nn.LSTM.forward
    get_attr = object.__getattribute__
    type_name = type.__dict__["__name__"].__get__
    type_mro = type.__dict__["__mro__"].__get__
    dict_get = dict.get
    str_upper, str_strip, str_isidentifier = str.upper, str.strip, str.isidentifier
    dtype_repr = torch.dtype.__repr__
    randn, no_grad, generator, fork_rng = torch.randn, torch.no_grad, torch.Generator, torch.random.fork_rng
    catch_warnings, simplefilter = warnings.catch_warnings, warnings.simplefilter
    sha256, dumps = hashlib.sha256, json.dumps

    class WrongAnswer(AssertionError):
        """A check that failed. Jupyter shows its message alone, without a traceback."""

        def _render_traceback_(self):
            return [f"\x1b[0;31mWrongAnswer\x1b[0m: {self}"]

    defaults = {"num_layers": 1, "bias": True, "batch_first": False, "dropout": 0.0,
                "bidirectional": False, "proj_size": 0}
    config_keys = ("input_size", "hidden_size") + tuple_(defaults)
    default_dtype = "torch.float32"

    def invalid(given, code, why=""):
        """Not an answer of any kind; `given` says what it is, in words a student knows."""
        return {"kind": "invalid", "given": given, "code": code, "why": why}

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
        broken = "an nn.LSTM layer that was changed after it was built"
        if any_(type_(raw[k]) is not int_ for k in ("input_size", "hidden_size", "num_layers", "proj_size")):
            return invalid(broken, "lstm-broken", "Its sizes are not plain integers.")
        cfg = full_config(raw)
        params = dict_get(state, "_parameters") or {}
        shapes = {name: list_(t.shape) for name, t in params.items()}
        if shapes != expected_param_shapes(cfg):
            return invalid(broken, "lstm-broken", "Its weights do not match its settings: build it with "
                                                  "nn.LSTM(...) and don't change its attributes afterwards.")
        first = next_(iter_(params.values()))
        dtype = dtype_repr(first.dtype)
        if dtype != default_dtype:  # no forward pass needed: the answer is wrong whatever it computes
            return {"kind": "lstm", "config": cfg, "dtype": dtype}
        # A real forward pass: the layer must also behave like its settings say. It runs on the
        # layer's own device (the device is where a layer runs, not how it is configured).
        d = 2 if cfg["bidirectional"] else 1
        h_out = cfg["proj_size"] or cfg["hidden_size"]
        # fork_rng and a private generator: checking must not shift the notebook's random numbers
        # (a dropout layer in train mode draws from the global generator).
        with no_grad(), catch_warnings(), fork_rng(devices=[]):
            simplefilter("ignore")  # e.g. proj_size on CPU warns on stderr, which nbgrader scores as a failure
            x = randn(3, 2, cfg["input_size"], generator=generator().manual_seed(0)).to(first.device)
            if cfg["batch_first"]:
                x = x.transpose(0, 1)
            try:
                out, (h_n, c_n) = lstm_forward(layer, x)
            except Exception as err:  # the student's layer is broken; say so rather than crash
                return invalid(broken, "lstm-broken", f"Running it failed with {short_type_name(type_(err))}.")
        want_out = [2, 3, d * h_out] if cfg["batch_first"] else [3, 2, d * h_out]
        want_h = [d * cfg["num_layers"], 2, h_out]
        want_c = [d * cfg["num_layers"], 2, cfg["hidden_size"]]
        if [list_(out.shape), list_(h_n.shape), list_(c_n.shape)] != [want_out, want_h, want_c]:
            return invalid(broken, "lstm-broken", "It does not behave like an nn.LSTM with its settings.")
        return {"kind": "lstm", "config": cfg, "dtype": dtype}

    def short_type_name(kind):
        """A type's name when it is short and looks like a name; feedback never carries more."""
        name = type_name(kind)
        if type_(name) is str_ and len_(name) <= 30 and str_isidentifier(name):
            return name
        return "an unnamed type"

    def letter_of(text):
        letter = str_upper(str_strip(str_strip(text), "()[].'\" "))
        return letter if len_(letter) == 1 and "A" <= letter <= "Z" else None

    def looks_like_shape(text):
        inner = str_strip(str_strip(text), "()[] ")
        return len_(inner) > 0 and all_(ch in "0123456789, " for ch in inner) and any_(ch in "0123456789" for ch in inner)

    def describe(answer):
        """Reduce an answer to plain data (JSON-ready), judging types before values."""
        kind = type_(answer)
        if kind is lstm_type:
            return describe_lstm(answer)
        if kind is tuple_ or kind is list_ or kind is size_type:
            items = list_(answer)
            if all_(type_(n) is int_ for n in items):
                return {"kind": "shape", "value": items}
            if len_(items) == 1 and type_(items[0]) is str_ and letter_of(items[0]):
                return invalid(f"a {type_name(kind)} holding a letter", "boxed-letter")
            odd = next_(n for n in items if type_(n) is not int_)
            return invalid(f"a {type_name(kind)} holding a {short_type_name(type_(odd))}", "shape-items")
        if kind is str_:
            letter = letter_of(answer)
            if letter:
                return {"kind": "choice", "value": letter}
            if looks_like_shape(answer):
                return invalid("a string that looks like a shape", "shape-string")
            return invalid("a string, but not a single letter", "string")
        if answer is None or answer is ...:
            return invalid("still the placeholder", "none")
        if kind is int_:
            return invalid("a single int", "int")
        if kind is tensor_type or kind is parameter_type:
            return invalid("a tensor", "tensor")
        if module_type in type_mro(kind):
            return invalid(f"a layer of type {short_type_name(kind)}", "module")
        return invalid(f"an object of type {short_type_name(kind)}", "other")

    def digest(qid, description):
        canon = dumps(description, sort_keys=True, separators=(",", ":"))
        return description["kind"] + ":" + sha256(f"{qid}|{canon}".encode()).hexdigest()[:20]

    wants = {"shape": "a shape: a tuple of ints such as (2, 3, 4)", "choice": "the letter of one option",
             "lstm": "an nn.LSTM layer, built with nn.LSTM(...)"}
    given_kind = {"shape": "a shape", "choice": "a letter", "lstm": "an nn.LSTM layer"}
    # What to do about it, by (kind wanted, what was given); None: any kind wanted.
    fixes = {
        ("shape", "shape-string"): "Remove the quotes: write the tuple itself.",
        ("shape", "tensor"): "If you meant the tensor's shape, use tuple(x.shape).",
        ("shape", "int"): "A shape is a tuple even when it has one axis, such as (5,).",
        ("shape", "shape-items"): "A shape holds plain Python ints: write 4, not 4.0 or '4'.",
        ("shape", "choice"): "This is not a multiple-choice question.",
        ("choice", "boxed-letter"): "Write the letter alone, as a string such as 'B'.",
        ("choice", "string"): "Write one letter, such as 'B'.",
        ("lstm", "module"): "This exercise asks for an nn.LSTM.",
        (None, "none"): "Replace the placeholder with your answer, then run this cell again.",
        (None, "lstm-broken"): "",
    }
    not_yet = {"shape": "That is not the right shape. Write down which axis is which, then try again.",
               "choice": "That is not the right choice.",
               "lstm": "That layer is not configured as asked. Read the task again, argument by argument."}

    def wrong_kind(want, description, options):
        code = description.get("code", description["kind"])
        given = description.get("given") or given_kind[description["kind"]]
        if code == "none":
            return "No answer yet. " + fixes[(None, "none")]
        wanted = wants[want] + (f" ({', '.join(options)})" if want == "choice" and options else "")
        fix = dict_get(fixes, (want, code)) or dict_get(fixes, (None, code)) or ""
        why = description.get("why") or ""
        return " ".join(part for part in (f"This question wants {wanted}. Your answer is {given}.", why, fix)
                        if part)

    def verdict(qid, answer, key, hints, options=None):
        description = describe(answer)
        want = key.split(":")[0]
        if description["kind"] != want:
            return wrong_kind(want, description, options)
        if want == "choice" and options and description["value"] not in options:
            return (f"'{description['value']}' is not one of this question's options: "
                    f"choose {', '.join(options[:-1])} or {options[-1]}.")
        got = digest(qid, description)
        if got == key:
            return None
        hint = dict_get(hints or {}, got)
        if hint:
            return hint
        if want == "lstm" and description["dtype"] != default_dtype:
            as_default = dict_(description, dtype=default_dtype)
            if digest(qid, as_default) == key:
                return (f"Its settings are right, but its weights are {description['dtype'][6:]}. Build it with "
                        "the default dtype (float32): the exercise does not ask for another.")
        return not_yet[want]

    def fail(message):
        raise WrongAnswer(message)

    def check(answer, qid, key, hints=None, options=None):
        """Visible test: says whether `answer` is right, and names a known mistake, without revealing it."""
        message = verdict(qid, answer, key, hints, options)
        if message is not None:
            fail(message)
        print_(f"Correct! ({qid})")

    def expect(qid, answer, expected, mistakes, options=None):
        # Hidden tests: the same judgement, with the expected answer in plain text.
        key = digest(qid, expected)
        hints = {digest(qid, wrong): message for wrong, message in mistakes}
        message = verdict(qid, answer, key, hints, options)
        if message is not None:
            fail(message)

    def expect_shape(qid, answer, shape, mistakes=()):
        as_data = lambda s: {"kind": "shape", "value": list_(s)}
        expect(qid, answer, as_data(shape), [(as_data(s), m) for s, m in mistakes])

    def expect_choice(qid, answer, letter, options="ABCD", mistakes=()):
        as_data = lambda c: {"kind": "choice", "value": c}
        expect(qid, answer, as_data(letter), [(as_data(c), m) for c, m in mistakes], options)

    def expect_lstm(qid, answer, config, mistakes=()):
        as_data = lambda c: {"kind": "lstm", "config": full_config(c), "dtype": default_dtype}
        expect(qid, answer, as_data(config), [(as_data(c), m) for c, m in mistakes])

    return check, expect_shape, expect_choice, expect_lstm, describe, digest


check, expect_shape, expect_choice, expect_lstm, describe_answer, answer_digest = _install_checks()
del _install_checks
