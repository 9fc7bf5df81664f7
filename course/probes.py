"""Answers judged by running them: functions, module classes and trained models (pasted after checks.py).

A function answer (`lstm_step`, `last_valid`) and a module class (`SequenceClassifier`) are
judged by what they do on inputs drawn at checking time from a seed; a trained model by the
accuracy of its own weights on fresh data. What each must compute is a *reference* of
course/references/ (one file per lesson), registered in `references` under its name:

- `case(gen, i)`: the arguments of call i, drawn from a torch.Generator, so that a seed gives
  the same cases everywhere (tensors, ints, bools, lists of ints; a module's case is
  `(settings, x)`: the constructor's keywords and a forward input);
- `reference(*case)`: the right result, computed by PyTorch itself; for a module,
  `reference(settings, x, state)` computes it from the module's own weights (`state`), and
  `state_check(settings, state)` says what is wrong with weights that can't be right;
- `mistakes`: (hint, variant) pairs, each variant computing one classic mistake, so a check
  can name the mistake without showing code;
- texts: `signature`, `outputs` (what the results are called), `not_yet`, and optionally
  `delegated` (the answer may not call PyTorch's own LSTM) and `matmul` (it multiplied by
  untransposed weights).

`probe(answer, inputs, kind)` runs the answer on the inputs and reduces what happened to plain
data: in a notebook and under nbgrader in the same kernel, in the project's grader in the
sandboxed child. The verdicts then compute every reference themselves, after the answer has
run (a function can read its caller's locals through sys._getframe(1)), so the answer never
sees an expected result.
"""


