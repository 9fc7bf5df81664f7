"""A demo lesson for the answer channel's tests: references that use each capability, defined only here.

`PUBLIC` is a reference file as course/references/ holds them (pasted after the core of the checks cell),
and `KEY` its key, as course/keys/ holds them (carried only by the demo's hidden tests, compressed), with
one reference per capability of the channel (course/channel.py):

| reference | answer | capability |
|---|---|---|
| demo_forget_bias | `forget_bias(lstm, value)`: forget-gate bias total `value`, in place | a module argument, a float, a mutation reported (`report` state and replaced, `report_check`), ValueError required when `bias=False`, a hint chosen by an exception's message |
| demo_grad_norms | `grad_norms(model, x)` -> (L,) | autograd in the reference (`grad`), `.grad` reported, compared in log10 |
| demo_tagger | class `DemoTagger(vocab_size, hidden_size, num_tags)`, `forward(ids, lengths)` | a class whose forward takes the case's two inputs |
| demo_take | `take(x, k)` -> x[:k] | `raises`: ValueError for k outside 1..len(x); an IndexError named |
| demo_chunks | `run_chunks(lstm, x, k)` -> (output, (h, c)) | an `observe` hook that backpropagates in the answer's process, judged by `extra_check` |
| demo_generate | `generate(model, prefix, steps)` | a class the reference registers (`DemoLM`), an `observe` hook recording each forward's input length, a note on a correct answer (`extra_note`) |

`lesson()` builds a source notebook of these six exercises, its test cells as course/build.py writes them
(`tests_source`); `SOLUTIONS` and `MISTAKES` hold the answer cells' code (a right one, and each named
mistake with the words its message must contain); `trusted_namespace()` is a checks namespace whose
references hold their key, as the judge has them.
"""
import nbformat
from conftest import _ag_nbgrader_md
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

LESSON = "01_channel"

