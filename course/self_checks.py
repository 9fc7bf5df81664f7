"""The visible self-checks of function, class and trained-model answers (pasted after course/verdicts.py).

They carry no key. For each such exercise course/build.py draws a few small cases at build time, runs the
reference and each named mistake on them (course/visible_cases.py), and writes into the visible check the
cases as plain data and, per case, the salted hash of what the reference did (`outcome_key`) and each
named mistake's hint sealed under the hash of what that mistake does, as value checks seal theirs
(checks.py's `seal_hint`). `check_function(answer, qid, reference, data)` (and `check_module`) runs the
answer on those cases (`probe`; a class is built with the case's settings and loads the case's weights),
hashes what it did the same way and compares.

What is hashed (`outcome`): each result tensor's dtype, shape and values, exact dtypes exactly, floats
rounded to a grid (`rule`: 2 decimals, or 1 decimal of log10 for a reference whose `compare` is
`log10_close`); for a mutating exercise also each module argument's tensors after the call (through the
reference's public `visible_state`, when more than one state is right), and the parameters it replaced or
gave a .grad. course/build.py draws the cases again until every value the reference gives lies farther
from a rounding edge than the hidden test's tolerance, so any answer the hidden test accepts hashes the
same. Messages about the form of a result (its structure, shapes, dtypes), a declared exception and the
reference's public `observe` checks stay readable; values never appear.

`check_trained(answer, qid, reference, accuracy, data)` measures the student's own model, through its own
forward, on a labelled set drawn from the task's public generator with the seed in `data`: a self-check
only (a rule written into forward passes it); the hidden test recomputes the logits from the weights.
"""


