"""Running function and class answers (pasted after course/channel.py).

`probe(answer, cases, guard, spec)` calls the answer on each case (plain data, course/channel.py) and
reduces what happened to plain data: in a notebook and under nbgrader in the same kernel, in the
project's grader in the sandboxed child. Each call gets its arguments made anew from the case's
data, so no call sees another's modules, and none sees the judge's. The verdicts
(course/verdicts.py) compute every reference themselves, after the answer has run (a function can
read its caller's locals through sys._getframe(1)), so the answer never sees an expected result.

`spec` says what to run and what to report, as plain data (`spec_of(reference)`): the kind
(function or class), which module reports the reference needs, whether its `observe` hook calls
the answer, and whether autograd is on. `call_plan(reference, seed, cases)` is what the grader's
worker puts in a test's step: that spec and the cases' data.
"""


def _install_probes(api):
    import contextlib
    import warnings

    import torch
    from torch.overrides import TorchFunctionMode

    type_, str_, bool_, dict_, len_, max_, callable_ = type, str, bool, dict, len, max, callable
    getattr_ = getattr
    get_attr = object.__getattribute__
    dict_get = dict.get
    module_type = torch.nn.Module
    module_eval = torch.nn.Module.eval
    no_grad, enable_grad, manual_seed = torch.no_grad, torch.enable_grad, torch.manual_seed
    fork_rng = torch.random.fork_rng
    catch_warnings, simplefilter, nullcontext = warnings.catch_warnings, warnings.simplefilter, contextlib.nullcontext
    mkldnn_flags = torch.backends.mkldnn.flags
    Received, describe, value_data = api["received"], api["describe"], api["value_data"]
    as_reference, reference_of, make_cases, case_data, data_case = (
        api[k] for k in ("as_reference", "reference_of", "cases", "case_data", "data_case"))
    module_positions, module_params, module_report, state_data, error_data, extra_data, valid_calls = (
        api[k] for k in ("module_positions", "module_params", "module_report", "state_data", "error_data",
                         "extra_data", "valid_calls"))
    module_tensors, module_load, data_tensor, shape_text = (
        api["module_tensors"], torch.nn.Module.load_state_dict, api["data_tensor"], api["shape_text"])
    shape_of = torch._C.TensorBase.__dict__["shape"].__get__
    list_, sorted_ = list, sorted
    REPORTS = api["REPORTS"]
    VISIBLE_CASES, HIDDEN_CASES = 2, 6

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

    # --- what to run: plain data for the grader's plan -------------------------------------------------

    def spec_of(reference):
        """`reference`: a name, or a reference's whole fields (verdicts.keyed: its public part and its key)."""
        ref = as_reference(reference)
        name = reference if type_(reference) is str_ else ref["name"]
        return {"reference": name, "kind": "module" if ref.get("kind") == "module" else "function",
                "report": [w for w in REPORTS if w in (ref.get("report") or ())],
                "observe": callable_(ref.get("observe")), "grad": bool_(ref.get("grad"))}

    def counts(reference, cases=None):
        """(the visible check's cases, the hidden test's) for a reference; the hidden test's at least as many."""
        ref = as_reference(reference)
        visible = ref.get("visible_cases", VISIBLE_CASES)
        return visible, max_(cases if cases is not None else ref.get("cases", HIDDEN_CASES), visible)

    def call_plan(reference, seed, cases=None):
        """The plain data a test step needs to run a function or class answer: its spec and every case."""
        return {"spec": spec_of(reference),
                "cases": [case_data(case) for case in make_cases(reference, seed, counts(reference, cases)[1])]}

    # --- running an answer (in the student's process) --------------------------------------------------

    @contextlib.contextmanager
    def quiet_kernels():
        """No warnings on stderr (a failure under nbgrader), and PyTorch's own kernels as the references use
        them: oneDNN would compile one per new shape (up to 0.4 s each)."""
        simplefilter("ignore")
        with mkldnn_flags(enabled=False):
            yield

    def hook(spec):
        ref = reference_of(dict_get(spec, "reference")) if dict_get(spec, "observe") else None
        return ref.get("observe") if ref is not None else None

    def call_function(answer, case, guard, spec):
        observe, what = hook(spec), spec["report"]
        spy, entry, phase = LstmSpy(), {}, "arguments"
        try:
            # Made inside the timer: a class a student's cell patched must not hang the grader.
            with (guard() if guard else nullcontext()), catch_warnings(), quiet_kernels():
                args = data_case(case)
                before = {i: module_params(args[i]) for i in module_positions(case)}
                phase = None

                def spied(*call_args, **call_kwargs):  # the spy watches the answer, never the hook's own calls
                    with spy:
                        return answer(*call_args, **call_kwargs)

                with (enable_grad() if spec["grad"] else nullcontext()):
                    out, extra = observe(spied, *args) if observe else (spied(*args), None)
                entry["out"] = value_data(out)
                if what:
                    entry["modules"] = [module_report(args[i], before[i], case[i]["state"], what) for i in before]
                if observe:
                    entry["extra"] = extra_data(extra)
        except Exception as err:  # the student's function raised: which error, and what it said
            entry = error_data(err, phase)
        if spy.seen is not None:
            entry["lstm"] = spy.seen
        return entry

    def mismatch(model, weights):
        """Why the model's tensors can't take `weights` (a visible check's state_dict, as data), or None."""
        own = {k: list_(shape_of(t)) for k, t in module_tensors(model).items()}
        missing = sorted_(k for k in weights if k not in own)
        extra = sorted_(k for k in own if k not in weights)
        sizes = [k for k in sorted_(weights) if k in own and own[k] != weights[k]["shape"]]
        if missing:
            return f"it has no {', '.join(missing[:3])}: keep the skeleton's layers, named as it names them."
        if extra:
            return f"it has {', '.join(extra[:3])}, which the skeleton does not: keep only its layers."
        if sizes:
            return (f"its {sizes[0]} is {shape_text(own[sizes[0]])}; with these settings the skeleton's is "
                    f"{shape_text(weights[sizes[0]]['shape'])}.")
        return None

    def call_module(answer, case, guard, spec, weights=None):
        """Build the class with the case's settings (seeded), load `weights` when given (a visible check's), run
        it once on the case's inputs, read its weights."""
        observe, phase = hook(spec), "arguments"
        try:
            with (guard() if guard else nullcontext()), catch_warnings(), quiet_kernels(), fork_rng(devices=[]):
                settings, *inputs = data_case(case)
                phase = "build"
                manual_seed(0)  # the same starting weights on every run: checking must not move the notebook's seed
                model = answer(**settings)
                if module_type not in type_(model).__mro__:
                    return {"error": "not-a-module", "phase": phase}
                if weights is not None:
                    phase = "load"
                    why = mismatch(model, weights)
                    if why:
                        return {"error": "WeightsMismatch", "base": None, "message": why, "phase": phase}
                    with no_grad():
                        module_load(model, {k: data_tensor(v) for k, v in weights.items()}, strict=True)
                phase = "forward"
                module_eval(model)
                with (enable_grad() if spec["grad"] else no_grad()):
                    out, extra = observe(model, *inputs) if observe else (model(*inputs), None)
                entry = {"out": value_data(out)}
                if observe:
                    entry["extra"] = extra_data(extra)
                phase = "state"  # read from the instances' own dicts: a patched state_dict can't lie
                entry["state"] = state_data(model)
            return entry
        except Exception as err:
            return error_data(err, phase)

    def probe(answer, cases, guard=None, spec=None, weights=None):
        """Run the answer on each case (plain data); return plain data of what happened. `guard`: a context
        manager class timing each call (the grader's child); `spec`: spec_of(reference); `weights`: for a class,
        the state_dict (as data) a visible check loads into each case's instance."""
        spec = spec if type_(spec) is dict_ else {"kind": "function", "report": [], "observe": False, "grad": False}
        if type_(answer) is Received:
            return valid_calls(get_attr(answer, "data"), cases, spec)
        if spec["kind"] == "module":
            if type_(answer) is not type_ or module_type not in answer.__mro__:
                return {"kind": "calls", "not_callable": describe(answer)}
            loads = weights or [None] * len_(cases)
            return {"kind": "calls", "of": "class",
                    "results": [call_module(answer, c, guard, spec, w) for c, w in zip(cases, loads)]}
        if not callable_(answer) or type_(answer) is type_:
            return {"kind": "calls", "not_callable": describe(answer)}
        return {"kind": "calls", "of": "function", "results": [call_function(answer, c, guard, spec) for c in cases]}

    api.update({"probe": probe, "spec_of": spec_of, "counts": counts, "call_plan": call_plan,
                "VISIBLE_CASES": VISIBLE_CASES})


_install_probes(_course_answers)
del _install_probes