# The demo's public part, as course/references/ holds it: texts, the class it registers, observe hooks and
# the checks of what they saw, and forget_bias's visible_state (pasted into the checks cell).
PUBLIC = r'''
"""Demo references for tests/test_channel*.py, the part a notebook carries (never shipped)."""


def _install_demo(api):
    import torch
    from torch import nn

    references = api["references"]
    autograd_grad, Tensor, float_, type_, len_, cat = torch.autograd.grad, torch.Tensor, float, type, len, torch.cat

    def forget_view(state, lstm, value):
        """What every right forget_bias leaves: each bias pair's forget rows' total, every other entry as it was."""
        h, view = lstm.hidden_size, {}
        for name, t in state.items():
            if name.startswith("bias_ih"):
                other = state[name.replace("bias_ih", "bias_hh")]
                view[name.replace("bias_ih", "forget_total")] = t[h:2 * h] + other[h:2 * h]
                view[name + ".rest"] = cat((t[:h], t[2 * h:]))
                view[name.replace("bias_ih", "bias_hh") + ".rest"] = cat((other[:h], other[2 * h:]))
            elif not name.startswith("bias_hh"):
                view[name] = t
        return view

    references["demo_forget_bias"] = {
        "visible_state": forget_view,
        "signature": "forget_bias(lstm, value), changing the LSTM in place",
        "outputs": ("nothing",),
        "not_yet": "The forget gate's total bias is not value everywhere.",
    }
    references["demo_grad_norms"] = {
        "signature": "grad_norms(model, x) returning an (L,) tensor",
        "outputs": ("the norms",),
        "not_yet": "These are not the norms of the last step's gradient with respect to each input step.",
    }
    references["demo_tagger"] = {
        "kind": "module",
        "signature": "DemoTagger(vocab_size, hidden_size, num_tags), whose forward(ids, lengths) gives (N, L, num_tags)",
        "outputs": ("the logits",),
        "not_yet": "These are not the head's logits at each step.",
    }
    references["demo_take"] = {
        "signature": "take(x, k) returning x's first k items",
        "outputs": ("the items",),
        "not_yet": "These are not x's first k items.",
    }

    # --- run_chunks: an observe hook backpropagates in the child; what it saw is judged by chunks_check -----

    def last_start(steps, k):
        return ((steps - 1) // k) * k

    def chunks_observe(answer, lstm, x, k):
        out = answer(lstm, x, k)
        norms = None
        try:
            output = out[0]
            if type_(output) is Tensor and output.requires_grad:
                start = last_start(x.shape[0], k)
                g = autograd_grad(output[start:].sum(), x, allow_unused=True)[0]
                norms = [0.0] * x.shape[0] if g is None else [float_(v) for v in g.norm(dim=(1, 2)).tolist()]
        except Exception:
            norms = None
        return out, {"norms": norms}

    def chunks_check(extra, lstm, x, k):
        norms, start = extra.get("norms"), last_start(x.shape[0], k)
        if norms is None:
            return "The last chunk's output carries no gradient: detach only (h, c) between chunks."
        if type_(norms) is not list or len_(norms) != x.shape[0] or any(type_(v) is not float_ for v in norms):
            return "The grader could not read the gradients it observed."
        if any(v > 0.0 for v in norms[:start]):
            return ("The last chunk's gradient reaches the steps before it: detach (h, c) between chunks, "
                    "or the graph keeps growing with the sequence.")
        return None

    references["demo_chunks"] = {
        "observe": chunks_observe,
        "extra_check": chunks_check,
        "signature": "run_chunks(lstm, x, k) returning (output, (h, c))",
        "outputs": ("output", "(h, c)"),
        "not_yet": "The result differs from one pass of the LSTM over the whole sequence.",
    }

    # --- generate(model, prefix, steps) with a class this file registers -------------------------------

    class DemoLM(nn.Module):
        def __init__(self, vocab_size, hidden_size):
            super().__init__()
            self.embed = nn.Embedding(vocab_size, hidden_size)
            self.lstm = nn.LSTM(hidden_size, hidden_size, batch_first=True)
            self.head = nn.Linear(hidden_size, vocab_size)

        def forward(self, ids, state=None):
            out, state = self.lstm(self.embed(ids), state)
            return self.head(out), state

    api["module_classes"]["DemoLM"] = DemoLM

    def generate_observe(answer, model, prefix, steps):
        lengths, forward = [], model.forward

        def recording(ids, state=None):
            if len_(lengths) < 64:
                lengths.append(int(ids.shape[1]))
            return forward(ids, state)

        model.forward = recording
        return answer(model, prefix, steps), {"lengths": lengths}

    def generate_note(extra, model, prefix, steps):
        lengths = extra.get("lengths") or []
        if any(type_(n) is int and n > 1 for n in lengths[1:]):
            return ("it runs the whole growing sequence through the model at every step: the same tokens at "
                    "quadratic cost. Carry (h, c) and feed only the new token.")
        return None

    references["demo_generate"] = {
        "observe": generate_observe,
        "extra_note": generate_note,
        "signature": "generate(model, prefix, steps) returning the prefix and `steps` greedy tokens",
        "outputs": ("the sequence",),
        "not_yet": "These are not the greedy tokens.",
    }


_install_demo(_course_answers)
del _install_demo
'''

