# --- easy: the solvers of graded_pool.py's easy templates ----------------------------------------------

@solver("constructor")
def constructor(q):
    g = q["given"]
    cfg = {"input_size": g["features"], "hidden_size": g["hidden"], "batch_first": g["batch_first"]}
    return {"answer": cfg, "mistakes": [
        (dict(cfg, input_size=cfg["hidden_size"], hidden_size=cfg["input_size"]),
         "You swapped input_size and hidden_size: the features per step come first."),
        (dict(cfg, batch_first=not cfg["batch_first"]),
         "Check batch_first: it says whether the batch axis comes first in the input.")]}


@solver("h_n_layers")
def h_n_layers(q):
    g = q["given"]
    cfg, steps, batch = g["cfg"], g["steps"], g["batch"]
    h_n = run(cfg, steps, batch)[1]
    return {"answer": h_n, "mistakes": [
        ((h_n[1], h_n[0], h_n[2]), "h_n's batch axis is the second: (num_layers * D, N, H_out)."),
        (run(without(cfg, num_layers=None), steps, batch)[1], "h_n has one row per layer: count num_layers."),
        (run(dict(cfg, hidden_size=cfg["input_size"]), steps, batch)[1],
         "h_n has hidden_size features, not input_size.")]}


@solver("weight_shape")
def weight_shape(q):
    g = q["given"]
    layer, which = run(g["cfg"], 2, 1)[3], g["weight"]
    other = "weight_hh_l0" if which == "weight_ih_l0" else "weight_ih_l0"
    shape = tuple(getattr(layer, which).shape)
    return {"answer": shape, "mistakes": [
        (tuple(getattr(layer, which)[:g["cfg"]["hidden_size"]].shape),
         "The four gates' weights are stacked: 4 * hidden_size rows."),
        (tuple(getattr(layer, which).T.shape), "PyTorch stores (out_features, in_features): 4 * hidden_size rows."),
        (tuple(getattr(layer, other).shape), f"That is {other}'s shape: which input does {which} multiply?")]}


@solver("input_shape")
def input_shape(q):
    g = q["given"]
    cfg, steps, batch = g["cfg"], g["steps"], g["batch"]
    first = cfg.get("batch_first", False)
    shape = (batch, steps, cfg["input_size"]) if first else (steps, batch, cfg["input_size"])
    with plain_cpu():
        output, _ = nn.LSTM(**cfg)(torch.zeros(shape))  # torch reads it: one output per sequence and step
    assert output.shape[:2] == shape[:2]
    return {"answer": shape, "mistakes": [
        ((shape[1], shape[0], shape[2]), "Check batch_first: it says whether the batch axis comes first."),
        ((shape[0], shape[1], cfg["hidden_size"]), "The input has input_size features per step; hidden_size is the "
                                                   "output's."),
        ((batch, cfg["input_size"]) if first else (steps, cfg["input_size"]),
         "A batch of sequences is 3-D: steps, batch and features.")]}


@solver("cell_update")
def cell_update(q):
    g = q["given"]
    i, f, cand, c = g["i"], g["f"], g["g"], g["c"]
    new = unit(i, f, cand, 0.5, c)[0]
    return {"answer": new, "mistakes": [
        (unit(f, i, cand, 0.5, c)[0], "You swapped the gates: the forget gate f scales the old cell state, the input "
                                      "gate i scales the candidate g."),
        (unit(i, 1.0, cand, 0.5, c)[0], "The old cell state passes through the forget gate: multiply it by f."),
        (unit(i, 0.0, cand, 0.5, c)[0], "The new cell state keeps part of the old one: add f * c_(t-1)."),
        (unit(0.0, f, cand, 0.5, c)[0], "Add what the input gate lets in: i * g.")]}


