"""Answers as plain data: encoded where student code runs, rebuilt where the tests run.

`encode(value)` runs in the sandboxed child (sandbox.py), after student code, which may
have patched anything it can reach. So it uses only what this module captured when it
was imported, in the worker before any fork: builtins, types and torch's C-level
attribute getters. It judges types exactly (`type(x) is tuple`, never isinstance) and
reads an nn.LSTM through its instance `__dict__`, like course/checks.py's `describe`,
so a subclass, a fake class or a property tells nothing but its type's name. The
result is JSON-ready; a child that forges it only claims an answer, which the judge
then checks like any other.

`decode(data)` runs in the judge (judge.py) and rebuilds values that `describe` in
the checks cell judges exactly as it would judge the student's own: tuples, lists and
torch.Size of the same items, strings, numbers, a real nn.LSTM built from the same
settings, and for anything else an instance of a fresh class with the same name.

`names_read(source)` lists the `answer_*` names a test cell reads (ast, trusted code
only: it runs in the worker, never in the child).
"""
import ast

import torch
from torch import nn

MISSING = {"t": "missing"}
MAX_DEPTH = 20          # nesting of tuples/lists
MAX_ITEMS = 10_000      # items in one tuple or list
MAX_STR = 100_000       # characters of a string answer
MAX_NAME = 100          # characters of a type name
MAX_INT_BITS = 14_000   # about 4200 digits: json (and the checks' digest) handle it
MAX_PARAMS = 1_000      # entries of an LSTM's _parameters
MAX_LAYER_WEIGHTS = 50_000_000  # numbers a rebuilt layer may hold; bigger ones are built on "meta"

LSTM_CONFIG = ("input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout",
               "bidirectional", "proj_size")
DTYPES = ("float32", "float64", "float16", "bfloat16")
DEVICES = ("cpu", "meta")