# The demo's key, as course/keys/ holds it: never in a notebook, only (compressed) in the lesson's hidden tests.
KEY = r'''
"""Demo keys for tests/test_channel*.py: cases, references, named mistakes (never shipped)."""
import torch
from torch import nn

api = api  # noqa: F821
KEY = {}
case_module, log10_close = api["case_module"], api["log10_close"]
randint, randn, zeros, tensor = torch.randint, torch.randn, torch.zeros, torch.tensor
autograd_grad, float_, range_ = torch.autograd.grad, float, range
vf_lstm = torch._VF.lstm


def draw(gen, low, high):
    return int(randint(low, high + 1, (1,), generator=gen))


# --- forget_bias(lstm, value): a module changed in place; ValueError without biases -------------

def forget_case(gen, i):
    hidden = draw(gen, 2, 4)
    settings = {"input_size": draw(gen, 1, 3), "hidden_size": hidden, "num_layers": 1 + i % 2,
                "bidirectional": i % 3 != 0, "bias": i % 4 != 3}
    if i % 5 == 4:
        settings["proj_size"] = hidden - 1
    return case_module(gen, "LSTM", **settings), float_(randn(1, generator=gen)) * 2


def forget_rows(lstm):
    h = lstm.hidden_size
    return [(name, p) for name, p in lstm.named_parameters() if name.startswith("bias_")], slice(h, 2 * h)


def forget_reference(lstm, value):
    if not lstm.bias:
        raise ValueError("no biases")
    biases, rows = forget_rows(lstm)
    for name, p in biases:
        p[rows] = value if name.startswith("bias_ih") else 0.0


def forget_check(reports, lstm, value):
    """Any split of `value` between the two biases is right; every other entry must stay as it was."""
    state, before = reports[0]["state"], lstm.state_dict()
    if set(state) != set(before):
        return "Only the biases may change: keep the LSTM's parameters as they are."
    _, rows = forget_rows(lstm)
    for name, t in before.items():
        got = state[name]
        if name.startswith("bias_"):
            other = torch.ones(t.shape[0], dtype=torch.bool)
            other[rows] = False
            if not torch.equal(got[other], t[other]):
                return "Only the forget gate's rows, H to 2H, may change."
        elif not torch.equal(got, t):
            return "Only the biases may change."
    for name in before:
        if name.startswith("bias_ih"):
            total = state[name][rows] + state[name.replace("bias_ih", "bias_hh")][rows]
            if not torch.allclose(total, torch.full_like(total, value), atol=1e-5):
                return "bias_ih + bias_hh over the forget gate's rows should be `value` in every layer and direction."
    return None


def forget_variant(pick):
    def variant(lstm, value):
        biases, rows = forget_rows(lstm)
        for name, p in biases:
            if pick(name):
                p[rows] = value if name.startswith("bias_ih") else 0.0
    return variant


def input_rows(lstm, value):
    biases, rows = forget_rows(lstm)
    for name, p in biases:
        p[:rows.start] = value if name.startswith("bias_ih") else 0.0


def both(lstm, value):
    biases, rows = forget_rows(lstm)
    for name, p in biases:
        p[rows] = value


KEY["demo_forget_bias"] = {
    "case": forget_case,
    "reference": forget_reference,
    "report": ("state", "replaced"),
    "report_check": forget_check,
    "raises": {"ValueError": "forget_bias must raise ValueError when the LSTM has no biases (bias=False)."},
    "errors": {"RuntimeError": [("leaf Variable", "Writing into a parameter that requires grad needs "
                                                  "torch.no_grad() around it.")]},
    "mistakes": [
        ("Those are the input gate's rows: the forget gate's are H to 2H.", input_rows),
        ("Only layer 0 changed: set every layer.", forget_variant(lambda name: "_l0" in name)),
        ("Only the forward direction changed: set the _reverse biases too.",
         forget_variant(lambda name: "reverse" not in name)),
        ("value went into both biases, so their sum is 2 * value.", both),
    ],
}


# --- grad_norms(model, x) -> (L,): autograd in the reference, .grad left alone ---------------------

def norms_case(gen, i):
    kind = ("RNN", "GRU", "LSTM")[i % 3]
    batch_first = i % 2 == 1
    n, steps, inputs = draw(gen, 1, 3), draw(gen, 3, 6), draw(gen, 1, 3)
    model = case_module(gen, kind, input_size=inputs, hidden_size=draw(gen, 2, 5), num_layers=1 + i % 2,
                        batch_first=batch_first)
    x = randn(*((n, steps, inputs) if batch_first else (steps, n, inputs)), generator=gen)
    return model, x


def curve(model, x, batch_first=None, every_step=False, backward=False):
    batch_first = model.batch_first if batch_first is None else batch_first
    x = x.detach().requires_grad_()
    out = model(x)[0]
    loss = out.sum() if every_step else (out[:, -1] if batch_first else out[-1]).sum()
    if backward:
        loss.backward()
        g = x.grad
    else:
        g, = autograd_grad(loss, x)
    return g.norm(dim=(0, 2)) if batch_first else g.norm(dim=(1, 2))


KEY["demo_grad_norms"] = {
    "case": norms_case,
    "reference": lambda model, x: curve(model, x),
    "grad": True,
    "report": ("grads",),
    "compare": log10_close(1e-3),
    "mistakes": [
        ("The loss sums the output over every step: take the last step's only.",
         lambda model, x: curve(model, x, every_step=True)),
        ("batch_first was ignored: with batch_first=True the time axis is 1.",
         lambda model, x: curve(model, x, batch_first=not model.batch_first)),
        ("loss.backward() fills the model's .grad: use torch.autograd.grad(loss, x).",
         lambda model, x: curve(model, x, backward=True)),
    ],
}


# --- DemoTagger: a class whose forward takes (ids, lengths) ---------------------------------------

def tagger_case(gen, i):
    settings = {"vocab_size": draw(gen, 4, 8), "hidden_size": draw(gen, 2, 5), "num_tags": draw(gen, 2, 4)}
    n, steps = draw(gen, 2, 4), draw(gen, 2, 6)
    lengths = randint(1, steps + 1, (n,), generator=gen)
    lengths[0], lengths[-1] = steps, draw(gen, 1, steps - 1)  # the longest fills the time axis; one is padded
    ids = randint(1, settings["vocab_size"], (n, steps), generator=gen)
    return settings, ids, lengths


def tagger_logits(settings, ids, lengths, weights, masked=True):
    h = settings["hidden_size"]
    x = weights["embed.weight"][ids]
    flat = [weights[f"lstm.{k}_l0"] for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    start = zeros(1, ids.shape[0], h)
    out = vf_lstm(x, (start, start), flat, True, 1, 0.0, False, False, True)[0]
    logits = out @ weights["head.weight"].t() + weights["head.bias"]
    if masked:
        logits = logits * (torch.arange(ids.shape[1])[None, :] < lengths[:, None])[:, :, None]
    return logits


def tagger_state(settings, weights):
    wanted = {"embed.weight", "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0",
              "head.weight", "head.bias"}
    if set(weights) != wanted:
        return "Keep the skeleton's layers: self.embed, self.lstm (batch_first) and self.head."
    return None


def tagger_weights(settings, gen):
    """The skeleton's state_dict, its numbers drawn from gen (a visible check loads it)."""
    h = settings["hidden_size"]
    layers = {"embed": nn.Embedding(settings["vocab_size"], h), "lstm": nn.LSTM(h, h, batch_first=True),
              "head": nn.Linear(h, settings["num_tags"])}
    return {f"{part}.{k}": randn(v.shape, generator=gen) * 0.5 for part, layer in layers.items()
            for k, v in layer.state_dict().items()}


KEY["demo_tagger"] = {
    "case": tagger_case,
    "reference": tagger_logits,
    "state_check": tagger_state,
    "weights": tagger_weights,
    "mistakes": [("The padded steps have logits: set them to zero.",
                  lambda s, ids, lengths, w: tagger_logits(s, ids, lengths, w, masked=False))],
}


# --- take(x, k) -> x[:k]; ValueError when k is outside 1..len(x) ------------------------------------

def take_case(gen, i):
    x = randn(draw(gen, 2, 6), generator=gen)
    k = draw(gen, 1, x.shape[0]) if i % 3 != 2 else (0, -1, x.shape[0] + 1)[draw(gen, 0, 2)]
    return x, k


def take_reference(x, k):
    if not 1 <= k <= x.shape[0]:
        raise ValueError("k out of range")
    return x[:k].clone()


KEY["demo_take"] = {
    "case": take_case,
    "reference": take_reference,
    "raises": {"ValueError": "take must raise ValueError when k is not between 1 and len(x)."},
    "errors": {"IndexError": "Raise ValueError, not IndexError: the value of k is wrong, not an index."},
    "mistakes": [("That is one item too many: x[:k] has k items.", lambda x, k: x[:k + 1].clone())],
    "visible_cases": 3,
}


# --- run_chunks(lstm, x, k) -> (output, (h, c)) ------------------------------------------------------

def chunks_case(gen, i):
    lstm = case_module(gen, "LSTM", input_size=draw(gen, 1, 3), hidden_size=draw(gen, 1, 4))
    steps = draw(gen, 4, 8)
    x = randn(steps, draw(gen, 1, 3), lstm.input_size, generator=gen).requires_grad_()
    return lstm, x, draw(gen, 2, 3)


def fresh_chunks(lstm, x, k):
    runs = [lstm(x[start:start + k]) for start in range_(0, x.shape[0], k)]
    return torch.cat([out for out, _ in runs]), runs[-1][1]


KEY["demo_chunks"] = {
    "case": chunks_case,
    "reference": lambda lstm, x, k: lstm(x),
    "grad": True,
    "mistakes": [("Each chunk starts from zeros: carry (h, c) from one chunk to the next.", fresh_chunks)],
}


# --- generate(model, prefix, steps) ----------------------------------------------------------------

def greedy(model, prefix, steps, feed_back=True, keep_state=True):
    logits, state = model(prefix[None])
    tokens, gaps, last = [int(t) for t in prefix], [], prefix[-1:]
    for _ in range_(steps):
        top = logits[0, -1].topk(2).values
        gaps.append(float_(top[0] - top[1]))
        token = logits[0, -1].argmax()
        tokens.append(int(token))
        fed = token.view(1, 1) if feed_back else last.view(1, 1)
        logits, state = model(fed, state if keep_state else None)
    return tensor(tokens), min(gaps)


def generate_case(gen, i, sizes=((10, 16), (8, 12))):
    # Redrawn while two logits of a step are within 1e-3 (the greedy choice must be clear), or while a
    # named mistake gives the tokens of the answer or of the other mistake (a small model often does):
    # every case tells all three apart, so a mistake is named as itself.
    while True:
        model = case_module(gen, "DemoLM", vocab_size=draw(gen, *sizes[0]), hidden_size=draw(gen, *sizes[1]))
        for p in model.parameters():  # larger weights: a longer memory, so the mistakes show more often
            p.mul_(3.0)
        prefix = randint(0, model.head.out_features, (draw(gen, 1, 3),), generator=gen)
        steps = draw(gen, 3, 6)
        tokens, gap = greedy(model, prefix, steps)
        unfed, reset = (greedy(model, prefix, steps, **wrong)[0] for wrong in ({"feed_back": False},
                                                                              {"keep_state": False}))
        if gap >= 1e-3 and not any(torch.equal(a, b) for a, b in ((tokens, unfed), (tokens, reset),
                                                                   (unfed, reset))):
            return model, prefix, steps


KEY["demo_generate"] = {
    "case": generate_case,
    "visible_case": lambda gen, i: generate_case(gen, i, ((6, 8), (3, 4))),  # a few hundred weights
    "reference": lambda model, prefix, steps: greedy(model, prefix, steps)[0],
    "mistakes": [
        ("The chosen token is not fed back: the next step reads the token just chosen.",
         lambda model, prefix, steps: greedy(model, prefix, steps, feed_back=False)[0]),
        ("(h, c) is reset at every step: pass the state from one call to the next.",
         lambda model, prefix, steps: greedy(model, prefix, steps, keep_state=False)[0]),
    ],
}
'''