def _install_self_checks(api):
    import contextlib
    import math
    import warnings

    import torch

    type_, float_, int_, str_, dict_, len_, zip_, enumerate_, any_, abs_, max_ = (
        type, float, int, str, dict, len, zip, enumerate, any, abs, max)
    nullcontext = contextlib.nullcontext
    getattr_, print_ = getattr, print
    get_attr = object.__getattribute__
    floor, log10 = math.floor, math.log10
    no_grad, generator, fork_rng, mkldnn_flags = torch.no_grad, torch.Generator, torch.random.fork_rng, \
        torch.backends.mkldnn.flags
    module_train, tensor_type = torch.nn.Module.train, torch.Tensor
    catch_warnings, simplefilter = warnings.catch_warnings, warnings.simplefilter
    fail, given, describe, digest, seal_hint, open_hint, stuck, safe_name, short_type_name = (
        api[k] for k in ("fail", "given", "describe", "digest", "seal_hint", "open_hint", "stuck", "safe_name",
                         "short_type_name"))
    tensor_data, data_tensor, data_case, probe, valid_calls, reference_of, trusted = (
        api[k] for k in ("tensor_data", "data_tensor", "data_case", "probe", "valid_calls",
                         "reference_of", "trusted"))
    Received = api["received"]
    structure, retyped, error_verdict, hint_for, observed, modules_why = (
        api[k] for k in ("structure", "retyped", "error_verdict", "hint_for", "observed", "modules_why"))
    ALLCLOSE = ("linear", 1e-5, 1e-5)  # the hidden tests' comparison without a `compare`: atol, rtol
    GRID = {"linear": 2, "log10": 1}  # decimals of the rounding grid, per comparison
    SPECIAL = ("NotImplementedError", "timeout", "CallTimeout", "unreadable")

    # --- hashing what a call did --------------------------------------------------------------------------

    def rule_of(compare):
        """[kind, decimals, tolerances...]: how values that `compare` (None: allclose 1e-5) judges are hashed."""
        kind, *tolerance = getattr_(compare, "visible", None) or (ALLCLOSE if compare is None else (None,))
        if kind not in GRID:
            raise ValueError("a reference's `compare` needs a visible rule (compare.visible), as log10_close has")
        return [kind, GRID[kind], *tolerance]

    def scaled(value, rule):
        """The value on the rule's grid, plus a half: its floor is the value rounded half up."""
        x = log10(max_(abs_(value), rule[3])) if rule[0] == "log10" else value
        return x * 10 ** rule[1] + 0.5

    def quantized(data, rule):
        """Plain data of results with their floats rounded to the rule's grid (ints and "nan" as they are)."""
        if data["t"] == "tensor":
            return {"t": "tensor", "dtype": data["dtype"], "shape": data["shape"],
                    "q": [floor(scaled(v, rule)) if type_(v) is float_ else v for v in data["data"]]}
        if data["t"] in ("tuple", "list"):
            return {"t": data["t"], "items": [quantized(item, rule) for item in data["items"]]}
        return data

    def near_edge(data, rule):
        """True when a float of `data` lies within the hidden test's tolerance of a rounding edge (build time)."""
        if data["t"] in ("tuple", "list"):
            return any_(near_edge(item, rule) for item in data["items"])
        if data["t"] != "tensor":
            return False
        for v in data["data"]:
            if type_(v) is float_:
                s = scaled(v, rule)
                margin = rule[2] if rule[0] == "log10" else rule[2] + rule[3] * abs_(v)
                if abs_(s - floor(s + 0.5)) / 10 ** rule[1] <= 2 * margin:
                    return True
        return False

    def state_view(ref, module, args):
        """A module argument's tensors after the call, as data, through the reference's visible_state."""
        state = module["state"]
        view = ref.get("visible_state")
        if view is None:
            return state
        tensors = trusted(view, {k: data_tensor(v) for k, v in state.items()}, *args)
        return {k: tensor_data(v) for k, v in tensors.items()}

    def out_view(ref, out, args):
        """A result as hashed, through the reference's visible_out when it has one (the values its `compare`
        looks at: a tagger's real steps); a result it can't read stays as it is, and fails as it is."""
        view = ref.get("visible_out")
        if view is None or type_(out) is not dict_ or out.get("t") != "tensor" or out.get("data") is None:
            return out
        try:
            return tensor_data(trusted(view, data_tensor(out), *args))
        except Exception:
            return out

    def outcome(ref, spec, entry, rule, args):
        """What a call did, as hashed: its results and, for a mutating exercise, its module arguments."""
        done = {"out": quantized(out_view(ref, entry["out"], args), rule)}
        if spec["report"]:
            done["modules"] = [{"state": {k: quantized(v, rule) for k, v in state_view(ref, m, args).items()}
                                if "state" in m else None, "replaced": m.get("replaced"), "grads": m.get("grads")}
                               for m in entry["modules"]]
        return done

    def outcome_key(qid, k, done):
        """The salted hash of what a call did on visible case k; also what a named mistake's hint is sealed with."""
        return digest(qid, {"kind": "calls", "case": k, "outcome": done})

    def sealed(qid, k, done, message):
        return seal_hint(qid, {"kind": "calls", "case": k, "outcome": done}, message)

    def near(ref, spec, entry, rule, args):
        """True when a value of what a call did could round either way within the hidden test's tolerance."""
        found = near_edge(entry["out"], rule)
        for m in (entry.get("modules") or ()) if spec["report"] else ():
            if "state" in m:
                found = found or any_(near_edge(v, rule) for v in state_view(ref, m, args).values())
        return found

    # --- the visible check ----------------------------------------------------------------------------------

    def case_verdict(qid, ref, spec, data, k, case, entry):
        """(why visible case k fails or None, a note or None); `entry`: what the answer did (probe's data)."""
        rule, args = data["rule"], data_case(case["args"])
        local = dict_(ref, errors=case.get("errors") or {})
        if "lstm" in entry and ref.get("delegated"):
            return ref["delegated"], None
        if "raises" in case["want"]:
            if "error" in entry and case["want"]["raises"] in (entry["error"], entry.get("base")):
                return None, None
            if "error" in entry and (entry["error"] in SPECIAL or hint_for(local, entry)):
                return error_verdict(local, entry), None
            return case["raises_hint"], None
        if "error" in entry:
            return error_verdict(local, entry), None
        done = outcome(ref, spec, entry, rule, args)
        key = outcome_key(qid, k, done)
        if key == case["key"]:
            if spec["kind"] == "module":  # a class's hook checks get its weights too, as the hidden test's do
                args = (*args, {name: data_tensor(t) for name, t in case["weights"].items()})
            return observed(ref, spec, entry, args) if spec["observe"] else (None, None)
        hint = case["hints"].get(key)
        if hint:
            return open_hint(qid, {"kind": "calls", "case": k, "outcome": done}, hint), None
        out_key = case.get("out", case["key"])
        right = lambda: outcome_key(qid, k, {"out": quantized(retyped(entry["out"], case["want"]), rule)}) == out_key  # noqa: E731
        why = structure(entry["out"], case["want"], ref["outputs"], right)
        if why:
            return why, None
        if spec["report"] and outcome_key(qid, k, {"out": done["out"]}) == out_key:
            return modules_why(ref, spec, entry["modules"], case["modules"], entry["case"]) or \
                (ref.get("messages") or {}).get("state") or ref["not_yet"], None
        return ref["not_yet"], None

    def calls_message(qid, ref, data, calls):
        """(None if the answer did on every visible case what the reference did, else why not; a note or None)."""
        spec = data["spec"]
        if "not_callable" in calls:
            what = "a class" if spec["kind"] == "module" else "a function"
            return f"This question wants {what}, {ref['signature']}. Your answer is {given(calls['not_callable'])}.", None
        note = None
        for k, (case, entry) in enumerate_(zip_(data["cases"], calls["results"])):
            why, said = case_verdict(qid, ref, spec, data, k, case, dict_(entry, case=case["args"]))
            if why:
                return why, None
            note = note or said
        return None, note

    def run_calls(answer, data, guard=None):
        """What the answer did on the visible cases, as the grader would read it (probe, then valid_calls). In the
        grader's judge the answer is Received: the child ran it on these cases too (its data's "visible")."""
        cases = [case["args"] for case in data["cases"]]
        if type_(answer) is Received:
            found = get_attr(answer, "data")
            return valid_calls(found.get("visible") if type_(found) is dict_ else None, cases, data["spec"])
        weights = [case["weights"] for case in data["cases"]] if data["spec"]["kind"] == "module" else None
        calls = probe(answer, cases, guard, data["spec"], weights)
        return valid_calls(calls, cases, data["spec"])

    def check_calls(answer, qid, reference, data):
        """Visible test of a function or class answer, on the cases and hashes course/build.py wrote into it."""
        message, note = calls_message(qid, reference_of(reference), data, run_calls(answer, data))
        if message is not None:
            fail(stuck(qid, message))
        print_(f"Correct! ({qid})" + (f" Note: {note}" if note else ""))

    # --- a trained model, through its own forward ---------------------------------------------------------

    def trained_accuracy(answer, reference, data, guard=None):
        """Plain data of how a model's own forward does on the visible set: {"right": share, "n": count}, or
        {"error": what went wrong}. In the grader it runs in the child, each run timed by `guard`."""
        ref = reference_of(reference)
        with (guard() if guard else nullcontext()), fork_rng(devices=[]), no_grad(), catch_warnings():
            simplefilter("ignore")  # before oneDNN's flags: setting them can warn on stderr, a failure under nbgrader
            with mkldnn_flags(enabled=False):
                x, labels = ref["task"](data["n"], generator().manual_seed(data["seed"]))
                training = get_attr(answer, "training")
                module_train(answer, False)
                try:
                    logits = ref["read"](answer, x) if ref.get("read") else answer(x)  # read: a language model
                except Exception as err:
                    return {"error": short_type_name(type_(err))}
                finally:
                    module_train(answer, training)
                if type_(logits) is not tensor_type or logits.dim() != 2 or logits.shape[0] != len_(labels):
                    return {"error": "shape"}
                return {"right": float_((logits.argmax(1) == labels).double().mean()), "n": len_(labels)}

    def valid_accuracy(seen):
        """trained_accuracy's data if it is that (it may come from the grader's child), else None."""
        if type_(seen) is dict_ and type_(seen.get("right")) is float_ and 0.0 <= seen["right"] <= 1.0 \
                and type_(seen.get("n")) is int_:
            return {"right": seen["right"], "n": seen["n"]}
        if type_(seen) is dict_ and type_(seen.get("error")) is str_ and safe_name(seen["error"]):
            return {"error": seen["error"]}
        return None

    def check_trained(answer, qid, reference, accuracy, data):
        """Visible test of a trained model: its own forward's accuracy on a labelled set of the task's generator."""
        found = describe(answer)
        if found["kind"] != "model":
            fix = " Give the trained instance, not the class." if found.get("code") == "class" else ""
            fail(stuck(qid, "This question wants a trained model: an instance of your class. Your answer is "
                            f"{given(found)}.{fix}"))
        check_weights = reference_of(reference).get("weights_check")  # public: what the weights' shapes say
        if check_weights is not None and found.get("state") is not None:
            why = trusted(check_weights, {k: data_tensor(v) for k, v in found["state"].items()})
            if type_(why) is str_:
                fail(stuck(qid, why))
        if type_(answer) is Received:  # the grader's judge: the child measured it (its data's "visible")
            seen = valid_accuracy(get_attr(answer, "data").get("visible"))
        else:
            seen = trained_accuracy(answer, reference, data)
        if seen is None:
            fail("The grader could not read what its forward did on the check's sequences.")
        if seen.get("error") == "shape":
            fail(stuck(qid, reference_of(reference).get("shape_hint") or
                       "Its forward should map (N, L, features) to (N, num_classes) logits."))
        if "error" in seen:
            fail(stuck(qid, f"Running it on the check's sequences raised {seen['error']}: run it on the example "
                            "above and read the error."))
        if seen["right"] < accuracy:
            fail(stuck(qid, reference_of(reference)["not_yet"].format(
                accuracy=f"{seen['right']:.0%}", wanted=f"{accuracy:.0%}", n=seen["n"])))
        print_(f"Correct! ({qid})")

    api.update({"check_function": check_calls, "check_module": check_calls, "check_trained": check_trained,
                "rule_of": rule_of, "quantized": quantized, "near_edge": near_edge, "visible_outcome": outcome,
                "outcome_key": outcome_key, "seal_outcome": sealed, "near_rounding_edge": near,
                "calls_message": calls_message, "run_calls": run_calls, "trained_accuracy": trained_accuracy})


_install_self_checks(_course_answers)
del _install_self_checks
check_function, check_module, check_trained = (_course_answers[k] for k in ("check_function", "check_module",
                                                                            "check_trained"))
