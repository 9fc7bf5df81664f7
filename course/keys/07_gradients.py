"""Lesson 07's key: the cases, references and named mistakes of grad_norms and set_forget_bias.

Never in a notebook a student receives: course/build.py carries this file, compressed, in the hidden tests
that name these references (course/keys/__init__.py). Their texts, and set_forget_bias's visible_state, are
in course/references/07_gradients.py.

`grad_norms(model, x)` returns, for each step t, the norm over the batch and the features of the
gradient of the sum of the top layer's output at the last step with respect to the input at step t.
Its cases are unidirectional nn.RNN, nn.GRU and nn.LSTM layers (one or two layers, dropout 0,
batch_first or not) and inputs of 1 to 4 sequences of 3 to 8 steps, drawn at checking time; the
curves are compared in log10, so a curve of zeros can't pass. The reference asks autograd for the
gradient with respect to a fresh leaf copy of the input, and never touches the model's .grad.

`set_forget_bias(lstm, value)` makes the forget gate's total bias, bias_ih + bias_hh over rows H to
2H, equal to `value` in every layer and direction of any nn.LSTM (bidirectional, with proj_size),
in place, and raises ValueError when the LSTM has no biases. Any split of `value` between the two
biases is right (`report_check` judges the tensors the answer left); every other entry must stay
as it was.

Each named mistake is a variant computed on the same case, so a failed check can name it.
"""
import torch


api = api  # noqa: F821 - the key's one global: the checks cell's _course_answers

randn, randint, rand, zeros_like, full_like, ones = (torch.randn, torch.randint, torch.rand, torch.zeros_like,
                                                     torch.full_like, torch.ones)
autograd_grad, equal, allclose, bool_t = torch.autograd.grad, torch.equal, torch.allclose, torch.bool
no_grad = torch.no_grad
int_, float_, len_, all_, sorted_, isinstance_, tuple_ = int, float, len, all, sorted, isinstance, tuple
case_module, log10_close = api["case_module"], api["log10_close"]
KEY = {}


def draw(gen, low, high):
    return int_(randint(low, high + 1, (1,), generator=gen))


# --- grad_norms(model, x) -> (L,) -------------------------------------------------------------------