# (grade_id number, answer name, reference, check kind, the answer cell's code: solution)
EXERCISES = [
    (1, "forget_bias", "demo_forget_bias", "function", '''
def forget_bias(lstm, value):
    if not lstm.bias:
        raise ValueError("this LSTM has no biases")
    h = lstm.hidden_size
    with torch.no_grad():
        for name, p in lstm.named_parameters():
            if name.startswith("bias_ih"):
                p[h:2 * h] = value / 2
            elif name.startswith("bias_hh"):
                p[h:2 * h] = value / 2
'''),
    (2, "grad_norms", "demo_grad_norms", "function", '''
def grad_norms(model, x):
    x = x.detach().requires_grad_()
    out = model(x)[0]
    last = out[:, -1] if model.batch_first else out[-1]
    g, = torch.autograd.grad(last.sum(), x)
    return g.norm(dim=(0, 2)) if model.batch_first else g.norm(dim=(1, 2))
'''),
    (3, "DemoTagger", "demo_tagger", "module", '''
class DemoTagger(nn.Module):
    def __init__(self, vocab_size, hidden_size, num_tags):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, hidden_size)
        self.lstm = nn.LSTM(hidden_size, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, num_tags)

    def forward(self, ids, lengths):
        out, _ = self.lstm(self.embed(ids))
        mask = torch.arange(ids.shape[1])[None, :] < torch.as_tensor(lengths)[:, None]
        return self.head(out) * mask[:, :, None]
'''),
    (4, "take", "demo_take", "function", '''
def take(x, k):
    if not 1 <= k <= len(x):
        raise ValueError(f"k must be between 1 and {len(x)}")
    return x[:k].clone()
'''),
    (5, "run_chunks", "demo_chunks", "function", '''
def run_chunks(lstm, x, k):
    outputs, state = [], None
    for start in range(0, x.shape[0], k):
        out, (h, c) = lstm(x[start:start + k], state)
        outputs.append(out)
        state = (h.detach(), c.detach())
    return torch.cat(outputs), (h, c)
'''),
    (6, "generate", "demo_generate", "function", '''
def generate(model, prefix, steps):
    logits, state = model(prefix[None])
    tokens = list(prefix.tolist())
    for _ in range(steps):
        token = logits[0, -1].argmax()
        tokens.append(int(token))
        logits, state = model(token.view(1, 1), state)
    return torch.tensor(tokens)
'''),
]
SOLUTIONS = {n: code.strip() for n, _, _, _, code in EXERCISES}