def _install_probes(api):
    import contextlib
    import os
    import warnings

    import torch
    from torch.overrides import TorchFunctionMode

    type_, tuple_, list_, int_, str_, bool_, dict_, float_ = type, tuple, list, int, str, bool, dict, float
    len_, print_, all_, any_, range_, zip_, enumerate_, max_ = len, print, all, any, range, zip, enumerate, max
    callable_, getattr_ = callable, getattr
    get_attr = object.__getattribute__
    dict_get, dict_items = dict.get, dict.items
    module_type, tensor_type, parameter_type = torch.nn.Module, torch.Tensor, torch.nn.Parameter
    module_eval = torch.nn.Module.eval
    base = torch._C.TensorBase.__dict__
    shape_of, t_clone = base["shape"].__get__, base["clone"]
    no_grad, generator, fork_rng, manual_seed = torch.no_grad, torch.Generator, torch.random.fork_rng, torch.manual_seed
    isfinite, allclose = torch.isfinite, torch.allclose
    no_torch_function = torch._C.DisableTorchFunction
    catch_warnings, simplefilter = warnings.catch_warnings, warnings.simplefilter
    urandom, nullcontext = os.urandom, contextlib.nullcontext
    Received, fail, given, describe, valid = (api[k] for k in ("received", "fail", "given", "describe", "valid"))
    safe_name, short_type_name, shape_text = api["safe_name"], api["short_type_name"], api["shape_text"]
    tensor_data, value_data, data_tensor, valid_value_data = (
        api[k] for k in ("tensor_data", "value_data", "data_tensor", "valid_value_data"))

    references = {}  # name -> a reference of course/references/: cases, the right result, the classic mistakes
    state = {"seed": None}  # the grader sets the seed of the next cases (set_seed); else each check draws one
    VISIBLE_CASES = 2
    MAX_KEYS = 64

    class LstmSpy(TorchFunctionMode):
        """Notes every call of PyTorch's own LSTM (nn.LSTM, nn.LSTMCell, torch.lstm_cell, aten's ...)."""

        def __init__(self):
            super().__init__()
            self.seen = None

        def __torch_function__(self, func, types, args=(), kwargs=None):
            name = getattr_(func, "__name__", "") or ""
            if "lstm" in str_(name).lower() and self.seen is None:
                self.seen = str_(name)[:40]
            return func(*args, **(kwargs or {}))

    # --- the cases: drawn from a seed, carried as plain data -----------------------------------------

    def make_cases(reference, seed, count):
        """The arguments of `count` calls, the same for the same seed everywhere."""
        make = references[reference]["case"]
        with fork_rng(devices=[]), no_grad():
            return [make(generator().manual_seed((seed * 1009 + i) % (2 ** 63)), i) for i in range_(count)]

    def arg_data(a):
        kind = type_(a)
        if kind is bool_:
            return {"t": "bool", "v": a}
        if kind is int_:
            return {"t": "int", "v": a}
        if kind is list_ and all_(type_(v) is int_ for v in a):
            return {"t": "ints", "v": list_(a)}
        if kind is dict_:
            return {"t": "kw", "v": {k: arg_data(v) for k, v in dict_items(a)}}
        return tensor_data(a)

    def data_arg(d):
        t = d["t"]
        if t in ("bool", "int"):
            return d["v"]
        if t == "ints":
            return list_(d["v"])
        if t == "kw":
            return {k: data_arg(v) for k, v in dict_items(d["v"])}
        return data_tensor(d)

    def case_data(args):
        return [arg_data(a) for a in args]

    def data_case(data):
        return tuple_(data_arg(d) for d in data)

    # --- running an answer (in the student's process) ------------------------------------------------

    def error_entry(err, phase=None):
        entry = {"error": short_type_name(type_(err))}
        try:
            text = str_(err)
        except Exception:
            text = ""
        entry["matmul"] = "cannot be multiplied" in text or "size mismatch" in text
        if phase:
            entry["phase"] = phase
        return entry

    def state_of(model):
        data = describe(model)
        return data.get("state") if data.get("kind") == "model" else None

    def call_function(answer, args, guard):
        copies = tuple_(t_clone(a) if type_(a) in (tensor_type, parameter_type) else
                        list_(a) if type_(a) is list_ else a for a in args)  # it may change its inputs in place
        spy, entry = LstmSpy(), {}
        try:
            with (guard() if guard else nullcontext()), spy, catch_warnings():
                simplefilter("ignore")
                out = answer(*copies)
            entry["out"] = value_data(out)
        except Exception as err:  # the student's function raised: which error, and the classic one?
            entry = error_entry(err)
        if spy.seen is not None:
            entry["lstm"] = spy.seen
        return entry

    def call_module(answer, args, guard):
        settings, x = args
        phase = "build"
        try:
            with (guard() if guard else nullcontext()), catch_warnings(), fork_rng(devices=[]):
                simplefilter("ignore")
                manual_seed(0)  # the same starting weights on every run: checking must not move the notebook's seed
                model = answer(**settings)
                if module_type not in type_(model).__mro__:
                    return {"error": "not-a-module", "phase": phase}
                phase = "forward"
                module_eval(model)
                with no_grad():
                    out = model(t_clone(x))
                entry = {"out": value_data(out)}
                phase = "state"
                entry["state"] = state_of(model)
            return entry
        except Exception as err:
            return error_entry(err, phase)

    def probe(answer, inputs, guard=None, kind="function"):
        """Run the answer on each case; return plain data of what happened."""
        if type_(answer) is Received:
            return valid_calls(get_attr(answer, "data"), len_(inputs))
        if kind == "module":
            if type_(answer) is not type_ or module_type not in answer.__mro__:
                return {"kind": "calls", "not_callable": describe(answer)}
            return {"kind": "calls", "of": "class", "results": [call_module(answer, args, guard) for args in inputs]}
        if not callable_(answer) or type_(answer) is type_:
            return {"kind": "calls", "not_callable": describe(answer)}
        return {"kind": "calls", "of": "function", "results": [call_function(answer, args, guard) for args in inputs]}

    def valid_state(items):
        if type_(items) is not dict_ or len_(items) > MAX_KEYS:
            return None
        clean = {}
        for key, value in dict_items(items):
            checked = valid_value_data(value)
            if type_(key) is not str_ or len_(key) > 80 or checked is None or checked["t"] != "tensor":
                return None
            clean[key] = checked
        return clean

    def valid_calls(data, count):
        """probe() data received from elsewhere, checked; 'unreadable' entries stand for anything else."""
        if type_(data) is not dict_ or dict_get(data, "kind") != "calls":
            return {"kind": "calls", "of": "function", "results": [{"error": "unreadable"}] * count}
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
                    if "state" in entry and out is not None:
                        item["state"] = valid_state(dict_get(entry, "state"))
                else:
                    item = {"error": dict_get(entry, "error") if dict_get(entry, "error") == "not-a-module"
                            else safe_name(dict_get(entry, "error")) or "an error",
                            "matmul": dict_get(entry, "matmul") is True}
                    if dict_get(entry, "phase") in ("build", "forward", "state"):
                        item["phase"] = entry["phase"]
                if type_(dict_get(entry, "lstm")) is str_:
                    item["lstm"] = safe_name(entry["lstm"]) or "lstm"
            clean.append(item or {"error": "unreadable"})
        clean += [{"error": "timeout"}] * (count - len_(clean))  # calls it never reported
        of = dict_get(data, "of") if dict_get(data, "of") in ("class", "function") else "function"
        return {"kind": "calls", "of": of, "results": clean}

    # --- comparing (trusted: after the answer ran) -----------------------------------------------------

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
            return shape_of(a) == shape_of(b) and a.dtype == b.dtype and bool_(isfinite(a.double()).all()) and \
                bool_(allclose(a.double(), b.double(), atol=1e-5, rtol=1e-5))
        return False

    def dtype_name(t):
        return str_(t.dtype)[6:]

    def structure(got, want, names):
        """Why `got` (plain data) can't be `want` (trusted tensors), or None; `names`: what the outputs are called."""
        def where(path):
            if not path:
                return names[0] if names and len_(names) == 1 else "the result"
            return names[path[0]] if names and path[0] < len_(names) else "the result"

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
            if g["dtype"] != dtype_name(w):
                same_values = tuple_(g["shape"]) == tuple_(shape_of(w)) and close(data_tensor(g).to(w.dtype), w)
                return ((f"its values are right, but {where(path)} is {g['dtype']}: " if same_values else
                         f"{where(path)} is {g['dtype']}; ") +
                        f"keep the dtype of the inputs, {dtype_name(w)}, as PyTorch does (a tensor you create "
                        f"inside, or NumPy, can turn the result into {g['dtype']}).")
            shape = tuple_(g["shape"])
            if shape != tuple_(shape_of(w)):
                return (f"{where(path)} has shape {shape_text(list_(shape))}; with these inputs it should have "
                        f"{shape_text(list_(shape_of(w)))}.")
            if any_(v in ("nan", "inf", "-inf") for v in g["data"]):
                return f"{where(path)} holds NaN or infinite values."
            return None
        why = walk(got, want, [])
        # Capitalise "it" and "the result", never a name: h_next stays h_next.
        return why[0].upper() + why[1:] if why and why.startswith(("it", "the ")) else why

    def describe_output(d):
        t = d["t"]
        if t == "tensor":
            return f"a tensor of shape {shape_text(d['shape'])}"
        if t in ("tuple", "list"):
            n = len_(d["items"])
            return f"a {t} of {n} item{'s' if n != 1 else ''}"
        return {"none": "None", "long": "a long sequence", "big": "a very large tensor"}.get(t) or \
            f"an object of type {d.get('type') or 'object'}"

    def trusted(compute, *args):
        """A reference's result, computed where no torch-function mode of the student's can change it."""
        with no_torch_function(), no_grad(), catch_warnings():
            simplefilter("ignore")
            return compute(*args)

    def name_mistake(ref, got, args):
        for hint, mistake in ref["mistakes"]:
            try:
                if close(got, trusted(mistake, *args)):
                    return hint
            except Exception:
                continue
        return None

    def error_verdict(ref, entry, args=()):
        error = entry["error"]
        if error == "NotImplementedError":  # the placeholder of the release, still there
            return ("No answer yet. Replace the placeholder, raise NotImplementedError(), with your code, then run "
                    "its cell and this one again.")
        if error in ("timeout", "CallTimeout"):
            return "It did not return in time: is there a loop that never ends?"
        if entry.get("matmul") and ref.get("matmul"):
            return ref["matmul"]
        named = ref.get("errors", {}).get(error)  # a text, or a function of the call's arguments (None: no name)
        named = named(*args) if callable_(named) else named
        if named:
            return named
        if error == "not-a-module":
            return "Calling the class did not give an nn.Module: keep `class ...(nn.Module)` and its __init__."
        phase = {"build": "Building it", "forward": "Calling it on an input", "state": "Reading its weights"}
        return (f"{phase.get(entry.get('phase'), 'Calling it')} raised {error}. "
                f"Run it on the example above and read the error.")

    def seed_now():
        seed = state["seed"]
        return int_.from_bytes(urandom(6), "big") if seed is None else seed

    def calls_verdict(qid, answer, reference, count):
        """None if `answer` computes what the reference does on `count` cases; else why not."""
        ref = references[reference]
        module = ref.get("kind") == "module"
        inputs = make_cases(reference, seed_now(), count)
        calls = probe(answer, inputs, kind=ref.get("kind", "function"))  # the answer runs before any reference
        if "not_callable" in calls:
            what = "a class" if module else "a function"
            return f"This question wants {what}, {ref['signature']}. Your answer is {given(calls['not_callable'])}."
        for args, entry in zip_(inputs, calls["results"]):
            if "lstm" in entry and ref.get("delegated"):
                return ref["delegated"]
            if "error" in entry:
                return error_verdict(ref, entry, args)
            if module:
                weights = entry.get("state")
                if weights is None:
                    return "Its weights could not be read: keep the layers the skeleton names, and nothing else."
                weights = {key: data_tensor(value) for key, value in dict_items(weights)}
                why = trusted(ref["state_check"], args[0], weights)
                if why:
                    return why
                args = (*args, weights)
            want = trusted(ref["reference"], *args)
            why = structure(entry["out"], want, ref["outputs"])
            got = outputs_of(entry)
            if why:  # a classic mistake can give a wrong shape too (batch_first forgotten): name it if it is one
                return name_mistake(ref, got, args) or why
            if close(got, want):
                continue
            return name_mistake(ref, got, args) or ref["not_yet"]
        return None

    def check_calls(answer, qid, reference):
        """Visible test of a function or class answer: a few cases, the same verdict as the hidden test."""
        message = calls_verdict(qid, answer, reference, VISIBLE_CASES)
        if message is not None:
            fail(api["stuck"](qid, message))
        print_(f"Correct! ({qid})")

    def expect_calls(qid, answer, reference, cases=6):
        message = calls_verdict(qid, answer, reference, max_(cases, VISIBLE_CASES))
        if message is not None:
            fail(message)

    # --- a trained model: its own weights, on data it has never seen ---------------------------------

    def trained_verdict(qid, answer, reference, accuracy):
        ref = references[reference]
        data = describe(answer)
        if data["kind"] != "model":
            fix = " Give the trained instance, not the class." if data.get("code") == "class" else ""
            return f"This question wants a trained model: an instance of your class. Your answer is {given(data)}.{fix}"
        if data["state"] is None:
            return "The model is too large to check: keep to the sizes the exercise gives."
        with fork_rng(devices=[]):
            x, labels = trusted(ref["test_set"], generator().manual_seed(seed_now() % (2 ** 63)))
        weights = {key: data_tensor(value) for key, value in dict_items(data["state"])}
        logits = trusted(ref["logits"], weights, x)
        if type_(logits) is str_:
            return logits
        right = trusted(lambda: float_((logits.argmax(1) == labels).double().mean()))
        if right >= accuracy:
            return None
        return ref["not_yet"].format(accuracy=f"{right:.0%}", wanted=f"{accuracy:.0%}", n=len_(labels))

    def check_trained(answer, qid, reference, accuracy):
        message = trained_verdict(qid, answer, reference, accuracy)
        if message is not None:
            fail(api["stuck"](qid, message))
        print_(f"Correct! ({qid})")

    def expect_trained(qid, answer, reference, accuracy):
        message = trained_verdict(qid, answer, reference, accuracy)
        if message is not None:
            fail(message)

    def set_seed(seed):
        state["seed"] = seed

    def show_calls(data):
        data = valid_calls(data, 1 << 10)
        if "not_callable" in data:
            return api["show"](data["not_callable"])
        return f"a {data['of']}"

    api.update({"check_function": check_calls, "expect_function": expect_calls, "check_module": check_calls,
                "expect_module": expect_calls, "check_trained": check_trained, "expect_trained": expect_trained,
                "probe": probe, "cases": make_cases, "case_data": case_data, "data_case": data_case,
                "set_seed": set_seed, "show_calls": show_calls, "references": references,
                "trusted": trusted, "VISIBLE_CASES": VISIBLE_CASES})


_install_probes(_course_answers)
del _install_probes
check_function, expect_function = _course_answers["check_function"], _course_answers["expect_function"]
check_module, expect_module = _course_answers["check_module"], _course_answers["expect_module"]
check_trained, expect_trained = _course_answers["check_trained"], _course_answers["expect_trained"]
