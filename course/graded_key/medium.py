# --- medium: the solvers of graded_pool.py's medium templates ----------------------------------------

@solver("output_bidirectional")
def output_bidirectional(q):
    g = q["given"]
    cfg, steps, batch = g["cfg"], g["steps"], g["batch"]
    return {"answer": run(cfg, steps, batch)[0], "mistakes": [
        (run(without(cfg, bidirectional=None), steps, batch)[0],
         "A bidirectional LSTM's output holds both directions: D * hidden_size features."),
        (run(without(cfg, batch_first=None), steps, batch)[0], "With batch_first=True the output is batch-first too."),
        (run(dict(cfg, hidden_size=cfg["input_size"]), steps, batch)[0],
         "output has D * hidden_size features, not input_size.")]}


@solver("h_n_batch_first")
def h_n_batch_first(q):
    g = q["given"]
    cfg, steps, batch = g["cfg"], g["steps"], g["batch"]
    h_n = run(cfg, steps, batch)[1]
    mistakes = [((h_n[1], h_n[0], h_n[2]), "batch_first does not apply to h_n and c_n: their batch axis is always "
                                           "the second.")]
    if cfg.get("bidirectional"):
        mistakes.append((run(without(cfg, bidirectional=None), steps, batch)[1],
                         "h_n has one row per layer and direction: num_layers * D."))
    mistakes.append(((h_n[0], h_n[1], run(without(cfg, bidirectional=True), steps, batch)[0][2]),
                     "h_n keeps the directions apart, each hidden_size wide."))
    return {"answer": h_n, "mistakes": mistakes}


@solver("parameter_count")
def parameter_count(q):
    cfg = q["given"]["cfg"]
    layer = run(cfg, 2, 1)[3]
    total = sum(p.numel() for p in layer.parameters())
    first = sum(p.numel() for n, p in layer.named_parameters() if n.endswith("l0"))
    one_bias = total - sum(p.numel() for n, p in layer.named_parameters() if n.startswith("bias_hh"))
    return {"answer": total, "mistakes": [
        (first, "That is the first layer only: count the second layer too."),
        (one_bias, "There are two bias vectors per layer, bias_ih and bias_hh."),
        (2 * first, "The second layer reads the first layer's output: hidden_size features, not input_size.")]}


@solver("output_vs_h_n")
def output_vs_h_n(q):
    g = q["given"]
    ids = [key for key, _ in q["choices"]]
    equal = api["slices_equal"](g["cfg"], g["steps"], g["batch"], ids, "h_n[-1]")
    hints = {"output[-1]": "With batch_first=True, output[-1] is the last sequence of the batch, not the last step.",
             "output[:, -1]": "Without batch_first, output is (L, N, H): output[:, -1] is the last sequence at every "
                              "step.",
             "output[0]": "That is the first step (or the first sequence), not the last step.",
             "output[:, 0]": "That is the first step (or the first sequence), not the last step."}
    return choice(q, [key for key, same in zip(ids, equal) if same], hints)


@solver("gate_step")
def gate_step(q):
    g = q["given"]
    i, f, cand, o, c = g["i"], g["f"], g["g"], g["o"], g["c"]
    new_c, new_h = unit(i, f, cand, o, c)
    swapped = unit(f, i, cand, o, c)
    return {"answer": (new_c, new_h), "mistakes": [
        (swapped, "You swapped the forget and input gates: f scales the old cell state, i the candidate g."),
        ((new_c, float(torch.tensor(o, dtype=torch.float64) * new_c)),
         "h_t is o * tanh(c_t): the new cell state goes through tanh before the output gate."),
        ((new_c, o_tanh(o, c)), "h_t comes from the new cell state c_t, not from c_(t-1).")]}