# Submissions of named mistakes: {student: {exercise: (answer cell code, words its message must contain)}};
# a message of None: the answer is right (full marks), and the words must appear in what the check printed.
MISTAKES = {
    "mistakes-a": {
        1: ('''
def forget_bias(lstm, value):
    if not lstm.bias:
        raise ValueError("no biases")
    h = lstm.hidden_size
    with torch.no_grad():
        for name, p in lstm.named_parameters():
            if name.startswith("bias_ih"):
                p[:h] = value
            elif name.startswith("bias_hh"):
                p[:h] = 0.0
''', "Those are the input gate's rows"),
        2: ('''
def grad_norms(model, x):
    x = x.detach().requires_grad_()
    out = model(x)[0]
    last = out[:, -1] if model.batch_first else out[-1]
    last.sum().backward()
    return x.grad.norm(dim=(0, 2)) if model.batch_first else x.grad.norm(dim=(1, 2))
''', "loss.backward() fills the model's .grad"),
        3: ('''
class DemoTagger(nn.Module):
    def __init__(self, vocab_size, hidden_size, num_tags):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, hidden_size)
        self.lstm = nn.LSTM(hidden_size, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, num_tags)

    def forward(self, ids, lengths):
        return self.head(self.lstm(self.embed(ids))[0])
''', "The padded steps have logits"),
        4: ('''
def take(x, k):
    return x[:k].clone()
''', "take must raise ValueError"),
        5: ('''
def run_chunks(lstm, x, k):
    outputs, state = [], None
    for start in range(0, x.shape[0], k):
        out, state = lstm(x[start:start + k], state)
        outputs.append(out)
    return torch.cat(outputs), state
''', "The last chunk's gradient reaches the steps before it"),
        6: ('''
def generate(model, prefix, steps):
    ids = prefix.clone()
    for _ in range(steps):
        logits, _ = model(ids[None])
        ids = torch.cat([ids, logits[0, -1].argmax().view(1)])
    return ids
''', None),
    },
    "mistakes-b": {
        1: ('''
def forget_bias(lstm, value):
    h = lstm.hidden_size
    for name, p in lstm.named_parameters():
        if name.startswith("bias_ih"):
            p[h:2 * h] = value
        elif name.startswith("bias_hh"):
            p[h:2 * h] = 0.0
''', "needs torch.no_grad() around it"),
        2: ('''
def grad_norms(model, x):
    x = x.detach().requires_grad_()
    out = model(x)[0]
    g, = torch.autograd.grad(out.sum(), x)
    return g.norm(dim=(0, 2)) if model.batch_first else g.norm(dim=(1, 2))
''', "sums the output over every step"),
        4: ('''
def take(x, k):
    if not 1 <= k <= len(x):
        raise IndexError(k)
    return x[:k].clone()
''', "Raise ValueError, not IndexError"),
        5: ('''
def run_chunks(lstm, x, k):
    outputs = []
    for start in range(0, x.shape[0], k):
        out, state = lstm(x[start:start + k])
        outputs.append(out)
    return torch.cat(outputs), state
''', "Each chunk starts from zeros"),
        6: ('''
def generate(model, prefix, steps):
    logits, state = model(prefix[None])
    tokens = list(prefix.tolist())
    for _ in range(steps):
        token = logits[0, -1].argmax()
        tokens.append(int(token))
        logits, state = model(token.view(1, 1))
    return torch.tensor(tokens)
''', "(h, c) is reset at every step"),
    },
    "mistakes-c": {
        1: ('''
def forget_bias(lstm, value):
    if not lstm.bias:
        raise ValueError("no biases")
    h = lstm.hidden_size
    for name, p in list(lstm.named_parameters()):
        if name.startswith("bias_"):
            new = p.detach().clone()
            new[h:2 * h] = value if name.startswith("bias_ih") else 0.0
            setattr(lstm, name, nn.Parameter(new))
''', "with new tensors instead of changing"),
        2: ('''
def grad_norms(model, x):
    x = x.detach().requires_grad_()
    out = model(x)[0]
    last = out[:, -1] if model.batch_first else out[-1]
    g, = torch.autograd.grad(last.sum(), x)
    return torch.zeros(g.shape[0 if not model.batch_first else 1])
''', "These are not the norms"),
        6: ('''
def generate(model, prefix, steps):
    logits, state = model(prefix[None])
    tokens = list(prefix.tolist())
    for _ in range(steps):
        token = logits[0, -1].argmax()
        tokens.append(int(token))
        logits, state = model(prefix[-1:].view(1, 1), state)
    return torch.tensor(tokens)
''', "The chosen token is not fed back"),
    },
}
# What the note-only answer (mistakes-a's generate) must print with its point.
NOTE = "runs the whole growing sequence"


