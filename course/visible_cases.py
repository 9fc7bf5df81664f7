"""What course/build.py writes into the visible check of a function, class or trained-model exercise (never pasted).

`visible_data(api, name, qid)` draws the reference's few visible cases (its `visible_case`, else its
`case`; `visible_cases` of them, 2 by default) from seeds fixed by the question's id, runs the reference
and each named mistake on them, and returns plain data for course/self_checks.py: the cases (and, for a
class, the weights each case loads), the structure of each right result (shapes and dtypes), the salted
hash of what the reference did and each named mistake's hint sealed under the hash of what that mistake
does. `api` is a checks namespace's `_course_answers` with the keys installed (course/keys/).

The cases are drawn again (`MAX_ATTEMPTS` at most) until
- each case holds at most `MAX_NUMBERS` numbers (its arguments and weights: the check cell stays small);
- every value the reference and the mistakes give lies farther from a rounding edge of the hash's grid
  than twice the hidden test's tolerance, so that any answer the hidden test accepts hashes the same;
- where two mistakes do the same on a case, the first listed is named there, as the hidden test names it;
- the reference, run as an answer through the visible check itself, passes, and each named mistake, run
  the same way, is named: by its own hint, or by a hint of the reference's for the error it raises.
A trained model's visible check gets a seed and a size: its labelled set comes from the task's public
generator.
"""
import hashlib

import torch
from torch import nn

MAX_ATTEMPTS = 300
MAX_NUMBERS = 600     # numbers in one visible case: its arguments and, for a class, its weights
TRAINED_SIZE = 1000   # sequences a trained model's visible check measures it on (the hidden test's count)


class VisibleCasesError(ValueError):
    pass


def seed_of(qid, attempt, k):
    return int.from_bytes(hashlib.sha256(f"visible|{qid}|{attempt}|{k}".encode()).digest()[:6], "big")


def numbers(data):
    """How many numbers plain data holds (tensors' values)."""
    if isinstance(data, dict):
        return len(data["data"]) if data.get("t") == "tensor" else sum(numbers(v) for v in data.values())
    if isinstance(data, list):
        return sum(numbers(v) for v in data)
    return 0


def quietly(make, *args):
    """As the cases of a hidden test are made (channel.make_cases): no grad, no warnings, PyTorch's own kernels."""
    import warnings

    with torch.random.fork_rng(devices=[]), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.backends.mkldnn.flags(enabled=False):
            return make(*args)


def what_it_does(api, ref, spec, compute, case, weights):
    """(plain data of what `compute` does with the case, the trusted results), as the judge computes them."""
    if spec["kind"] == "module":
        out = api["trusted"](compute, *api["data_case"](case), weights, grad=spec["grad"])
        return {"out": api["value_data"](out)}, out
    done = api["outcome"](ref, spec, compute, case)
    if done["raised"]:
        return {"raised": done["raised"]}, None
    return {"out": api["value_data"](done["out"]), "modules": done["modules"]}, done["out"]


def draw_case(api, ref, spec, rule, qid, attempt, k):
    """Visible case k of this attempt as plain data, or None when it must be drawn again."""
    gen = torch.Generator().manual_seed(seed_of(qid, attempt, k))
    case = quietly(ref.get("visible_case") or ref["case"], gen, k)
    item = {"args": api["case_data"](case)}
    weights = None
    if spec["kind"] == "module":
        drawn = quietly(ref["weights"], case[0], gen)
        item["weights"] = {name: api["tensor_data"](t) for name, t in drawn.items()}
        weights = {name: api["data_tensor"](t) for name, t in item["weights"].items()}  # exactly what ships
    if numbers(item) > MAX_NUMBERS:
        return None
    args = api["data_case"](item["args"])
    entry, out = what_it_does(api, ref, spec, ref["reference"], item["args"], weights)
    if "raised" in entry:
        item["want"] = {"raises": entry["raised"]}
        item["raises_hint"] = ref["raises"][entry["raised"]]
        done = None
    else:
        if api["near_rounding_edge"](ref, spec, entry, rule, args):
            return None
        done = api["visible_outcome"](ref, spec, entry, rule, args)
        item["want"] = api["layout"](out)
        item["key"] = api["outcome_key"](qid, k, done)
        if spec["report"]:
            item["out"] = api["outcome_key"](qid, k, {"out": done["out"]})
            item["modules"] = [{w: m[w] for w in ("replaced", "grads") if w in m} for m in entry["modules"]]
    item["hints"], hints = {}, {}
    for hint, variant in ref["mistakes"]:
        try:
            mistaken, _ = what_it_does(api, ref, spec, variant, item["args"], weights)
        except Exception:  # a variant that raises names nothing here (the hidden test skips it too)
            continue
        if "raised" in mistaken:
            continue
        if api["near_rounding_edge"](ref, spec, mistaken, rule, args):
            return None
        wrong = api["visible_outcome"](ref, spec, mistaken, rule, args)
        key = api["outcome_key"](qid, k, wrong)
        if key == item.get("key"):
            continue  # this mistake does what the reference does on this case
        if key in hints:
            continue  # an earlier mistake does the same here: named first, as the hidden test names it
        hints[key] = hint
        item["hints"][key] = api["seal_outcome"](qid, k, wrong, hint)
    errors = {}
    for name, hint in (ref.get("errors") or {}).items():
        hint = hint(*args) if callable(hint) else hint
        if hint:
            errors[name] = [list(pair) for pair in hint] if isinstance(hint, list) else hint
    if errors:
        item["errors"] = errors
    return item


