# --- hard: the solvers of graded_pool.py's hard templates ---------------------------------------------

@solver("h_n_everything")
def h_n_everything(q):
    g = q["given"]
    cfg, steps, batch = g["cfg"], g["steps"], g["batch"]
    h_n = run(cfg, steps, batch)[1]
    return {"answer": h_n, "mistakes": [
        ((h_n[1], h_n[0], h_n[2]), "batch_first does not apply to h_n: its batch axis is the second."),
        (run(without(cfg, bidirectional=None), steps, batch)[1],
         "h_n has one row per layer and direction: num_layers * D."),
        (run(without(cfg, proj_size=None), steps, batch)[1],
         "With proj_size, h is projected: h_n has proj_size features (c_n keeps hidden_size).")]}


@solver("c_n_projection")
def c_n_projection(q):
    g = q["given"]
    cfg, steps, batch = g["cfg"], g["steps"], g["batch"]
    _, h_n, c_n, _ = run(cfg, steps, batch)
    mistakes = [(h_n, "proj_size projects h only: c_n keeps hidden_size features (that is h_n's shape)."),
                ((c_n[1], c_n[0], c_n[2]), "c_n's batch axis is the second: (num_layers * D, N, H_cell).")]
    if cfg.get("bidirectional"):
        mistakes.append((run(without(cfg, bidirectional=None), steps, batch)[2],
                         "c_n has one row per layer and direction: num_layers * D."))
    return {"answer": c_n, "mistakes": mistakes}


@solver("backward_final_state")
def backward_final_state(q):
    g = q["given"]
    ids = [key for key, _ in q["choices"]]
    equal = api["slices_equal"](g["cfg"], g["steps"], g["batch"], [g["slices"][key] for key in ids], "h_n[-1]")
    hints = {"output[last step, backward half]": "The backward direction ends at step 0: its last step is not the last "
                                                 "time step.",
             "output[last step, forward half]": "That is the forward direction's final state, h_n[-2].",
             "output[first step, forward half]": "The backward half of output is its second half: the features from "
                                                 "hidden_size on.",
             "output[first step, backward half]": "The backward direction's final state is where it ends."}
    return choice(q, [key for key, same in zip(ids, equal) if same], hints)


@solver("packed_data")
def packed_data(q):
    g = q["given"]
    cfg, lengths = g["cfg"], g["lengths"]
    n, longest = len(lengths), max(lengths)
    out = run(cfg, longest, n, lengths)[0]
    padded = run(cfg, longest, n)[0]
    return {"answer": out, "mistakes": [
        ((n * longest, out[1]), "Packing keeps only the real steps: sum(lengths) rows, not N * L."),
        (run(dict(cfg, hidden_size=cfg["input_size"]), longest, n, lengths)[0],
         "The LSTM's output has hidden_size features per step, not input_size."),
        (padded, "That is the padded output. A PackedSequence's data is 2-D: every real step, one per row.")]}


@solver("packed_last_state")
def packed_last_state(q):
    g = q["given"]
    cfg, lengths = g["cfg"], g["lengths"]
    first, n = cfg.get("batch_first", False), len(lengths)
    with plain_cpu():
        torch.manual_seed(3)
        lstm = nn.LSTM(**cfg, dtype=torch.float64)
        seqs = [torch.randn(length, cfg["input_size"], dtype=torch.float64) for length in lengths]
        # Each sequence alone, unpadded: its top layer's state after its last real step.
        want = torch.stack([lstm(s.unsqueeze(0) if first else s.unsqueeze(1))[1][0][-1, 0] for s in seqs])
        x = torch.zeros((n, max(lengths), cfg["input_size"]) if first else (max(lengths), n, cfg["input_size"]),
                        dtype=torch.float64)
        for b, s in enumerate(seqs):
            if first:
                x[b, :len(s)] = s
            else:
                x[:len(s), b] = s
        lengths_t = torch.tensor(lengths)
        packed = pack_padded_sequence(x, lengths_t, batch_first=first, enforce_sorted=False)
        out, (h_n, c_n) = lstm(packed)
        padded, _ = pad_packed_sequence(out, batch_first=first)
        scope = {"h_n": h_n, "c_n": c_n, "out": out, "padded": padded, "lengths": lengths_t, "N": n, "torch": torch,
                 "want": want}
        code = shown(q)
        equal = equal_to(scope, [code[key] for key, _ in q["choices"]], "want")
    hints = {"h_n[-1]": "h_n holds each sequence's final state: the top layer's is its last row.",
             "h_n[0]": "h_n[0] is the bottom layer's final state; the top layer's is the last row.",
             "c_n[-1]": "That is the cell state c, not the hidden state h.",
             "padded[last step]": "The last padded step is padding for every sequence shorter than the longest: "
                                  "pad_packed_sequence fills it with zeros.",
             "padded[lengths - 1]": "Each sequence's last real step is at lengths - 1 on the time axis.",
             "padded[other axis]": "Check which axis of padded is time and which is the batch (batch_first).",
             "out.data[-N:]": "The packed data's last rows are the last steps of the longest sequences only: a shorter "
                              "sequence ends earlier in .data."}
    return choice(q, [key for (key, _), same in zip(q["choices"], equal) if same], hints)