def checks_source():
    """The demo lesson's checks cell: what judges answers by running them, and the demo's public part."""
    from course.build import checks_source as core

    return core((), calls=True) + "\n\n\n" + PUBLIC.strip() + "\n"


def trusted_namespace():
    """A checks namespace whose references hold their key too (as course/build.py and the judge have them)."""
    from course import keys

    namespace = {"__name__": "__main__"}
    exec(compile(checks_source(), "course_checks", "exec"), namespace)
    keys.install(namespace["_course_answers"], [KEY])
    return namespace


def tests_source(n, name, reference, kind, api=None):
    """Exercise n's test cell as course/build.py writes it: the visible check's cases and hashes, the hidden
    call with the demo's key."""
    from course import build

    qid, var = f"{LESSON}.q{n}", f"answer_q{n}"
    expect = "expect_module" if kind == "module" else "expect_function"
    api = api or trusted_namespace()["_course_answers"]
    spec = build.parse_hidden(f"{build.HIDDEN_BEGIN}\n{expect}({qid!r}, {var}, reference={reference!r}, cases=6)\n"
                              f"{build.HIDDEN_END}", api)
    visible, hidden = build.reference_test(spec, api, KEY)
    return visible + hidden


def answer_source(n, name, code):
    return f"# Complete {name}.\n### BEGIN SOLUTION\n{code.strip()}\n### END SOLUTION\n\n\nanswer_q{n} = {name}"


