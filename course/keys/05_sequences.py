"""Lesson 05's key: the cases, the reference and the named mistakes of last_valid.

Never in a notebook a student receives: course/build.py carries this file, compressed, in the hidden tests
that name `last_valid` (course/keys/__init__.py). Its texts are in course/references/05_sequences.py.

`last_valid(output, lengths, batch_first=True)` returns each sequence's row of a padded `output` at its own
last valid step. Its cases are padded outputs, the longest sequence filling the time axis, in either
layout, with the lengths as a list or as a CPU tensor. Only `lengths` says where a sequence ends: the
padding is zeros (pad_packed_sequence's default), one other value (its padding_value) or any numbers (an
LSTM run over the padding, unpacked), and in every case one sequence's last valid step is exactly zero, as
a real step can be.
"""
import torch

api = api  # noqa: F821 - the key's one global: the checks cell's _course_answers
randn, randint, rand, zeros, arange, as_tensor, gather = (torch.randn, torch.randint, torch.rand, torch.zeros,
                                                          torch.arange, torch.as_tensor, torch.gather)
int_, bool_, range_, all_ = int, bool, range, all
int64 = torch.int64
KEY = {}
PADDINGS = ("zeros", "any numbers", "one value")  # case i pads with PADDINGS[i % 3]
SIZES, VISIBLE = (6, 8, 12), (4, 5, 3)  # the most N, L and features of a hidden test's cases, of a visible check's


def draw(gen, low, high):
    return int_(randint(low, high + 1, (1,), generator=gen))


def last_valid_case(gen, i, most=SIZES):
    """N 2..6 sequences, padded to the longest (2..8 steps), features 1..12; both layouts, both kinds of
    lengths, three kinds of padding; one sequence's last valid step all zeros."""
    n, steps, width = draw(gen, 2, most[0]), draw(gen, 2, most[1]), draw(gen, 1, most[2])
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


LAYOUT = ("With batch_first=False, output is (L, N, D*H_out): the time step is the first index, the "
          "sequence the second.")


# An error on a time-major case: the batch-first case before it passed, so the layout is what's wrong
# (with N > L, output[torch.arange(N), ...] on an (L, N, F) output is out of range).
def layout_error(output, lengths, batch_first):
    return None if batch_first else LAYOUT


def indexing_error(output, lengths, batch_first):
    return layout_error(output, lengths, batch_first) or (
        "An index is out of range. The last valid step of a sequence of length l is at index l - 1, and "
        "lengths may be a list or a tensor.")


KEY["last_valid"] = {
    "case": last_valid_case,
    "visible_case": lambda gen, i: last_valid_case(gen, i, VISIBLE),
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
}