def names_read(source, exclude=()):
    """Sorted `answer_*` names that `source` reads, minus `exclude`; [] when it does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    names = {node.id for node in ast.walk(tree)
             if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id.startswith("answer_")}
    return sorted(names - set(exclude))


# --- encode: runs in the child, with only what was captured here ---------------------------------

def _make_encoder():
    type_, tuple_, list_, int_, float_, bool_, str_, dict_ = type, tuple, list, int, float, bool, str, dict
    none_type, ellipsis_type = type(None), type(...)
    size_type, lstm_type, param_type, tensor_type = torch.Size, nn.LSTM, nn.Parameter, torch.Tensor
    module_type = nn.Module
    type_mro = type.__dict__["__mro__"].__get__
    len_, range_ = len, range
    tuple_get, list_get = tuple.__getitem__, list.__getitem__
    dict_items, dict_get = dict.items, dict.get
    int_bits, float_repr = int.bit_length, float.__repr__
    type_name = type.__dict__["__name__"].__get__
    get_attr = object.__getattribute__
    base = torch._C.TensorBase.__dict__
    shape_of, dtype_of, device_of = base["shape"].__get__, base["dtype"].__get__, base["device"].__get__
    device_type = torch.device.__dict__["type"].__get__
    dtype_repr = torch.dtype.__repr__
    absent = object()

    def other(value, note=""):
        name = type_name(type_(value))
        return {"t": "other", "name": (name + note)[:MAX_NAME]}

    def items(value, kind, getter, depth):
        n = len_(value)
        if n > MAX_ITEMS:
            return other(value, f" of more than {MAX_ITEMS} items")
        return {"t": kind, "items": [encode(getter(value, i), depth + 1) for i in range_(n)]}

    def tensor(value):
        kind = type_(value)
        if kind is not param_type and kind is not tensor_type:
            return encode(value, MAX_DEPTH)  # None, or any other object: its type's name
        shape = shape_of(value)
        return {"t": "tensor", "shape": [int_(tuple_get(shape, i)) for i in range_(len_(shape))],
                "dtype": dtype_repr(dtype_of(value)), "device": device_type(device_of(value))}

    def lstm(layer):
        state = get_attr(layer, "__dict__")
        if type_(state) is not dict_:
            return other(layer)
        config = {}
        for key in LSTM_CONFIG:
            value = dict_get(state, key, absent)
            if value is not absent:
                config[key] = encode(value, MAX_DEPTH - 1)
        data = {"t": "lstm", "config": config}
        params = dict_get(state, "_parameters", absent)
        if params is absent:
            return data
        if type_(params) is not dict_ or len_(params) > MAX_PARAMS:
            data["params"] = encode(params, MAX_DEPTH)
            return data
        data["params"] = {"t": "dict", "items": [[encode(k, MAX_DEPTH - 1), tensor(v)]
                                                 for k, v in dict_items(params)]}
        return data

    def encode(value, depth=0):
        """Plain, JSON-ready data for `value` (see the module docstring)."""
        kind = type_(value)
        if kind is none_type:
            return {"t": "none"}
        if kind is ellipsis_type:
            return {"t": "ellipsis"}
        if kind is bool_:
            return {"t": "bool", "v": True if value is True else False}
        if kind is int_:
            return {"t": "int", "v": value} if int_bits(value) <= MAX_INT_BITS else {"t": "bigint"}
        if kind is float_:
            return {"t": "float", "v": float_repr(value)}
        if kind is str_:
            if len_(value) > MAX_STR:
                return other(value, f" of more than {MAX_STR} characters")
            return {"t": "str", "v": value}
        if depth >= MAX_DEPTH:
            return other(value)
        if kind is tuple_:
            return items(value, "tuple", tuple_get, depth)
        if kind is list_:
            return items(value, "list", list_get, depth)
        if kind is size_type:
            return items(value, "size", tuple_get, depth)
        if kind is lstm_type:
            return lstm(value)
        if kind is tensor_type or kind is param_type:
            return tensor(value)
        if module_type in type_mro(kind):
            return {"t": "module", "name": type_name(kind)[:MAX_NAME]}
        return other(value)

    return encode


encode = _make_encoder()


def encode_name(namespace, name):
    """encode() of `namespace[name]`, MISSING when it is not defined."""
    value = _dict_get(namespace, name, _ABSENT) if type(namespace) is dict else _ABSENT
    return MISSING if value is _ABSENT else encode(value)


_dict_get, _ABSENT = dict.get, object()


# --- display: short, safe text of an answer for feedback and reports ---------------------------------

MAX_SHOWN_ITEMS = 8       # sizes of a shape shown; a longer one is only counted
MAX_SHOWN_INT = 10 ** 6   # larger numbers are not shown: feedback is no channel for data


def _identifier(name):
    return name if isinstance(name, str) and len(name) <= 30 and name.isidentifier() else None


def _shown_int(data):
    return type(data) is dict and data.get("t") == "int" and type(data.get("v")) is int \
        and abs(data["v"]) < MAX_SHOWN_INT


def _shown_value(data):
    """Plain text of one encoded value: only ints, letters, shapes and layer settings are spelled out."""
    t = data.get("t") if type(data) is dict else None
    if t in ("none", "ellipsis"):
        return "None" if t == "none" else "..."
    if t == "bool":
        return repr(data.get("v") is True)
    if t == "int":
        return str(data["v"]) if _shown_int(data) else "a large int"
    if t == "float":
        return "a float"
    if t == "str":
        text = data.get("v") if type(data.get("v")) is str else ""
        letter = text.strip().strip("()[].'\" ").upper()
        if len(letter) == 1 and "A" <= letter <= "Z":
            return repr(text.strip()) if len(text) <= 8 else repr(letter)
        return f"a string of {len(text)} characters"
    if t in ("tuple", "list", "size"):
        items = data.get("items") if type(data.get("items")) is list else []
        kind = {"tuple": "tuple", "list": "list", "size": "torch.Size"}[t]
        if len(items) <= MAX_SHOWN_ITEMS and all(_shown_int(i) for i in items):
            inner = ", ".join(str(i["v"]) for i in items)
            shown = f"({inner},)" if len(items) == 1 else f"({inner})"
            return {"tuple": shown, "list": f"[{inner}]", "size": f"torch.Size([{inner}])"}[t]
        return f"a {kind} of {len(items)} items"
    if t == "tensor":
        shape = data.get("shape") if type(data.get("shape")) is list else []
        if len(shape) <= MAX_SHOWN_ITEMS and all(type(n) is int and 0 <= n < MAX_SHOWN_INT for n in shape):
            return f"a tensor of shape ({', '.join(map(str, shape))}{',' if len(shape) == 1 else ''})"
        return "a tensor"
    if t == "lstm":
        return _shown_lstm(data)
    if t in ("module", "other"):
        name = _identifier(data.get("name"))
        return f"an object of type {name}" if name else "an object"
    return "an answer the grader could not read"


def _shown_lstm(data):
    config = data.get("config") if type(data.get("config")) is dict else {}
    values = {}
    for key, value in config.items():
        if type(value) is not dict or key not in LSTM_CONFIG:
            continue
        if _shown_int(value) or value.get("t") == "bool":
            values[key] = _shown_value(value)
        elif value.get("t") == "float":
            try:
                number = float(value.get("v"))
            except (TypeError, ValueError):
                continue
            values[key] = f"{number:g}" if 0 <= number <= 1 else "a float"
    if "input_size" not in values or "hidden_size" not in values:
        return "an nn.LSTM layer"
    defaults = {"num_layers": "1", "bias": "True", "batch_first": "False", "dropout": "0",
                "bidirectional": "False", "proj_size": "0"}
    args = [values["input_size"], values["hidden_size"]]
    args += [f"{k}={values[k]}" for k in LSTM_CONFIG[2:] if k in values and values[k] != defaults[k]]
    return f"nn.LSTM({', '.join(args)})"


def display(encoded):
    """The answers one test read ({name: encode data}) as one short line; "" when none was given."""
    given = {name: data for name, data in sorted(encoded.items()) if data != MISSING}
    if not given:
        return ""
    if len(given) == 1:
        return _shown_value(next(iter(given.values())))
    return "; ".join(f"{name} = {_shown_value(data)}" for name, data in given.items())


# --- decode: runs in the judge ---------------------------------------------------------------------

class Malformed(Exception):
    """The data is not what encode() produces."""


def _fresh_instance(name, base=object):
    if not isinstance(name, str) or not name:
        raise Malformed("a type name must be a non-empty string")
    name = name[:MAX_NAME].replace("\x00", "?")
    return type(name, (base,), {"__module__": "__main__"})()


def _field(data, key, kind):
    value = data.get(key)
    if type(value) is not kind:
        raise Malformed(f"{key!r} must be a {kind.__name__}")
    return value


def decode(data, depth=0):
    """The value `data` (from encode) stands for; raises Malformed for anything else. MISSING is not decodable."""
    if type(data) is not dict or type(data.get("t")) is not str:
        raise Malformed("not an encoded value")
    if depth > MAX_DEPTH + 1:
        raise Malformed("nested too deeply")
    t = data["t"]
    if t == "none":
        return None
    if t == "ellipsis":
        return ...
    if t == "bool":
        return _field(data, "v", bool)
    if t == "int":
        return _field(data, "v", int)
    if t == "bigint":
        return 10 ** 5000  # too long to print, like the original: the checks' digest fails the same way
    if t == "float":
        try:
            return float(_field(data, "v", str))
        except ValueError:
            raise Malformed("not a float") from None
    if t == "str":
        value = _field(data, "v", str)
        if len(value) > MAX_STR:
            raise Malformed("string too long")
        return value
    if t in ("tuple", "list", "size"):
        items = _field(data, "items", list)
        if len(items) > MAX_ITEMS:
            raise Malformed("too many items")
        values = [decode(item, depth + 1) for item in items]
        if t == "list":
            return values
        if t == "tuple":
            return tuple(values)
        if not all(type(v) is int for v in values):
            raise Malformed("a torch.Size holds ints")
        try:
            return torch.Size(values)
        except (OverflowError, RuntimeError, TypeError, ValueError):
            raise Malformed("not a valid torch.Size") from None
    if t == "other":
        return _fresh_instance(data.get("name"))
    if t == "module":
        return _fresh_instance(data.get("name"), nn.Module)
    if t == "tensor":  # only its type matters to the checks: an empty tensor on "meta" holds no data
        shape = _field(data, "shape", list)
        if len(shape) > 8 or not all(type(n) is int and 0 <= n < 2 ** 40 for n in shape):
            raise Malformed("a tensor shape holds at most 8 sizes")
        return torch.empty(shape, device="meta")
    if t == "lstm":
        return _decode_lstm(data, depth)
    raise Malformed(f"unknown kind {t!r}")


def _decode_params(data, depth):
    """[(name, tensor spec or decoded value)] of an encoded _parameters dict, or the decoded non-dict."""
    if type(data) is not dict:
        raise Malformed("_parameters must be encoded")
    if data.get("t") != "dict":
        return decode(data, depth + 1)
    entries = _field(data, "items", list)
    if len(entries) > MAX_PARAMS:
        raise Malformed("too many parameters")
    params = []
    for entry in entries:
        if type(entry) is not list or len(entry) != 2:
            raise Malformed("a parameter is a [name, value] pair")
        key, value = decode(entry[0], depth + 1), entry[1]
        try:
            hash(key)
        except TypeError:
            raise Malformed("a parameter name must be hashable") from None
        if type(value) is dict and value.get("t") == "tensor":
            shape = _field(value, "shape", list)
            if len(shape) > 8 or not all(type(n) is int and 0 <= n < 2 ** 40 for n in shape):
                raise Malformed("a tensor shape holds at most 8 sizes")
            dtype, device = _field(value, "dtype", str), _field(value, "device", str)
            params.append((key, ("tensor", tuple(shape), dtype, device)))
        else:
            params.append((key, decode(value, depth + 1)))
    return params


def _size(value):
    return value if type(value) is int else None


def _buildable(raw):
    """The keyword arguments for a real nn.LSTM with exactly `raw`'s settings, or None when not sensible."""
    if not {"input_size", "hidden_size"} <= set(raw):
        return None
    sizes = {k: raw[k] for k in ("input_size", "hidden_size", "num_layers", "proj_size") if k in raw}
    if any(type(v) is not int or not 0 <= v <= 1_000_000 for v in sizes.values()):
        return None
    flags_ok = all(type(raw[k]) in (bool, int) for k in ("bias", "batch_first", "bidirectional") if k in raw)
    if not flags_ok or ("dropout" in raw and type(raw["dropout"]) not in (float, int, bool)):
        return None
    layers, d = sizes.get("num_layers", 1), 2 if raw.get("bidirectional") else 1
    h, p = sizes["hidden_size"], sizes.get("proj_size", 0)
    width = max(sizes["input_size"], d * (p or h))
    weights = layers * d * 4 * h * (width + (p or h) + 2) + layers * d * p * h
    return dict(raw) if weights <= MAX_LAYER_WEIGHTS else None


