"""Answers as plain data, between the sandboxed child and the judge.

What an answer *is* is decided by the course's checks cell (course/checks.py): its
`describe` reduces a value to plain data and its `probe` calls a function answer on the
judge's inputs. The child runs that cell first, before any student code, and uses those two
functions to report each answer a test reads; the judge wraps what it receives as the checks'
own `Received`, which `describe` and `probe` accept back after checking its form. So each kind
of answer is described, checked and replayed in one place, the same in a notebook, under
nbgrader and here.

This module keeps what is not about the answer kinds:

- `names_read(source)` and `function_calls(source)`: which answers a test cell reads, and which
  of them it calls as functions (reference, cases), read from the cell's code with ast (trusted
  code only: it runs in the worker, never in the child);
- `encode` / `decode` / `display`: a literal codec (None, bools, numbers, strings, tuples and
  lists of them, else a type's name) for a course without a checks cell, such as the grader's
  own self-test. `encode` runs in the child with only what it captured at import, in the
  worker before any fork.
"""
import ast

MISSING = {"t": "missing"}
VIA_CHECKS = "checks"  # an answer the checks cell described or probed
MAX_DEPTH = 20
MAX_ITEMS = 10_000
MAX_STR = 100_000
MAX_NAME = 100
MAX_INT_BITS = 14_000


def names_read(source, exclude=()):
    """Sorted `answer_*` names that `source` reads, minus `exclude`; [] when it does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    names = {node.id for node in ast.walk(tree)
             if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id.startswith("answer_")}
    return sorted(names - set(exclude))


def function_calls(source):
    """{answer name: (reference, cases or None, key or None)} of the `expect_function` / `expect_module(qid, answer,
    reference=..., cases=N, key='...')` calls: the answers the child must run on the judge's inputs, and the key
    (course/keys/, compressed) that draws those inputs; the worker runs it, never the child."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    found = {}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("expect_function", "expect_module")
                and len(node.args) >= 2 and isinstance(node.args[1], ast.Name)):
            try:
                kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
            except ValueError:
                continue
            cases, key = kwargs.get("cases"), kwargs.get("key")
            if isinstance(kwargs.get("reference"), str) and (cases is None or type(cases) is int) and \
                    (key is None or type(key) is str):
                found[node.args[1].id] = (kwargs["reference"], cases, key)  # None: the reference's own count
    return found


def visible_checks(source):
    """{answer name: (check, reference, data)} of the visible checks that run an answer on cases course/build.py
    wrote into them (course/self_checks.py): `check_function` / `check_module(answer, qid, reference, data)`
    and `check_trained(answer, qid, reference, accuracy, data)`. The child runs the answer on them too, so that
    the judge's visible check sees what the answer did there (trusted code only)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    found = {}
    for node in ast.walk(tree):
        check = getattr(node.func, "id", None) if isinstance(node, ast.Call) else None
        arity = {"check_function": 4, "check_module": 4, "check_trained": 5}.get(check)
        if arity and len(node.args) == arity and isinstance(node.args[0], ast.Name):
            try:
                reference, data = ast.literal_eval(node.args[2]), ast.literal_eval(node.args[-1])
            except ValueError:
                continue
            if isinstance(reference, str) and isinstance(data, dict):
                found[node.args[0].id] = (check, reference, data)
    return found


# --- the literal codec (no checks cell) ---------------------------------------------------------------

def _make_encoder():
    type_, tuple_, list_, int_, float_, bool_, str_ = type, tuple, list, int, float, bool, str
    none_type = type(None)
    len_, range_ = len, range
    tuple_get, list_get = tuple.__getitem__, list.__getitem__
    int_bits, float_repr = int.bit_length, float.__repr__
    type_name = type.__dict__["__name__"].__get__

    def other(value):
        return {"t": "other", "name": type_name(type_(value))[:MAX_NAME]}

    def encode(value, depth=0):
        kind = type_(value)
        if kind is none_type:
            return {"t": "none"}
        if kind is bool_:
            return {"t": "bool", "v": True if value is True else False}
        if kind is int_:
            return {"t": "int", "v": value} if int_bits(value) <= MAX_INT_BITS else {"t": "bigint"}
        if kind is float_:
            return {"t": "float", "v": float_repr(value)}
        if kind is str_:
            return {"t": "str", "v": value} if len_(value) <= MAX_STR else other(value)
        if (kind is tuple_ or kind is list_) and depth < MAX_DEPTH and len_(value) <= MAX_ITEMS:
            getter = tuple_get if kind is tuple_ else list_get
            return {"t": "tuple" if kind is tuple_ else "list",
                    "items": [encode(getter(value, i), depth + 1) for i in range_(len_(value))]}
        return other(value)

    return encode


encode = _make_encoder()
_dict_get, _ABSENT = dict.get, object()


def encode_name(namespace, name):
    """encode() of `namespace[name]`, MISSING when it is not defined."""
    value = _dict_get(namespace, name, _ABSENT) if type(namespace) is dict else _ABSENT
    return MISSING if value is _ABSENT else encode(value)


class Malformed(Exception):
    """The data is not what encode() produces."""


def decode(data, depth=0):
    """The value `data` (from encode) stands for; raises Malformed for anything else."""
    if type(data) is not dict or type(data.get("t")) is not str:
        raise Malformed("not an encoded value")
    if depth > MAX_DEPTH + 1:
        raise Malformed("nested too deeply")
    t = data["t"]
    if t == "none":
        return None
    if t in ("bool", "int", "str"):
        value = data.get("v")
        if type(value) is not {"bool": bool, "int": int, "str": str}[t]:
            raise Malformed(f"not a {t}")
        return value
    if t == "bigint":
        return 10 ** 5000
    if t == "float":
        try:
            return float(data.get("v"))
        except (TypeError, ValueError):
            raise Malformed("not a float") from None
    if t in ("tuple", "list"):
        items = data.get("items")
        if type(items) is not list or len(items) > MAX_ITEMS:
            raise Malformed("not a list of items")
        values = [decode(item, depth + 1) for item in items]
        return tuple(values) if t == "tuple" else values
    if t == "other":
        name = data.get("name")
        if not isinstance(name, str) or not name:
            raise Malformed("a type name must be a non-empty string")
        return type(name[:MAX_NAME].replace("\x00", "?"), (), {"__module__": "__main__"})()
    raise Malformed(f"unknown kind {t!r}")


def display(data):
    """Short, safe text of a literal-codec answer: ints, short strings' length, tuples of ints."""
    t = data.get("t") if type(data) is dict else None
    if t == "int" and type(data.get("v")) is int and abs(data["v"]) < 10 ** 6:
        return str(data["v"])
    if t in ("tuple", "list"):
        items = data.get("items") if type(data.get("items")) is list else []
        if len(items) <= 8 and all(type(i) is dict and i.get("t") == "int" and type(i.get("v")) is int
                                   and abs(i["v"]) < 10 ** 6 for i in items):
            inner = ", ".join(str(i["v"]) for i in items)
            return f"({inner},)" if t == "tuple" and len(items) == 1 else f"({inner})" if t == "tuple" else f"[{inner}]"
        return f"a {t} of {len(items)} items"
    if t == "str":
        return f"a string of {len(data.get('v') or '')} characters"
    return {"none": "None", "bool": "a bool", "float": "a float", "bigint": "a large int"}.get(t, "an object")