def norms_case(gen, i):
    """All three kinds in turn; batch_first every other case; one or two layers; N 1-4, L 3-8."""
    kind = ("RNN", "GRU", "LSTM")[i % 3]
    batch_first = i % 2 == 1
    layers = 1 + ((i + 1) // 3) % 2
    n, steps, inputs = draw(gen, 1, 4), draw(gen, 3, 8), draw(gen, 1, 3)
    model = case_module(gen, kind, input_size=inputs, hidden_size=draw(gen, 2, 5), num_layers=layers,
                        batch_first=batch_first)
    x = randn(*((n, steps, inputs) if batch_first else (steps, n, inputs)), generator=gen)
    return model, x


def time_axis(model, batch_first=None):
    return 1 if (model.batch_first if batch_first is None else batch_first) else 0


def last_step(out, axis):
    return out[:, -1] if axis == 1 else out[-1]


def per_step(g, axis):
    return g.norm(dim=(0, 2)) if axis == 1 else g.norm(dim=(1, 2))


def curve(model, x, batch_first=None, loss="last", norm=per_step, backward=False):
    """The curve as the reference computes it, or as one classic mistake does (the keywords)."""
    axis = time_axis(model, batch_first)
    x = x.detach().requires_grad_()
    out, state = model(x)
    if loss == "every step":
        target = out.sum()
    elif loss == "c_n":
        if not isinstance_(state, tuple_):
            raise ValueError("only an LSTM has a cell state")
        target = state[1][-1].sum()  # an LSTM's cell state, not its output
    else:
        target = last_step(out, axis).sum()
    if loss == "output":  # the gradient with respect to the output itself, step by step
        g, = autograd_grad(target, out)
    elif backward:
        target.backward()
        g = x.grad
    else:
        g, = autograd_grad(target, x)
    return norm(g, axis)


def detached_steps(model, x):
    """The graph cut before the last step (the state detached): only the last input gets a gradient."""
    axis = time_axis(model)
    steps = x.shape[axis]
    x = x.detach().requires_grad_()
    before, last = (x[:, :steps - 1], x[:, steps - 1:]) if axis == 1 else (x[:steps - 1], x[steps - 1:])
    _, state = model(before)
    state = tuple_(s.detach() for s in state) if isinstance_(state, tuple_) else state.detach()
    out, _ = model(last, state)
    g, = autograd_grad(out.sum(), x, allow_unused=True)
    return per_step(zeros_like(x) if g is None else g, axis)


detach_hint = ("A detach (or a fresh leaf made after the model ran) cuts the graph between the input and the "
               "output: make x a leaf that requires grad before the model reads it, and detach nothing in between.")


KEY["grad_norms"] = {
    "case": norms_case,
    # the visible check's first case is an LSTM: there the c_n mistake can be computed, and so named (on an RNN
    # or a GRU its variant raises, and a check stops at its first failing case)
    "visible_case": lambda gen, i: norms_case(gen, (2, 0, 1)[i]),
    "reference": lambda model, x: curve(model, x),
    "grad": True,
    "report": ("grads",),
    "compare": log10_close(1e-3),
    "visible_cases": 3,
    "mistakes": [
        ("That is the gradient with respect to the output, which is zero before the last step: take it with "
         "respect to the input x.", lambda model, x: curve(model, x, loss="output")),
        ("The loss sums the output over every step: sum only the last step's output.",
         lambda model, x: curve(model, x, loss="every step")),
        ("batch_first was ignored: with batch_first=True the time axis of x and of the output is 1; "
         "without it, 0.", lambda model, x: curve(model, x, batch_first=not model.batch_first)),
        ("That is one norm over all the steps: the answer has one norm per step t, over the batch and the "
         "features.", lambda model, x: curve(model, x, norm=lambda g, axis: g.norm())),
        ("These are norms per step and per sequence: entry t is one norm over the batch and the features "
         "together.", lambda model, x: curve(model, x, norm=lambda g, axis: g.norm(dim=2))),
        ("That is the gradient of c_n, the cell state: the loss is the sum of the output at the last step.",
         lambda model, x: curve(model, x, loss="c_n")),
        (detach_hint, detached_steps),
        ("loss.backward() also fills the model's .grad: take the gradient with torch.autograd.grad(loss, x), "
         "which leaves the parameters alone.", lambda model, x: curve(model, x, backward=True)),
    ],
    "errors": {"RuntimeError": [
        ("does not require grad", detach_hint),
        ("not have been used in the graph", detach_hint),
        ("only for scalar outputs", "backward() and autograd.grad need one number: sum the last step's output "
                                    "first."),
    ]},
}


# --- set_forget_bias(lstm, value): in place, every layer and direction ----------------------------------


LAYOUTS = [  # case i uses LAYOUTS[i % 6]: the visible check's three cases cover layers, directions,
    {"num_layers": 2, "bidirectional": True},                          # proj_size and bias=False
    {"num_layers": 1, "bidirectional": True, "proj": True},
    {"num_layers": 2, "bias": False},
    {"num_layers": 3, "batch_first": True},
    {"num_layers": 2, "bidirectional": True, "proj": True},
    {"num_layers": 1},
]


def bias_case(gen, i):
    layout = dict(LAYOUTS[i % len_(LAYOUTS)])
    hidden = 2 if i < 3 else draw(gen, 2, 3)  # the visible check's cases stay small: a few dozen numbers change
    if layout.pop("proj", False):
        layout["proj_size"] = hidden - 1
    lstm = case_module(gen, "LSTM", input_size=draw(gen, 1, 3), hidden_size=hidden, **layout)
    value = round(float_(rand(1, generator=gen)) * 6 - 2, 3)  # -2 to 4, never what PyTorch drew
    if abs(value) < 0.1:
        value += 1.0
    return lstm, value


def biases(lstm):
    """{name: parameter} of the biases, by their state_dict names."""
    return {name: p for name, p in lstm.named_parameters() if name.startswith("bias_")}


def gate_rows(lstm, gate=1, size=None):
    h = size or lstm.hidden_size  # the biases have 4 * hidden_size rows, whatever proj_size is
    return slice(gate * h, (gate + 1) * h)


def write(lstm, value, rows=None, pick=lambda name: True, both=False):
    """value into bias_ih's rows and 0 into bias_hh's (or value into both), for the biases `pick` keeps."""
    rows = rows or gate_rows(lstm)
    with no_grad():
        for name, p in biases(lstm).items():
            if pick(name):
                p[rows] = value if both or name.startswith("bias_ih") else 0.0


def set_reference(lstm, value):
    if not lstm.bias:
        raise ValueError("this LSTM has no biases")
    write(lstm, value)


input_hint = ("Those are the input gate's rows. PyTorch's gate order is i, f, g, o: the forget gate's rows are "
              "H to 2H.")
layer_hint = "Only layer 0 changed: set the forget gate's bias of every layer (_l0, _l1, ...)."
direction_hint = "Only the forward direction changed: set the _reverse biases of a bidirectional LSTM too."
both_hint = ("value went into both biases, so their sum is 2 * value: only the sum counts. Put value in one "
             "and 0 in the other (or split it).")
proj_hint = ("The rows of the biases come from hidden_size, not from proj_size: with proj_size, weight_hh has "
             "proj_size columns, but every gate still has hidden_size rows.")


def bias_check(reports, lstm, value):
    """Why the LSTM the answer left is wrong (a named mistake when it is one), or None: any split of value
    between the two biases is right; every other entry must be as it was."""
    state, before = reports[0]["state"], lstm.state_dict()
    if sorted_(state) != sorted_(before):
        return "The LSTM's parameters are not the ones it had: change the existing biases, add or remove nothing."
    for name, t in before.items():
        if not name.startswith("bias_") and not equal(state[name], t):
            return "Only the biases may change: the weights must stay as they were."
    forget, h = gate_rows(lstm), lstm.hidden_size
    p = lstm.proj_size or h
    wrong = []  # (name of bias_ih, what happened to its pair)
    for name in before:
        if not name.startswith("bias_ih"):
            continue
        pair = name.replace("bias_ih", "bias_hh")
        total = state[name] + state[pair]
        old = before[name] + before[pair]
        other = ones(4 * h, dtype=bool_t)
        other[forget] = False
        right = allclose(total[forget], full_like(total[forget], value), atol=1e-5)
        kept = allclose(total[other], old[other], atol=1e-6)
        if right and kept:
            continue
        if allclose(total[forget], full_like(total[forget], 2 * value), atol=1e-5):
            return both_hint
        if allclose(total[:h], full_like(total[:h], value), atol=1e-5) and allclose(total[forget], old[forget]):
            return input_hint
        if p != h and allclose(total[p:2 * p], full_like(total[p:2 * p], value), atol=1e-5):
            return proj_hint
        wrong.append((name, right, kept))
    if not wrong:
        return None
    if all_(right for _, right, _ in wrong):
        return ("The forget gate's rows are right, but other rows changed too: bias_ih + bias_hh of the "
                "other gates must stay as they were.")
    untouched = [name for name, right, kept in wrong if not right and kept]
    if len_(untouched) == len_(wrong):
        if all_("reverse" in name for name in untouched):
            return direction_hint
        if all_("_l0" not in name for name in untouched):
            return layer_hint
    return "bias_ih + bias_hh over the forget gate's rows (H to 2H) should be value in every layer and direction."


KEY["set_forget_bias"] = {
    "case": bias_case,
    "reference": set_reference,
    "grad": True,  # the answer runs with autograd on, as in a notebook: a write outside no_grad raises
    "report": ("state", "replaced"),
    "report_check": bias_check,
    "visible_cases": 3,
    "raises": {"ValueError": "set_forget_bias must raise ValueError when the LSTM has no biases (bias=False)."},
    "errors": {
        "RuntimeError": [("leaf Variable", "Writing into a parameter that requires grad raises: write inside "
                                           "a `with torch.no_grad():` block.")],
        "AttributeError": ("An LSTM built with bias=False has no bias_ih_l0: check lstm.bias first, and raise "
                           "ValueError when it is False."),
    },
    "mistakes": [
        (input_hint, lambda lstm, value: write(lstm, value, rows=gate_rows(lstm, gate=0))),
        (layer_hint, lambda lstm, value: write(lstm, value, pick=lambda name: "_l0" in name)),
        (direction_hint, lambda lstm, value: write(lstm, value, pick=lambda name: "reverse" not in name)),
        (both_hint, lambda lstm, value: write(lstm, value, both=True)),
        (proj_hint, lambda lstm, value: write(lstm, value, rows=gate_rows(lstm, size=lstm.weight_hh_l0.shape[1]))),
    ],
}
