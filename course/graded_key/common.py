"""The course test's key, first part: what every solver uses (see course/graded_key/__init__.py).

A solver takes a question rendered by course/graded_pool.py (its `given` numbers and, for
multiple choice, its shuffled `choices`) and returns its answer and named mistakes. Every answer
is what torch computes for the question's situation: a layer built and run, a gradient
backpropagated, a packed batch unpacked; every named mistake is the same computation with the
mistake made (a setting forgotten, two gates swapped, tanh left out). A multiple-choice solver
runs every option and says which ones give what the question asks (`right`, which must be 1).
"""
import itertools
import math

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

LETTERS = "ABCD"
SOLVERS = {}
api = api  # noqa: F821 - the key's one global: the checks cell's _course_answers
plain_cpu, run, count_parameters, equal_to, without = (
    api[k] for k in ("plain_cpu", "run", "count_parameters", "equal_to", "without"))


def solver(name):
    def register(solve):
        SOLVERS[name] = solve
        return solve
    return register


def solve(q):
    """q completed: its answer, its named mistakes [(wrong answer, hint), ...] and, for multiple choice, `right`."""
    return dict(q, **SOLVERS[q["template"]](q))


def choice(q, right, hints):
    """A multiple-choice solution: `right` lists the option ids torch found right; hints: {option id: hint}."""
    ids = [c[0] for c in q["choices"]]
    answer = LETTERS[ids.index(right[0])] if right else None
    mistakes = [(LETTERS[k], hints[i]) for k, i in enumerate(ids) if i not in right]
    return {"answer": answer, "mistakes": mistakes, "right": len(right)}


def shown(q):
    """{option id: the code it shows, without its backticks}."""
    return {c[0]: c[1].strip("`") for c in q["choices"]}


def unit(i, f, g, o, c, steps=1):
    """(c, h) of one LSTM unit after `steps` steps from the cell state c, its gates i, f, g, o at every step:
    PyTorch's own nn.LSTM (float64) with zero weights and the biases that make those gates."""
    with plain_cpu():
        layer = nn.LSTM(1, 1, dtype=torch.float64)
        for p in layer.parameters():
            p.zero_()
        gates = torch.tensor([i, f, g, o], dtype=torch.float64)
        layer.bias_ih_l0.copy_(torch.cat([torch.logit(gates[:2]), torch.atanh(gates[2:3]), torch.logit(gates[3:])]))
        state = (torch.zeros(1, 1, 1, dtype=torch.float64), torch.full((1, 1, 1), float(c), dtype=torch.float64))
        _, (h, c_n) = layer(torch.zeros(steps, 1, 1, dtype=torch.float64), state)
    return float(c_n), float(h)


def o_tanh(o, c):
    """o * tanh(c), the hidden state's rule, by torch (for the mistakes that feed it the wrong c)."""
    return float(torch.tensor(o, dtype=torch.float64) * torch.tanh(torch.tensor(c, dtype=torch.float64)))