@solver("head_states")
def head_states(q):
    g = q["given"]
    cfg, steps, n = g["cfg"], g["steps"], g["batch"]
    layers, width = cfg["num_layers"], cfg.get("proj_size") or cfg["hidden_size"]
    with plain_cpu():
        torch.manual_seed(2)
        lstm = nn.LSTM(**cfg, dtype=torch.float64)
        x = torch.randn((n, steps, cfg["input_size"]) if cfg.get("batch_first") else (steps, n, cfg["input_size"]),
                        dtype=torch.float64)
        output, (h_n, c_n) = lstm(x)
        top = h_n.view(layers, 2, n, width)[-1]  # PyTorch's documented layout: (layers, directions, N, H_out)
        scope = {"output": output, "h_n": h_n, "c_n": c_n, "N": n, "torch": torch,
                 "want": torch.cat([top[0], top[1]], dim=1)}
        code = shown(q)
        equal = equal_to(scope, [code[key] for key, _ in q["choices"]], "want")
    hints = {"cat(h_n[2L-2], h_n[2L-1])": "Those are the top layer's two rows of h_n.",
             "cat(h_n[0], h_n[1])": "h_n[0] and h_n[1] are the bottom layer's two directions; the top layer's rows "
                                    "come last.",
             "cat(h_n[L-1], h_n[2L-1])": "h_n's rows go layer by layer, each layer's forward row before its backward "
                                         "row: the top layer's two rows are the last two.",
             "output[last step]": "At the last step, output's backward half is the backward direction's state after "
                                  "one step, not after the whole sequence.",
             "cat(output[last, :H], output[first, H:])": "The forward direction ends at the last step, the backward "
                                                         "direction at the first.",
             "cat(output[first, :H], output[last, H:])": "The forward direction ends at the last step and the "
                                                         "backward direction at the first: that takes each where it "
                                                         "starts.",
             "h_n.view(N, -1)": "h_n's first axis holds layers and directions, not the batch: view(N, -1) mixes the "
                                "sequences."}
    return choice(q, [key for (key, _), same in zip(q["choices"], equal) if same], hints)


@solver("params_in_words")
def params_in_words(q):
    g = q["given"]
    cfg = {"input_size": g["features"], "hidden_size": g["hidden"], "num_layers": g["layers"], "bidirectional": True,
           "proj_size": g["proj"]}
    with plain_cpu():
        layer = nn.LSTM(**cfg)
        # An upper layer read as if it took one direction of the layer below: its weight_ih half as wide.
        narrow = sum(p.numel() // 2 if n.startswith("weight_ih_l") and not n.startswith("weight_ih_l0") else p.numel()
                     for n, p in layer.named_parameters())
        one_bias = sum(p.numel() for n, p in layer.named_parameters() if not n.startswith("bias_hh"))
    return {"answer": count_parameters(cfg), "mistakes": [
        (count_parameters(without(cfg, proj_size=None)),
         "proj_size changes the weights: weight_hh reads proj_size features, each upper layer reads 2 * proj_size, "
         "and each direction has a weight_hr of its own."),
        (count_parameters(without(cfg, bidirectional=None)), "Both directions have weights of their own: count them "
                                                             "for each."),
        (narrow, "An upper layer reads both directions of the layer below: 2 * proj_size features per step."),
        (one_bias, "Each layer and direction has two bias vectors, bias_ih and bias_hh.")]}


