"""Lesson 05's references: what last_valid and run_in_chunks must compute (see course/probes.py).

`last_valid(output, lengths, batch_first=True)` returns each sequence's row of a padded
`output` at its own last valid step. Its cases are padded outputs, the longest sequence filling
the time axis, in either layout, with the lengths as a list or as a CPU tensor. Only `lengths`
says where a sequence ends: the padding is zeros (pad_packed_sequence's default), one other
value (its padding_value) or any numbers (an LSTM run over the padding, unpacked), and in every
case one sequence's last valid step is exactly zero, as a real step can be.

`run_in_chunks(lstm, x, k, state=None)` runs a batch-first, one-direction LSTM over x (N, L, H_in) in chunks
of k steps (the last one shorter when k does not divide L), carrying (h, c) from chunk to chunk and
detaching it in between, and returns (output, (h_n, c_n)) as one call would. The judge computes the
reference as one pass over the whole sequence. Its `observe` hook backpropagates, in the answer's own
process, the sum of each k-step chunk of the returned output to x, and reports the gradient's norm at each
input step, as plain numbers; the judge then wants, for every chunk, exactly zero before the chunk (the
graph of earlier chunks is cut) and, within it, the norms of a run of that chunk alone from the carried
state, which it computes itself.
"""


def _install_references(api):
    import torch

    randn, randint, rand, zeros, arange, as_tensor, gather = (torch.randn, torch.randint, torch.rand, torch.zeros,
                                                              torch.arange, torch.as_tensor, torch.gather)
    cat, allclose, autograd_grad, tensor_type = torch.cat, torch.allclose, torch.autograd.grad, torch.Tensor
    int_, float_, list_, dict_, bool_, len_, range_, all_, any_, type_, zip_ = (int, float, list, dict, bool, len,
                                                                               range, all, any, type, zip)
    int64 = torch.int64
    references, case_module = api["references"], api["case_module"]

    def draw(gen, low, high):
        return int_(randint(low, high + 1, (1,), generator=gen))

    PADDINGS = ("zeros", "any numbers", "one value")  # case i pads with PADDINGS[i % 3]

    def last_valid_case(gen, i):
        """N 2..6 sequences, padded to the longest (2..8 steps), features 1..12; both layouts, both kinds of
        lengths, three kinds of padding; one sequence's last valid step all zeros."""
        n, steps, width = draw(gen, 2, 6), draw(gen, 2, 8), draw(gen, 1, 12)
        lengths = [draw(gen, 1, steps) for _ in range_(n)]
        lengths[draw(gen, 0, n - 1)] = steps            # pad_packed_sequence pads to the longest
        if all_(length == steps for length in lengths):  # keep a shorter one: output[:, -1] must be wrong somewhere
            lengths[(lengths.index(steps) + 1) % n] = draw(gen, 1, steps - 1)
        valid = (arange(steps)[None, :] < as_tensor(lengths)[:, None])[:, :, None]   # (N, L, 1)
        output = randn(n, steps, width, generator=gen)
        padding = PADDINGS[i % 3]
        fill = zeros(()) if padding == "zeros" else (rand(1, generator=gen) * 4 - 2) if padding == "one value" \
            else randn(n, steps, width, generator=gen)
        output = output.where(valid, fill)
        zeroed = draw(gen, 0, n - 1)                     # a real step can be exactly zero: only lengths tells
        output[zeroed, lengths[zeroed] - 1] = 0.0
        batch_first = i % 2 == 0
        if not batch_first:
            output = output.transpose(0, 1).contiguous()
        as_list = bool_(rand(1, generator=gen) < 0.5)
        return (output, lengths if as_list else as_tensor(lengths, dtype=int64), batch_first)

    def batch_major(output, batch_first):
        return output if batch_first else output.transpose(0, 1)

    def reference(output, lengths, batch_first):
        padded = batch_major(output, batch_first)
        where = (as_tensor(lengths, dtype=int64) - 1).reshape(-1, 1, 1).expand(-1, 1, padded.shape[2])
        return gather(padded, 1, where).squeeze(1)

    def last_column(output, lengths, batch_first):
        return batch_major(output, batch_first)[:, -1]

    def layout_ignored(output, lengths, batch_first):  # read as batch-first whatever batch_first says
        return reference(output, lengths, True)

    def kept_axis(output, lengths, batch_first):
        return reference(output, lengths, batch_first).unsqueeze(1)

    def first_step(output, lengths, batch_first):
        return batch_major(output, batch_first)[:, 0]

    # An error on a time-major case: the batch-first case before it passed, so the layout is what's wrong
    # (with N > L, output[torch.arange(N), ...] on an (L, N, F) output is out of range).
    def layout_error(output, lengths, batch_first):
        return None if batch_first else LAYOUT

    def indexing_error(output, lengths, batch_first):
        return layout_error(output, lengths, batch_first) or (
            "An index is out of range. The last valid step of a sequence of length l is at index l - 1, and "
            "lengths may be a list or a tensor.")

    LAYOUT = ("With batch_first=False, output is (L, N, D*H_out): the time step is the first index, the "
              "sequence the second.")

    references["last_valid"] = {
        "case": last_valid_case,
        "reference": reference,
        "mistakes": [
            ("output[:, -1] is the last padded step: padding for every sequence shorter than the longest. Take "
             "each sequence's own last step, at index lengths[n] - 1.", last_column),
            (LAYOUT, layout_ignored),
            ("It returns (N, 1, D*H_out): pick one time step per sequence, so that the result is (N, D*H_out).",
             kept_axis),
            ("That is each sequence's first step. The last valid step of a sequence of length l is at index l - 1.",
             first_step),
        ],
        "errors": {  # by the arguments of the call that raised it
            "IndexError": indexing_error, "RuntimeError": layout_error,
            "TypeError": ("lengths may come as a list or as a tensor: torch.as_tensor(lengths) handles both."),
        },
        "signature": "last_valid(output, lengths, batch_first=True) returning an (N, D*H_out) tensor",
        "outputs": ("the result",),
        "not_yet": ("These are not each sequence's last valid steps. Try it on the example above, where you "
                    "can compare with h_n."),
    }

    # --- run_in_chunks(lstm, x, k, state=None) -> (output, (h_n, c_n)) ------------------------------------

    def chunks_case(gen, i):
        """A batch-first LSTM (one direction; two layers in some cases), x (N, L, H_in) that requires grad,
        k (L > k; in most cases the last chunk is shorter) and, in odd cases, a starting state (h_0, c_0).
        The visible cases (i < 2) are small: their results are a few dozen numbers."""
        small = i < 2
        inputs, hidden = draw(gen, 1, 2 if small else 3), draw(gen, 2, 2 if small else 4)
        layers = 2 if i % 3 == 2 else 1
        lstm = case_module(gen, "LSTM", input_size=inputs, hidden_size=hidden, num_layers=layers, batch_first=True)
        n, k = draw(gen, 1, 2 if small else 3), draw(gen, 2, 3 if small else 4)
        steps = draw(gen, 2 * k + 1, 2 * k + 2) if small else draw(gen, k + 1, 10)
        if i == 5:  # one case whose chunks are all k long, so that joining them on the wrong axis can be named
            steps = 2 * k
        x = randn(n, steps, inputs, generator=gen).requires_grad_()
        state = None if i % 2 == 0 else (randn(layers, n, hidden, generator=gen) * 0.5,
                                         randn(layers, n, hidden, generator=gen) * 0.5)
        return lstm, x, k, state

    def starts(steps, k):
        return list_(range_(0, steps, k))

    def whole(lstm, x, k, state):  # the reference: one pass over the whole sequence
        return lstm(x, state)

    def fresh_each_chunk(initial):
        def variant(lstm, x, k, state):
            runs = [lstm(x[:, s:s + k], state if initial else None) for s in starts(x.shape[1], k)]
            return cat([out for out, _ in runs], 1), runs[-1][1]
        return variant

    def from_zeros(lstm, x, k, state):
        return lstm(x, None)

    def partial_chunk_dropped(lstm, x, k, state):
        return lstm(x[:, :x.shape[1] - x.shape[1] % k], state)

    def last_chunk_only(lstm, x, k, state):
        output, last = lstm(x, state)
        return output[:, starts(x.shape[1], k)[-1]:], last

    def joined_on_batch(lstm, x, k, state):
        output, last = lstm(x, state)
        return cat(output.split(k, 1), 0), last

    def chunk_norms(answer_output, x, k):
        """Per k-step chunk of an output, the norm at each input step of the gradient of that chunk (summed) with
        respect to x: zeros where none reaches x. It measures; it knows nothing of what is right."""
        rows = []
        for s in starts(x.shape[1], k):
            g = autograd_grad(answer_output[:, s:s + k].sum(), x, retain_graph=True, allow_unused=True)[0]
            rows.append([0.0] * x.shape[1] if g is None else [float_(v) for v in g.norm(dim=(0, 2)).tolist()])
        return rows

    def chunks_observe(answer, lstm, x, k, state):
        """In the answer's process: call it, then report the gradient norms of each chunk of what it returned."""
        result = answer(lstm, x, k, state)
        norms = None
        try:
            output = result[0]
            if type_(output) is tensor_type and output.requires_grad and output.dim() == 3 \
                    and output.shape[1] == x.shape[1]:
                norms = chunk_norms(output, x, k)
        except Exception:  # a result the values check will reject anyway
            norms = None
        return result, {"norms": norms}

    def expected_norms(lstm, x, k, state):
        """Per chunk, the norms a run of that chunk alone has, from the state one pass reaches at its start."""
        rows = []
        for s in starts(x.shape[1], k):
            carried = state
            if s > 0:
                _, (h, c) = lstm(x[:, :s], state)
                carried = (h.detach(), c.detach())
            g = autograd_grad(lstm(x[:, s:s + k], carried)[0].sum(), x)[0]
            rows.append([float_(v) for v in g.norm(dim=(0, 2)).tolist()])
        return rows

    LEAK = ("The gradient of a chunk's output reaches the steps before that chunk, as in one pass over the whole "
            "sequence: the graph keeps growing with every chunk. Run it chunk by chunk, and detach both h and c "
            "before passing them to the next chunk.")
    CUT = ("The output carries no gradient back to its own chunk's inputs as it should: keep each chunk's graph "
           "(no torch.no_grad(), no detach of x or of the output), and detach only the state passed on.")

    def chunks_check(extra, lstm, x, k, state):
        norms, steps = extra.get("norms") if type_(extra) is dict_ else None, x.shape[1]
        if norms is None:
            return CUT
        chunks = starts(steps, k)
        if type_(norms) is not list_ or len_(norms) != len_(chunks) or any_(
                type_(row) is not list_ or len_(row) != steps or not all_(type_(v) is float_ for v in row)
                for row in norms):
            return "The grader could not read the gradients it observed."
        if any_(v != 0.0 for row, s in zip_(norms, chunks) for v in row[:s]):
            return LEAK
        want = expected_norms(lstm, x, k, state)
        for row, right, s in zip_(norms, want, chunks):
            got, expected = as_tensor(row[s:s + k]), as_tensor(right[s:s + k])
            if not bool_(allclose(got, expected, rtol=1e-3, atol=1e-6)) or any_(v != 0.0 for v in row[s + k:]):
                return CUT
        return None

    FRESH = "Each chunk starts again from {}: carry (h, c) from one chunk to the next (detached)."
    references["run_in_chunks"] = {
        "case": chunks_case,
        "reference": whole,
        "grad": True,
        "observe": chunks_observe,
        "extra_check": chunks_check,
        "mistakes": [
            (FRESH.format("zeros"), fresh_each_chunk(False)),
            (FRESH.format("the starting state"), fresh_each_chunk(True)),
            ("It starts from zeros when a starting state is given: the first chunk starts from state.", from_zeros),
            ("The last, shorter chunk is missing: when k does not divide L, the last chunk has L % k steps, and "
             "it counts too.", partial_chunk_dropped),
            ("output holds only the last chunk: join every chunk's output along the time axis, dim 1.",
             last_chunk_only),
            ("The chunks' outputs are joined along the batch axis: join them along time, dim 1 of a batch-first "
             "output.", joined_on_batch),
        ],
        "errors": {
            "RuntimeError": [
                ("Expected hidden", "The carried state did not fit the next chunk: split x along its time axis, "
                                    "dim 1 (x is batch first, (N, L, H_in)), so that every chunk keeps all N "
                                    "sequences."),
                ("Sizes of tensors must match", "Joining the outputs failed: join them along the time axis, dim 1, "
                                                "where the last chunk may be shorter."),
                ("backward through the graph", "Don't call backward() in run_in_chunks: it only runs the LSTM."),
            ],
            "TypeError": [("positional argument", "Keep the signature run_in_chunks(lstm, x, k, state=None): the "
                                                  "check passes all four.")],
        },
        "signature": "run_in_chunks(lstm, x, k, state=None) returning (output, (h_n, c_n))",
        "outputs": ("output", "(h_n, c_n)"),
        "not_yet": ("The result differs from one pass of the LSTM over the whole sequence. Compare yours with "
                    "lstm(x, state) on the example above, chunk by chunk."),
    }


_install_references(_course_answers)
del _install_references
