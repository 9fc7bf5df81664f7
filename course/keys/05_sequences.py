"""Lesson 05's key: the cases, the references and the named mistakes of last_valid and run_in_chunks.

Never in a notebook a student receives: course/build.py carries this file, compressed, in the hidden tests
that name `last_valid` or `run_in_chunks`
(course/keys/__init__.py). Its texts are in course/references/05_sequences.py.

`last_valid(output, lengths, batch_first=True)` returns each sequence's row of a padded `output` at its own
last valid step. Its cases are padded outputs, the longest sequence filling the time axis, in either
layout, with the lengths as a list or as a CPU tensor. Only `lengths` says where a sequence ends: the
padding is zeros (pad_packed_sequence's default), one other value (its padding_value) or any numbers (an
LSTM run over the padding, unpacked), and in every case one sequence's last valid step is exactly zero, as
a real step can be.

`run_in_chunks(lstm, x, k, state=None)` runs a batch-first, one-direction LSTM over x (N, L, H_in) in chunks
of k steps (the last one shorter when k does not divide L), carrying (h, c) from chunk to chunk and
detaching it in between, and returns (output, (h_n, c_n)) as one call would. The judge computes the
reference as one pass over the whole sequence; the public `observe` hook and `extra_check` (in
course/references/05_sequences.py) judge the gradients.
"""
import torch

api = api  # noqa: F821 - the key's one global: the checks cell's _course_answers
randn, randint, rand, zeros, arange, as_tensor, gather = (torch.randn, torch.randint, torch.rand, torch.zeros,
                                                          torch.arange, torch.as_tensor, torch.gather)
cat = torch.cat
int_, bool_, range_, all_, list_ = int, bool, range, all, list
case_module = api["case_module"]
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


FRESH = "Each chunk starts again from {}: carry (h, c) from one chunk to the next (detached)."
KEY["run_in_chunks"] = {
    "case": chunks_case,
    # the visible check's first case has a starting state: there, starting each chunk from zeros and starting
    # each from the state are told apart (with no state they do the same, and the first would be named)
    "visible_case": lambda gen, i: chunks_case(gen, 1 - i),
    "reference": whole,
    "grad": True,
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
}