def skeleton(ref, compute):
    """A class with the skeleton's weights whose forward is `compute(settings, *inputs, weights)`: a named
    mistake (or the reference) handed to a class's visible check as a student's class would be."""
    class Skeleton(nn.Module):
        def __init__(self, **settings):
            super().__init__()
            self.settings = settings
            for name, t in ref["weights"](settings, torch.Generator().manual_seed(0)).items():
                *path, leaf = name.split(".")
                module = self
                for part in path:
                    if not hasattr(module, part):
                        module.add_module(part, nn.Module())
                    module = getattr(module, part)
                module.register_parameter(leaf, nn.Parameter(t.detach().clone()))

        def forward(self, *inputs):
            return compute(self.settings, *inputs, dict(self.state_dict()))
    return Skeleton


def verdict_of(api, ref, data, qid, compute):
    """The visible check's message on `compute` (the reference or a named mistake) run as the answer: None when
    it passes."""
    data = dict(data, spec=dict(data["spec"], observe=False))  # a hook judges answers, not the reference

    def run(*args):  # as the judge runs a reference: trusted (no LstmSpy), with autograd only if it says grad
        return api["trusted"](compute, *args, grad=data["spec"]["grad"])

    answer = skeleton(ref, run) if data["spec"]["kind"] == "module" else run
    return api["calls_message"](qid, ref, data, api["run_calls"](answer, data))[0]


def specific(ref, data):
    """The messages that name a mistake by the error it raises: the reference's hints for errors."""
    texts = {ref.get("matmul"), ref.get("delegated")} | set((ref.get("raises") or {}).values())
    for errors in [ref.get("errors") or {}] + [case.get("errors") or {} for case in data["cases"]]:
        for hint in errors.values():
            texts |= {hint} if isinstance(hint, str) else {text for _, text in hint} if isinstance(hint, list) else set()
    return texts - {None}


def unnamed(api, ref, data, qid):
    """What the visible check gets wrong on these cases: [] when the reference passes and each mistake is named."""
    problems = []
    message = verdict_of(api, ref, data, qid, ref["reference"])
    if message is not None:
        problems.append(f"the reference itself fails: {message}")
    for hint, variant in ref["mistakes"]:
        message = verdict_of(api, ref, data, qid, variant)
        if message != hint and message not in specific(ref, data):
            problems.append(f"the mistake {hint[:50]!r} gets {message!r}")
    return problems


def visible_data(api, name, qid):
    """The plain data of exercise `qid`'s visible check of reference `name` (keys installed in api)."""
    ref = dict(api["references"][name], name=name)
    if ref.get("kind") == "trained":
        return {"seed": seed_of(qid, 0, 0), "n": ref.get("visible_size", TRAINED_SIZE)}
    spec, count = api["spec_of"](ref), api["counts"](ref)[0]
    rule = api["rule_of"](ref.get("compare"))
    if ref.get("report_check") and "state" in spec["report"] and not ref.get("visible_state"):
        raise VisibleCasesError(f"{name}: a reference with report_check needs a public visible_state, so that "
                                "every right state hashes the same in the visible check")
    problems = []
    for attempt in range(MAX_ATTEMPTS):
        cases = []
        for k in range(count):
            case = draw_case(api, ref, spec, rule, qid, attempt, k)
            if case is None:
                break
            cases.append(case)
        if len(cases) < count:
            continue
        data = {"spec": spec, "rule": rule, "cases": cases}
        problems = unnamed(api, ref, data, qid)
        if not problems:
            return data
    raise VisibleCasesError(f"{qid} ({name}): no visible cases found in {MAX_ATTEMPTS} draws; last: {problems[:3]} "
                            "(give the reference a visible_case that draws small cases where every mistake shows)")