@solver("cell_recurrence")
def cell_recurrence(q):
    g = q["given"]
    f, i, cand, c0, k = g["f"], g["i"], g["g"], g["c0"], g["steps"]
    return {"answer": unit(i, f, cand, 0.5, c0, k)[0], "mistakes": [
        (unit(i, 1.0, cand, 0.5, c0, k)[0], "The forget gate scales the cell state at every step: c_t = f * c_(t-1) "
                                            "+ i * g."),
        (unit(i, f, cand, 0.5, c0, 1)[0], f"That is one step: repeat the update {k} times."),
        (unit(f, i, cand, 0.5, c0, k)[0], "You swapped the gates: f scales the old cell state, i the candidate g.")]}


@solver("gru_unpack")
def gru_unpack(q):
    g = q["given"]
    with plain_cpu():
        torch.manual_seed(4)
        gru = nn.GRU(g["input_size"], g["hidden_size"], num_layers=g["num_layers"], bidirectional=g["bidirectional"])
        x = torch.randn(g["steps"], g["batch"], g["input_size"])
        _, real = gru(x)
        try:  # the line the question shows, run
            output, (h_n, c_n) = gru(x)
        except ValueError:
            right = ["raises"]
        except TypeError:
            right = ["type"]
        else:
            right = ["split"] if torch.equal(h_n, real[0]) and torch.equal(c_n, real[1]) else []
    hints = {"raises": "Unpacking splits h_n along its first axis, whose size is num_layers times the number of "
                       "directions: with exactly two rows there, it succeeds.",
             "split": "The unpacking splits h_n along its first axis, num_layers times the number of directions: "
                      "anything but two rows there fails.",
             "cell": "A GRU has no cell state: it returns (output, h_n), and h_n is one tensor.",
             "type": "A GRU returns a pair, (output, h_n), so the outer unpacking works: it is h_n that is split."}
    return choice(q, right, hints)


@solver("generation_cost")
def generation_cost(q):
    g = q["given"]
    prompt, steps = g["prompt"], g["steps"]

    class Counted(nn.Module):  # a small language model that notes the length of every input it reads
        def __init__(self):
            super().__init__()
            self.embed, self.lstm, self.head = nn.Embedding(5, 3), nn.LSTM(3, 4, batch_first=True), nn.Linear(4, 5)
            self.read = []

        def forward(self, ids, state=None):
            self.read.append(ids.shape[1])
            out, state = self.lstm(self.embed(ids), state)
            return self.head(out), state

    def loop(kind):
        with plain_cpu():
            torch.manual_seed(0)
            model = Counted()
            ids = torch.randint(0, 5, (1, prompt))
            if kind == "carried":
                logits, state = model(ids)
                for _ in range(steps):
                    next_id = logits[:, -1].argmax(-1, keepdim=True)
                    ids = torch.cat([ids, next_id], dim=1)
                    logits, state = model(next_id, state)
            else:
                for _ in range(steps):
                    logits, _ = model(ids)
                    ids = torch.cat([ids, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
        return model.read

    read, other = loop(g["loop"]), loop("rerun" if g["loop"] == "carried" else "carried")
    if g["loop"] == "carried":
        return {"answer": sum(read), "mistakes": [
            (len(read), "That counts the model's calls; the first one reads the whole prompt."),
            (steps, "The prompt is read too, once, by the first call."),
            (sum(other), "With the state carried, each step reads only the id just chosen: nothing is read twice.")]}
    return {"answer": sum(read), "mistakes": [
        (sum(other), "This loop keeps no state: every call reads the whole sequence again, from the start."),
        (len(read) * (prompt + steps), "Each call reads the sequence as it is at that step, one id longer than the "
                                       "call before, not its final length."),
        (steps, "That counts the model's calls; each reads every id so far.")]}
