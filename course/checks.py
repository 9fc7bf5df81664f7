"""Answer checks for the LSTM course: value answers, the part every lesson notebook carries.

`python -m course.build` pastes this file, then course/probes.py and the lesson's
course/references/ files, into the locked "course_checks" cell at the top of each notebook
in source/ (a student's notebook must stand alone in Colab, so it cannot import it). Edit it
here, never in a notebook.

Every kind of value answer has its whole story here, in one place, used alike by the
notebook, by the grader's sandboxed child and by its judge (autograder/): a shape (tuple,
list or torch.Size of ints), a multiple-choice letter, an `nn.LSTM` layer, an int, a tensor
(exact values: ints or bools) and a model (any other nn.Module, by its weights).
`describe(answer)` reduces one to plain data, judged by meaning rather than spelling;
`valid(data)` accepts such data from elsewhere (the grader receives it from the student's
process) only in the form describe() makes; `show(data)` is its short text for feedback;
`digest` salts and hashes it, so a visible check holds no readable answer, and `seal_hint` encrypts a
named mistake's message with a key made from a second salted hash of that mistake, so the visible
check holds no readable message either: each one opens only for the answer it names. Answers judged by
running them (functions, module classes, trained models) are course/probes.py's.

`check(...)` is the visible self-check; `expect_shape`, `expect_choice`, `expect_lstm`,
`expect_int` and `expect_tensor` the hidden tests' helpers. They never put the expected answer
in a message. A failed check raises `WrongAnswer`, an AssertionError that Jupyter shows as its
message alone (`_render_traceback_`). Messages never repeat what a student's code produced
beyond a short type name, a letter, a shape or a short tensor of ints, so feedback can't carry
data out of a grader.

Every built-in, type and torch function used below is captured when this cell runs, before any
student code, so answers that compare equal to anything, subclasses of tuple or int, and later
patches of builtins or torch cannot fool these checks. Code that rewrites the checks themselves
(or the kernel) can: inside one shared kernel nothing can stop it. The project's grader
(`python -m autograder`) runs student code in its own process for that reason.
"""


