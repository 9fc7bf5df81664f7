"""Lesson 04's key: the cases, references and named mistakes of lstm_gates, lstm_step and run_lstm.

Never in a notebook a student receives: course/build.py carries this file, compressed, in the hidden tests
that name these references (course/keys/__init__.py). Its texts are in course/references/04_cell.py.

Each reference draws its cases (`case(gen, i)`: N 1..8, H_in and H 1..16 with H_in != H), computes the
right result and lists the classic mistakes as (hint, variant) pairs. None of them writes the LSTM's
equations out: every result comes from PyTorch's cell (`torch._VF.lstm_cell`, the function nn.LSTMCell
calls) or layer (`torch._VF.lstm`), called with the gates forced where a single gate is wanted (its rows
zeroed and its bias driven to +-30, so that the gate is 1 or 0). The solutions stay the student's to write.
"""
import torch

api = api  # noqa: F821 - the key's one global: the checks cell's _course_answers

vf_lstm_cell, vf_lstm = torch._VF.lstm_cell, torch._VF.lstm
float32, float64 = torch.float32, torch.float64
randn, rand, randint, zeros, ones, cat = torch.randn, torch.rand, torch.randint, torch.zeros, torch.ones, torch.cat
atanh, sigmoid, tanh, log = torch.atanh, torch.sigmoid, torch.tanh, torch.log
int_, tuple_, range_ = int, tuple, range
KEY = {}
FORCE = 30.0  # sigmoid(30) and tanh(30) are 1 to float64's precision here


SIZES, VISIBLE = (8, 16, 16), (3, 4, 3)  # the most N, H_in and H of a hidden test's cases, of a visible check's


def sizes(gen, most=SIZES):
    """N in 1..8; H_in and H in 1..16, H_in != H, and H_in != 4H (so untransposed weights always fail)."""
    while True:
        n, h_in, h = (int_(randint(1, hi + 1, (1,), generator=gen)) for hi in most)
        if h_in != h and h_in != 4 * h:
            return n, h_in, h


def weights(gen, h_in, h):
    k = 1.0 / h ** 0.5  # PyTorch's own initialisation range: U(-1/sqrt(H), 1/sqrt(H))
    uniform = lambda *shape: (rand(*shape, generator=gen) * 2 - 1) * k
    return uniform(4 * h, h_in), uniform(4 * h, h), uniform(4 * h), uniform(4 * h)


def step_case(gen, i=0, most=SIZES):
    n, h_in, h = sizes(gen, most)
    w_ih, w_hh, b_ih, b_hh = weights(gen, h_in, h)
    return (randn(n, h_in, generator=gen), randn(n, h, generator=gen) * 0.5, randn(n, h, generator=gen),
            w_ih, w_hh, b_ih, b_hh)


def cell(x, h, c, w_ih, w_hh, b_ih, b_hh):
    h_next, c_next = vf_lstm_cell(x, (h, c), w_ih, w_hh, b_ih, b_hh)
    return h_next, c_next


# --- single gates, from the cell itself ---------------------------------------------------------

def forced(w_ih, w_hh, b_ih, b_hh, blocks):
    """Copies of the weights in which each gate of `blocks` ({index: +1 or -1}) is 1 or 0, whatever the input."""
    h = w_hh.shape[1]
    w_ih, w_hh, b_ih, b_hh = (t.clone().to(float64) for t in (w_ih, w_hh, b_ih, b_hh))
    for block, sign in blocks.items():
        rows = slice(block * h, (block + 1) * h)
        w_ih[rows], w_hh[rows], b_ih[rows], b_hh[rows] = 0.0, 0.0, sign * FORCE, 0.0
    return w_ih, w_hh, b_ih, b_hh


I, F, G, O = 0, 1, 2, 3  # PyTorch's row blocks, in PyTorch's order