@solver("bptt_reach")
def bptt_reach(q):
    g = q["given"]
    total, k, t = g["total"], g["chunk"], g["t"]
    with torch.enable_grad():  # the truncated loop the question describes, and the gradient of step t's output
        torch.manual_seed(0)
        lstm = nn.LSTM(2, 3, dtype=torch.float64)
        x = torch.randn(total, 1, 2, dtype=torch.float64, requires_grad=True)
        h = c = torch.zeros(1, 1, 3, dtype=torch.float64)
        outs = []
        for chunk in x.split(k):
            out, (h, c) = lstm(chunk, (h, c))
            outs.append(out)
            h, c = h.detach(), c.detach()
        torch.cat(outs)[t - 1].sum().backward()
    reach = int((x.grad.abs().sum(dim=(1, 2)) > 0).sum())
    return {"answer": reach, "mistakes": [
        (t, "detach() cuts the graph between chunks: the gradient stops at the first step of step "
            f"{t}'s chunk."),
        (k, f"Only the steps up to step {t} feed its output: count from the start of its chunk to step {t}, not the "
            "whole chunk."),
        (reach + k, "detach() cuts at the start of the chunk that holds the step, not one chunk further back.")]}


@solver("bptt_backward")
def bptt_backward(q):
    g = q["given"]
    loop, k, chunks = g["loop"], g["chunk"], g["chunks"]
    with torch.enable_grad():  # the program of the question, run
        torch.manual_seed(0)
        lstm = nn.LSTM(2, 3)
        x = torch.randn(k * chunks, 1, 2, requires_grad=True)
        h = c = torch.zeros(1, 1, 3)
        seen = None
        try:
            for n, chunk in enumerate(x.split(k)):
                x.grad = None
                lstm.zero_grad()
                out, (h, c) = lstm(chunk, (h, c))
                loss = out.pow(2).mean()
                loss.backward(retain_graph=loop == "retain")
                if loop == "detach":
                    h, c = h.detach(), c.detach()
            earlier = bool(x.grad[:k * (chunks - 1)].abs().sum() > 0)
            weights = any(bool(p.grad.abs().sum() > 0) for p in lstm.parameters())
            seen = "through_all" if earlier else "own_chunk" if weights else "no_weight_grad"
        except RuntimeError:
            seen = "error"
    hints = {"error": "A RuntimeError needs a backward() through a graph that was already freed: check whether this "
                      "loop ever does that.",
             "through_all": "Check what links one chunk's graph to the one before: the state (h, c) carries it only "
                            "when it is not detached.",
             "own_chunk": "The state (h, c) links each chunk's graph to the one before unless it is detached: follow "
                          "it back.",
             "no_weight_grad": "detach() cuts the graph between chunks, never between a loss and the LSTM's weights."}
    return choice(q, [seen], hints)


@solver("head_width")
def head_width(q):
    g = q["given"]
    cfg = {"input_size": g["features"], "hidden_size": g["hidden"], "num_layers": g["layers"], "bidirectional": True}
    if g["proj"]:
        cfg["proj_size"] = g["proj"]

    def widths(cfg):
        with plain_cpu():
            _, (h_n, _) = nn.LSTM(**cfg)(torch.zeros(3, 2, cfg["input_size"]))
        return (torch.cat([h_n[-2], h_n[-1]], dim=1).shape[1], h_n[-1].shape[1],
                h_n.permute(1, 0, 2).reshape(2, -1).shape[1])

    both, one, every = widths(cfg)
    mistakes = [(one, "That is one direction: the head reads both, side by side.")]
    if g["proj"]:
        mistakes.append((widths(without(cfg, proj_size=None))[0],
                         "With proj_size, h is projected: each direction gives proj_size features, not hidden_size."))
    mistakes.append((every, "h_n[-2] and h_n[-1] are the top layer's two rows only, not every layer's."))
    return {"answer": both, "mistakes": mistakes}


