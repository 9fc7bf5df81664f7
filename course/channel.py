"""The plain data of function and class answers: cases in, what each call did out (pasted after checks.py).

A function answer (`lstm_step`) or a module class (`SequenceClassifier`) is judged by what it does on
cases drawn at checking time from a seed. In the project's grader it runs in the sandboxed child and
the judge runs elsewhere, so everything between them is plain data (JSON), made and checked here:

- judge -> child: each case's arguments (`case_data`): bools, ints, floats, short strings, None,
  dtypes, lists and tuples of these, dicts, tensors (any dtype of checks.py's DTYPES, `requires_grad`
  kept on a leaf that has it) and modules. A module crosses as the name of its class in
  `module_classes` (nn.LSTM, nn.GRU, nn.RNN, their cells, nn.Linear, nn.Embedding, and any class a
  reference file registers there), its constructor's keyword arguments and its tensors; the child
  rebuilds it (`data_case`) with `load_state_dict(strict=True)`, fresh for every call. A case makes
  its modules with `case_module(gen, "LSTM", input_size=3, ...)`, which draws the weights from the
  case's generator and remembers the keywords.
- child -> judge, per call (`valid_calls` accepts only this form): the result (checks.py's
  value_data) or the exception (type, nearest built-in type, a printable message of at most 160
  characters); the LstmSpy's note; for a class, its `state_dict`; per module argument, when the
  reference asks (`report`), its tensors after the call (the names, and the data of those that
  changed), the parameters replaced by new objects, and those whose `.grad` is set; and the extra
  data of the reference's `observe` hook (plain numbers and lists of them, capped).

A reference (public fields in course/references/<lesson>.py: `references[name] = {...}`; the rest, its key, in
course/keys/<lesson>.py: `KEY[name] = {...}`, which only hidden tests carry) has these fields:
`case(gen, i)`, `reference(*case)` (for a class `reference(settings, *inputs, weights)` and
`state_check(settings, weights)`), `mistakes` [(hint, variant)], `signature`, `outputs`, `not_yet`,
and optionally `kind` ("module" for a class, "trained" for a trained model), `delegated`, `matmul`,
`errors` {type name: hint, or [(message fragment, hint), ...]}, `raises` {type name: hint when it
does not raise}, `report` (a subset of ("state", "replaced", "grads")) with `report_check(reports,
*case)` and `messages` {"state", "replaced", "grads": texts}, `grad` (True: autograd on),
`observe(answer, *case) -> (result, extra)` with `extra_check(extra, *case)` and
`extra_note(extra, *case)`, `compare(got, want) -> bool` (e.g. `log10_close(1e-3)`), `cases` and
`visible_cases` (how many cases the hidden and the visible checks draw). docs/architecture.md
("Writing a reference") says what each does.
"""