@solver("gate_extremes")
def gate_extremes(q):
    g = q["given"]
    pinned, steps = g["pinned"], g["steps"]
    inf = math.inf
    bias = {"keep": (-inf, inf), "replace": (inf, -inf), "reset": (-inf, -inf)}  # (i, f) pre-activations
    with plain_cpu():
        torch.manual_seed(5)
        cell = nn.LSTMCell(3, 1, dtype=torch.float64)  # rows i, f, g, o
        if pinned in bias:
            for row, value in zip((0, 1), bias[pinned]):
                cell.weight_ih[row].zero_()
                cell.weight_hh[row].zero_()
                cell.bias_ih[row], cell.bias_hh[row] = value, 0.0
            cell.bias_ih[3], cell.bias_hh[3] = torch.logit(torch.tensor(g["o"], dtype=torch.float64)), 0.0
            cell.weight_ih[3].zero_()
            cell.weight_hh[3].zero_()
        else:  # the output gate shut
            cell.weight_ih[3].zero_()
            cell.weight_hh[3].zero_()
            cell.bias_ih[3], cell.bias_hh[3] = -inf, 0.0
        candidate = nn.LSTMCell(3, 1, dtype=torch.float64)  # the same cell, forced to write g_t whole: its c_t is g_t
        candidate.load_state_dict(cell.state_dict())
        candidate.weight_ih[:2].zero_()
        candidate.weight_hh[:2].zero_()
        candidate.bias_ih[:2] = torch.tensor([inf, -inf])
        candidate.bias_hh[:2] = 0.0
        x = torch.randn(steps, 1, 3, dtype=torch.float64)
        h, c = torch.zeros(1, 1, dtype=torch.float64), torch.full((1, 1), g["c0"], dtype=torch.float64)
        c0, cs, hs, gs = c, [], [], []
        for t in range(steps):
            gs.append(candidate(x[t], (h, c))[1])
            h, c = cell(x[t], (h, c))
            cs.append(c)
            hs.append(h)
    cs, hs, gs = torch.stack(cs), torch.stack(hs), torch.stack(gs)
    holds = {"c_constant": bool(torch.allclose(cs, c0.expand_as(cs))),
             "c_is_g": bool(torch.allclose(cs, gs)),
             "c_zero": bool(torch.allclose(cs, torch.zeros_like(cs))),
             "h_zero": bool(torch.allclose(hs, torch.zeros_like(hs))) and not bool(torch.allclose(cs, cs[:1]))}
    hints = {"c_constant": "c_t = f * c_(t-1) + i * g_t: the cell state stays put only when f keeps all of it and i "
                           "lets nothing in.",
             "c_is_g": "c_t = f * c_(t-1) + i * g_t: it equals g_t only when f drops all of c_(t-1) and i lets all of "
                       "g_t in.",
             "c_zero": "c_t = f * c_(t-1) + i * g_t: it is 0 only when both f and i are 0.",
             "h_zero": "h_t = o * tanh(c_t): h is 0 at every step only when the output gate is shut, and then c still "
                       "moves only if f or i let it."}
    return choice(q, [key for key, _ in q["choices"] if holds[key]], hints)


@solver("gate_rows")
def gate_rows(q):
    g = q["given"]
    h = g["cfg"]["hidden_size"]
    with plain_cpu():  # which order of the four row blocks reproduces the layer's own step
        torch.manual_seed(0)
        layer = nn.LSTM(**g["cfg"], dtype=torch.float64)
        x = torch.randn(1, 2, g["cfg"]["input_size"], dtype=torch.float64)
        h0, c0 = torch.randn(1, 2, h, dtype=torch.float64), torch.randn(1, 2, h, dtype=torch.float64)
        _, (h1, c1) = layer(x, (h0, c0))
        pre = x[0] @ layer.weight_ih_l0.T + layer.bias_ih_l0 + h0[0] @ layer.weight_hh_l0.T + layer.bias_hh_l0
        orders = []
        for order in itertools.permutations("ifgo"):
            z = dict(zip(order, pre.chunk(4, dim=1)))
            c = torch.sigmoid(z["f"]) * c0[0] + torch.sigmoid(z["i"]) * torch.tanh(z["g"])
            if torch.allclose(c, c1[0]) and torch.allclose(torch.sigmoid(z["o"]) * torch.tanh(c), h1[0]):
                orders.append(order)
    assert len(orders) == 1, orders
    right = f"rows {orders[0].index(g['gate'])}"  # the block of the asked gate, in the order torch confirmed
    hint = "That block holds another gate's weights: recall the order in which nn.LSTM stacks its four gates."
    return choice(q, [right], {key: hint for key, _ in q["choices"]})
