"""Lesson 08's key: the cases, references and named mistakes of collate, masked_loss, SequenceTagger and
generate, and how a trained aⁿbⁿ model is judged from its weights.

Never in a notebook a student receives: course/build.py carries this file, compressed, in the hidden tests
that name these references (course/keys/__init__.py). Their texts, the observe hooks, the GenerationLM class
the generate cases are built from and the aⁿbⁿ task are in course/references/08_generation.py.

`collate(batch, pad_id=0)` pads a list of 1-D id tensors into an (N, L_max) batch, batch first, and
returns the original lengths in the order given. Cases use pad_id 0 (by default) and other ids, with
lengths that are neither all equal nor sorted, so that each named mistake shows.

`masked_loss(logits, tags, lengths)` is the mean cross-entropy over the real steps only. The tags
at padded steps hold random valid class ids, so a loss that counts them is wrong by value; every
other case has L == C, where (N, L, C) logits handed to cross_entropy unpermuted run silently.

`sequence_tagger` judges the class by its own weights, as lesson 06's classifier check does: each
case builds it with settings drawn at checking time, runs it once on ids and lengths (half the
cases bidirectional and padded beyond their longest sequence), and reads its state_dict. The
reference runs every sequence alone on its real steps, by PyTorch's own layer (`torch._VF.lstm`),
which is what packing computes; its padded steps are NaN, which `compare` skips, so only the real
steps are compared. The observe hook runs the tagger again on the same batch padded further; the
logits at real steps must not move.

`generate` runs the answer on a small language model the judge draws (`GenerationLM`, registered
here), with a clear greedy choice at every step, and compares the tokens with a step-by-step
greedy run. Its observe hook records the length of each forward input: an answer that re-runs the
whole growing sequence earns the point, with a note.

`anbn_lm` judges a trained model from its weights: next-token accuracy, with the true string fed
in, at the positions the rule decides (each b after the first, and the end), for n inside the
training range (1-10) and beyond it (11-15). Its forward is never called.
"""
import torch
from torch import nn


api = api  # noqa: F821 - the key's one global: the checks cell's _course_answers


vf_lstm = torch._VF.lstm
randint, randn, zeros, full, cat, arange, as_tensor, tensor, equal, softmax = (
    torch.randint, torch.randn, torch.zeros, torch.full, torch.cat, torch.arange, torch.as_tensor, torch.tensor,
    torch.equal, torch.softmax)
cross_entropy, allclose, isfinite = nn.functional.cross_entropy, torch.allclose, torch.isfinite
nan, int64, tensor_type = float("nan"), torch.int64, torch.Tensor
int_, float_, bool_, len_, range_, sorted_, tuple_, list_, any_, min_, max_, type_, dict_get = (
    int, float, bool, len, range, sorted, tuple, list, any, min, max, type, dict.get)
case_module = api["case_module"]
fork_rng, manual_seed = torch.random.fork_rng, torch.manual_seed
KEY = {}


def draw(gen, low, high):
    return int_(randint(low, high + 1, (1,), generator=gen))


def draw_lengths(gen, n, longest):
    """n lengths in 1..longest, the longest among them, not all equal, not sorted longest first."""
    while True:
        lengths = [draw(gen, 1, longest) for _ in range_(n)]
        lengths[draw(gen, 0, n - 1)] = longest
        if len_(set(lengths)) > 1 and lengths != sorted_(lengths, reverse=True):
            return lengths


# --- collate(batch, pad_id=0) -> (padded, lengths) ----------------------------------------------------

def collate_case(gen, i):
    n = draw(gen, 2, 4)
    longest = draw(gen, 2, 6)
    if longest == n:  # N != L_max: a time-major batch shows in the shape
        longest += 1
    lengths = draw_lengths(gen, n, longest)
    pad_id = 0 if i % 2 == 0 else draw(gen, 1, 9)
    batch = []
    for length in lengths:
        ids = randint(1, 10, (length,), generator=gen)
        batch.append(ids + (ids >= pad_id).long() if pad_id else ids)  # no real id equals pad_id
    return (batch,) if i % 2 == 0 else (batch, pad_id)  # the default pad_id, then another


