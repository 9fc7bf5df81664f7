"""Lesson 05's reference: what last_valid must compute (see course/probes.py).

`last_valid(output, lengths, batch_first=True)` returns each sequence's row of a padded
`output` at its own last valid step. Its cases are padded outputs, the longest sequence filling
the time axis, in either layout, with the lengths as a list or as a CPU tensor. Only `lengths`
says where a sequence ends: the padding is zeros (pad_packed_sequence's default), one other
value (its padding_value) or any numbers (an LSTM run over the padding, unpacked), and in every
case one sequence's last valid step is exactly zero, as a real step can be.
"""


def _install_references(api):
    import torch

    randn, randint, rand, zeros, arange, as_tensor, gather = (torch.randn, torch.randint, torch.rand, torch.zeros,
                                                              torch.arange, torch.as_tensor, torch.gather)
    int_, list_, bool_, len_, range_, all_ = int, list, bool, len, range, all
    int64 = torch.int64
    references = api["references"]

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


_install_references(_course_answers)
del _install_references
