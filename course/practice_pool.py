"""The practice pool: questions for the practice test, the drill and the review, each with its solver
(pasted after course/questions.py into the checks cell of practice_test, practice and review).

These templates are never drawn by the graded course test, and the graded pool's key is not
here: a learner may type any word and be scored at once, so the key of these questions is public
by nature. Each renders from its draws like the course test's (course/questions.py), and its
solver, next to it, computes the answer and the named mistakes by running torch.

`practice_question(name, learner, qid, salt)` makes one completed question (answer, mistakes,
and what "show me" prints), drawing again when its solution has a problem (`question_problems`).
`start_practice(word)` / `show_question("q3")` / `score_my_test()` are the practice test's cells.
"""


def _install_practice_pool(api):
    import torch
    from torch import nn
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    int_, str_, len_, range_, sum_, max_, set_, sorted_, tuple_ = int, str, len, range, sum, max, set, sorted, tuple
    print_, isinstance_, dict_, float_ = print, isinstance, dict, float
    template, choices, call, input_text, code = (api[k] for k in ("template", "choices", "call", "input_text", "code"))
    run, without, plain_cpu, count = api["run"], api["without"], api["plain_cpu"], api["count_parameters"]
    fail = api["fail"]
    POOL, LETTERS = "practice", "ABCD"
    SOLVERS = {}
    state = {"word": None, "salt": "practice-test"}

    def practice(name, difficulty, kind, lesson, tag):
        """A practice template: its renderer, then `@solves(name)` its solver."""
        return template(name, difficulty, kind, lesson, tag, POOL)

    def solves(name):
        def register(solve):
            SOLVERS[name] = solve
            return solve
        return register

    def shapes_of(cfg, steps, batch, lengths=None):
        return {"show": cfg, "steps": steps, "batch": batch, **({"lengths": lengths} if lengths else {})}

    # --- easy ---------------------------------------------------------------------------------------------

    @practice("output_shape", "easy", "shape", "02_shapes", "recall")
    def output_shape(d):
        h_in, h, steps, batch, first = d.between(2, 30), d.between(2, 32), d.between(3, 12), d.between(2, 10), d.flag()
        if len_({h_in, h, steps, batch}) < 4:
            return None
        cfg = {"input_size": h_in, "hidden_size": h, "batch_first": first}
        return {"text": f"`lstm = {call(cfg)}` reads {input_text(cfg, steps, batch)}. What is the shape of `output`?",
                "given": {"cfg": cfg, "steps": steps, "batch": batch}}

    @solves("output_shape")
    def solve_output_shape(q):
        g = q["given"]
        cfg, steps, batch = g["cfg"], g["steps"], g["batch"]
        out = run(cfg, steps, batch)[0]
        return dict_(shapes_of(cfg, steps, batch), answer=out, mistakes=[
            ((out[1], out[0], out[2]), "Check batch_first: output has the input's layout."),
            (run(dict_(cfg, hidden_size=cfg["input_size"]), steps, batch)[0],
             "output has hidden_size features per step, not input_size."),
            ((out[0], out[2]) if not cfg["batch_first"] else (out[1], out[2]),
             "output keeps every step of every sequence: it is 3-D.")])

    @practice("c_n_layers", "easy", "shape", "03_states", "recall")
    def c_n_layers(d):
        h_in, h, layers, steps, batch = d.between(2, 30), d.between(2, 32), d.between(2, 4), d.between(3, 12), \
            d.between(2, 10)
        if layers == batch or h_in == h:
            return None
        cfg = {"input_size": h_in, "hidden_size": h, "num_layers": layers, "batch_first": d.flag()}
        return {"text": f"`lstm = {call(cfg)}` reads {input_text(cfg, steps, batch)}. What is the shape of `c_n`?",
                "given": {"cfg": cfg, "steps": steps, "batch": batch}}

    @solves("c_n_layers")
    def solve_c_n_layers(q):
        g = q["given"]
        cfg, steps, batch = g["cfg"], g["steps"], g["batch"]
        c_n = run(cfg, steps, batch)[2]
        return dict_(shapes_of(cfg, steps, batch), answer=c_n, mistakes=[
            ((c_n[1], c_n[0], c_n[2]), "batch_first does not apply to c_n: its batch axis is always the second."),
            (run(without(cfg, num_layers=None), steps, batch)[2], "c_n keeps one row per layer."),
            (run(dict_(cfg, hidden_size=cfg["input_size"]), steps, batch)[2], "c_n has hidden_size features.")])

    @practice("bias_shape", "easy", "shape", "04_cell", "recall")
    def bias_shape(d):
        h_in, h, which = d.between(2, 30), d.between(2, 32), d.pick(["bias_ih_l0", "bias_hh_l0"])
        if h_in == h:
            return None
        cfg = {"input_size": h_in, "hidden_size": h}
        return {"text": f"`lstm = {call(cfg)}`. What is the shape of `lstm.{which}`?",
                "given": {"cfg": cfg, "which": which}}

    @solves("bias_shape")
    def solve_bias_shape(q):
        g = q["given"]
        cfg = g["cfg"]
        layer = run(cfg, 2, 1)[3]
        shape = tuple_(getattr(layer, g["which"]).shape)
        return dict_(shapes_of(cfg, 2, 1), answer=shape, mistakes=[
            ((shape[0] // 4,), "One bias per gate and unit: the four gates' biases are stacked, 4 * hidden_size."),
            ((shape[0], 1), "A bias is a vector: one axis."),
            ((4 * cfg["input_size"],), "The biases belong to the gates' units: 4 * hidden_size, not input_size.")])

    @practice("gate_value", "easy", "float", "04_cell", "reasoning")
    def gate_value(d):
        gate, z = d.pick(["forget gate f", "input gate i", "output gate o", "cell candidate g"]), d.between(-30, 30)
        if z == 0:
            return None
        return {"text": f"In one LSTM unit, the {gate}'s pre-activation (weights times inputs plus biases) is "
                        f"{z / 10:.1f}. What is {gate.split()[-1]} itself? Give a float, to 3 decimals.",
                "given": {"gate": gate[-1], "z": z / 10}, "decimals": 3}

    @solves("gate_value")
    def solve_gate_value(q):
        g = q["given"]
        z = torch.tensor(g["z"], dtype=torch.float64)
        right, other = (torch.tanh, torch.sigmoid) if g["gate"] == "g" else (torch.sigmoid, torch.tanh)
        return {"answer": float_(right(z)), "worked": f"{'tanh' if g['gate'] == 'g' else 'sigmoid'}({g['z']}) = "
                                                      f"{float_(right(z)):.4f}", "mistakes": [
            (float_(other(z)), "i, f and o are sigmoids (between 0 and 1); only the candidate g is a tanh (between -1 "
                               "and 1)."),
            (float_(z), "The pre-activation goes through its activation function first.")]}

    @practice("loss_terms", "easy", "int", "08_generation", "reasoning")
    def loss_terms(d):
        n, classes = d.between(2, 5), d.between(2, 6)
        lengths = [d.between(1, 9) for _ in range_(n)]
        steps = max_(lengths) + d.between(0, 3)
        if len_(set_(lengths)) < 2:
            return None
        return {"text": f"A tagger's batch holds {n} sequences of lengths {lengths}, padded to {steps} steps. Its tags "
                        "at the padded steps are -100, and its loss is `nn.functional.cross_entropy(logits.reshape(-1, "
                        f"{classes}), tags.reshape(-1))`. Over how many per-step losses does that mean average?",
                "given": {"lengths": lengths, "steps": steps, "classes": classes}}

    @solves("loss_terms")
    def solve_loss_terms(q):
        g = q["given"]
        lengths, steps, classes = g["lengths"], g["steps"], g["classes"]
        with plain_cpu():
            torch.manual_seed(0)
            logits = torch.randn(len_(lengths), steps, classes)
            tags = torch.randint(0, classes, (len_(lengths), steps))
            tags[torch.arange(steps)[None, :] >= torch.tensor(lengths)[:, None]] = -100
            flat, wanted = logits.reshape(-1, classes), tags.reshape(-1)
            total = nn.functional.cross_entropy(flat, wanted, reduction="sum")
            terms = int_(round(float_(total / nn.functional.cross_entropy(flat, wanted))))
        return {"answer": terms, "worked": f"the real steps: sum({lengths}) = {terms}", "mistakes": [
            (len_(lengths) * steps, "Targets equal to ignore_index (-100 by default) add nothing: the padded steps "
                                    "don't count."),
            (len_(lengths), "The mean is over steps, one term per real token, not one per sequence."),
            (max_(lengths), "Every sequence's real steps count, not only the longest's.")]}

    # --- medium -------------------------------------------------------------------------------------------

    @practice("decoder_state", "medium", "shape", "08_generation", "reasoning")
    def decoder_state(d):
        h_in, h, layers, steps, batch = d.between(2, 16), d.between(2, 16), d.between(2, 3), d.between(3, 9), \
            d.between(2, 8)
        if batch in (layers, 2 * layers) or h_in == h:
            return None
        cfg = {"input_size": h_in, "hidden_size": h, "num_layers": layers, "batch_first": True, "bidirectional": True}
        return {"text": f"An encoder `lstm = {call(cfg)}` reads {input_text(cfg, steps, batch)}. Its `h_n` starts a "
                        f"decoder, a one-direction `nn.LSTM` with {layers} layers, each layer's two directions side by "
                        "side. What shape must the decoder's `h_0` have?",
                "given": {"cfg": cfg, "steps": steps, "batch": batch}}

    @solves("decoder_state")
    def solve_decoder_state(q):
        g = q["given"]
        cfg, steps, batch = g["cfg"], g["steps"], g["batch"]
        layers, h = cfg["num_layers"], cfg["hidden_size"]
        with plain_cpu():
            _, (h_n, c_n) = nn.LSTM(**cfg)(torch.zeros(batch, steps, cfg["input_size"]))
            h_0 = h_n.view(layers, 2, batch, h).permute(0, 2, 1, 3).reshape(layers, batch, 2 * h)
            nn.LSTM(3, 2 * h, num_layers=layers)(torch.zeros(4, batch, 3), (h_0, h_0))  # the decoder takes it
        shape = tuple_(h_0.shape)
        return dict_(shapes_of(cfg, steps, batch), answer=shape, mistakes=[
            (tuple_(h_n.shape), "That is h_n as the encoder returns it: the decoder has one direction, so each layer's "
                                "two rows go side by side."),
            ((layers, batch, h), "Each layer keeps both directions, side by side: 2 * hidden_size features."),
            ((batch, layers, 2 * h), "batch_first does not apply to states: their batch axis is the second.")])


    @practice("weight_ih_upper", "medium", "shape", "04_cell", "recall")
    def weight_ih_upper(d):
        h_in, h = d.between(2, 30), d.between(2, 24)
        if h_in in (h, 2 * h):
            return None
        cfg = {"input_size": h_in, "hidden_size": h, "num_layers": 2, "bidirectional": True}
        return {"text": f"`lstm = {call(cfg)}`. What is the shape of `lstm.weight_ih_l1`, the second layer's input "
                        "weights?", "given": {"cfg": cfg}}

    @solves("weight_ih_upper")
    def solve_weight_ih_upper(q):
        cfg = q["given"]["cfg"]
        layer = run(cfg, 2, 1)[3]
        shape = tuple_(layer.weight_ih_l1.shape)
        return dict_(shapes_of(cfg, 2, 1), answer=shape, mistakes=[
            (tuple_(run(without(cfg, bidirectional=None), 2, 1)[3].weight_ih_l1.shape),
             "The second layer reads both directions of the first: 2 * hidden_size features."),
            (tuple_(layer.weight_ih_l0.shape), "That is the first layer's: it reads input_size features."),
            ((shape[0] // 4, shape[1]), "The four gates' weights are stacked: 4 * hidden_size rows.")])

    @practice("padded_output", "medium", "shape", "05_sequences", "recall")
    def padded_output(d):
        n, h_in, h, first, bi = d.between(3, 5), d.between(2, 16), d.between(2, 16), d.flag(), d.flag()
        lengths = [d.between(1, 10) for _ in range_(n)]
        if len_(set_(lengths)) < 2 or h_in == h or max_(lengths) == n:
            return None
        cfg = {"input_size": h_in, "hidden_size": h, "batch_first": first}
        if bi:
            cfg["bidirectional"] = True
        return {"text": f"`lstm = {call(cfg)}` runs a packed batch of {n} sequences with lengths {lengths} "
                        f"(`pack_padded_sequence(x, lengths, batch_first={first}, enforce_sorted=False)`). What is the "
                        f"shape of `padded` in `padded, _ = pad_packed_sequence(out, batch_first={first})`?",
                "given": {"cfg": cfg, "lengths": lengths}}

    @solves("padded_output")
    def solve_padded_output(q):
        g = q["given"]
        cfg, lengths = g["cfg"], g["lengths"]
        first = cfg["batch_first"]

        def padded(cfg):
            with plain_cpu():
                x = torch.zeros((len_(lengths), max_(lengths), cfg["input_size"]) if first else
                                (max_(lengths), len_(lengths), cfg["input_size"]))
                out, _ = nn.LSTM(**cfg)(pack_padded_sequence(x, lengths, batch_first=first, enforce_sorted=False))
                return out, tuple_(pad_packed_sequence(out, batch_first=first)[0].shape)

        out, shape = padded(cfg)
        mistakes = [(tuple_(out.data.shape), "That is the packed data; pad_packed_sequence puts the padding back: a "
                                             "3-D tensor."),
                    ((shape[1], shape[0], shape[2]), "pad_packed_sequence's batch_first gives the layout.")]
        if cfg.get("bidirectional"):
            mistakes.append((padded(without(cfg, bidirectional=None))[1], "Both directions are in the output, side by "
                                                                          "side: D * hidden_size features."))
        return dict_(shapes_of(cfg, max_(lengths), len_(lengths), lengths), answer=shape, mistakes=mistakes)

    @practice("bidirectional_parameters", "medium", "int", "04_cell", "recall")
    def bidirectional_parameters(d):
        h_in, h = d.between(2, 24), d.between(2, 24)
        if h_in == h:
            return None
        cfg = {"input_size": h_in, "hidden_size": h, "bidirectional": True}
        return {"text": f"How many numbers does `{call(cfg)}` learn, in all its parameters? Give a whole number.",
                "given": {"cfg": cfg}}

    @solves("bidirectional_parameters")
    def solve_bidirectional_parameters(q):
        cfg = q["given"]["cfg"]
        layer = run(cfg, 2, 1)[3]
        total = count(cfg)
        return dict_(shapes_of(cfg, 2, 1), answer=total, mistakes=[
            (count(without(cfg, bidirectional=None)), "Each direction has its own weights: count both."),
            (total - sum_(p.numel() for n, p in layer.named_parameters() if n.startswith("bias_hh")),
             "There are two bias vectors per direction, bias_ih and bias_hh."),
            (count(dict_(cfg, input_size=cfg["hidden_size"])),
             "weight_ih reads input_size features, not hidden_size.")])

    @practice("forget_bias", "medium", "float", "04_cell", "reasoning")
    def forget_bias(d):
        p = d.pick([0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.99])
        return {"text": f"With zero weights, an LSTM's forget gate is sigmoid(b_ih + b_hh), its two biases added. You "
                        f"set both of its biases to the same value b. Which b makes the forget gate start at f = {p}? "
                        "Give a float, to 3 decimals.", "given": {"f": p}, "decimals": 3}

    @solves("forget_bias")
    def solve_forget_bias(q):
        f = torch.tensor(q["given"]["f"], dtype=torch.float64)
        b = float_(torch.logit(f) / 2)
        with plain_cpu():  # torch's own layer agrees: its forget gate starts at f
            layer = nn.LSTMCell(1, 1, dtype=torch.float64)
            for p in layer.parameters():
                p.zero_()
            layer.bias_ih[1] = layer.bias_hh[1] = b
            layer.bias_ih[0] = float_("inf")  # input gate open, candidate 0: c_1 = f * c_0
            c1 = layer(torch.zeros(1, 1, dtype=torch.float64), (torch.zeros(1, 1, dtype=torch.float64),
                                                                 torch.ones(1, 1, dtype=torch.float64)))[1]
        assert abs(float_(c1) - float_(f)) < 1e-9
        return {"answer": b, "worked": f"sigmoid(2 * b) = {float_(f)}: b = logit({float_(f)}) / 2 = {b:.4f}",
                "mistakes": [(float_(torch.logit(f)), "There are two biases, added: each is half the pre-activation."),
                             (float_(f) / 2, "The bias is a pre-activation: sigmoid(b_ih + b_hh) = f, so invert the "
                                             "sigmoid first.")]}

    @practice("bptt_chunks", "medium", "int", "05_sequences", "reasoning")
    def bptt_chunks(d):
        k, total = d.between(3, 12), d.between(20, 90)
        if total % k == 0 or total < 3 * k:
            return None
        return {"text": f"A sequence of {total} steps is trained with truncated backpropagation: chunks of {k} steps, "
                        "`h, c = h.detach(), c.detach()` between chunks and `loss.backward()` after each chunk. How many "
                        "times does `loss.backward()` run?", "given": {"total": total, "chunk": k}}

    @solves("bptt_chunks")
    def solve_bptt_chunks(q):
        g = q["given"]
        chunks = len_(torch.zeros(g["total"]).split(g["chunk"]))
        return {"answer": chunks, "worked": f"torch.zeros({g['total']}).split({g['chunk']}) gives {chunks} chunks",
                "mistakes": [(g["total"] // g["chunk"], "The last chunk is shorter, but it runs too."),
                             (g["total"], "backward() runs once per chunk, not once per step.")]}

    @practice("forget_survival", "medium", "float", "07_gradients", "reasoning")
    def forget_survival(d):
        f1, f2 = d.pick([0.8, 0.85, 0.9, 0.95, 0.98, 0.99]), d.pick([0.3, 0.4, 0.5, 0.6, 0.7])
        k1, k2 = d.between(5, 30), d.between(1, 4)
        return {"text": f"One LSTM unit's input gate is shut. Its forget gate is f = {f1} for {k1} steps, then "
                        f"f = {f2} for the next {k2}. Along its cell state, what share of the gradient is left after "
                        "all of these steps? Give a float, to 3 decimals.",
                "given": {"f1": f1, "k1": k1, "f2": f2, "k2": k2}, "decimals": 3}

    @solves("forget_survival")
    def solve_forget_survival(q):
        g = q["given"]
        f1, k1, f2, k2 = g["f1"], g["k1"], g["f2"], g["k2"]
        gates = [f1] * k1 + [f2] * k2
        with torch.enable_grad():  # the unit's cell state, step by step, and dc_K/dc_0 by autograd
            cell = nn.LSTMCell(1, 1, dtype=torch.float64)
            with torch.no_grad():
                for p in cell.parameters():
                    p.zero_()
                cell.bias_ih[0] = -float_("inf")  # the input gate: shut
            c0 = torch.ones(1, 1, dtype=torch.float64, requires_grad=True)
            h, c = torch.zeros(1, 1, dtype=torch.float64), c0
            for f in gates:
                with torch.no_grad():
                    cell.bias_ih[1] = torch.logit(torch.tensor(f, dtype=torch.float64))  # the forget gate: f
                h, c = cell(torch.zeros(1, 1, dtype=torch.float64), (h, c))
            left = float_(torch.autograd.grad(c.sum(), c0)[0])
        mean = sum_(gates) / len_(gates)
        return {"answer": left, "worked": f"{f1} ** {k1} * {f2} ** {k2} = {left:.5f}", "mistakes": [
            (f2 ** k2, "Every step multiplies the gradient by its own forget gate: the first steps count too."),
            (f1 ** (k1 + k2), f"The last {k2} steps have their own forget gate."),
            (mean ** len_(gates), "Multiply the gates themselves, one per step: the power of their average is not "
                                  "their product.")]}

    @practice("clip_factor", "easy", "float", "07_gradients", "reasoning")
    def clip_factor(d):
        max_norm, below = d.pick([0.5, 1.0, 2.0, 5.0]), d.below(5) == 0
        norm = d.pick([0.1, 0.2, 0.4]) * max_norm if below else d.pick([3, 4, 8, 12.5, 16, 40]) * max_norm
        return {"text": f"After `loss.backward()`, the gradients of a model's parameters, taken together as one vector, "
                        f"have the norm {norm:g}. Then `nn.utils.clip_grad_norm_(model.parameters(), "
                        f"max_norm={max_norm:g})` runs. By what factor is each gradient multiplied? Give a float, to 3 "
                        "decimals.", "given": {"norm": norm, "max_norm": max_norm}, "decimals": 3}

    @solves("clip_factor")
    def solve_clip_factor(q):
        g = q["given"]
        weight = nn.Parameter(torch.zeros(2, dtype=torch.float64))
        weight.grad = torch.tensor([g["norm"], 0.0], dtype=torch.float64)  # a gradient of that norm
        returned = float_(nn.utils.clip_grad_norm_([weight], max_norm=g["max_norm"]))
        factor = float_(weight.grad[0]) / g["norm"]
        return {"answer": factor, "worked": f"clip_grad_norm_ returned {returned:g}, the norm before clipping; the "
                                            f"gradient became {float_(weight.grad[0]):.4f}",
                "mistakes": [(g["max_norm"] / g["norm"], "clip_grad_norm_ never scales a gradient up: below max_norm "
                                                         "it leaves it alone."),
                             (g["norm"] / g["max_norm"], "The norm is below max_norm: clipping changes nothing then.")]
                if factor == 1.0 else [
                    (g["norm"] / g["max_norm"], "That is the norm divided by max_norm, a factor above 1: clipping "
                                                "scales the gradient down."),
                    (1.0, "The norm is above max_norm, so the gradients are scaled down.")]}

    # --- hard ---------------------------------------------------------------------------------------------

    @practice("layer_from_shapes", "hard", "lstm", "03_states", "reasoning")
    def layer_from_shapes(d):
        h_in, h, layers, steps, batch = d.between(2, 20), d.between(2, 20), d.between(2, 3), d.between(3, 9), \
            d.between(2, 8)
        if len_({h_in, h, steps, batch, 2 * layers}) < 5 or 2 * layers == batch:
            return None
        return {"text": f"A time-major LSTM without projection turns `x` of shape `({steps}, {batch}, {h_in})` into "
                        f"`output` of shape `({steps}, {batch}, {2 * h})` and `h_n` of shape `({2 * layers}, {batch}, "
                        f"{h})`. Build that layer: set the answer to `nn.LSTM(...)`.",
                "given": {"features": h_in, "hidden": h, "layers": layers, "steps": steps, "batch": batch}}

    @solves("layer_from_shapes")
    def solve_layer_from_shapes(q):
        g = q["given"]
        cfg = {"input_size": g["features"], "hidden_size": g["hidden"], "num_layers": g["layers"],
               "bidirectional": True}
        out, h_n = run(cfg, g["steps"], g["batch"])[:2]
        assert out == (g["steps"], g["batch"], 2 * g["hidden"]) and h_n == (2 * g["layers"], g["batch"], g["hidden"])
        return dict_(shapes_of(cfg, g["steps"], g["batch"]), answer=cfg, mistakes=[
            (without(cfg, bidirectional=None, num_layers=2 * g["layers"]),
             "output is twice hidden_size wide: two directions, not twice as many layers."),
            (dict_(cfg, hidden_size=2 * g["hidden"]),
             "output holds both directions side by side: each is h_n's width."),
            (dict_(cfg, num_layers=2 * g["layers"]), "h_n has one row per layer and direction: num_layers * 2.")])

    @practice("weight_hh_projected", "hard", "shape", "04_cell", "recall")
    def weight_hh_projected(d):
        h_in, h = d.between(2, 30), d.between(4, 32)
        p = d.between(1, h - 1)
        if h_in in (h, p) or h == 4 * p:
            return None
        cfg = {"input_size": h_in, "hidden_size": h, "proj_size": p}
        return {"text": f"`lstm = {call(cfg)}`. What is the shape of `lstm.weight_hh_l0`?", "given": {"cfg": cfg}}

    @solves("weight_hh_projected")
    def solve_weight_hh_projected(q):
        cfg = q["given"]["cfg"]
        layer = run(cfg, 2, 1)[3]
        return dict_(shapes_of(cfg, 2, 1), answer=tuple_(layer.weight_hh_l0.shape), mistakes=[
            (tuple_(run(without(cfg, proj_size=None), 2, 1)[3].weight_hh_l0.shape),
             "With proj_size, the recurrent input is the projected h: proj_size features."),
            (tuple_(layer.weight_hr_l0.shape), "That is weight_hr_l0, the projection itself."),
            ((4 * cfg["proj_size"], cfg["proj_size"]), "The gates keep hidden_size units: 4 * hidden_size rows.")])

    PADDING = [("value", "every feature holds the padding value, {v}"),
               ("repeat", "the output at the sequence's last real step, repeated"),
               ("zeros", "zeros, whatever padding_value says"),
               ("run", "the LSTM's outputs on the padding steps")]

    @practice("padding_after_unpack", "hard", "choice", "05_sequences", "reasoning")
    def padding_after_unpack(d):
        n, v, first = d.between(3, 5), d.pick([-1.0, 9.0, -5.0, 2.5]), d.flag()
        lengths = [d.between(1, 8) for _ in range_(n)]
        if len_(set_(lengths)) < 2:
            return None
        text = (f"A packed batch with lengths {lengths} goes through an LSTM, and `padded, _ = pad_packed_sequence(out, "
                f"batch_first={first}, padding_value={v})`. For a sequence b and a step t at or after its length, what "
                "does `padded` hold there?")
        return dict_(choices(d, text, [(key, said.format(v=v)) for key, said in PADDING]),
                     given={"lengths": lengths, "value": v, "batch_first": first})

    @solves("padding_after_unpack")
    def solve_padding_after_unpack(q):
        g = q["given"]
        lengths, first, v = g["lengths"], g["batch_first"], g["value"]
        with plain_cpu():
            torch.manual_seed(0)
            lstm = nn.LSTM(2, 3, batch_first=first)
            x = torch.randn((len_(lengths), max_(lengths), 2) if first else (max_(lengths), len_(lengths), 2))
            out, _ = lstm(pack_padded_sequence(x, lengths, batch_first=first, enforce_sorted=False))
            padded = pad_packed_sequence(out, batch_first=first, padding_value=v)[0]
            full = lstm(x)[0]
            rows = [(b, t) for b, n in enumerate(lengths) for t in range_(n, max_(lengths))]
            at = (lambda t_, b, t: t_[b, t]) if first else (lambda t_, b, t: t_[t, b])
            pads = torch.stack([at(padded, b, t) for b, t in rows])
            holds = {"value": bool(torch.all(pads == v)), "zeros": bool(torch.all(pads == 0)),
                     "repeat": all(bool(torch.equal(at(padded, b, t), at(padded, b, lengths[b] - 1))) for b, t in rows),
                     "run": bool(torch.allclose(pads, torch.stack([at(full, b, t) for b, t in rows])))}
        right = [key for key, _ in q["choices"] if holds[key]]
        hints = {"value": "pad_packed_sequence fills every padding step with padding_value.",
                 "repeat": "Nothing is copied: the padding steps are filled, with padding_value.",
                 "zeros": "padding_value decides what fills the padding; 0 is only its default.",
                 "run": "The LSTM never ran on the padding: a packed sequence stops at its length."}
        ids = [key for key, _ in q["choices"]]
        return {"answer": LETTERS[ids.index(right[0])], "right": len_(right),
                "mistakes": [(LETTERS[k], hints[i]) for k, i in enumerate(ids) if i not in right],
                "worked": f"padded at the padding steps: {sorted_(set_(pads.flatten().tolist()))}"}

    # --- one practice question, and the practice test ----------------------------------------------------

    def solve(q):
        return dict_(q, **SOLVERS[q["template"]](q))

    def practice_question(name, learner, qid, salt):
        """A completed practice question: drawn again while its solution would be unfair."""
        found = {}

        def fair(q):
            found["q"] = solve(q)
            return not api["question_problems"](found["q"])

        api["question"](name, learner, qid, salt, accept=fair)
        return found["q"]

    def start_practice(word):
        if not isinstance_(word, str_) or not word.strip():
            fail("Give any word, between quotes: each word makes a test of its own.")
        state["word"] = word.strip()
        print_(f"Practice test {word.strip()!r}: 10 questions. Answer them all, then run the last cell.")

    def practice_test():
        """{qid: the completed question} of the current practice test."""
        if state["word"] is None:
            fail("Run the cell with your word first: your questions are made from it.")
        chosen = api["draw_set"](POOL, state["word"], state["salt"])
        return {qid: practice_question(name, state["word"], qid, state["salt"]) for qid, name in chosen.items()}

    def show_question(qid):
        from IPython.display import Markdown, display
        q = practice_test()[qid]
        display(Markdown(api["question_markdown"](q)))

    def score(found):
        """(lines, right answers) of the practice test for the answers in `found` ({"answer_q1": ...})."""
        by_level, lines = {}, []
        for qid, q in practice_test().items():
            value = found.get(f"answer_{qid}")
            message = "not answered" if value is None else api["judge_question"](q, value)
            right = message is None
            done = by_level.setdefault(q["difficulty"], [0, 0])
            done[0], done[1] = done[0] + right, done[1] + 1
            lines.append(f"{qid} ({q['difficulty']}): " + ("right" if right else "not answered" if value is None
                                                          else f"wrong: {api['plain_text'](message)}"))
        total = sum_(v[0] for v in by_level.values())
        lines.append("score: " + ", ".join(f"{level} {by_level[level][0]}/{by_level[level][1]}"
                                          for level in api["LEVELS"] if level in by_level)
                     + f"; total {total}/{len_(lines)}")
        return lines, total

    def score_my_test():
        """Score all ten answers of the notebook at once, by difficulty (it names mistakes, never answers)."""
        from IPython import get_ipython
        shell = get_ipython()
        print_("\n".join(score(shell.user_ns if shell is not None else {})[0]))

    api.update({"practice_solvers": SOLVERS, "practice_question": practice_question, "start_practice": start_practice,
                "practice_test": practice_test, "practice_show_question": show_question, "practice_score": score,
                "score_my_test": score_my_test})


_install_practice_pool(_course_answers)
del _install_practice_pool
start_practice, show_question, score_my_test = (_course_answers[k] for k in ("start_practice", "practice_show_question",
                                                                             "score_my_test"))