def padded_batch(batch, pad_id, lengths=None):
    lengths = lengths or [len_(ids) for ids in batch]
    out = full((len_(batch), max_(lengths)), pad_id, dtype=int64)
    for row, ids in enumerate(batch):
        out[row, :len_(ids)] = ids
    return out


def collate_reference(batch, pad_id=0):
    return padded_batch(batch, pad_id), tensor([len_(ids) for ids in batch], dtype=int64)


def collate_zeros(batch, pad_id=0):
    return collate_reference(batch, 0)


def collate_padded_lengths(batch, pad_id=0):
    padded = padded_batch(batch, pad_id)
    return padded, full((len_(batch),), padded.shape[1], dtype=int64)


def collate_sorted(batch, pad_id=0):
    return collate_reference(sorted_(batch, key=len_, reverse=True), pad_id)


def collate_time_major(batch, pad_id=0):
    padded, lengths = collate_reference(batch, pad_id)
    return padded.t().contiguous(), lengths


KEY["collate"] = {
    "case": collate_case,
    "reference": collate_reference,
    "mistakes": [
        ("The padding is 0 whatever pad_id says: fill the padded steps with pad_id "
         "(pad_sequence's padding_value).", collate_zeros),
        ("Every length is the padded length: take each sequence's length before padding, len(ids) for each "
         "sequence of the batch.", collate_padded_lengths),
        ("The batch comes back sorted by length, and nothing says where each sequence went: keep the order "
         "you were given (pack_padded_sequence(..., enforce_sorted=False) sorts by itself).", collate_sorted),
        ("The padded batch is time-major, (L_max, N): make it batch first, (N, L_max).", collate_time_major),
    ],
    "errors": {"RuntimeError": [("equal size", "The sequences have different lengths, so they can't be stacked "
                                               "as they are: pad them (torch.nn.utils.rnn.pad_sequence).")]},
}


# --- masked_loss(logits, tags, lengths) -> the mean cross-entropy over the real steps -----------------

def loss_case(gen, i):
    n = draw(gen, 2, 4)
    classes = draw(gen, 2, 5)
    steps = classes if i % 2 == 1 else draw(gen, 2, 6)  # L == C: unpermuted logits run silently
    if i % 2 == 0 and steps == classes:
        steps += 1
    lengths = draw_lengths(gen, n, steps)
    logits = randn(n, steps, classes, generator=gen)
    tags = randint(0, classes, (n, steps), generator=gen)  # valid class ids at the padded steps too
    return logits, tags, tensor(lengths, dtype=int64)


def real(tags, lengths):
    return arange(tags.shape[1])[None, :] < as_tensor(lengths)[:, None]


def loss_reference(logits, tags, lengths):
    mask = real(tags, lengths)
    return cross_entropy(logits[mask], tags[mask])


def loss_over_pads(logits, tags, lengths):
    return cross_entropy(logits.reshape(-1, logits.shape[2]), tags.reshape(-1))


def loss_per_sequence(logits, tags, lengths):
    mask = real(tags, lengths)
    per_step = cross_entropy(logits.reshape(-1, logits.shape[2]), tags.reshape(-1),
                             reduction="none").reshape(tags.shape)
    return ((per_step * mask).sum(1) / mask.sum(1)).mean()


def loss_summed(logits, tags, lengths):
    mask = real(tags, lengths)
    return cross_entropy(logits[mask], tags[mask], reduction="sum")


def loss_unpermuted(logits, tags, lengths):
    return cross_entropy(logits, tags)  # raises unless L == C


