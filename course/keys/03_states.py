"""Lesson 03's key: the cases, the reference and the named mistakes of top_layer_states.

Never in a notebook a student receives: course/build.py carries this file, compressed, in the hidden tests
that name `top_layer_states` (course/keys/__init__.py). Its texts are in course/references/03_states.py.

`top_layer_states(h_n, num_layers)` takes the final hidden states of an LSTM with `num_layers` layers and
one direction or two (D = h_n.shape[0] // num_layers) and returns the top layer's, one row per sequence,
the forward direction's features first: an (N, D * H) tensor, what a classifier's head reads. The judge
makes h_n itself, random numbers of the shape (D * num_layers, N, H), with N, H and the number of rows all
different, so that a flatten that mixes samples (`h_n.view(N, -1)`), one row alone (`h_n[-1]`), the two
top rows reshaped without putting the batch first, the bottom layer, the directions swapped and the other
classic heads each give a different result (or shape), and can be named.
"""
import torch

api = api  # noqa: F821 - the key's one global: the checks cell's _course_answers
randn, randint, cat = torch.randn, torch.randint, torch.cat
int_, len_, range_ = int, len, range
KEY = {}


def draw(gen, low, high):
    return int_(randint(low, high + 1, (1,), generator=gen))


# (num_layers, D) of each case: the visible check's two are a stacked bidirectional LSTM and a stacked
# one-direction one, so that both h_n[-1] alone and two rows always fail it.
SHAPES = ((2, 2), (2, 1), (3, 2), (1, 2), (3, 1), (2, 2))


def states_case(gen, i):
    """h_n of shape (D * num_layers, N, H); N, H and the row count all different. Visible cases are small."""
    layers, d = SHAPES[i % len_(SHAPES)]
    rows = layers * d
    while True:
        n, h = (draw(gen, 2, 4), draw(gen, 2, 4)) if i < 2 else (draw(gen, 2, 5), draw(gen, 2, 5))
        if len_({n, h, rows}) == 3:
            return randn(rows, n, h, generator=gen), layers


def split(h_n, num_layers):
    """h_n by (layer, direction): rows are ordered layer by layer, forward before backward."""
    d = h_n.shape[0] // num_layers
    return h_n.reshape(num_layers, d, h_n.shape[1], h_n.shape[2])


def side_by_side(states):
    """(D, N, H) -> (N, D * H): each sequence's D states one after the other."""
    return cat([states[k] for k in range_(states.shape[0])], 1)


def top(h_n, num_layers):
    return side_by_side(split(h_n, num_layers)[num_layers - 1])


def flattened(h_n, num_layers):
    return h_n.reshape(h_n.shape[1], -1).clone()


def last_row(h_n, num_layers):
    return h_n[-1].clone()


def unpermuted(h_n, num_layers):
    top_rows = split(h_n, num_layers)[num_layers - 1]
    return top_rows.reshape(h_n.shape[1], -1).clone()


def bottom(h_n, num_layers):
    return side_by_side(split(h_n, num_layers)[0])


def two_rows(h_n, num_layers):  # right for two directions; with one, the top two layers
    return cat((h_n[-2], h_n[-1]), 1)


def reversed_directions(h_n, num_layers):
    rows = split(h_n, num_layers)[num_layers - 1]
    return side_by_side(rows.flip(0))


def every_layer(h_n, num_layers):
    return side_by_side(h_n)


def stacked(h_n, num_layers):
    return split(h_n, num_layers)[num_layers - 1].reshape(-1, h_n.shape[2]).clone()


def direction_major(h_n, num_layers):  # rows read as (D, num_layers): every forward layer, then every backward
    d = h_n.shape[0] // num_layers
    by_direction = h_n.reshape(d, num_layers, h_n.shape[1], h_n.shape[2])
    return side_by_side(by_direction[:, num_layers - 1])


KEY["top_layer_states"] = {
    "case": states_case,
    "reference": top,
    "mistakes": [
        ("h_n.view(N, -1) mixes samples: h_n is (D * num_layers, N, H), so the batch is not its first axis, "
         "and a row of the flattened tensor takes numbers from several sequences (and every layer).",
         flattened),
        ("h_n[-1] is one row: the top layer's last direction only. With two directions the top layer has two "
         "rows, h_n[-2] (forward) and h_n[-1] (backward); join them side by side.", last_row),
        ("The top layer's rows, h_n.view(num_layers, D, N, H)[-1], are (D, N, H): the batch is still their "
         "middle axis. Reshaped as they are, each row mixes sequences: put N first (permute(1, 0, 2)), then "
         "reshape to (N, D * H).", unpermuted),
        ("Those are the bottom layer's states: layer 0. The top layer is the last one, index num_layers - 1 "
         "(or -1) of h_n.view(num_layers, D, N, H).", bottom),
        ("That joins h_n[-2] and h_n[-1], two rows, but with one direction the top layer has one row: those "
         "are two layers. Read D from h_n: D = h_n.shape[0] // num_layers.", two_rows),
        ("The two directions are the other way round: the forward state comes first, then the backward one.",
         reversed_directions),
        ("That is every layer's states, side by side. The head reads the top layer's only.", every_layer),
        ("The directions are stacked as extra rows: (D * N, H). Each sequence needs one row with both "
         "directions side by side: (N, D * H).", stacked),
        ("h_n's rows go layer by layer, and within a layer forward then backward: "
         "h_n.view(num_layers, D, N, H), not view(D, num_layers, N, H).", direction_major),
    ],
}
