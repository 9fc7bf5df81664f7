"""Lesson 02's key: the cases, the reference and the named mistakes of to_time_major.

Never in a notebook a student receives: course/build.py carries this file, compressed, in the hidden tests
that name `to_time_major` (course/keys/__init__.py). Its texts are in course/references/02_shapes.py.

`to_time_major(x)` turns a batch-first batch (N, L, H_in) into the time-major tensor (L, N, H_in) that
holds the same sequences: row t of the result is step t of every sequence. Its cases are tensors of
random numbers with N, L and H_in all different, so that every classic wrong turn (a reshape or a view,
which keeps the memory order and cuts it into new pieces; `.T`, which reverses every axis; swapping the
wrong pair of axes) gives a different result, or a different shape.
"""
import torch

api = api  # noqa: F821 - the key's one global: the checks cell's _course_answers
randn, randint = torch.randn, torch.randint
int_ = int
KEY = {}


def draw(gen, low, high):
    return int_(randint(low, high + 1, (1,), generator=gen))


def layout_case(gen, i):
    """A batch-first x with N >= 2 (one sequence is its own transpose) and N, L and H_in all different;
    the visible cases (i < 2) are small."""
    top = 3 if i < 2 else 6
    while True:
        n, steps, features = draw(gen, 2, top), draw(gen, 2, top + 1), draw(gen, 1, top)
        if len({n, steps, features}) == 3:
            return (randn(n, steps, features, generator=gen),)


def swapped(x):
    return x.transpose(0, 1).clone()


def reshaped(x):
    return x.reshape(x.shape[1], x.shape[0], x.shape[2]).clone()


def all_reversed(x):
    return x.permute(2, 1, 0).clone()


def last_two(x):
    return x.transpose(1, 2).clone()


def rolled(x):
    return x.permute(1, 2, 0).clone()


MIXED = ("A reshape (or a view) to (L, N, H_in) keeps the numbers in their memory order and only cuts them "
         "into new pieces, so a row mixes steps of different sequences. Swap the two axes instead.")
KEY["to_time_major"] = {
    "case": layout_case,
    "reference": swapped,
    "mistakes": [
        (MIXED, reshaped),
        ("x.T (or permute(2, 1, 0)) reverses all three axes: the features must stay the last axis.",
         all_reversed),
        ("That swaps the last two axes (steps and features). Time-major means the first two are swapped.",
         last_two),
        ("The axes are rolled round: the features must stay last, with time first and the batch second.",
         rolled),
    ],
}
