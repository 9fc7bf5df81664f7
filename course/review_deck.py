"""The review deck for notebooks/review.ipynb: fact cards computed by torch, and generated questions.

`python -m course.build` pastes this file into the hidden "review_deck" code cell, after the checks
cell (which holds course/questions.py) and before the "review" cell (course/review.py, the
scheduler and its widget), which calls `_course_answers["review_deck"]()`. Edit it here.

Every fact card's back is computed when the cell runs: a default read from a fresh layer, a shape
from running one, the gate order found by trying every order against the layer's own step, an
error caught. The other cards are the practice pool's templates (course/practice_pool.py) with a
salt of their own ("review"), never a graded test's or a lesson exercise's questions.
"""


def _install_review_deck(api):
    import contextlib
    import itertools
    import warnings

    import torch
    from torch import nn
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    SALT, STUDENT = "review", "deck"  # never the course test's salt, "practice" or "practice-test"

    @contextlib.contextmanager
    def quiet():
        # No autograd, no warnings on stderr, PyTorch's own kernel (oneDNN compiles one per new shape).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with torch.no_grad(), torch.backends.mkldnn.flags(enabled=False):
                yield

    def run(layer, shape):
        torch.manual_seed(0)
        output, (h_n, c_n) = layer(torch.randn(shape))
        return output, h_n, c_n

    # --- the fact cards: each maker returns (front, back, value), the back computed from value -----------

    FACTS = []

    def fact(card_id):
        def register(make):
            FACTS.append((card_id, make))
            return make
        return register

    for attr in ("batch_first", "num_layers", "bias", "dropout", "bidirectional", "proj_size"):
        def default(attr=attr):
            value = getattr(nn.LSTM(4, 8), attr)
            return f"What is `{attr}` when you don't set it, `nn.LSTM(4, 8).{attr}`?", repr(value), value
        fact(f"default_{attr}")(default)

    SHAPES = [  # (card, the layer's arguments, x's shape, the results asked for, why)
        ("default_layout", (10, 20), {}, (5, 3, 10), ("output", "h_n"), "time first: batch_first is False by default"),
        ("h_n_bidirectional", (10, 20), {"num_layers": 2, "bidirectional": True}, (5, 3, 10), ("h_n",),
         "num_layers * 2 directions rows"),
        ("output_bidirectional", (10, 20), {"num_layers": 2, "bidirectional": True}, (5, 3, 10), ("output",),
         "both directions side by side"),
        ("proj_states", (10, 20), {"proj_size": 5}, (5, 3, 10), ("output", "h_n", "c_n"), "h is projected, c is not"),
        ("unbatched", (10, 20), {}, (5, 10), ("output", "h_n"), "one sequence without a batch axis: none in the "
                                                                "results either")]
    for card_id, args, kwargs, shape, names, why in SHAPES:
        def shapes(args=args, kwargs=kwargs, shape=shape, names=names, why=why):
            got = dict(zip(("output", "h_n", "c_n"), run(nn.LSTM(*args, **kwargs), shape)))
            value = tuple(tuple(got[n].shape) for n in names)
            call = ", ".join([*map(str, args), *(f"{k}={v}" for k, v in kwargs.items())])
            asked = " and ".join(", ".join(f"`{n}`" for n in names).rsplit(", ", 1))
            return (f"`nn.LSTM({call})` on `x` of shape `{shape}`: the shape{'s' * (len(names) > 1)} of {asked}?",
                    ", ".join(f"{n} {v}" for n, v in zip(names, value)) + f": {why}", value)
        fact(card_id)(shapes)

    for name, extra in (("weight_ih_l0", {}), ("weight_hh_l0", {}), ("weight_ih_l1", {"num_layers": 2}),
                        ("weight_hr_l0", {"proj_size": 4})):
        def weight(name=name, extra=extra):
            shape = tuple(getattr(nn.LSTM(8, 16, **extra), name).shape)
            args = "".join(f", {k}={v}" for k, v in extra.items())
            return f"The shape of `nn.LSTM(8, 16{args}).{name}`?", str(shape), shape
        fact(f"shape_{name}")(weight)

    @fact("parameter_count")
    def parameter_count():
        layer = nn.LSTM(8, 16)
        count = sum(p.numel() for p in layer.parameters())
        parts = " + ".join(f"{n} {p.numel()}" for n, p in layer.named_parameters())
        return "How many numbers does `nn.LSTM(8, 16)` learn (all its parameters' `numel()`)?", \
            f"{count} = {parts}", count

    @fact("reverse_names")
    def reverse_names():
        names = [n for n, _ in nn.LSTM(8, 16, bidirectional=True).named_parameters() if n.endswith("_reverse")]
        return "The names of the backward direction's parameters in `nn.LSTM(8, 16, bidirectional=True)`?", \
            ", ".join(names), names

    @fact("gate_order")
    def gate_order():
        torch.manual_seed(0)
        layer, hidden = nn.LSTM(3, 4), 4
        x, h0, c0 = torch.randn(1, 2, 3), torch.randn(1, 2, 4), torch.randn(1, 2, 4)  # c0 != 0 tells i from f
        _, (h1, c1) = layer(x, (h0, c0))
        gates = x[0] @ layer.weight_ih_l0.T + layer.bias_ih_l0 + h0[0] @ layer.weight_hh_l0.T + layer.bias_hh_l0
        found, orders = [], list(itertools.permutations("ifgo"))
        for order in orders:  # every way to read the four blocks of rows
            g = dict(zip(order, gates.chunk(4, dim=1)))
            c = torch.sigmoid(g["f"]) * c0[0] + torch.sigmoid(g["i"]) * torch.tanh(g["g"])
            if torch.allclose(c, c1[0], atol=1e-6) and \
                    torch.allclose(torch.sigmoid(g["o"]) * torch.tanh(c), h1[0], atol=1e-6):
                found.append("".join(order))
        assert len(found) == 1, found
        rows = ", ".join(f"{gate} rows {k * hidden}:{(k + 1) * hidden}" for k, gate in enumerate(found[0]))
        return ("In which order are the gates stacked in `weight_ih_l0`'s rows (i input, f forget, g candidate, "
                "o output)?", f"{', '.join(found[0])}: for nn.LSTM(3, 4), {rows}. Of the {len(orders)} orders, "
                "only this one reproduces the layer's own h_1 and c_1", found[0])

    @fact("lstm_cell")
    def lstm_cell():
        torch.manual_seed(0)
        layer, cell = nn.LSTM(3, 4), nn.LSTMCell(3, 4)
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(layer, f"{name}_l0"))
        x = torch.randn(1, 2, 3)
        _, (h_n, c_n) = layer(x)
        h, c = cell(x[0])
        same = bool(torch.allclose(h, h_n[0], atol=1e-6) and torch.allclose(c, c_n[0], atol=1e-6))
        return ("One time step of `nn.LSTM(3, 4)` and `nn.LSTMCell(3, 4)` given the same weights "
                "(`weight_ih_l0` copied to `weight_ih`, ...): same h and c?", f"{same} (torch.allclose)", same)

    def which(scope, target, candidates):
        want = eval(target, {}, scope)  # noqa: S307 - trusted: this file's own expressions
        return [s for s in candidates if tuple(eval(s, {}, scope).shape) == tuple(want.shape)  # noqa: S307
                and torch.allclose(eval(s, {}, scope), want)]  # noqa: S307

    SLICES = [  # (card, the layer's arguments, x's shape, the states asked about, where to look in output)
        ("last_step_batch_first", {"num_layers": 2, "batch_first": True}, (2, 5, 3), ["output[:, -1]"],
         ["h_n[0]", "h_n[-1]", "c_n[-1]"]),
        ("bidirectional_final", {"bidirectional": True}, (5, 2, 3), ["h_n[-2]", "h_n[-1]"],
         ["output[-1, :, :4]", "output[0, :, :4]", "output[-1, :, 4:]", "output[0, :, 4:]"])]
    for card_id, kwargs, shape, targets, candidates in SLICES:
        def slices(kwargs=kwargs, shape=shape, targets=targets, candidates=candidates):
            scope = dict(zip(("output", "h_n", "c_n"), run(nn.LSTM(3, 4, **kwargs), shape)))
            found = []
            for target in targets:  # exactly one candidate has the target's shape and values (torch.allclose)
                want = eval(target, {}, scope)  # noqa: S307 - trusted: this file's own expressions
                equal = [c for c in candidates if eval(c, {}, scope).shape == want.shape  # noqa: S307
                         and torch.allclose(eval(c, {}, scope), want)]  # noqa: S307
                assert len(equal) == 1, (target, equal)
                found.append(equal[0])
            call = ", ".join(["3, 4", *(f"{k}={v}" for k, v in kwargs.items())])
            return (f"`output, (h_n, c_n) = nn.LSTM({call})(x)` with `x` of shape `{shape}`: which of "
                    f"{', '.join(f'`{c}`' for c in candidates)} equals {' and '.join(f'`{t}`' for t in targets)}?",
                    "; ".join(f"{t} = {f}" for t, f in zip(targets, found)) + " (torch.allclose; the others differ)",
                    tuple(found))
        fact(card_id)(slices)

    @fact("packed_data")
    def packed_data():
        torch.manual_seed(0)
        lengths, packed = [5, 3, 2], pack_padded_sequence(torch.randn(3, 5, 4), [5, 3, 2], batch_first=True)
        value = (tuple(packed.data.shape), packed.batch_sizes.tolist())
        return ("`pack_padded_sequence(x, [5, 3, 2], batch_first=True)` with `x` of shape `(3, 5, 4)`: the shape "
                "of `.data` and the `batch_sizes`?", f"data {value[0]} (one row per real step, {sum(lengths)} in "
                f"all), batch_sizes {value[1]} (sequences still running at each step)", value)

    @fact("packed_h_n")
    def packed_h_n():
        torch.manual_seed(0)
        lengths, packed = [5, 3, 2], pack_padded_sequence(torch.randn(3, 5, 4), [5, 3, 2], batch_first=True)
        output, (h_n, _) = nn.LSTM(4, 6)(packed)
        padded, _ = pad_packed_sequence(output, batch_first=True)
        last = all(torch.allclose(h_n[-1][b], padded[b, n - 1]) for b, n in enumerate(lengths))
        padding = all(not torch.allclose(h_n[-1][b], padded[b, -1]) for b, n in enumerate(lengths) if n < 5)
        value = bool(last and padding)
        return ("A packed batch with lengths `[5, 3, 2]` through `nn.LSTM(4, 6)`: is `h_n[-1][b]` the output at "
                "sequence b's last real step (`lengths[b] - 1`), not at the padded last step?",
                f"{value}: packing stops each sequence at its own length (checked for all 3)", value)

    def caught(action, *kinds):
        try:
            with warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always")
                action()
        except Exception as err:  # noqa: BLE001 - shown as it is
            return type(err).__name__, str(err).strip().splitlines()[0]
        shown = [w for w in seen if issubclass(w.category, kinds)] if kinds else []
        return (shown[0].category.__name__, str(shown[0].message)) if shown else (None, "")

    CAUGHT = [  # (card, the question, what to run, a fragment its message must hold, a warning class to catch)
        ("error_input_size", "What happens when `nn.LSTM(10, 20)` gets `x` of shape `(5, 3, 7)`?",
         lambda: nn.LSTM(10, 20)(torch.zeros(5, 3, 7)), "7", ()),
        ("error_unsorted", "`pack_padded_sequence(x, [2, 5, 3], batch_first=True)` (enforce_sorted left at its "
         "default): what happens?", lambda: pack_padded_sequence(torch.zeros(3, 5, 4), [2, 5, 3], batch_first=True),
         "sorted", ()),
        ("warning_dropout", "What does `nn.LSTM(4, 8, dropout=0.5)` (one layer) say?",
         lambda: nn.LSTM(4, 8, dropout=0.5), "num_layers", (UserWarning,))]
    for card_id, front, action, fragment, kinds in CAUGHT:
        def shown(front=front, action=action, fragment=fragment, kinds=kinds):
            kind, message = caught(action, *kinds)
            assert kind is not None and fragment in message, (kind, message)  # a stable fragment, not the wording
            return front, f"{kind}: {message}", (kind, message)
        fact(card_id)(shown)

    @fact("zero_state")
    def zero_state():
        torch.manual_seed(0)
        layer, x = nn.LSTM(3, 4), torch.randn(5, 2, 3)
        out, zero = layer(x)[0], layer(x, (torch.zeros(1, 2, 4), torch.zeros(1, 2, 4)))[0]
        value = bool(torch.equal(out, zero))
        return "`lstm(x)` without `(h_0, c_0)`: does it equal `lstm(x, (zeros, zeros))`?", \
            f"{value}: the states start at zero (torch.equal)", value

    def build_deck():
        deck = []
        with quiet():
            for card_id, make in FACTS:
                front, back, value = make()
                deck.append({"id": f"fact:{card_id}", "kind": "fact", "front": front, "back": back, "value": value})
        names = [name for level in api["LEVELS"] for name in api["pool_names"]("practice", level)]
        for number, name in enumerate(sorted(names), 1):
            q = api["practice_question"](name, STUDENT, f"card{number}", SALT)
            answer = nn.LSTM(**q["answer"]) if q["kind"] == "lstm" else q["answer"]
            with quiet():
                assert api["judge_question"](q, answer) is None, name  # the back is what the checks accept
            if q["kind"] == "choice":
                shown = f"{q['answer']}. " + q["choices"][q["options"].index(q["answer"])][1]
            elif q["kind"] == "lstm":
                shown = "nn.LSTM(" + ", ".join(f"{k}={v!r}" for k, v in q["answer"].items()) + ")"
            elif q["kind"] == "float":
                shown = f"{q['answer']:.{q['decimals']}f}"
            elif q["kind"] == "floats":
                shown = "(" + ", ".join(f"{v:.{q['decimals']}f}" for v in q["answer"]) + ")"
            else:
                shown = str(tuple(q["answer"]) if q["kind"] == "shape" else q["answer"])
            slip = next((m for _, m in q["mistakes"] if m), "")
            deck.append({"id": f"question:{name}", "kind": "question", "front": q["text"], "value": q["answer"],
                         "back": shown + (f"\n\nA common slip: {slip}" if slip else ""),
                         "origin": {"template": name, "student": STUDENT, "qid": f"card{number}", "salt": SALT}})
        return deck


    api.update({"review_deck": build_deck, "review_salt": SALT})


_install_review_deck(_course_answers)
del _install_review_deck