def _install_channel(api):
    import builtins
    import warnings
    import weakref

    import torch
    from torch import nn

    type_, tuple_, list_, int_, str_, bool_, dict_, float_ = type, tuple, list, int, str, bool, dict, float
    len_, all_, any_, range_, sorted_, enumerate_, set_, zip_ = len, all, any, range, sorted, enumerate, set, zip
    isinstance_, next_, issubclass_ = isinstance, next, issubclass
    get_attr = object.__getattribute__
    dict_get, dict_items = dict.get, dict.items
    type_name = type.__dict__["__name__"].__get__
    type_mro = type.__dict__["__mro__"].__get__
    str_isprintable = str.isprintable
    module_type, tensor_type, parameter_type, dtype_type = nn.Module, torch.Tensor, nn.Parameter, torch.dtype
    module_load, module_train = nn.Module.load_state_dict, nn.Module.train
    base = torch._C.TensorBase.__dict__
    grad_of, requires_grad_of, is_leaf = base["grad"].__get__, base["requires_grad"].__get__, base["is_leaf"].__get__
    t_requires_grad, numel, sum_ = base["requires_grad_"], base["numel"], sum
    no_grad, fork_rng, manual_seed, randint = torch.no_grad, torch.random.fork_rng, torch.manual_seed, torch.randint
    mkldnn_flags = torch.backends.mkldnn.flags
    catch_warnings, simplefilter = warnings.catch_warnings, warnings.simplefilter
    safe_name, short_type_name, valid = api["safe_name"], api["short_type_name"], api["valid"]
    tensor_data, data_tensor, valid_value_data = api["tensor_data"], api["data_tensor"], api["valid_value_data"]
    dtypes = {str_(d)[6:]: d for d in (torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64,
                                       torch.int32, torch.int16, torch.int8, torch.uint8, torch.bool)}
    builtin_errors = {name: kind for name, kind in dict_items(vars(builtins))
                      if isinstance_(kind, type_) and issubclass_(kind, BaseException)}

    references = {}  # name -> a reference of course/references/ (fields: this file's docstring)
    module_classes = {type_name(c): c for c in (nn.LSTM, nn.GRU, nn.RNN, nn.LSTMCell, nn.GRUCell, nn.RNNCell,
                                                nn.Linear, nn.Embedding)}
    sealed = {}  # the grader's child: references and classes as the checks cell left them (seal())
    built = weakref.WeakKeyDictionary()  # a case's module -> (class name, constructor keywords)
    MAX_KEYS, MAX_MODEL, MAX_TEXT, MAX_STR, MAX_EXTRA = 64, 100_000, 160, 200, 10_000
    REPORTS = ("state", "replaced", "grads")
    INVALID = object()  # valid_extra's answer to data that is not plain

    def seal():
        """Called by the grader's child right after the checks cell ran, before any student code: from now on
        the cases' classes and the references' hooks are these, whatever a student's cell rebinds."""
        sealed["references"] = {name: dict_(ref) for name, ref in dict_items(references)}
        sealed["classes"] = dict_(module_classes)

    def reference_of(name):
        return dict_get(dict_get(sealed, "references") or references, name)

    def as_reference(reference):
        """A reference's fields: `reference` itself when it is a dict (a public reference merged with its key,
        verdicts.keyed), else the entry of that name (whole only where trusted code installed its key)."""
        return reference if type_(reference) is dict_ else references[reference]

    # --- the cases: drawn from a seed, carried as plain data -------------------------------------------

    def case_module(gen, name, **kwargs):
        """A registered module for a case, its starting weights drawn from the case's generator."""
        with fork_rng(devices=[]):
            manual_seed(int_(randint(0, 2 ** 62, (1,), generator=gen)))
            module = module_classes[name](**kwargs)
        built[module] = (name, dict_(kwargs))
        return module

    def make_cases(reference, seed, count):
        """The arguments of `count` calls, the same for the same seed everywhere."""
        make = as_reference(reference)["case"]
        with fork_rng(devices=[]), no_grad(), catch_warnings():
            simplefilter("ignore")
            with mkldnn_flags(enabled=False):  # PyTorch's own kernel: oneDNN compiles one per new shape
                return [make(torch.Generator().manual_seed((seed * 1009 + i) % (2 ** 63)), i) for i in range_(count)]

    def number_data(x):  # JSON has no NaN or infinity: they travel as strings
        return "nan" if x != x else ("inf" if x > 0 else "-inf") if x in (float_("inf"), float_("-inf")) else x

    def arg_data(a, depth=0):
        kind = type_(a)
        if kind is bool_ or kind is int_ or kind is str_:
            if kind is str_ and len_(a) > MAX_STR:
                raise ValueError(f"a case's string may have at most {MAX_STR} characters")
            return {"t": type_name(kind), "v": a}
        if kind is float_:
            return {"t": "float", "v": number_data(a)}
        if a is None:
            return {"t": "none"}
        if kind is dtype_type:
            return {"t": "dtype", "v": str_(a)[6:]}
        if (kind is list_ or kind is tuple_) and depth < 4:
            return {"t": type_name(kind), "items": [arg_data(v, depth + 1) for v in a]}
        if kind is dict_ and all_(type_(k) is str_ for k in a):
            return {"t": "kw", "v": {k: arg_data(v, depth + 1) for k, v in dict_items(a)}}
        if kind is tensor_type or kind is parameter_type:
            data = tensor_data(a)
            if data["t"] != "tensor":
                raise ValueError("a case's tensor must be small (at most 20,000 numbers) and of a plain dtype")
            return dict_(data, grad=True) if requires_grad_of(a) and is_leaf(a) else data
        if module_type in type_mro(kind):
            if a not in built:
                raise ValueError("make a case's module with case_module(gen, name, **kwargs)")
            name, kwargs = built[a]
            return {"t": "module", "class": name, "kwargs": arg_data(kwargs, depth + 1)["v"],
                    "state": {k: tensor_data(t) for k, t in dict_items(module_tensors(a))},
                    "training": bool_(get_attr(a, "training"))}
        raise ValueError(f"a case's {type_name(kind)} can't be carried as plain data")

    def rebuild(d):
        name = d["class"]
        kwargs = {k: data_arg(v) for k, v in dict_items(d["kwargs"])}
        with fork_rng(devices=[]):  # its own starting weights, soon replaced: the notebook's numbers stay put
            module = (dict_get(sealed, "classes") or module_classes)[name](**kwargs)
        with no_grad():
            module_load(module, {k: data_tensor(v) for k, v in dict_items(d["state"])}, strict=True)
        module_train(module, d["training"])
        built[module] = (name, kwargs)
        return module

    def data_arg(d):
        t = d["t"]
        if t in ("bool", "int", "str"):
            return d["v"]
        if t == "float":
            return float_(d["v"])  # "nan", "inf" too
        if t == "none":
            return None
        if t == "dtype":
            return dtypes[d["v"]]
        if t in ("list", "tuple"):
            items = [data_arg(item) for item in d["items"]]
            return items if t == "list" else tuple_(items)
        if t == "kw":
            return {k: data_arg(v) for k, v in dict_items(d["v"])}
        if t == "module":
            return rebuild(d)
        x = data_tensor(d)
        return t_requires_grad(x) if dict_get(d, "grad") else x

    def case_data(args):
        return [arg_data(a) for a in args]

    def data_case(data):
        """A case's arguments, made anew from its plain data: each call gets its own modules and tensors."""
        return tuple_(data_arg(d) for d in data)

    def module_positions(case):
        return [i for i, d in enumerate_(case) if type_(d) is dict_ and dict_get(d, "t") == "module"]

    # --- what a call did to its modules (read from the instances' own dicts: a patched class can't lie) ----

    def walk(module, prefix, found, buffers, depth=0):
        own = get_attr(module, "__dict__")
        for name, p in dict_items(dict_get(own, "_parameters") or {}):
            if p is not None:
                found[prefix + name] = p
        if buffers:
            skip = dict_get(own, "_non_persistent_buffers_set") or ()
            for name, b in dict_items(dict_get(own, "_buffers") or {}):
                if b is not None and name not in skip:
                    found[prefix + name] = b
        for name, sub in dict_items(dict_get(own, "_modules") or {}):
            if sub is not None and depth < 8:
                walk(sub, prefix + name + ".", found, buffers, depth + 1)
        return found

    def module_tensors(module):
        """Its parameters and persistent buffers by state_dict name."""
        return walk(module, "", {}, True)

    def module_params(module):
        return walk(module, "", {}, False)

    def state_data(module):
        """A class answer's weights as plain data, None past MAX_KEYS tensors or MAX_MODEL numbers."""
        tensors = module_tensors(module)
        if len_(tensors) > MAX_KEYS or sum_(numel(t) for t in tensors.values()) > MAX_MODEL:
            return None
        return {k: tensor_data(t) for k, t in dict_items(tensors)}

    def module_report(module, before, initial, what):
        """Plain data of a module after a call: its tensor names and those that changed (`initial`: the case's
        data), the parameters that are new objects (`before`: module_params before the call), those with a .grad."""
        report = {}
        if "state" in what:
            now = module_tensors(module)
            report["keys"] = sorted_(now)
            report["changed"] = {}
            for key, t in dict_items(now):
                data = tensor_data(t)
                if data != dict_get(initial, key):
                    report["changed"][key] = data
        params = module_params(module)
        if "replaced" in what:
            report["replaced"] = sorted_(k for k, p in dict_items(before) if dict_get(params, k) is not p)
        if "grads" in what:
            report["grads"] = sorted_(k for k, p in dict_items(params) if grad_of(p) is not None)
        return report

    def clean_text(text):
        """Printable, one line, at most MAX_TEXT characters: an exception's message crosses only like this."""
        if type_(text) is not str_:
            return ""
        text = text[:MAX_TEXT * 4]
        return "".join(ch if str_isprintable(ch) else " " for ch in text)[:MAX_TEXT]

    def error_data(err, phase=None):
        kind = type_(err)
        nearest = next_((type_name(c) for c in type_mro(kind) if dict_get(builtin_errors, type_name(c)) is c), None)
        try:
            text = str_(err)
        except Exception:
            text = ""
        entry = {"error": short_type_name(kind), "base": nearest, "message": clean_text(text)}
        if phase:
            entry["phase"] = phase
        return entry

    def extra_data(value, depth=0, budget=None):
        """An observe hook's extra data, as JSON: None, bools, ints, floats (NaN and inf as strings), lists, dicts."""
        budget = budget if budget is not None else [MAX_EXTRA]
        budget[0] -= 1
        kind = type_(value)
        if budget[0] < 0 or depth > 4:
            raise ValueError("the observed data is too large")
        if value is None or kind is bool_ or kind is int_:
            return value
        if kind is float_:
            return number_data(value)
        if kind is list_ or kind is tuple_:
            return [extra_data(v, depth + 1, budget) for v in value]
        if kind is dict_:
            return {str_(k)[:30]: extra_data(v, depth + 1, budget) for k, v in dict_items(value)}
        raise ValueError(f"observed data can't be a {short_type_name(kind)}")

    # --- checking what came back (the judge: it may be forged) -----------------------------------------------

    def state_key(name):
        return type_(name) is str_ and 0 < len_(name) <= 80 and all_(ch.isalnum() or ch in "._" for ch in name)

    def valid_state(items):
        if type_(items) is not dict_ or len_(items) > MAX_KEYS:
            return None
        clean = {}
        for key, value in dict_items(items):
            checked = valid_value_data(value)
            if not state_key(key) or checked is None or checked["t"] != "tensor":
                return None
            clean[key] = checked
        return clean

    def valid_names(names):
        if type_(names) is not list_ or len_(names) > MAX_KEYS or not all_(state_key(n) for n in names):
            return None
        return sorted_(set_(names))

    def valid_modules(reports, case, what):
        """[{"state": {name: tensor data}, "replaced": [...], "grads": [...]}] per module argument, or None."""
        positions = module_positions(case)
        if type_(reports) is not list_ or len_(reports) != len_(positions):
            return None
        clean = []
        for report, i in zip_(reports, positions):
            if type_(report) is not dict_:
                return None
            item = {}
            if "state" in what:
                initial, keys = case[i]["state"], valid_names(dict_get(report, "keys"))
                changed = valid_state(dict_get(report, "changed"))
                if keys is None or changed is None or any_(k not in keys for k in changed) or \
                        any_(k not in changed and k not in initial for k in keys):
                    return None
                item["state"] = {k: changed[k] if k in changed else initial[k] for k in keys}
            for field in ("replaced", "grads"):
                if field in what:
                    item[field] = valid_names(dict_get(report, field))
                    if item[field] is None:
                        return None
            clean.append(item)
        return clean

    def valid_extra(data, depth=0, budget=None):
        """An observe hook's extra data if it is plain and small (NaN and inf as strings), else INVALID."""
        budget = budget if budget is not None else [MAX_EXTRA]
        budget[0] -= 1
        kind = type_(data)
        if budget[0] < 0 or depth > 4:
            return INVALID
        if data is None or kind is bool_ or (kind is int_ and -2 ** 53 <= data <= 2 ** 53):
            return data
        if kind is float_:
            return data if data == data and data not in (float_("inf"), float_("-inf")) else INVALID
        if kind is str_:
            return data if data in ("nan", "inf", "-inf") else INVALID
        if kind is list_:
            items = [valid_extra(v, depth + 1, budget) for v in data]
            return INVALID if any_(i is INVALID for i in items) else items
        if kind is dict_ and len_(data) <= 16 and all_(safe_name(k) for k in data):
            items = {k: valid_extra(v, depth + 1, budget) for k, v in dict_items(data)}
            return INVALID if any_(i is INVALID for i in items.values()) else items
        return INVALID

    def valid_error(entry):
        message = clean_text(dict_get(entry, "message"))
        error = dict_get(entry, "error")
        item = {"error": error if error == "not-a-module" else safe_name(error) or "an error",
                "base": safe_name(dict_get(entry, "base")), "message": message}
        if dict_get(entry, "phase") in ("arguments", "build", "load", "forward", "state"):
            item["phase"] = entry["phase"]
        return item

    def valid_calls(data, cases, spec):
        """probe() data received from elsewhere, checked against the cases it answers and what was asked
        (`spec`); an {"error": "unreadable"} entry stands for anything else."""
        count = len_(cases)
        if type_(data) is not dict_ or dict_get(data, "kind") != "calls":
            return {"kind": "calls", "of": "function", "results": [{"error": "unreadable"}] * count}
        if "not_callable" in data:
            return {"kind": "calls", "not_callable": valid(dict_get(data, "not_callable"))}
        results = dict_get(data, "results")
        results = results if type_(results) is list_ else []
        what = [w for w in (dict_get(spec, "report") or ()) if w in REPORTS]
        clean = []
        for entry, case in zip_(results[:count], cases):
            item = {"error": "unreadable"}
            if type_(entry) is dict_ and "out" in entry:
                out = valid_value_data(dict_get(entry, "out"))
                item = {"out": out} if out is not None else item
                if out is not None and dict_get(spec, "kind") == "module":
                    item["state"] = valid_state(dict_get(entry, "state"))
                if out is not None and what:
                    item["modules"] = valid_modules(dict_get(entry, "modules"), case, what)
                    item = item if item["modules"] is not None else {"error": "unreadable"}
                if "out" in item and dict_get(spec, "observe"):
                    item["extra"] = valid_extra(entry["extra"]) if "extra" in entry else INVALID
                    item = item if item["extra"] is not INVALID else {"error": "unreadable"}
            elif type_(entry) is dict_:
                item = valid_error(entry)
            if type_(entry) is dict_ and type_(dict_get(entry, "lstm")) is str_:
                item["lstm"] = safe_name(entry["lstm"]) or "lstm"
            clean.append(item)
        clean += [{"error": "timeout"}] * (count - len_(clean))  # calls it never reported
        of = dict_get(data, "of") if dict_get(data, "of") in ("class", "function") else "function"
        return {"kind": "calls", "of": of, "results": clean}

    def show_calls(data):
        """Short text of a function or class answer for feedback: what it is, never what it returned."""
        if type_(data) is dict_ and "not_callable" in data:
            return api["show"](data["not_callable"])
        return "a class" if type_(data) is dict_ and dict_get(data, "of") == "class" else "a function"

    api.update({"references": references, "module_classes": module_classes, "case_module": case_module,
                "cases": make_cases, "case_data": case_data, "data_case": data_case, "seal": seal,
                "reference_of": reference_of, "as_reference": as_reference, "module_positions": module_positions,
                "module_params": module_params, "module_tensors": module_tensors, "state_data": state_data,
                "module_report": module_report, "error_data": error_data, "extra_data": extra_data,
                "valid_calls": valid_calls, "valid_modules": valid_modules, "valid_extra": valid_extra,
                "show_calls": show_calls, "INVALID": INVALID, "REPORTS": REPORTS})


_install_channel(_course_answers)
del _install_channel