def loss_unpermuted_masked(logits, tags, lengths):
    mask = real(tags, lengths)
    return (cross_entropy(logits, tags, reduction="none") * mask).sum() / mask.sum()


unpermuted = ("cross_entropy read the (N, L, C) logits as (N, classes, ...): it wants the classes on dim 1. "
              "Move them there, logits.permute(0, 2, 1), or flatten both: logits.reshape(-1, C) and "
              "tags.reshape(-1).")
KEY["masked_loss"] = {
    "case": loss_case,
    "reference": loss_reference,
    "mistakes": [
        ("The mean includes the padded steps, whose tags are not real: average over the real steps only "
         "(a mask from lengths, or ignore_index).", loss_over_pads),
        ("That is the mean of each sequence's mean: short sequences weigh as much as long ones. Average over "
         "every real token of the batch at once.", loss_per_sequence),
        ("That is the sum over the real steps: divide by their number, so the loss does not grow with the "
         "batch.", loss_summed),
        (unpermuted, loss_unpermuted),
        (unpermuted, loss_unpermuted_masked),
    ],
    "errors": {"RuntimeError": [("target size", unpermuted)],
               "ValueError": [("batch_size", "logits and tags must cover the same steps: flatten both the same "
                                             "way, logits.reshape(-1, C) and tags.reshape(-1).")],
               "IndexError": [("mask", "The mask must have the tags' shape, (N, L): one entry per step.")]},
}


# --- SequenceTagger(vocab_size, embedding_dim, hidden_size, num_tags, bidirectional=False, pad_id=0) ------

def tagger_keys(settings):
    e, h, d = settings["embedding_dim"], settings["hidden_size"], 2 if settings["bidirectional"] else 1
    shapes = {"embed.weight": (settings["vocab_size"], e)}
    for suffix in ("", "_reverse")[:d]:
        shapes[f"lstm.weight_ih_l0{suffix}"] = (4 * h, e)
        shapes[f"lstm.weight_hh_l0{suffix}"] = (4 * h, h)
        shapes[f"lstm.bias_ih_l0{suffix}"] = (4 * h,)
        shapes[f"lstm.bias_hh_l0{suffix}"] = (4 * h,)
    shapes["head.weight"] = (settings["num_tags"], d * h)
    shapes["head.bias"] = (settings["num_tags"],)
    return shapes


