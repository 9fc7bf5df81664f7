"""Lesson 05's references, the part every notebook may carry: what last_valid and run_in_chunks are, the texts
their checks print, and run_in_chunks's `observe` hook with the check of what it saw (it measures gradients and
knows nothing of the right output). Their key (cases, references, named mistakes) is course/keys/05_sequences.py,
which only the hidden tests carry (docs/architecture.md, "Writing a reference").

`run_in_chunks(lstm, x, k, state=None)`: its `observe` hook backpropagates, in the answer's own process, the
sum of each k-step chunk of the returned output to x, and reports the gradient's norm at each input step, as
plain numbers; `extra_check` then wants, for every chunk, exactly zero before the chunk (the graph of earlier
chunks is cut) and, within it, the norms of a run of that chunk alone from the carried state, which it
computes itself.
"""


def _install_references(api):
    import torch

    as_tensor, allclose, autograd_grad, tensor_type = torch.as_tensor, torch.allclose, torch.autograd.grad, torch.Tensor
    float_, list_, dict_, bool_, len_, range_, all_, any_, type_, zip_ = (float, list, dict, bool, len, range, all,
                                                                         any, type, zip)
    references = api["references"]

    references["last_valid"] = {
        "signature": "last_valid(output, lengths, batch_first=True) returning an (N, D*H_out) tensor",
        "outputs": ("the result",),
        "not_yet": ("These are not each sequence's last valid steps. Try it on the example above, where you "
                    "can compare with h_n."),
    }

    # --- run_in_chunks(lstm, x, k, state=None) -> (output, (h_n, c_n)) ------------------------------------

    def starts(steps, k):
        return list_(range_(0, steps, k))

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

    references["run_in_chunks"] = {
        "observe": chunks_observe,
        "extra_check": chunks_check,
        "signature": "run_in_chunks(lstm, x, k, state=None) returning (output, (h_n, c_n))",
        "outputs": ("output", "(h_n, c_n)"),
        "not_yet": ("The result differs from one pass of the LSTM over the whole sequence. Compare yours with "
                    "lstm(x, state) on the example above, chunk by chunk."),
    }


_install_references(_course_answers)
del _install_references