def gates(x, h, w_ih, w_hh, b_ih, b_hh):
    """(i, f, g, o), each read off one call of PyTorch's cell with the other gates forced."""
    x, h = x.to(float64), h.to(float64)
    n, size = h.shape[0], w_hh.shape[1]
    none, full = zeros(n, size, dtype=float64), ones(n, size, dtype=float64)
    i = cell(x, h, none, *forced(w_ih, w_hh, b_ih, b_hh, {G: 1}))[1]         # c' = i * 1
    g = cell(x, h, none, *forced(w_ih, w_hh, b_ih, b_hh, {I: 1}))[1]         # c' = 1 * g
    f = cell(x, h, full, *forced(w_ih, w_hh, b_ih, b_hh, {I: -1}))[1]        # c' = f * 1 + 0
    o = cell(x, h, none, *forced(w_ih, w_hh, b_ih, b_hh, {I: 1, G: 1}))[0] / tanh(ones(1, dtype=float64))
    return i, f, g, o


def one_bias(which):
    def variant(w_ih, w_hh, b_ih, b_hh):
        return (w_ih, w_hh, b_ih, b_hh * 0) if which == "ih" else (w_ih, w_hh, b_ih * 0, b_hh)
    return variant


def swap_go(*tensors):
    """PyTorch's weights read in CS231n's order (i, f, o, g): the g and o blocks swapped."""
    out = []
    for t in tensors:
        h = t.shape[0] // 4
        out.append(cat((t[:2 * h], t[3 * h:], t[2 * h:3 * h])))
    return out


def as32(*tensors):
    return tuple_(t.to(float32) for t in tensors)


# --- lstm_step(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh) -> (h_next, c_next) -------------

def step_mistakes():
    def order(x, h, c, *w):
        return cell(x, h, c, *swap_go(*w))

    def bias(which):
        return lambda x, h, c, *w: cell(x, h, c, *one_bias(which)(*w))

    def sigmoid_g(x, h, c, *w):
        i, f, g, o = gates(x, h, *w)
        c_next = f * c.to(float64) + i * sigmoid(atanh(g.clamp(-1 + 1e-12, 1 - 1e-12)))
        return as32(o * tanh(c_next), c_next)

    def no_tanh(x, h, c, *w):
        i, f, g, o = gates(x, h, *w)
        c_next = cell(x, h, c, *w)[1].to(float64)
        return as32(o * c_next, c_next)

    def old_c(x, h, c, *w):
        o = gates(x, h, *w)[3]
        return as32(o * tanh(c.to(float64)), cell(x, h, c, *w)[1])

    def swapped(x, h, c, *w):
        h_next, c_next = cell(x, h, c, *w)
        return c_next, h_next

    return [
        ("The gates come out in the wrong order. PyTorch stacks the rows of the weights as i, f, g, o "
         "(not i, f, o, g as some courses do).", order),
        ("Only one of the two biases is used. PyTorch adds both bias_ih and bias_hh to every gate.", bias("ih")),
        ("Only one of the two biases is used. PyTorch adds both bias_ih and bias_hh to every gate.", bias("hh")),
        ("g, the candidate values, goes through tanh, not a sigmoid: it must be able to be negative.", sigmoid_g),
        ("h' is o times tanh of the new cell state: the tanh is missing.", no_tanh),
        ("h' uses the cell state from before this step. Compute c' first, then h' from c'.", old_c),
        ("h' and c' are swapped in what it returns: return (h_next, c_next).", swapped),
    ]


KEY["lstm_step"] = {
    "case": step_case,
    "visible_case": lambda gen, i: step_case(gen, i, VISIBLE),
    "reference": cell,
    "mistakes": step_mistakes(),
}


# --- lstm_gates(x, h, weight_ih, weight_hh, bias_ih, bias_hh) -> (i, f, g, o) -------------------

def gates_case(gen, i=0, most=SIZES):
    x, h, _, *w = step_case(gen, i, most)
    return (x, h, *w)


def gates_reference(x, h, *w):
    return as32(*gates(x, h, *w))