def _quiet(fn, *args, **kwargs):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. dropout with one layer: the student's cell warned, not the test
        return fn(*args, **kwargs)


def _tensor_from(spec):
    _, shape, dtype, device = spec
    dtype = getattr(torch, dtype[len("torch."):], None) if dtype.startswith("torch.") else None
    if not isinstance(dtype, torch.dtype):
        dtype = torch.float32
    if device not in DEVICES or torch.Size(shape).numel() > MAX_LAYER_WEIGHTS:
        device = "meta"
    return nn.Parameter(torch.zeros(shape, dtype=dtype, device=device), requires_grad=False) \
        if dtype.is_floating_point else torch.zeros(shape, dtype=dtype, device=device)


def _first_tensor(params):
    for _, value in params:
        if isinstance(value, tuple) and value and value[0] == "tensor":
            return value
    return None


def _decode_lstm(data, depth):
    config = data.get("config")
    if type(config) is not dict or not set(config) <= set(LSTM_CONFIG):
        raise Malformed("an LSTM's config holds its settings")
    raw = {key: decode(value, depth + 1) for key, value in config.items()}
    params = _decode_params(data["params"], depth) if "params" in data else None

    # An honest layer: nn.LSTM(**raw) rebuilds it, with the same dtype and device.
    kwargs, first = _buildable(raw), _first_tensor(params) if isinstance(params, list) else None
    if kwargs is not None and first is not None:
        dtype, device = first[2], first[3]
        if dtype.startswith("torch.") and dtype[len("torch."):] in DTYPES and device in DEVICES:
            kwargs.update(dtype=getattr(torch, dtype[len("torch."):]), device=device)
            try:
                layer = _quiet(nn.LSTM, **kwargs)
            except Exception:  # settings torch refuses: handled as tampered below
                layer = None
            if layer is not None and _same_params(layer, params):
                return layer

    # Anything else was changed after nn.LSTM(...) built it: a layer holding exactly the
    # settings and weights it claims, which `describe` then reports as it would the original.
    layer = _quiet(nn.LSTM, 1, 1)
    state = object.__getattribute__(layer, "__dict__")
    for key in LSTM_CONFIG:
        state.pop(key, None)
    state.update(raw)
    if params is None:
        state.pop("_parameters", None)
    elif isinstance(params, list):
        state["_parameters"] = {key: _tensor_from(value) if isinstance(value, tuple) and value
                                and value[0] == "tensor" else value for key, value in params}
    else:
        state["_parameters"] = params
    return layer


def _same_params(layer, params):
    mine = [(name, ("tensor", tuple(p.shape), repr(p.dtype), p.device.type))
            for name, p in layer._parameters.items()]
    return mine == params
