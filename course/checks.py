"""Answer checks for the LSTM course: the one copy every lesson notebook carries.

`python -m course.build` pastes this file, then course/references.py, into the locked
"course_checks" cell at the top of each notebook in source/ (a student's notebook must
stand alone in Colab, so it cannot import it). Edit it here, never in a notebook.

Every kind of answer has its whole story here, in one place, used alike by the notebook,
by the grader's sandboxed child and by its judge (autograder/):

- values: a shape (tuple, list or torch.Size of ints), a multiple-choice letter, an
  `nn.LSTM` layer, an int. `describe(answer)` reduces one to plain data, judged by
  meaning rather than spelling; `valid(data)` accepts such data from elsewhere (the grader
  receives it from the student's process) only in the form describe() makes; `show(data)`
  is its short text for feedback; `digest` salts and hashes it, so a visible check holds
  no readable answer;
- functions (and, through course/references.py, what each graded function must compute):
  `probe(answer, cases)` calls the function on the cases and reduces what it returns to
  plain data; `function_verdict` compares that with PyTorch's own result, computed after
  the student's code has run, and names a classic mistake by computing it.

`check(...)` and `check_function(...)` are the visible self-checks; `expect_shape`,
`expect_choice`, `expect_lstm`, `expect_int` and `expect_function` the hidden tests' helpers.
They never put the expected answer in a message. A failed check raises `WrongAnswer`, an
AssertionError that Jupyter shows as its message alone (`_render_traceback_`). Messages never
repeat what a student's code produced beyond a short type name, a letter or a shape, so
feedback can't carry data out of a grader.

Every built-in, type and torch function used below is captured when this cell runs, before any
student code, so answers that compare equal to anything, subclasses of tuple or int, and later
patches of builtins or torch cannot fool these checks. Code that rewrites the checks themselves
(or the kernel) can: inside one shared kernel nothing can stop it. The project's grader
(`python -m autograder`) runs student code in its own process for that reason.
"""


