"""The hidden tests' verdicts on answers judged by running them: functions, module classes, trained models
(pasted after probes.py).

Trusted code: it runs in nbgrader's kernel (the hidden tests) or in the grader's judge, never in the
grader's child. A reference's key (course/keys/) reaches it only as the `key` a hidden test carries:
`expect_function(qid, answer, reference=..., cases=6, key='...')` (and `expect_module`,
`expect_trained`) runs that key in a scope of its own (`keyed`, course/hidden_key.py) to draw the
cases from the seed, drops it, has `probe` run the answer (a function can read its caller's frames),
then runs the key again to compute every reference, each call on arguments made anew from the cases'
plain data, with no torch-function mode of the student's in force (`trusted`). A case passes when the
answer did what the reference did: raised the declared exception, or returned results of the same
structure (shapes and dtypes first) and values (`compare`, by default 1e-5), and left its module
arguments as the reference leaves its own (`report`); then the reference judges what its `observe`
hook saw (`extra_check`), and may add a note to a correct answer (`extra_note`). When a case fails, a
named mistake is looked for among the reference's variants, each computed on the same case. The
visible checks (course/self_checks.py) carry no key: they use this file's messages on cases and
hashes course/build.py wrote into them.
"""


def _install_verdicts(api):
    import contextlib
    import gc
    import os
    import warnings

    import torch

    type_, tuple_, int_, str_, bool_, dict_, float_ = type, tuple, int, str, bool, dict, float
    len_, all_, any_, zip_, enumerate_, sorted_, set_ = len, all, any, zip, enumerate, sorted, set
    callable_, getattr_ = callable, getattr
    dict_items = dict.items
    tensor_type = torch.Tensor
    shape_of = torch._C.TensorBase.__dict__["shape"].__get__
    no_grad, enable_grad, generator, fork_rng = torch.no_grad, torch.enable_grad, torch.Generator, torch.random.fork_rng
    isfinite, allclose, log10, clamp_min = torch.isfinite, torch.allclose, torch.log10, torch.clamp_min
    no_torch_function, mkldnn_flags = torch._C.DisableTorchFunction, torch.backends.mkldnn.flags
    catch_warnings, simplefilter, urandom = warnings.catch_warnings, warnings.simplefilter, os.urandom
    fail, given, describe, shape_text, data_tensor = (api[k] for k in ("fail", "given", "describe", "shape_text",
                                                                       "data_tensor"))
    reference_of, as_reference, make_cases, case_data, data_case, probe, spec_of, counts = (
        api[k] for k in ("reference_of", "as_reference", "cases", "case_data", "data_case", "probe", "spec_of",
                         "counts"))
    value_data = api["value_data"]
    contextmanager, collect = contextlib.contextmanager, gc.collect
    module_positions, module_params, module_report, valid_modules, valid_calls, Received = (
        api[k] for k in ("module_positions", "module_params", "module_report", "valid_modules", "valid_calls",
                         "received"))

    state = {"seed": None}  # the grader sets the seed of the next cases (set_seed); else each check draws one

    def trusted(compute, *args, grad=False):
        """A reference's result, computed where no torch-function mode of the student's can change it."""
        with no_torch_function(), (enable_grad() if grad else no_grad()), catch_warnings():
            simplefilter("ignore")
            with mkldnn_flags(enabled=False):  # PyTorch's own kernel: oneDNN compiles one per new shape
                return compute(*args)

    def log10_close(tolerance=1e-3, floor=1e-30):
        """A `compare` for positive curves (gradient norms): equal in log10 to `tolerance`, so zeros can't pass."""
        def compare(got, want):
            return bool_(allclose(log10(clamp_min(got.abs(), floor)), log10(clamp_min(want.abs(), floor)),
                                  atol=tolerance, rtol=0))
        compare.visible = ("log10", tolerance, floor)  # how a visible check hashes what it compares (self_checks)
        return compare

    def close(a, b, compare=None):
        if type_(a) is tuple_ and type_(b) is tuple_:
            return len_(a) == len_(b) and all_(close(x, y, compare) for x, y in zip_(a, b))
        if type_(a) is tensor_type and type_(b) is tensor_type:
            if shape_of(a) != shape_of(b) or a.dtype != b.dtype or not bool_(isfinite(a.double()).all()):
                return False
            return compare(a.double(), b.double()) if compare else \
                bool_(allclose(a.double(), b.double(), atol=1e-5, rtol=1e-5))
        return a is None and b is None

    def outputs_of(out):
        """The tensors (or nested tuples of them) an output's plain data stands for."""
        if out["t"] == "tensor":
            return data_tensor(out)
        if out["t"] in ("tuple", "list"):
            return tuple_(outputs_of(item) for item in out["items"])
        return None if out["t"] == "none" else out

    def layout(value):
        """The plain structure of trusted results (tensors, tuples of them, None): dtypes and shapes, no values."""
        if type_(value) is tensor_type:
            return {"t": "tensor", "dtype": str_(value.dtype)[6:], "shape": [int_(n) for n in shape_of(value)]}
        if type_(value) is tuple_:
            return {"t": "tuple", "items": [layout(v) for v in value]}
        return {"t": "none"} if value is None else {"t": "other"}

    def describe_output(d):
        t = d["t"]
        if t == "tensor":
            return f"a tensor of shape {shape_text(d['shape'])}"
        if t in ("tuple", "list"):
            n = len_(d["items"])
            return f"a {t} of {n} item{'s' if n != 1 else ''}"
        return {"none": "None", "long": "a long sequence", "big": "a very large tensor"}.get(t) or \
            f"an object of type {d.get('type') or 'object'}"

    def structure(got, want, names, values_right=None):
        """Why `got` (plain data) can't be what `want` (layout()) describes, or None; `names`: what the outputs are
        called; values_right(): True when got's values, in want's dtypes, are the right ones."""
        def where(path):
            if not path:
                return names[0] if names and len_(names) == 1 else "the result"
            return names[path[0]] if names and path[0] < len_(names) else "the result"

        def walk(g, w, path):
            if w["t"] == "none":
                return None if g["t"] == "none" else f"{where(path)} is {describe_output(g)}; it should be None."
            if w["t"] == "tuple":
                n = len_(w["items"])
                if g["t"] not in ("tuple", "list") or len_(g["items"]) != n:
                    shown = "a tuple" if n > 1 else "one"
                    return (f"It returned {describe_output(g)}; it should return {shown} of {n}: "
                            f"{', '.join(names) if names else ''}.")
                for i, (gi, wi) in enumerate_(zip_(g["items"], w["items"])):
                    why = walk(gi, wi, path + [i])
                    if why:
                        return why
                return None
            if g["t"] != "tensor":
                return f"{where(path)} is {describe_output(g)}, not a tensor."
            if g["dtype"] != w["dtype"]:
                retyped = same_shapes(got, want) and values_right is not None and values_right()
                return ((f"its values are right, but {where(path)} is {g['dtype']}: " if retyped else
                         f"{where(path)} is {g['dtype']}; ") +
                        f"keep the dtype of the inputs, {w['dtype']}, as PyTorch does (a tensor you create "
                        f"inside, or NumPy, can turn the result into {g['dtype']}).")
            if g["shape"] != w["shape"]:
                return (f"{where(path)} has shape {shape_text(g['shape'])}; with these inputs it should have "
                        f"{shape_text(w['shape'])}.")
            if any_(v in ("nan", "inf", "-inf") for v in g["data"]):
                return f"{where(path)} holds NaN or infinite values."
            return None
        why = walk(got, want, [])
        # Capitalise "it" and "the result", never a name: h_next stays h_next.
        return why[0].upper() + why[1:] if why and why.startswith(("it", "the ")) else why

    def same_shapes(got, want):
        if want["t"] == "tuple":
            return got["t"] in ("tuple", "list") and len_(got["items"]) == len_(want["items"]) and all_(
                same_shapes(g, w) for g, w in zip_(got["items"], want["items"]))
        return got["t"] == want["t"] and (want["t"] != "tensor" or got["shape"] == want["shape"])

    def retyped(got, want):
        """got (plain data) in want's dtypes, where its values survive the change."""
        if want["t"] == "tuple":
            return dict_(got, items=[retyped(g, w) for g, w in zip_(got["items"], want["items"])])
        if want["t"] != "tensor" or got["t"] != "tensor" or got["dtype"] == want["dtype"]:
            return got
        return value_data(data_tensor(got).to(getattr_(torch, want["dtype"])))

    # --- what the reference (or a named mistake) does with one case, on its own fresh arguments -------------

    def outcome(ref, spec, compute, case):
        """{"out", "raised", "modules"} of `compute` on the case; raises when it raises an undeclared exception."""
        args = data_case(case)
        positions = module_positions(case)
        before = {i: module_params(args[i]) for i in positions}
        try:
            out = trusted(compute, *args, grad=spec["grad"])
        except Exception as err:
            if compute is ref["reference"] and type_(err).__name__ in (ref.get("raises") or {}):
                return {"out": None, "raised": type_(err).__name__, "modules": None}
            raise
        modules = None
        if spec["report"]:
            reports = [module_report(args[i], before[i], case[i]["state"], spec["report"]) for i in positions]
            modules = valid_modules(reports, case, spec["report"])
        return {"out": out, "raised": None, "modules": modules}

    def modules_why(ref, spec, got, want, case, judged=False):
        """Why the module arguments are not as the reference leaves them (`want`), or None. `judged`: the
        answer's, whose tensors the reference's `report_check` judges when it has one."""
        texts = ref.get("messages") or {}
        checked = judged and ref.get("report_check") and "state" in spec["report"]
        if checked:
            reports = [dict_(g, state={k: data_tensor(v) for k, v in dict_items(g["state"])}) for g in got]
            why = trusted(ref["report_check"], reports, *data_case(case), grad=spec["grad"])
            if why:
                return why
        for g, w, i in zip_(got, want, module_positions(case)):
            known = case[i]["state"]
            listed = lambda names: ", ".join(sorted_(n for n in names if n in known)[:3]) or "some parameters"
            if "state" in w and not checked:
                if set_(g["state"]) != set_(w["state"]) or not all_(
                        close(data_tensor(g["state"][k]), data_tensor(w["state"][k])) for k in w["state"]):
                    return texts.get("state") or ref["not_yet"]
            if "replaced" in w and g["replaced"] != w["replaced"]:
                return texts.get("replaced") or (
                    f"It replaced {listed(set_(g['replaced']) - set_(w['replaced']))} with new tensors instead of "
                    "changing the module's own parameters in place: write into them under torch.no_grad().")
            if "grads" in w and g["grads"] != w["grads"]:
                extra = set_(g["grads"]) - set_(w["grads"])
                return texts.get("grads") or (
                    f"After the call {listed(extra)} have a .grad: this function must leave the module's "
                    "gradients as it found them." if extra else
                    f"After the call {listed(set_(w['grads']) - set_(g['grads']))} should have a .grad.")
        return None

    def same(ref, spec, entry, result):
        if result["raised"] or "out" not in entry:
            return False
        if result["out"] is not None and not close(outputs_of(entry["out"]), result["out"], ref.get("compare")):
            return False
        return not spec["report"] or modules_why(ref, spec, entry["modules"], result["modules"], entry["case"]) is None

    def name_mistake(ref, spec, entry):
        for hint, mistake in ref["mistakes"]:
            try:
                if same(ref, spec, entry, outcome(ref, spec, mistake, entry["case"])):
                    return hint
            except Exception:
                continue
        return None

    def hint_for(ref, entry):
        """The reference's hint for the exception it raised (by its type, then its built-in type; by message)."""
        for name in (entry["error"], entry.get("base")):
            hint = (ref.get("errors") or {}).get(name)
            if callable_(hint):  # a function of the call's arguments; None: no hint for this call
                hint = hint(*data_case(entry["case"])) if "case" in entry else None
            if type_(hint) is str_:
                return hint
            for fragment, text in hint or ():
                if fragment in entry.get("message", ""):
                    return text
        return None

    def error_verdict(ref, entry):
        error = entry["error"]
        if error == "NotImplementedError":  # the placeholder of the release, still there
            return ("No answer yet. Replace the placeholder, raise NotImplementedError(), with your code, then run "
                    "its cell and this one again.")
        if error in ("timeout", "CallTimeout"):
            return "It did not return in time: is there a loop that never ends?"
        if error == "unreadable":
            return "The grader could not read what it did: its results are not plain tensors, or too large."
        message = entry.get("message") or ""
        if ref.get("matmul") and ("cannot be multiplied" in message or "size mismatch" in message):
            return ref["matmul"]
        hint = hint_for(ref, entry)
        if hint:
            return hint
        if error == "not-a-module":
            return "Calling the class did not give an nn.Module: keep `class ...(nn.Module)` and its __init__."
        if error == "WeightsMismatch":  # a visible check's weights don't fit the class (probes.mismatch)
            for name, hint in (ref.get("mismatch") or {}).items():  # a named mistake, by the tensor that differs
                if f"its {name} " in message:
                    return hint
            return f"The check's weights don't fit your class: {message}"
        phase = {"build": "Building it", "load": "Loading the check's weights into it", "forward": "Calling it on an input", "state": "Reading its weights",
                 "arguments": "Making its arguments"}
        return (f"{phase.get(entry.get('phase'), 'Calling it')} raised {error}. "
                f"Run it on the example above and read the error.")

    def function_case(ref, spec, entry):
        """(why this case fails or None, a note for a correct answer or None)."""
        want = outcome(ref, spec, ref["reference"], entry["case"])
        if want["raised"]:
            if "error" in entry and want["raised"] in (entry["error"], entry.get("base")):
                return None, None
            if "error" in entry and (entry["error"] in ("NotImplementedError", "timeout", "CallTimeout", "unreadable")
                                     or hint_for(ref, entry)):
                return error_verdict(ref, entry), None
            return ref["raises"][want["raised"]], None
        if "error" in entry:
            return error_verdict(ref, entry), None
        if want["out"] is not None:
            values_right = lambda: close(outputs_of(retyped(entry["out"], layout(want["out"]))), want["out"],  # noqa: E731
                                         ref.get("compare"))
            why = structure(entry["out"], layout(want["out"]), ref["outputs"], values_right)
            if why:  # a classic mistake can give a wrong shape too (batch_first forgotten): name it if it is one
                return name_mistake(ref, spec, entry) or why, None
            if not close(outputs_of(entry["out"]), want["out"], ref.get("compare")):
                return name_mistake(ref, spec, entry) or ref["not_yet"], None
        if spec["report"]:
            why = modules_why(ref, spec, entry["modules"], want["modules"], entry["case"], judged=True)
            if why:
                return name_mistake(ref, spec, entry) or why, None
        return observed(ref, spec, entry, data_case(entry["case"]))

    def observed(ref, spec, entry, args):
        if not spec["observe"]:
            return None, None
        why = trusted(ref["extra_check"], entry["extra"], *args, grad=spec["grad"]) if ref.get("extra_check") else None
        if why:
            return why, None
        return None, trusted(ref["extra_note"], entry["extra"], *args, grad=spec["grad"]) if ref.get("extra_note") \
            else None

    def module_case(ref, spec, entry):
        if "error" in entry:
            return error_verdict(ref, entry), None
        weights = entry.get("state")
        if weights is None:
            return "Its weights could not be read: keep the layers the skeleton names, and nothing else.", None
        weights = {key: data_tensor(value) for key, value in dict_items(weights)}
        args = data_case(entry["case"])
        why = trusted(ref["state_check"], args[0], weights)
        if why:
            return why, None
        args = (*args, weights)
        want = trusted(ref["reference"], *args, grad=spec["grad"])
        why = structure(entry["out"], layout(want), ref["outputs"],
                        lambda: close(outputs_of(retyped(entry["out"], layout(want))), want, ref.get("compare")))
        got = outputs_of(entry["out"])
        if why or not close(got, want, ref.get("compare")):
            for hint, mistake in ref["mistakes"]:
                try:
                    if close(got, trusted(mistake, *args, grad=spec["grad"]), ref.get("compare")):
                        return hint, None
                except Exception:
                    continue
            return why or ref["not_yet"], None
        return observed(ref, spec, entry, args)

    def seed_now():
        seed = state["seed"]
        return int_.from_bytes(urandom(6), "big") if seed is None else seed

    @contextmanager
    def keyed(reference, key=None):
        """A reference's whole fields, for the block only: its public part and the key a hidden test carries, run
        in a scope of its own (course/hidden_key.py) that is cleared when the block ends. key=None: the
        references already hold their key (trusted code installed it: course/keys/__init__.py)."""
        name = reference if type_(reference) is str_ else reference["name"]
        if key is None:
            ref = as_reference(reference)
            if "case" not in ref and "logits" not in ref:
                raise KeyError(f"{name}: this test carries no key (run python -m course.build)")
            yield dict_(ref, name=name)
            return
        with api["key_scope"](key, "<lesson key>") as scope:
            yield dict_(reference_of(name), **scope["KEY"][name], name=name)

    def calls_verdict(qid, answer, reference, count=None, key=None):
        """(None if `answer` does what the reference does on `count` cases, else why not; a note or None)."""
        with keyed(reference, key) as ref:
            spec, signature = spec_of(ref), ref["signature"]
            cases = [case_data(case) for case in make_cases(ref, seed_now(), counts(ref, count)[1])]
        ref = None  # noqa: F841 - nothing of the key is alive while the answer runs: it can walk its callers' frames
        if key is not None:
            collect()
        calls = probe(answer, cases, spec=spec)  # the answer runs before any reference is computed
        if type_(answer) is not Received:  # in this kernel: the same plain data, checked as the grader checks it
            calls = valid_calls(calls, cases, spec)
        if "not_callable" in calls:
            what = "a class" if spec["kind"] == "module" else "a function"
            return f"This question wants {what}, {signature}. Your answer is {given(calls['not_callable'])}.", None
        note = None
        with keyed(reference, key) as ref:
            for case, entry in zip_(cases, calls["results"]):
                entry = dict_(entry, case=case)
                if "lstm" in entry and ref.get("delegated"):
                    return ref["delegated"], None
                why, said = (module_case if spec["kind"] == "module" else function_case)(ref, spec, entry)
                if why:
                    return why, None
                note = note or said
        return None, note

    def forgetting(verdict, *args):
        """The verdict of a hidden test that carries a key; under nbgrader nothing of the key stays in the kernel."""
        try:
            return verdict(*args)
        finally:
            if args[-1] is not None and "forget_key" in api:
                api["forget_key"]()

    def expect_calls(qid, answer, reference, cases=None, key=None):
        """Hidden test of a function or class answer: `cases` cases (the reference's own count for None)."""
        message, _ = forgetting(calls_verdict, qid, answer, reference, cases, key)
        if message is not None:
            fail(message)

    # --- a trained model: its own weights, on data it has never seen ---------------------------------

    def trained_verdict(qid, answer, reference, accuracy, key=None):
        data = describe(answer)
        if data["kind"] != "model":
            fix = " Give the trained instance, not the class." if data.get("code") == "class" else ""
            return f"This question wants a trained model: an instance of your class. Your answer is {given(data)}.{fix}"
        if data["state"] is None:
            return "The model is too large to check: keep to the sizes the exercise gives."
        weights = {name: data_tensor(value) for name, value in dict_items(data["state"])}
        with keyed(reference, key) as ref:
            with fork_rng(devices=[]):
                x, labels = trusted(ref["test_set"], generator().manual_seed(seed_now() % (2 ** 63)))
            logits = trusted(ref["logits"], weights, x)
            if type_(logits) is str_:
                return logits
            right = trusted(lambda: float_((logits.argmax(1) == labels).double().mean()))
            if right >= accuracy:
                return None
            return ref["not_yet"].format(accuracy=f"{right:.0%}", wanted=f"{accuracy:.0%}", n=len_(labels))

    def expect_trained(qid, answer, reference, accuracy, key=None):
        message = forgetting(trained_verdict, qid, answer, reference, accuracy, key)
        if message is not None:
            fail(message)

    def set_seed(seed):
        state["seed"] = seed

    api.get("key_frames", set_()).update(("keyed", "calls_verdict", "trained_verdict", "function_case", "module_case"))
    api.update({"expect_function": expect_calls, "expect_module": expect_calls, "expect_trained": expect_trained,
                "set_seed": set_seed, "trusted": trusted, "log10_close": log10_close, "calls_verdict": calls_verdict,
                "keyed": keyed, "outcome": outcome, "layout": layout, "structure": structure, "retyped": retyped,
                "error_verdict": error_verdict, "hint_for": hint_for, "observed": observed,
                "modules_why": modules_why, "close": close, "outputs_of": outputs_of})


_install_verdicts(_course_answers)
del _install_verdicts
expect_function, expect_module, expect_trained = (_course_answers[k] for k in ("expect_function", "expect_module",
                                                                                "expect_trained"))