def lesson():
    """The source notebook: the checks cell (core + REFERENCES), then six exercises worth 1 point each."""
    md = _ag_nbgrader_md
    cells = [new_markdown_cell("# The answer channel: a demo lesson", metadata=md("intro", locked=True)),
             new_code_cell(checks_source(), metadata={"course": {"generated": "checks"},
                                                      **md("course_checks", locked=True)}),
             new_code_cell("import torch\nfrom torch import nn")]
    api = trusted_namespace()["_course_answers"]
    for n, name, reference, kind, code in EXERCISES:
        cells += [new_markdown_cell(f"### Exercise {n}: `{name}`"),
                  new_code_cell(answer_source(n, name, code), metadata=md(f"q{n}_answer", solution=True)),
                  new_code_cell(tests_source(n, name, reference, kind, api),
                                metadata=md(f"q{n}_test", grade=True, locked=True, points=1))]
    cells.append(new_markdown_cell("That's all."))
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}})
    nbformat.validate(nb)
    return nb


def with_answers(nb, answers):
    """A copy of `nb` whose answer cells hold {exercise: code} (the binding line kept)."""
    import copy

    nb = copy.deepcopy(nb)
    names = {n: name for n, name, _, _, _ in EXERCISES}
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        n = int(gid[1:-len("_answer")]) if gid.startswith("q") and gid.endswith("_answer") else None
        if n in answers:
            cell.source = f"# Complete {names[n]}.\n{answers[n].strip()}\n\n\nanswer_q{n} = {names[n]}"
    return nb