def _install_checks():
    import contextlib
    import hashlib
    import json
    import math
    import os
    import warnings

    import torch
    from torch import nn
    from torch.overrides import TorchFunctionMode

    # Captured now: student cells run later and may rebind or patch any of these.
    type_, tuple_, list_, int_, str_, float_, bool_, dict_ = type, tuple, list, int, str, float, bool, dict
    len_, print_, all_, any_, next_, iter_, range_, zip_ = len, print, all, any, next, iter, range, zip
    enumerate_, sorted_, min_, max_, abs_, callable_, isinstance_ = enumerate, sorted, min, max, abs, callable, isinstance
    lstm_type, size_type, module_type = nn.LSTM, torch.Size, nn.Module
    tensor_type, parameter_type = torch.Tensor, nn.Parameter
    function_types = (type(lambda: 0), type(len), type(print))
    lstm_forward = nn.LSTM.forward
    get_attr = object.__getattribute__
    type_name = type.__dict__["__name__"].__get__
    type_mro = type.__dict__["__mro__"].__get__
    dict_get, dict_items = dict.get, dict.items
    str_upper, str_strip, str_isidentifier = str.upper, str.strip, str.isidentifier
    int_bits = int.bit_length
    dtype_repr = torch.dtype.__repr__
    base = torch._C.TensorBase.__dict__
    shape_of, dtype_of = base["shape"].__get__, base["dtype"].__get__
    t_detach, t_clone, t_reshape, t_tolist, t_cpu = (base[k] for k in ("detach", "clone", "reshape", "tolist", "cpu"))
    randn, no_grad, generator, fork_rng = torch.randn, torch.no_grad, torch.Generator, torch.random.fork_rng
    tensor, as_tensor, isfinite, allclose = torch.tensor, torch.as_tensor, torch.isfinite, torch.allclose
    float32, float64 = torch.float32, torch.float64
    no_torch_function = torch._C.DisableTorchFunction
    catch_warnings, simplefilter = warnings.catch_warnings, warnings.simplefilter
    sha256, dumps, urandom, isnan, isinf = hashlib.sha256, json.dumps, os.urandom, math.isnan, math.isinf
    nullcontext = contextlib.nullcontext

    class WrongAnswer(AssertionError):
        """A check that failed. Jupyter shows its message alone, without a traceback."""

        def _render_traceback_(self):
            return [f"\x1b[0;31mWrongAnswer\x1b[0m: {self}"]

    class Received:
        """An answer the grader holds only as plain data: what describe() or probe() made of it."""

        __slots__ = ("data",)

        def __init__(self, data):
            object.__setattr__(self, "data", data)

    def fail(message):
        raise WrongAnswer(message)

    # --- plain data of tensors, for the inputs and outputs of function answers ---------------------------

    MAX_ELEMENTS, MAX_ITEMS, MAX_DEPTH = 20_000, 16, 3

    def number_data(x):
        # JSON has no NaN or infinity: they travel as strings.
        return "nan" if isnan(x) else ("inf" if x > 0 else "-inf") if isinf(x) else x

    def tensor_data(t):
        shape = [int_(n) for n in shape_of(t)]
        count = 1
        for n in shape:
            count *= n
        if count > MAX_ELEMENTS:
            return {"t": "big", "shape": shape[:8]}
        flat = t_tolist(t_reshape(t_cpu(t_detach(t)), -1))
        return {"t": "tensor", "dtype": dtype_repr(dtype_of(t))[6:], "shape": shape,
                "data": [number_data(float_(x)) for x in flat]}

    def value_data(value, depth=0):
        """Plain data of what a function returned: tensors, tuples and lists of them, None; else a type name."""
        kind = type_(value)
        if kind is tensor_type or kind is parameter_type:
            return tensor_data(value)
        if value is None:
            return {"t": "none"}
        if (kind is tuple_ or kind is list_) and depth < MAX_DEPTH:
            items = list_(value)
            if len_(items) > MAX_ITEMS:
                return {"t": "long", "kind": "tuple" if kind is tuple_ else "list"}
            return {"t": "tuple" if kind is tuple_ else "list", "items": [value_data(v, depth + 1) for v in items]}
        return {"t": "other", "type": short_type_name(kind)}

    def data_tensor(data):
        """The tensor `data` stands for (trusted code only: the grader and the checks)."""
        values = [float_(v) for v in data["data"]]  # "nan", "inf" and "-inf" read back as floats
        dtype = {"float32": float32, "float64": float64}.get(data["dtype"], float32)
        return tensor(values, dtype=dtype).reshape(data["shape"]) if values else \
            torch.zeros(data["shape"], dtype=dtype)

    def valid_value_data(data, depth=0):
        """`data` if it is what value_data() makes, else None."""
        if type_(data) is not dict_:
            return None
        t = dict_get(data, "t")
        if t == "tensor":
            shape, values = dict_get(data, "shape"), dict_get(data, "data")
            if type_(shape) is not list_ or len_(shape) > 8 or not all_(type_(n) is int_ and 0 <= n <= MAX_ELEMENTS
                                                                       for n in shape):
                return None
            count = 1
            for n in shape:
                count *= n
            if type_(values) is not list_ or len_(values) != count or dict_get(data, "dtype") not in DTYPES:
                return None
            if not all_(type_(v) in (int_, float_) or v in ("nan", "inf", "-inf") for v in values):
                return None
            return {"t": "tensor", "dtype": data["dtype"], "shape": shape, "data": values}
        if t in ("tuple", "list") and depth < MAX_DEPTH:
            items = dict_get(data, "items")
            if type_(items) is not list_ or len_(items) > MAX_ITEMS:
                return None
            checked = [valid_value_data(item, depth + 1) for item in items]
            return None if any_(c is None for c in checked) else {"t": t, "items": checked}
        if t == "none":
            return {"t": "none"}
        if t == "long" and dict_get(data, "kind") in ("tuple", "list"):
            return {"t": "long", "kind": data["kind"]}
        if t == "big":
            return {"t": "big", "shape": []}
        if t == "other":
            return {"t": "other", "type": safe_name(dict_get(data, "type"))}
        return None

    DTYPES = ("float32", "float64", "float16", "bfloat16", "int64", "int32", "bool", "complex64")

    # --- value answers: describe, valid, show ----------------------------------------------------------

    defaults = {"num_layers": 1, "bias": True, "batch_first": False, "dropout": 0.0,
                "bidirectional": False, "proj_size": 0}
    config_keys = ("input_size", "hidden_size") + tuple_(defaults)
    default_dtype = "torch.float32"
    lstm_dtypes = ("torch.float32", "torch.float64", "torch.float16", "torch.bfloat16")

    def safe_name(name):
        """A name when it is short and looks like one; feedback never carries more of a student's data."""
        return name if type_(name) is str_ and len_(name) <= 30 and str_isidentifier(name) else None

    def short_type_name(kind):
        return safe_name(type_name(kind)) or "an unnamed type"

    def invalid(code, **detail):
        """Not an answer of any kind: `code` (and its detail) says what it is instead."""
        return dict_({"kind": "invalid", "code": code}, **detail)

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
        for layer in range_(cfg["num_layers"]):
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
        if any_(type_(raw[k]) is not int_ for k in ("input_size", "hidden_size", "num_layers", "proj_size")):
            return invalid("lstm-broken", why="sizes")
        cfg = full_config(raw)
        params = dict_get(state, "_parameters") or {}
        shapes = {name: list_(shape_of(t)) for name, t in dict_items(params)}
        if shapes != expected_param_shapes(cfg):
            return invalid("lstm-broken", why="weights")
        first = next_(iter_(params.values()))
        dtype = dtype_repr(dtype_of(first))
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
                return invalid("lstm-broken", why="forward", error=short_type_name(type_(err)))
        want_out = [2, 3, d * h_out] if cfg["batch_first"] else [3, 2, d * h_out]
        want_h = [d * cfg["num_layers"], 2, h_out]
        want_c = [d * cfg["num_layers"], 2, cfg["hidden_size"]]
        if [list_(out.shape), list_(h_n.shape), list_(c_n.shape)] != [want_out, want_h, want_c]:
            return invalid("lstm-broken", why="behaviour")
        return {"kind": "lstm", "config": cfg, "dtype": dtype}

    def letter_of(text):
        letter = str_upper(str_strip(str_strip(text), "()[].'\" "))
        return letter if len_(letter) == 1 and "A" <= letter <= "Z" else None

    def looks_like_shape(text):
        inner = str_strip(str_strip(text), "()[] ")
        return len_(inner) > 0 and all_(ch in "0123456789, " for ch in inner) and any_(ch in "0123456789" for ch in inner)

    containers = {tuple_: "tuple", list_: "list", size_type: "torch.Size"}

    def describe(answer):
        """Reduce an answer to plain data (JSON-ready), judging types before values."""
        kind = type_(answer)
        if kind is Received:
            return valid(get_attr(answer, "data"))
        if kind is lstm_type:
            return describe_lstm(answer)
        if kind is tuple_ or kind is list_ or kind is size_type:
            items = list_(answer)
            if all_(type_(n) is int_ for n in items):
                return {"kind": "shape", "value": items}
            if len_(items) == 1 and type_(items[0]) is str_ and letter_of(items[0]):
                return invalid("boxed-letter", container=containers[kind])
            odd = next_(n for n in items if type_(n) is not int_)
            return invalid("shape-items", container=containers[kind], item=short_type_name(type_(odd)))
        if kind is str_:
            letter = letter_of(answer)
            if letter:
                return {"kind": "choice", "value": letter}
            return invalid("shape-string" if looks_like_shape(answer) else "string")
        if answer is None or answer is ...:
            return invalid("none")
        if kind is int_:
            return {"kind": "int", "value": answer}
        if kind is tensor_type or kind is parameter_type:
            return invalid("tensor")
        mro = type_mro(kind)
        if module_type in mro:
            return invalid("module", type=short_type_name(kind))
        if kind in function_types or (callable_(answer) and kind is not type_):
            return invalid("function")
        return invalid("other", type=short_type_name(kind))

    INVALID = {"none", "boxed-letter", "shape-items", "shape-string", "string", "tensor", "module", "function",
               "other", "lstm-broken", "unreadable"}
    WHY = {"sizes", "weights", "forward", "behaviour"}

    def valid(data):
        """Plain data in the form describe() makes it (from the grader's child), or 'unreadable'."""
        unreadable = invalid("unreadable")
        if type_(data) is not dict_:
            return unreadable
        kind = dict_get(data, "kind")
        if kind == "shape":
            value = dict_get(data, "value")
            ok = type_(value) is list_ and len_(value) <= 64 and all_(type_(n) is int_ and abs_(n) < 2 ** 62 for n in value)
            return {"kind": "shape", "value": value} if ok else unreadable
        if kind == "choice":
            value = dict_get(data, "value")
            return {"kind": "choice", "value": value} if type_(value) is str_ and len_(value) == 1 \
                and "A" <= value <= "Z" else unreadable
        if kind == "int":
            value = dict_get(data, "value")
            return {"kind": "int", "value": value} if type_(value) is int_ and int_bits(value) <= 14_000 else unreadable
        if kind == "lstm":
            cfg, dtype = dict_get(data, "config"), dict_get(data, "dtype")
            if type_(cfg) is not dict_ or sorted_(cfg) != sorted_(config_keys) or dtype not in lstm_dtypes:
                return unreadable
            types = {k: (bool_ if type_(v) is bool_ else float_ if k == "dropout" else int_) for k, v in dict_items(defaults)}
            types.update(input_size=int_, hidden_size=int_)
            if not all_(type_(cfg[k]) is types[k] for k in config_keys):
                return unreadable
            return {"kind": "lstm", "config": dict_(cfg), "dtype": dtype}
        if kind == "invalid":
            code = dict_get(data, "code")
            if code not in INVALID:
                return unreadable
            clean = invalid(code)
            for key in ("container", "item", "type", "error"):
                if key in data:
                    name = dict_get(data, key)
                    clean[key] = name if name in containers.values() else safe_name(name)
            if code == "lstm-broken":
                clean["why"] = dict_get(data, "why") if dict_get(data, "why") in WHY else "behaviour"
            return clean
        return unreadable

    given_text = {
        "none": "still the placeholder", "boxed-letter": "a {container} holding a letter",
        "shape-items": "a {container} holding a {item}", "shape-string": "a string that looks like a shape",
        "string": "a string, but not a single letter", "tensor": "a tensor", "module": "a layer of type {type}",
        "function": "a function", "other": "an object of type {type}",
        "lstm-broken": "an nn.LSTM layer that was changed after it was built",
        "unreadable": "an answer the grader could not read",
    }
    broken_why = {"sizes": "Its sizes are not plain integers.",
                  "weights": "Its weights do not match its settings: build it with nn.LSTM(...) and don't change "
                             "its attributes afterwards.",
                  "forward": "Running it failed with {error}.",
                  "behaviour": "It does not behave like an nn.LSTM with its settings."}
    kind_text = {"shape": "a shape", "choice": "a letter", "lstm": "an nn.LSTM layer", "int": "a whole number"}

    def given(data):
        if data["kind"] != "invalid":
            return kind_text[data["kind"]]
        detail = {k: (data.get(k) or "object") for k in ("container", "item", "type")}
        return given_text[data["code"]].format(**detail)

    def show(data):
        """Short text of an answer for feedback and reports: a shape, a letter, a layer's settings, an int."""
        data = valid(data)
        kind = data["kind"]
        if kind == "shape":
            items = data["value"]
            if len_(items) <= 8 and all_(abs_(n) < 10 ** 6 for n in items):
                inner = ", ".join(str_(n) for n in items)
                return f"({inner},)" if len_(items) == 1 else f"({inner})"
            return f"a shape of {len_(items)} sizes"
        if kind == "choice":
            return repr(data["value"])
        if kind == "int":
            return str_(data["value"]) if abs_(data["value"]) < 10 ** 12 else "a large int"
        if kind == "lstm":
            cfg = data["config"]
            args = [str_(cfg["input_size"]), str_(cfg["hidden_size"])]
            args += [f"{k}={cfg[k]:g}" if k == "dropout" else f"{k}={cfg[k]}" for k in defaults if cfg[k] != defaults[k]]
            if data["dtype"] != default_dtype:
                args.append(f"dtype={data['dtype']}")
            return f"nn.LSTM({', '.join(args)})"
        return given(data)

    def digest(qid, description):
        canon = dumps(description, sort_keys=True, separators=(",", ":"))
        return description["kind"] + ":" + sha256(f"{qid}|{canon}".encode()).hexdigest()[:20]

    # --- verdicts on value answers --------------------------------------------------------------------

    wants = {"shape": "a shape: a tuple of ints such as (2, 3, 4)", "choice": "the letter of one option",
             "lstm": "an nn.LSTM layer, built with nn.LSTM(...)", "int": "a whole number, such as 42"}
    # What to do about it, by (kind wanted, what was given); None: any kind wanted.
    fixes = {
        ("shape", "shape-string"): "Remove the quotes: write the tuple itself.",
        ("shape", "tensor"): "If you meant the tensor's shape, use tuple(x.shape).",
        ("shape", "int"): "A shape is a tuple even when it has one axis, such as (5,).",
        ("shape", "shape-items"): "A shape holds plain Python ints: write 4, not 4.0 or '4'.",
        ("shape", "choice"): "This is not a multiple-choice question.",
        ("int", "tensor"): "If you counted with a tensor, turn the result into an int with int(...) or .item().",
        ("int", "shape"): "Give the number itself, not a shape.",
        ("choice", "boxed-letter"): "Write the letter alone, as a string such as 'B'.",
        ("choice", "string"): "Write one letter, such as 'B'.",
        ("lstm", "module"): "This exercise asks for an nn.LSTM.",
        (None, "none"): "Replace the placeholder with your answer, then run this cell again.",
    }
    not_yet = {"shape": "That is not the right shape. Write down which axis is which, then try again.",
               "choice": "That is not the right choice.",
               "lstm": "That layer is not configured as asked. Read the task again, argument by argument.",
               "int": "That is not the right number. Count again, tensor by tensor."}

    def wrong_kind(want, description, options):
        code = description.get("code", description["kind"])
        if code == "none":
            return "No answer yet. " + fixes[(None, "none")]
        wanted = wants[want] + (f" ({', '.join(options)})" if want == "choice" and options else "")
        fix = dict_get(fixes, (want, code)) or dict_get(fixes, (None, code)) or ""
        why = broken_why[description["why"]].format(error=description.get("error") or "an error") \
            if code == "lstm-broken" else ""
        return " ".join(part for part in (f"This question wants {wanted}. Your answer is {given(description)}.",
                                          why, fix) if part)

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
            if digest(qid, dict_(description, dtype=default_dtype)) == key:
                return (f"Its settings are right, but its weights are {description['dtype'][6:]}. Build it with "
                        "the default dtype (float32): the exercise does not ask for another.")
        return not_yet[want]

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

    def expect_int(qid, answer, number, mistakes=()):
        as_data = lambda n: {"kind": "int", "value": n}
        expect(qid, answer, as_data(number), [(as_data(n), m) for n, m in mistakes])

    # --- function answers -------------------------------------------------------------------------------

    references = {}  # name -> a reference of course/references.py: cases, the right result, the classic mistakes
    state = {"seed": None}  # the grader sets the seed of the next cases (set_seed); else each check draws one
    VISIBLE_CASES = 2

    class LstmSpy(TorchFunctionMode):
        """Notes every call of PyTorch's own LSTM (nn.LSTM, nn.LSTMCell, torch.lstm_cell, aten's ...)."""

        def __init__(self):
            super().__init__()
            self.seen = None

        def __torch_function__(self, func, types, args=(), kwargs=None):
            name = getattr(func, "__name__", "") or ""
            if "lstm" in str_(name).lower() and self.seen is None:
                self.seen = str_(name)[:40]
            return func(*args, **(kwargs or {}))

    def make_cases(reference, seed, count):
        """The inputs of `count` calls (each a tuple of tensors), the same for the same seed everywhere."""
        make = references[reference]["case"]
        with fork_rng(devices=[]), no_grad():
            return [make(generator().manual_seed((seed * 1009 + i) % (2 ** 63))) for i in range_(count)]

    def case_data(args):
        return [tensor_data(a) for a in args]

    def data_case(data):
        return tuple_(data_tensor(d) for d in data)

    def probe(answer, inputs, guard=None):
        """Call the function on each case; return plain data of what happened (in the student's process)."""
        if type_(answer) is Received:
            return valid_calls(get_attr(answer, "data"), len_(inputs))
        if not callable_(answer) or type_(answer) is type_:
            return {"kind": "calls", "not_callable": describe(answer)}
        results = []
        for args in inputs:
            copies = tuple_(t_clone(a) for a in args)  # the function may change its inputs in place
            spy = LstmSpy()
            entry = {}
            try:
                with (guard() if guard else nullcontext()), spy, catch_warnings():
                    simplefilter("ignore")
                    out = answer(*copies)
                entry["out"] = value_data(out)
            except Exception as err:  # the student's function raised: which error, and the classic one?
                entry["error"] = short_type_name(type_(err))
                try:
                    text = str_(err)
                except Exception:
                    text = ""
                entry["matmul"] = "cannot be multiplied" in text or "size mismatch" in text
            if spy.seen is not None:
                entry["lstm"] = spy.seen
            results.append(entry)
        return {"kind": "calls", "results": results}

    def valid_calls(data, count):
        """probe() data received from elsewhere, checked; 'unreadable' entries stand for anything else."""
        if type_(data) is not dict_ or dict_get(data, "kind") != "calls":
            return {"kind": "calls", "results": [{"error": "unreadable"}] * count}
        if "not_callable" in data:
            return {"kind": "calls", "not_callable": valid(dict_get(data, "not_callable"))}
        results = dict_get(data, "results")
        if type_(results) is not list_:
            results = []
        clean = []
        for entry in results[:count]:
            item = {}
            if type_(entry) is dict_:
                if "out" in entry:
                    out = valid_value_data(dict_get(entry, "out"))
                    item = {"out": out} if out is not None else {"error": "unreadable"}
                else:
                    item = {"error": safe_name(dict_get(entry, "error")) or "an error",
                            "matmul": dict_get(entry, "matmul") is True}
                if type_(dict_get(entry, "lstm")) is str_:
                    item["lstm"] = safe_name(entry["lstm"]) or "lstm"
            clean.append(item or {"error": "unreadable"})
        clean += [{"error": "timeout"}] * (count - len_(clean))  # calls it never reported
        return {"kind": "calls", "results": clean}

    def outputs_of(entry):
        """The tensors (or nested tuples of them) an output's plain data stands for."""
        def build(d):
            if d["t"] == "tensor":
                return data_tensor(d)
            if d["t"] in ("tuple", "list"):
                return tuple_(build(item) for item in d["items"])
            return d
        return build(entry["out"])

    def close(a, b):
        if type_(a) is tuple_ and type_(b) is tuple_:
            return len_(a) == len_(b) and all_(close(x, y) for x, y in zip_(a, b))
        if type_(a) is tensor_type and type_(b) is tensor_type:
            return shape_of(a) == shape_of(b) and bool_(isfinite(a).all()) and \
                bool_(allclose(a.double(), b.double(), atol=1e-5, rtol=1e-5))
        return False

    def structure(got, want, names):
        """Why `got` (plain data) can't be `want` (trusted tensors), or None; `names`: what the outputs are called."""
        def where(path):
            return names[path[0]] if path and names and path[0] < len_(names) else "the result"

        def walk(g, w, path):
            if type_(w) is tuple_:
                if g["t"] not in ("tuple", "list") or len_(g["items"]) != len_(w):
                    shown = "a tuple" if len_(w) > 1 else "one"
                    return (f"It returned {describe_output(g)}; it should return {shown} of {len_(w)}: "
                            f"{', '.join(names) if names else ''}.")
                for i, (gi, wi) in enumerate_(zip_(g["items"], w)):
                    why = walk(gi, wi, path + [i])
                    if why:
                        return why
                return None
            if g["t"] != "tensor":
                return f"{where(path)} is {describe_output(g)}, not a tensor."
            if g["dtype"] != "float32":
                return f"{where(path)} is {g['dtype']}; keep float32, the dtype of the inputs."
            shape = tuple_(g["shape"])
            if shape != tuple_(shape_of(w)):
                return (f"{where(path)} has shape {shape}; with these inputs it should have "
                        f"{tuple_(shape_of(w))}.")
            if any_(v in ("nan", "inf", "-inf") for v in g["data"]):
                return f"{where(path)} holds NaN or infinite values."
            return None
        return walk(got, want, [])

    def describe_output(d):
        t = d["t"]
        if t == "tensor":
            return f"a tensor of shape {tuple_(d['shape'])}"
        if t in ("tuple", "list"):
            return f"a {t} of {len_(d['items'])}"
        return {"none": "None", "long": "a long sequence", "big": "a very large tensor"}.get(t) or \
            f"an object of type {d.get('type') or 'object'}"

    def function_verdict(qid, answer, reference, count):
        """None if `answer` computes what the reference does on `count` cases; else why not."""
        ref = references[reference]
        seed = state["seed"]
        if seed is None:
            seed = int_.from_bytes(urandom(6), "big")
        inputs = make_cases(reference, seed, count)
        calls = probe(answer, inputs)  # the student's code runs before any reference is computed
        if "not_callable" in calls:
            return f"This question wants a function, {ref['signature']}. Your answer is {given(calls['not_callable'])}."
        for args, entry in zip_(inputs, calls["results"]):
            if "lstm" in entry:
                return ref["delegated"]
            if "error" in entry:
                if entry["error"] == "NotImplementedError":  # the placeholder of the release, still there
                    return ("No answer yet. Replace the placeholder, raise NotImplementedError(), in the function "
                            "with your code, then run its cell and this one again.")
                if entry["error"] in ("timeout", "CallTimeout"):
                    return "It did not return in time: is there a loop that never ends?"
                if entry.get("matmul") and ref.get("matmul"):
                    return ref["matmul"]
                return f"Calling it raised {entry['error']}. Run it on the example above and read the error."
            with no_torch_function(), no_grad(), catch_warnings():  # a mode of the student's can't fake these
                simplefilter("ignore")
                want = ref["reference"](*args)
            why = structure(entry["out"], want, ref["outputs"])
            if why:
                return why
            got = outputs_of(entry)
            if close(got, want):
                continue
            with no_torch_function(), no_grad():
                for hint, mistake in ref["mistakes"]:
                    try:
                        if close(got, mistake(*args)):
                            return hint
                    except Exception:
                        continue
            return ref["not_yet"]
        return None

    def check_function(answer, qid, reference):
        """Visible test of a function answer: a few cases, the same verdict as the hidden test."""
        message = function_verdict(qid, answer, reference, VISIBLE_CASES)
        if message is not None:
            fail(message)
        print_(f"Correct! ({qid})")

    def expect_function(qid, answer, reference, cases=6):
        message = function_verdict(qid, answer, reference, max_(cases, VISIBLE_CASES))
        if message is not None:
            fail(message)

    def set_seed(seed):
        state["seed"] = seed

    def show_calls(data):
        data = valid_calls(data, 1 << 10)
        if "not_callable" in data:
            return show(data["not_callable"])
        return "a function"

    api = {"check": check, "expect_shape": expect_shape, "expect_choice": expect_choice,
           "expect_lstm": expect_lstm, "expect_int": expect_int, "check_function": check_function,
           "expect_function": expect_function, "describe": describe, "valid": valid, "show": show,
           "digest": digest, "probe": probe, "cases": make_cases, "case_data": case_data, "data_case": data_case,
           "set_seed": set_seed, "show_calls": show_calls, "received": Received, "references": references,
           "VISIBLE_CASES": VISIBLE_CASES, "captured": {"torch": torch, "nn": nn}}
    return api


# The grader (autograder/) and course/references.py reach the checks through this one name.
_course_answers = _install_checks()
del _install_checks
check, check_function = _course_answers["check"], _course_answers["check_function"]
expect_shape, expect_choice = _course_answers["expect_shape"], _course_answers["expect_choice"]
expect_lstm, expect_int, expect_function = (_course_answers[k] for k in ("expect_lstm", "expect_int", "expect_function"))
describe_answer, answer_digest = _course_answers["describe"], _course_answers["digest"]