@solver("running_sequences")
def running_sequences(q):
    g = q["given"]
    lengths, t = g["lengths"], g["t"]
    packed = pack_padded_sequence(torch.zeros(max(lengths), len(lengths), 1), lengths, enforce_sorted=False)
    return {"answer": int(packed.batch_sizes[t]), "mistakes": [
        (len(lengths), "Packing runs each sequence over its real steps only: the padding after it is skipped."),
        (int((torch.tensor(lengths) >= t).sum()), "A sequence of length L has the steps 0 to L - 1: one of length "
                                                  f"{t} has no step {t}.")]}


@solver("forget_steps")
def forget_steps(q):
    g = q["given"]
    f, share = g["f"], g["share"]

    def left(steps):  # dc_steps/dc_0 of a unit whose forget gate holds at f and whose input gate is shut, by autograd
        with torch.enable_grad():
            layer = nn.LSTM(1, 1, dtype=torch.float64)
            with torch.no_grad():
                for p in layer.parameters():
                    p.zero_()
                layer.bias_ih_l0[0] = -math.inf                                        # the input gate: shut
                layer.bias_ih_l0[1] = torch.logit(torch.tensor(f, dtype=torch.float64))  # the forget gate: f
            c0 = torch.ones(1, 1, 1, dtype=torch.float64, requires_grad=True)
            _, (_, c) = layer(torch.zeros(steps, 1, 1, dtype=torch.float64), (torch.zeros_like(c0), c0))
            return float(torch.autograd.grad(c.sum(), c0)[0])

    one = left(1)  # one step's factor; the unit is the same at every step
    steps = 0
    while one ** steps >= share:
        steps += 1
    assert left(steps) < share <= left(steps - 1)  # torch agrees at the answer and one step before it
    linear = math.ceil((1 - share) / (1 - f))
    dropped = 0
    while (1 - f) ** dropped >= share:
        dropped += 1
    return {"answer": steps, "mistakes": [
        (steps - 1, "One step too few: then what is left is still at least that share. Count until it falls below."),
        (linear, "Each step multiplies the gradient by f; it does not take 1 - f away. What is left falls "
                 "geometrically, as f to the power of the number of steps."),
        (dropped, "f is the share the forget gate keeps, 1 - f the share it drops: multiply by f at every step.")]}


@solver("tagger_logits")
def tagger_logits(q):
    g = q["given"]
    n, steps, longest = g["batch"], g["steps"], g["longest"]
    with plain_cpu():  # the tagger the question describes, run on a batch padded beyond its longest sequence
        torch.manual_seed(0)
        embed = nn.Embedding(7, g["embedding"], padding_idx=0)
        lstm = nn.LSTM(g["embedding"], g["hidden"], batch_first=True, bidirectional=g["bidirectional"])
        head = nn.Linear(g["hidden"] * (2 if g["bidirectional"] else 1), g["tags"])
        lengths = torch.tensor([longest] + [max(1, longest - 1 - k % longest) for k in range(n - 1)])
        ids = torch.randint(1, 7, (n, steps)) * (torch.arange(steps)[None, :] < lengths[:, None])
        packed = pack_padded_sequence(embed(ids), lengths, batch_first=True, enforce_sorted=False)
        out, (h_n, _) = lstm(packed)

        def unpacked(total):
            return pad_packed_sequence(out, batch_first=True, **({"total_length": steps} if total else {}))[0]

        states = unpacked(g["total_length"])
        final = torch.cat([h_n[-2], h_n[-1]], dim=1) if g["bidirectional"] else h_n[-1]
        answer = tuple(head(states).shape)
        other = tuple(head(unpacked(not g["total_length"])).shape)
    return {"answer": answer, "mistakes": [
        (other, f"pad_packed_sequence pads to total_length when it is given, and otherwise only to the longest "
                f"sequence ({longest} steps here), whatever the batch was padded to."),
        (tuple(head(final).shape), "That is one row of logits per sequence, from h_n: a head applied to the unpacked "
                                   "output gives logits at every step."),
        (tuple(states.shape), "That is the LSTM's unpacked output: the head turns its features into one logit per "
                              "tag.")]}