def gates_mistakes():
    def order(x, h, *w):
        i, f, g, o = gates_reference(x, h, *w)
        return i, f, o, g

    def read_as_ifog(x, h, *w):
        return as32(*gates(x, h, *swap_go(*w)))

    def bias(which):
        return lambda x, h, *w: as32(*gates(x, h, *one_bias(which)(*w)))

    def sigmoid_g(x, h, *w):
        i, f, g, o = gates(x, h, *w)
        return as32(i, f, sigmoid(atanh(g.clamp(-1 + 1e-12, 1 - 1e-12))), o)

    def raw(x, h, *w):  # the pre-activations themselves: no sigmoid or tanh at all
        i, f, g, o = gates(x, h, *w)
        logit = lambda p: log(p / (1 - p))
        clamp = lambda p: p.clamp(1e-12, 1 - 1e-12)
        return as32(logit(clamp(i)), logit(clamp(f)), atanh(g.clamp(-1 + 1e-12, 1 - 1e-12)), logit(clamp(o)))

    order_hint = ("The gates come out in the wrong order. PyTorch stacks the rows of the weights as i, f, g, o; "
                  "return them in that order.")
    return [
        (order_hint, order), (order_hint, read_as_ifog),
        ("Only one of the two biases is used. PyTorch adds both bias_ih and bias_hh to every gate.", bias("ih")),
        ("Only one of the two biases is used. PyTorch adds both bias_ih and bias_hh to every gate.", bias("hh")),
        ("g goes through tanh, not a sigmoid: the candidate values must be able to be negative.", sigmoid_g),
        ("These are the gates before their activations: i, f and o go through a sigmoid, g through tanh.", raw),
    ]


KEY["lstm_gates"] = {
    "case": gates_case,
    "visible_case": lambda gen, i: gates_case(gen, i, VISIBLE),
    "reference": gates_reference,
    "mistakes": gates_mistakes(),
}


# --- run_lstm(x, weight_ih, weight_hh, bias_ih, bias_hh) -> (output, (h_n, c_n)) ----------------

def run_case(gen, i=0, most=SIZES):
    n, h_in, h = sizes(gen, most)
    steps = int_(randint(1, 7, (1,), generator=gen))
    return (randn(steps, n, h_in, generator=gen), *weights(gen, h_in, h))


def run_reference(x, w_ih, w_hh, b_ih, b_hh):
    h = w_hh.shape[1]
    start = zeros(1, x.shape[1], h, dtype=x.dtype)
    output, h_n, c_n = vf_lstm(x, (start, start), [w_ih, w_hh, b_ih, b_hh], True, 1, 0.0, False, False, False)
    return output, (h_n, c_n)


def run_mistakes():
    def order(x, *w):
        return run_reference(x, *swap_go(*w))

    def bias(which):
        return lambda x, *w: run_reference(x, *one_bias(which)(*w))

    def states_2d(x, *w):
        output, (h_n, c_n) = run_reference(x, *w)
        return output, (h_n[0], c_n[0])

    def reset_each_step(x, *w):  # each step started again from zeros: no memory at all
        outputs = [run_reference(x[t:t + 1], *w)[0] for t in range_(x.shape[0])]
        output = cat(outputs)
        last = run_reference(x[-1:], *w)[1]
        return output, last

    return [
        ("The gates come out in the wrong order. PyTorch stacks the rows of the weights as i, f, g, o.", order),
        ("Only one of the two biases is used. PyTorch adds both bias_ih and bias_hh to every gate.", bias("ih")),
        ("Only one of the two biases is used. PyTorch adds both bias_ih and bias_hh to every gate.", bias("hh")),
        ("Each step starts again from zero states: pass h and c from one step to the next.", reset_each_step),
    ]


KEY["run_lstm"] = {
    "case": run_case,
    "visible_case": lambda gen, i: run_case(gen, i, VISIBLE),
    "reference": run_reference,
    "mistakes": run_mistakes(),
}