def tagger_state(settings, weights):
    """Why these weights can't be the skeleton's for these settings, or None."""
    keys, wanted = set(weights), tagger_keys(settings)
    for name, layer in (("embed", "nn.Embedding"), ("lstm", "nn.LSTM"), ("head", "nn.Linear")):
        if not any_(k.startswith(name + ".") for k in keys):
            return f"The model has no self.{name}: keep the skeleton's {layer}, named self.{name}."
    if any_("_l1" in k for k in keys):
        return "self.lstm has more than one layer: this tagger has one (nn.LSTM's default)."
    if ("lstm.weight_ih_l0_reverse" in keys) != settings["bidirectional"]:
        return (f"self.lstm is {'' if settings['bidirectional'] else 'not '}meant to be bidirectional here: pass "
                "bidirectional on to nn.LSTM.")
    if keys != set(wanted):
        extra = sorted_(keys - set(wanted))
        return (f"The model has weights the skeleton doesn't ({', '.join(extra[:3])}): keep self.embed, self.lstm "
                "and self.head only, with nn.LSTM's default biases." if extra else
                "self.lstm or self.head has no biases: keep the defaults, bias=True.")
    for key, shape in wanted.items():
        if tuple_(weights[key].shape) != shape:
            if key == "head.weight" and settings["bidirectional"] and weights[key].shape[-1:] == (wanted[key][1] // 2,):
                return ("A bidirectional LSTM's output has 2 * hidden_size features per step: the head must "
                        "read all of them.")
            return (f"{key} has shape {tuple_(weights[key].shape)}; with these settings it should be {shape}. "
                    "Build the layers from the constructor's arguments.")
    if bool_((weights["embed.weight"][settings["pad_id"]] != 0).any()):
        return ("The embedding's row pad_id is not zero: build it with nn.Embedding(vocab_size, embedding_dim, "
                "padding_idx=pad_id), so that padding has no vector of its own and learns nothing.")
    return None


def lstm_weights(weights, bidirectional):
    return [weights[f"lstm.{name}_l0{suffix}"] for suffix in ("", "_reverse")[:2 if bidirectional else 1]
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]


def run_lstm(x, weights, bidirectional, hidden):
    """The layer on (n, L, E) features: (output, h_n)."""
    d = 2 if bidirectional else 1
    start = zeros(d, x.shape[0], hidden, dtype=x.dtype)
    output, h_n, _ = vf_lstm(x, (start, start), lstm_weights(weights, bidirectional), True, 1, 0.0, False,
                             bidirectional, True)
    return output, h_n


def head(weights, features):
    return features @ weights["head.weight"].t() + weights["head.bias"]


def per_sequence(settings, ids, lengths, weights):
    """Every sequence run alone on its real steps (what packing computes): [(output, h_n)]."""
    x = weights["embed.weight"][ids]
    return [run_lstm(x[n:n + 1, :int_(length)], weights, settings["bidirectional"], settings["hidden_size"])
            for n, length in enumerate(as_tensor(lengths).tolist())]


def tagger_reference(settings, ids, lengths, weights, steps=None):
    runs = per_sequence(settings, ids, lengths, weights)
    d = 2 if settings["bidirectional"] else 1
    out = full((ids.shape[0], steps or ids.shape[1], d * settings["hidden_size"]), nan)
    for n, (output, _) in enumerate(runs):
        out[n, :output.shape[1]] = output[0]
    return head(weights, out)  # NaN at the padded steps: compare() looks at the real steps only


def real_steps_close(got, want):
    """The logits at the real steps (where the reference is not NaN) agree to 1e-5."""
    known = isfinite(want)
    return bool_(allclose(got[known], want[known], atol=1e-5, rtol=1e-5))


real_steps_close.visible = ("linear", 1e-5, 1e-5)  # a visible check hashes the real steps (visible_out) as allclose


def tagger_unpacked(settings, ids, lengths, weights):
    x = weights["embed.weight"][ids]
    output, _ = run_lstm(x, weights, settings["bidirectional"], settings["hidden_size"])
    logits = head(weights, output)
    return logits.masked_fill(~real(ids, lengths)[:, :, None], nan)


def tagger_no_total_length(settings, ids, lengths, weights):
    return tagger_reference(settings, ids, lengths, weights, steps=max_(as_tensor(lengths).tolist()))


def tagger_time_major(settings, ids, lengths, weights):
    return tagger_reference(settings, ids, lengths, weights).transpose(0, 1)


def final_states(settings, runs):
    if settings["bidirectional"]:
        return cat([cat((h_n[0], h_n[1]), 1) for _, h_n in runs])
    return cat([h_n[-1] for _, h_n in runs])


def tagger_h_n_packed(settings, ids, lengths, weights):
    return head(weights, final_states(settings, per_sequence(settings, ids, lengths, weights)))


def tagger_h_n_unpacked(settings, ids, lengths, weights):
    x = weights["embed.weight"][ids]
    _, h_n = run_lstm(x, weights, settings["bidirectional"], settings["hidden_size"])
    return head(weights, cat((h_n[0], h_n[1]), 1) if settings["bidirectional"] else h_n[-1])


def tagger_probabilities(settings, ids, lengths, weights):
    return softmax(tagger_reference(settings, ids, lengths, weights), 2)


def tagger_case(gen, i):
    bidirectional, visible = i % 2 == 1, i < 2  # the visible check's two cases stay small: a few dozen logits
    vocab = draw(gen, 5, 9)
    hidden = draw(gen, 2, 5)
    tags = draw(gen, 2, 3 if visible else 5)
    if tags == 2 * hidden or tags == hidden:  # the head's width can't pass for the number of tags
        tags = 2 * hidden + 1 if tags == 2 * hidden else tags + 1
    settings = {"vocab_size": vocab, "embedding_dim": draw(gen, 2, 5), "hidden_size": hidden, "num_tags": tags,
                "bidirectional": bidirectional, "pad_id": 0 if i % 3 == 0 else draw(gen, 1, vocab - 1)}
    n = 2 if visible else draw(gen, 2, 4)
    longest = draw(gen, 2, 4 if visible else 5)
    lengths = draw_lengths(gen, n, longest)
    steps = longest + (draw(gen, 1, 3) if bidirectional else 0)  # bidirectional: padded beyond the longest
    if steps == n:
        steps += 1
    ids = randint(0, vocab - 1, (n, steps), generator=gen)
    ids = ids + (ids >= settings["pad_id"]).long()  # real ids are never pad_id
    ids = ids.masked_fill(~real(ids, lengths), settings["pad_id"])
    return settings, ids, tensor(lengths, dtype=int64)


def tagger_weights(settings, gen):
    """The skeleton's state_dict for `settings`, its numbers drawn from gen (a visible check loads it): the
    embedding's row pad_id zero, as padding_idx leaves it."""
    d = 2 if settings["bidirectional"] else 1
    with fork_rng(devices=[]):
        manual_seed(int_(randint(0, 2 ** 62, (1,), generator=gen)))
        embed = nn.Embedding(settings["vocab_size"], settings["embedding_dim"], padding_idx=settings["pad_id"])
        lstm = nn.LSTM(settings["embedding_dim"], settings["hidden_size"], bidirectional=settings["bidirectional"],
                       batch_first=True)
        head_layer = nn.Linear(d * settings["hidden_size"], settings["num_tags"])
    return {**{f"embed.{k}": v for k, v in embed.state_dict().items()},
            **{f"lstm.{k}": v for k, v in lstm.state_dict().items()},
            **{f"head.{k}": v for k, v in head_layer.state_dict().items()}}


NO_TOTAL_LENGTH = api["references"]["sequence_tagger"]["no_total_length"]
KEY["sequence_tagger"] = {
    "case": tagger_case,
    "reference": tagger_reference,
    "compare": real_steps_close,
    "state_check": tagger_state,
    "weights": tagger_weights,
    "mistakes": [
        ("Without packing, the backward direction of a bidirectional LSTM reads the padding before each "
         "sequence's real steps, so the logits depend on how much padding the batch has. Pack the embedded "
         "batch: pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False).", tagger_unpacked),
        (NO_TOTAL_LENGTH, tagger_no_total_length),
        ("That is one row of logits per sequence, from h_n: a tagger needs one per step. The head reads output, "
         "the top layer's state at every step.", tagger_h_n_packed),
        ("That is one row of logits per sequence, from h_n: a tagger needs one per step. The head reads output, "
         "the top layer's state at every step.", tagger_h_n_unpacked),
        ("The logits are time-major, (L, N, num_tags): unpack with batch_first=True.", tagger_time_major),
        ("It returns probabilities (a softmax). Return the logits: cross_entropy applies the softmax itself.",
         tagger_probabilities),
    ],
    "errors": {"RuntimeError": [("enforce_sorted", "The lengths are not sorted, longest first: pass "
                                                   "enforce_sorted=False to pack_padded_sequence."),
                                ("lengths", "pack_padded_sequence wants the lengths as a 1-D CPU int64 tensor "
                                            "or a list.")]},
}


# --- generate(model, prefix_ids, steps): greedy, on a model the judge draws -------------------------------

def greedy(model, prefix, steps, feed_back=True, keep_state=True):
    """(the prefix and `steps` greedy ids, the smallest gap between a step's two largest logits)."""
    logits, state = model(prefix[None])
    tokens, gaps = [int_(t) for t in prefix], []
    for _ in range_(steps):
        top = logits[0, -1].topk(2).values
        gaps.append(float_(top[0] - top[1]))
        token = int_(logits[0, -1].argmax())
        tokens.append(token)
        fed = tensor([[token if feed_back else int_(prefix[-1])]])
        logits, state = model(fed, state if keep_state else None)
    return tensor(tokens, dtype=int64), min_(gaps)


def generate_case(gen, i):
    # Redrawn until every step's greedy choice is clear (two largest logits 1e-3 apart or more) and each
    # named mistake gives tokens of its own, so that a mistake is named as itself.
    while True:
        model = case_module(gen, "GenerationLM", vocab_size=draw(gen, 6, 9), embedding_dim=draw(gen, 3, 5),
                            hidden_size=draw(gen, 6, 9))
        for p in model.parameters():  # larger weights: a longer memory, so the mistakes show
            p.mul_(3.0)
        prefix = randint(0, model.head.out_features, (draw(gen, 1, 3),), generator=gen)
        steps = draw(gen, 3, 5)
        tokens, gap = greedy(model, prefix, steps)
        unfed = greedy(model, prefix, steps, feed_back=False)[0]
        reset = greedy(model, prefix, steps, keep_state=False)[0]
        if gap >= 1e-3 and not any_(equal(a, b) for a, b in ((tokens, unfed), (tokens, reset), (unfed, reset))):
            return model, prefix, steps


KEY["generate"] = {
    "case": generate_case,
    "reference": lambda model, prefix, steps: greedy(model, prefix, steps)[0],
    "mistakes": [
        ("The chosen token is never fed back: each step must read the token just chosen, not the prefix's last "
         "one.", lambda model, prefix, steps: greedy(model, prefix, steps, feed_back=False)[0]),
        ("(h, c) starts again from zeros at every step, so each token is chosen from one step of context: pass "
         "the state returned by one call into the next.",
         lambda model, prefix, steps: greedy(model, prefix, steps, keep_state=False)[0]),
        ("It returns only the new tokens: return the prefix followed by them, one 1-D tensor.",
         lambda model, prefix, steps: greedy(model, prefix, steps)[0][len_(prefix):]),
    ],
    "errors": {"IndexError": "The model reads a batch, (N, L) ids: give it the prefix as prefix[None], (1, L), "
                             "and one new token as a (1, 1) tensor.",
               "ValueError": "The model returns (logits, state): unpack both, logits, state = model(ids, state)."},
}


# --- a trained model: aⁿbⁿ ------------------------------------------------------------------------

START, A, B = 0, 1, 2


def anbn_logits(weights, ns):
    layers = api["references"]["anbn_lm"]["weights_check"](weights)  # public: the shapes' messages
    if type_(layers) is not int_:
        return layers
    h = weights["lstm.weight_hh_l0"].shape[1]
    flat = [weights[f"lstm.{name}_l{k}"] for k in range_(layers)
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    rows = []
    for n in ns:  # the true string fed in: ^ a^n b^n; the rule decides the outputs after the first b
        ids = tensor([[START] + [A] * n + [B] * n], dtype=int64)
        start = zeros(layers, 1, h)
        output = vf_lstm(weights["embed.weight"][ids], (start, start), flat, True, layers, 0.0, False, False,
                         True)[0]
        logits = output[0] @ weights["head.weight"].t()
        if "head.bias" in weights:
            logits = logits + weights["head.bias"]
        rows.append(logits[n + 1:2 * n + 1])
    return cat(rows)


KEY["anbn_lm"] = {
    "test_set": lambda gen: api["references"]["anbn_lm"]["task"](0, gen),  # the public task: the language itself
    "logits": anbn_logits,
}