def _install_checks():
    import contextlib
    import base64
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
    mkldnn_flags = torch.backends.mkldnn.flags
    tensor, as_tensor, isfinite, allclose = torch.tensor, torch.as_tensor, torch.isfinite, torch.allclose
    float32, float64 = torch.float32, torch.float64
    no_torch_function = torch._C.DisableTorchFunction
    catch_warnings, simplefilter = warnings.catch_warnings, warnings.simplefilter
    sha256, dumps, urandom, isnan, isinf = hashlib.sha256, json.dumps, os.urandom, math.isnan, math.isinf
    b64encode, b64decode, bytes_ = base64.b64encode, base64.b64decode, bytes
    format_ = format
    state_dict_of = nn.Module.state_dict
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
    DTYPES = ("float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool")
    EXACT = ("int64", "int32", "int16", "int8", "uint8", "bool")  # their values travel as ints
    torch_dtypes = {name: getattr(torch, name) for name in DTYPES}

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
        dtype = dtype_repr(dtype_of(t))[6:]
        if dtype not in DTYPES:  # complex, quantized...: named, not carried
            return {"t": "other", "type": dtype}
        flat = t_tolist(t_reshape(t_cpu(t_detach(t)), -1))
        if dtype in EXACT:
            values = [int_(x) for x in flat]
        elif dtype == "float32":  # 9 significant digits give back the same float32, in half the bytes
            values = [number_data(float_(format_(float_(x), ".9g"))) for x in flat]
        else:
            values = [number_data(float_(x)) for x in flat]
        return {"t": "tensor", "dtype": dtype, "shape": shape, "data": values}

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
        dtype = dict_get(torch_dtypes, data["dtype"], float32)
        values = data["data"] if data["dtype"] in EXACT else [float_(v) for v in data["data"]]  # "nan" etc. too
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
        with catch_warnings():
            simplefilter("ignore")  # e.g. proj_size on CPU warns on stderr, which nbgrader scores as a failure
            # PyTorch's own kernel: oneDNN would build one for each new layer shape (up to 0.4 s each).
            with no_grad(), fork_rng(devices=[]), mkldnn_flags(enabled=False):
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

    # Answer kinds of a file pasted after this one (course/numbers.py): kind -> its describe, valid, given,
    # show, verdict and fixes. Each hook below hands such a kind to its own story.
    more_kinds = {}

    def describe(answer):
        """Reduce an answer to plain data (JSON-ready), judging types before values."""
        kind = type_(answer)
        if kind is Received:
            return valid(get_attr(answer, "data"))
        for more in more_kinds.values():
            found = more["describe"](answer)
            if found is not None:
                return found
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
            return describe_tensor(answer)
        if kind is type_:
            return invalid("class")
        mro = type_mro(kind)
        if module_type in mro:
            return describe_model(answer, kind)
        if kind in function_types or callable_(answer):
            return invalid("function")
        return invalid("other", type=short_type_name(kind))

    def describe_tensor(t):
        data = tensor_data(t)
        if data["t"] == "other":
            return invalid("other", type=data["type"])
        return {"kind": "tensor", "dtype": data["dtype"], "shape": data["shape"], "data": dict_get(data, "data")}

    MAX_KEYS, MAX_MODEL = 64, 100_000

    def state_key(name):
        return type_(name) is str_ and 0 < len_(name) <= 80 and all_(ch.isalnum() or ch in "._" for ch in name)

    def describe_model(model, kind):
        """A module's weights as plain data: graders recompute what it does from them, never trust its forward."""
        name = short_type_name(kind)
        try:
            with no_grad():
                items = list_(dict_items(state_dict_of(model)))
        except Exception:
            return invalid("module", type=name)
        size = 0
        for key, value in items:
            if not state_key(key) or type_(value) not in (tensor_type, parameter_type):
                return invalid("module", type=name)
            size += value.numel()
        if len_(items) > MAX_KEYS or size > MAX_MODEL:
            return {"kind": "model", "type": name, "state": None}
        return {"kind": "model", "type": name, "state": {key: tensor_data(value) for key, value in items}}

    INVALID = {"none", "boxed-letter", "shape-items", "shape-string", "string", "module", "function", "class",
               "other", "lstm-broken", "unreadable"}
    WHY = {"sizes", "weights", "forward", "behaviour"}

    def valid(data):
        """Plain data in the form describe() makes it (from the grader's child), or 'unreadable'."""
        unreadable = invalid("unreadable")
        if type_(data) is not dict_:
            return unreadable
        kind = dict_get(data, "kind")
        if type_(kind) is str_ and kind in more_kinds:
            return more_kinds[kind]["valid"](data) or unreadable
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
        if kind == "tensor":
            shaped = valid_value_data({"t": "tensor", "dtype": dict_get(data, "dtype"), "shape": dict_get(data, "shape"),
                                       "data": dict_get(data, "data")})
            if shaped is not None:
                return {"kind": "tensor", "dtype": shaped["dtype"], "shape": shaped["shape"], "data": shaped["data"]}
            shape = dict_get(data, "shape")
            if dict_get(data, "data") is None and dict_get(data, "dtype") in DTYPES and type_(shape) is list_ \
                    and len_(shape) <= 8 and all_(type_(n) is int_ and 0 <= n < 2 ** 40 for n in shape):
                return {"kind": "tensor", "dtype": data["dtype"], "shape": shape, "data": None}  # too big to carry
            return unreadable
        if kind == "model":
            name, items = safe_name(dict_get(data, "type")) or "Module", dict_get(data, "state")
            if items is None:
                return {"kind": "model", "type": name, "state": None}
            if type_(items) is not dict_ or len_(items) > MAX_KEYS:
                return unreadable
            state = {}
            for key, value in dict_items(items):
                checked = valid_value_data(value)
                if not state_key(key) or checked is None or checked["t"] != "tensor":
                    return unreadable
                state[key] = checked
            return {"kind": "model", "type": name, "state": state}
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
        "string": "a string, but not a single letter", "module": "a module of type {type}",
        "function": "a function", "class": "a class", "other": "an object of type {type}",
        "lstm-broken": "an nn.LSTM layer that was changed after it was built",
        "unreadable": "an answer the grader could not read",
    }
    broken_why = {"sizes": "Its sizes are not plain integers.",
                  "weights": "Its weights do not match its settings: build it with nn.LSTM(...) and don't change "
                             "its attributes afterwards.",
                  "forward": "Running it failed with {error}.",
                  "behaviour": "It does not behave like an nn.LSTM with its settings."}
    kind_text = {"shape": "a tuple or list of whole numbers", "choice": "a letter", "lstm": "an nn.LSTM layer",
                 "int": "a whole number", "tensor": "a {dtype} tensor of shape {shape}", "model": "a module of type {type}"}

    def given(data):
        if data["kind"] in more_kinds:
            return more_kinds[data["kind"]]["given"](data)
        if data["kind"] == "tensor":
            return kind_text["tensor"].format(dtype=data["dtype"], shape=shape_text(data["shape"]))
        if data["kind"] == "model":
            return kind_text["model"].format(type=data["type"])
        if data["kind"] != "invalid":
            return kind_text[data["kind"]]
        detail = {k: (data.get(k) or "object") for k in ("container", "item", "type")}
        return given_text[data["code"]].format(**detail)

    def show(data):
        """Short text of an answer for feedback and reports: a shape, a letter, a layer's settings, an int."""
        data = valid(data)
        kind = data["kind"]
        if kind in more_kinds:
            return more_kinds[kind]["show"](data)
        if kind == "shape":
            return shape_text(data["value"])
        if kind == "tensor":
            values = data["data"]
            if values is not None and data["dtype"] in EXACT and len_(data["shape"]) == 1 and len_(values) <= 8 \
                    and all_(abs_(v) < 10 ** 6 for v in values):
                shown = [str_(bool_(v)) for v in values] if data["dtype"] == "bool" else [str_(v) for v in values]
                return f"tensor([{', '.join(shown)}])"
            return given(data)
        if kind == "model":
            return f"a {data['type']}"
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

    def shape_text(items):
        if len_(items) <= 8 and all_(abs_(n) < 10 ** 6 for n in items):
            inner = ", ".join(str_(n) for n in items)
            return f"({inner},)" if len_(items) == 1 else f"({inner})"
        return f"a shape of {len_(items)} sizes"

    def canonical(description):
        return dumps(description, sort_keys=True, separators=(",", ":"))

    def digest(qid, description):
        return description["kind"] + ":" + sha256(f"{qid}|{canonical(description)}".encode()).hexdigest()[:20]

    # A named mistake's message travels sealed in the visible check: XORed with a key stream drawn from
    # a second salted hash of that mistake's answer (never from its look-up digest), so only giving
    # that answer opens it. Trying each option of a multiple-choice question still opens them all.
    def keystream(qid, description, size):
        seed = sha256(f"hint|{qid}|{canonical(description)}".encode()).digest()
        stream, block = b"", 0
        while len_(stream) < size:
            stream += sha256(seed + block.to_bytes(4, "big")).digest()
            block += 1
        return stream[:size]

    def seal_hint(qid, description, message):
        data = message.encode("utf-8")
        return b64encode(bytes_(a ^ b for a, b in zip_(data, keystream(qid, description, len_(data))))).decode()

    def open_hint(qid, description, sealed):
        try:
            data = b64decode(sealed.encode("ascii"), validate=True)
        except Exception:  # a visible check edited by hand: no message rather than an error
            return None
        opened = bytes_(a ^ b for a, b in zip_(data, keystream(qid, description, len_(data))))
        return opened.decode("utf-8", errors="replace")

    # --- verdicts on value answers --------------------------------------------------------------------

    wants = {"shape": "a shape: a tuple of ints such as (2, 3, 4)", "choice": "the letter of one option",
             "lstm": "an nn.LSTM layer, built with nn.LSTM(...)", "int": "a whole number, such as 42",
             "tensor": "a tensor, such as torch.tensor([3, 1])", "model": "a trained model: an instance of your class"}
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
        ("lstm", "model"): "This exercise asks for an nn.LSTM.",
        ("tensor", "shape"): "Make it a tensor: torch.tensor([...]).",
        ("tensor", "shape-items"): "Make it a tensor: torch.tensor([...]).",
        ("model", "class"): "Give the trained instance, not the class.",
        (None, "none"): "Replace the placeholder with your answer, then run this cell again.",
    }
    not_yet = {"shape": "That is not the right shape. Write down which axis is which, then try again.",
               "choice": "That is not the right choice.",
               "lstm": "That layer is not configured as asked. Read the task again, argument by argument.",
               "int": "That is not the right number. Count again, tensor by tensor.",
               "tensor": "That is not the right tensor. Check its shape first, then its values."}

    def wrong_kind(want, description, options):
        code = description.get("code", description["kind"])
        if code == "none":
            return "No answer yet. " + fixes[(None, "none")]
        wanted = wants[want] + (f" ({', '.join(options)})" if want == "choice" and options else "")
        fix = dict_get(fixes, (want, code)) or dict_get(fixes, (None, code)) or \
            dict_get(dict_get(more_kinds, code, {}).get("fixes", {}), want) or ""
        why = broken_why[description["why"]].format(error=description.get("error") or "an error") \
            if code == "lstm-broken" else ""
        return " ".join(part for part in (f"This question wants {wanted}. Your answer is {given(description)}.",
                                          why, fix) if part)

    def verdict(qid, answer, key, hints, options=None, sealed=False):
        """None when `answer` is right, else its message. hints: {digest: message}, sealed (seal_hint()) when
        they come from a visible check."""
        description = describe(answer)
        want = key.split(":")[0]
        if want in more_kinds:  # opened: how a hint of `hints` is read, given the answer it names
            return more_kinds[want]["verdict"](qid, description, key, hints,
                                             lambda named, hint: open_hint(qid, named, hint) if sealed else hint)
        if description["kind"] != want:
            return wrong_kind(want, description, options)
        if want == "choice" and options and description["value"] not in options:
            return (f"'{description['value']}' is not one of this question's options: "
                    f"choose {', '.join(options[:-1])} or {options[-1]}.")
        got = digest(qid, description)
        if got == key:
            return None
        hint = dict_get(hints or {}, got)
        if hint and sealed:
            hint = open_hint(qid, description, hint)
        if hint:
            return hint
        if want == "lstm" and description["dtype"] != default_dtype:
            if digest(qid, dict_(description, dtype=default_dtype)) == key:
                return (f"Its settings are right, but its weights are {description['dtype'][6:]}. Build it with "
                        "the default dtype (float32): the exercise does not ask for another.")
        if want == "tensor":
            for dtype in DTYPES:
                other = retyped(description, dtype)
                if other is not None and digest(qid, other) == key:
                    return (f"Its values are right, but it is a {description['dtype']} tensor and this question "
                            f"wants {dtype}: use .to(torch.{dtype}).")
        return not_yet[want]

    def retyped(description, dtype):
        """The same tensor in another dtype, when its values survive the change exactly."""
        values = description["data"]
        if values is None or dtype == description["dtype"] or any_(type_(v) is str_ for v in values):
            return None
        if dtype in EXACT:
            if not all_(v == int_(v) for v in values) or (dtype == "bool" and not all_(v in (0, 1) for v in values)):
                return None
            values = [int_(v) for v in values]
        else:
            values = [float_(v) for v in values]
        return dict_(description, dtype=dtype, data=values)

    def stuck(qid, message):
        """A visible check's message, pointing to course/predict.py's hints when the notebook has some."""
        has_hints = api.get("has_hints")
        if has_hints is not None and has_hints(qid):
            message += f" Stuck? hint({qid.rsplit('.', 1)[-1]!r}) shows a hint."
        return message

    def check(answer, qid, key, hints=None, options=None):
        """Visible test: says whether `answer` is right, and names a known mistake, without revealing it.
        hints: {digest: sealed message}, as course/build.py writes them."""
        message = verdict(qid, answer, key, hints, options, sealed=True)
        if message is not None:
            fail(stuck(qid, message))
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

    def expect_tensor(qid, answer, values, dtype="int64", mistakes=()):
        as_data = lambda v: describe_tensor(tensor(v, dtype=torch_dtypes[dtype]))
        expect(qid, answer, as_data(values), [(as_data(v), m) for v, m in mistakes])

    api = {"check": check, "expect_shape": expect_shape, "expect_choice": expect_choice,
           "expect_lstm": expect_lstm, "expect_int": expect_int, "expect_tensor": expect_tensor,
           "describe": describe, "valid": valid, "show": show, "digest": digest, "received": Received,
           "seal_hint": seal_hint, "stuck": stuck,
           # for course/probes.py, which judges answers by running them:
           "fail": fail, "given": given, "safe_name": safe_name, "short_type_name": short_type_name,
           "tensor_data": tensor_data, "value_data": value_data, "data_tensor": data_tensor,
           "valid_value_data": valid_value_data, "shape_text": shape_text, "wrong_kind": wrong_kind,
           "more_kinds": more_kinds, "invalid": invalid, "expect": expect,
           "captured": {"torch": torch, "nn": nn}}
    return api


# The grader (autograder/), course/probes.py and course/references/ reach the checks through this one name.
_course_answers = _install_checks()
del _install_checks
check, expect_shape, expect_choice = (_course_answers[k] for k in ("check", "expect_shape", "expect_choice"))
expect_lstm, expect_int, expect_tensor = (_course_answers[k] for k in ("expect_lstm", "expect_int", "expect_tensor"))
describe_answer, answer_digest = _course_answers["describe"], _course_answers["digest"]
