"""Lesson 08's references, the part every notebook may carry: what collate, masked_loss, SequenceTagger,
generate and a trained aⁿbⁿ model are, the texts their checks print, the observe hooks (the tagger run again on
a batch padded further; the length of each forward input of generate), the GenerationLM class generate's cases
are built from, and the aⁿbⁿ task with how the visible check reads the model's own forward. Their key (cases,
references, named mistakes, the logits of a trained model from its weights) is course/keys/08_generation.py,
which only the hidden tests carry (docs/architecture.md, "Writing a reference").
"""


def _install_references(api):
    import torch
    from torch import nn

    cat, arange, as_tensor, tensor = torch.cat, torch.arange, torch.as_tensor, torch.tensor
    int64, tensor_type = torch.int64, torch.Tensor
    int_, float_, len_, range_, tuple_, list_, any_, max_, type_, dict_get = (
        int, float, len, range, tuple, list, any, max, type, dict.get)
    references = api["references"]

    def real(tags, lengths):
        """(N, L) bool: True at each sequence's real steps."""
        return arange(tags.shape[1])[None, :] < as_tensor(lengths)[:, None]

    references["collate"] = {
        "signature": "collate(batch, pad_id=0) returning (padded, lengths)",
        "outputs": ("padded", "lengths"),
        "not_yet": ("These are not the padded batch and its lengths. Try it on three sequences of lengths 3, 1 and "
                    "2 with pad_id=9, and look at both results."),
    }

    references["masked_loss"] = {
        "signature": "masked_loss(logits, tags, lengths) returning a scalar tensor",
        "outputs": ("the loss",),
        "not_yet": ("This is not the mean cross-entropy over the real steps. Compare it with "
                    "nn.functional.cross_entropy on the real steps of the example, picked one by one."),
    }

    # --- SequenceTagger: its observe hook pads the batch further ---------------------------------------

    MORE = 3  # the observe hook pads the batch this many steps further

    def tagger_observe(model, ids, lengths):
        """Runs the tagger as the check does, then on the same batch padded MORE steps further (with the id
        found after a short sequence), and reports how far the logits at real steps moved."""
        out = model(ids, lengths)
        change = width = None
        try:
            known = as_tensor(lengths)
            short = int_((known < ids.shape[1]).nonzero()[0, 0])
            wider = cat((ids, ids[short, -1:].expand(ids.shape[0], MORE)), 1)
            again = model(wider, lengths)
            width = int_(again.shape[1])
            if type_(out) is tensor_type and type_(again) is tensor_type and width == ids.shape[1] + MORE:
                change = float_((again[:, :ids.shape[1]] - out)[real(ids, known)].abs().max())
        except Exception:
            change = None
        return out, {"change": change, "width": width}

    def tagger_repadded(extra, settings, ids, lengths, weights):
        change = dict_get(extra, "change") if type_(extra) is dict else None
        if type_(extra) is dict and dict_get(extra, "width") == max_(as_tensor(lengths).tolist()):
            return NO_TOTAL_LENGTH  # right on this batch, which was not padded beyond its longest sequence
        if type_(change) is not float_:
            return (f"Padded {MORE} steps further, the same batch gave no logits of the new length: return "
                    "(N, L, num_tags) for ids of any width L.")
        if change > 1e-5:
            return (f"Padded {MORE} steps further, the logits at real steps moved by {change:.2g}: a tagger's answer "
                    "must not depend on how much padding its batch has. Pack the embedded batch.")
        return None

    NO_TOTAL_LENGTH = ("The logits cover only the longest sequence's steps: pad_packed_sequence pads to max(lengths) "
                       "unless total_length=ids.shape[1] says otherwise, and a batch may be padded further.")
    def padding_unread(logits, settings, ids, lengths):
        """What a visible check hashes of a tagger's logits: the real steps only (the padded ones as NaN), as the
        hidden test compares them; also for logits of other widths or time-major, as the named mistakes give."""
        n, steps = ids.shape
        if logits.dim() != 3 or n == steps or n not in logits.shape[:2]:
            return logits
        time_major = logits.shape[1] == n and logits.shape[0] != n
        width = logits.shape[0] if time_major else logits.shape[1]
        known = arange(width)[None, :] < as_tensor(lengths)[:, None]  # (N, width)
        return logits.masked_fill(~(known.t() if time_major else known)[:, :, None], float_("nan"))

    references["sequence_tagger"] = {
        "kind": "module",
        "no_total_length": NO_TOTAL_LENGTH,  # also the key's mistake
        "visible_out": padding_unread,
        "observe": tagger_observe,
        "extra_check": tagger_repadded,
        "matmul": ("The head got features of the wrong width: it reads output, which has D * hidden_size features "
                   "per step (D = 2 when bidirectional)."),
        "mismatch": {"head.weight": ("The head got features of the wrong width: it reads output, which has "
                                     "D * hidden_size features per step (D = 2 when bidirectional).")},
        "signature": ("SequenceTagger(vocab_size, embedding_dim, hidden_size, num_tags, bidirectional=False, "
                      "pad_id=0), whose forward(ids, lengths) returns (N, L, num_tags) logits"),
        "outputs": ("the tagger's output",),
        "not_yet": ("Its logits at the real steps are not the head applied to the packed LSTM's output. Compare "
                    "forward with the skeleton's comments, on the example above."),
    }

    # --- generate: on a model the judge draws -------------------------------------------------------------

    class GenerationLM(nn.Module):
        """A character model for the generate check: forward(ids, state=None) -> (logits, state)."""

        def __init__(self, vocab_size, embedding_dim, hidden_size):
            super().__init__()
            self.embed = nn.Embedding(vocab_size, embedding_dim)
            self.lstm = nn.LSTM(embedding_dim, hidden_size, batch_first=True)
            self.head = nn.Linear(hidden_size, vocab_size)

        def forward(self, ids, state=None):
            output, state = self.lstm(self.embed(ids), state)
            return self.head(output), state

    api["module_classes"]["GenerationLM"] = GenerationLM

    def generate_observe(answer, model, prefix, steps):
        """Calls generate with the model's forward wrapped so that each input's length is recorded."""
        seen, forward = [], model.forward

        def recording(ids, state=None):
            if len_(seen) < 64:
                seen.append(int_(ids.shape[-1]))
            return forward(ids, state)

        model.forward = recording
        return answer(model, prefix, steps), {"lengths": seen}

    def generate_note(extra, model, prefix, steps):
        lengths = dict_get(extra, "lengths") if type_(extra) is dict else None
        if type_(lengths) is list_ and any_(type_(n) is int_ and n > 1 for n in lengths[1:]):
            return ("it runs the whole growing sequence through the model at every step: the same tokens, at a cost "
                    "that grows with the square of the length. Carry (h, c) from one call to the next and feed only "
                    "the new token.")
        return None
    references["generate"] = {
        "observe": generate_observe,
        "extra_note": generate_note,
        "signature": "generate(model, prefix_ids, steps) returning the prefix and `steps` greedy ids, one 1-D tensor",
        "outputs": ("the sequence of ids",),
        "not_yet": ("These are not the greedy ids: at each step take the argmax of the last step's logits, and feed "
                    "that id back with the state."),
    }

    # --- a trained model: aⁿbⁿ ------------------------------------------------------------------------

    START, A, B, END = 0, 1, 2, 3
    VOCAB, TRAINED_UP_TO, TESTED_UP_TO = 4, 10, 15

    def anbn_task(n, gen):
        """Every n from 1 to 15 once (the language has one string per n; `n` and `gen` are not needed): (the
        strings' n, the ids the rule decides, in order)."""
        ns = list_(range_(1, TESTED_UP_TO + 1))
        labels = [token for n in ns for token in [B] * (n - 1) + [END]]
        return ns, tensor(labels, dtype=int64)

    def lm_state(weights):
        """Why a state_dict can't be the lesson's CharLM (a message), else its number of layers: what the shapes say,
        nothing of what the weights compute."""
        keys = set(weights)
        for name in ("embed.weight", "lstm.weight_ih_l0", "lstm.weight_hh_l0", "head.weight"):
            if name not in keys:
                return (f"The model has no {name}: train an instance of the lesson's CharLM (self.embed, self.lstm, "
                        "self.head).")
        layers = 0
        while f"lstm.weight_ih_l{layers}" in keys:
            layers += 1
        if any_("reverse" in k for k in keys):
            return "A language model reads left to right: its LSTM can't be bidirectional."
        if any_(not (k.startswith("lstm.") or k in ("embed.weight", "head.weight", "head.bias")) for k in keys):
            return "The model has layers besides self.embed, self.lstm and self.head: keep the lesson's CharLM."
        embed, w, u, out = (weights[k] for k in ("embed.weight", "lstm.weight_ih_l0", "lstm.weight_hh_l0",
                                                 "head.weight"))
        h = u.shape[1] if u.dim() == 2 else 0
        if embed.dim() != 2 or embed.shape[0] != VOCAB or out.dim() != 2 or out.shape[0] != VOCAB:
            return f"The model should read and predict the lesson's {VOCAB} symbols, ^ a b $: CharLM({VOCAB}, ...)."
        if w.dim() != 2 or w.shape != (4 * h, embed.shape[1]) or out.shape[1] != h or any_("weight_hr" in k for k in keys):
            return "self.lstm's sizes don't fit self.embed and self.head: build them as the lesson's CharLM does."
        for layer in range_(layers):
            for name in ("bias_ih", "bias_hh"):
                if f"lstm.{name}_l{layer}" not in keys:
                    return "self.lstm has no biases: keep nn.LSTM's default, bias=True."
        return layers

    def anbn_read(model, ns):
        """The model's own next-id logits, fed each string ^ aⁿ bⁿ, at the positions the rule decides (each b after
        the first, and the $): one row per label of anbn_task, as the key reads them off the weights."""
        rows = []
        for n in ns:
            out = model(tensor([[START] + [A] * n + [B] * n], dtype=int64))
            logits = out[0] if type_(out) is tuple_ else out
            rows.append(logits[0, n + 1:2 * n + 1])
        return cat(rows)

    references["anbn_lm"] = {
        "kind": "trained",
        "task": anbn_task,  # public: the language itself; the visible check reads the model's own forward
        "read": anbn_read,
        "weights_check": lm_state,
        "visible_size": TESTED_UP_TO,
        "shape_hint": ("Its forward should map (N, L) ids to (N, L, 4) next-id logits (and the state), as the "
                       "lesson's CharLM does."),
        "not_yet": ("Fed aⁿbⁿ for n = 1 to 15 (trained up to 10), the model predicts {accuracy} of the ids the rule "
                    "decides (each b after the first, and the $); this exercise asks for {wanted}. Train it longer "
                    "(section 5's train_lm), or try another seed."),
    }


_install_references(_course_answers)
del _install_references
