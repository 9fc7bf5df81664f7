"""Lesson 06's references: the SequenceClassifier class and a model trained on temporal order.

`sequence_classifier` judges the class by its own weights: each case builds it with settings
drawn at checking time (two layers, or bidirectional, or both; N != L), calls it once, and reads
its state_dict. The reference is the skeleton's computation on those weights, by PyTorch's own
layer (`torch._VF.lstm`, what nn.LSTM calls, captured when this cell runs): the head applied to
the last hidden state of the top layer, both directions concatenated when there are two. Each
classic mistake is another head on the same weights, so a check can name it.

`temporal_order` judges a trained model: fresh sequences of the lesson's task, drawn at
checking time, and the accuracy of the logits computed from the model's weights, never from
its forward (a rule written into forward earns nothing).
"""


def _install_references(api):
    import torch

    vf_lstm = torch._VF.lstm
    randint, randn, zeros, cat, softmax, one_hot = (torch.randint, torch.randn, torch.zeros, torch.cat,
                                                    torch.softmax, torch.nn.functional.one_hot)
    arange, float32 = torch.arange, torch.float32
    int_, len_, range_, sorted_, tuple_, any_, dict_get = int, len, range, sorted, tuple, any, dict.get
    references = api["references"]

    def draw(gen, low, high):
        return int_(randint(low, high + 1, (1,), generator=gen))

    # --- the skeleton's computation, on a state_dict's tensors --------------------------------------

    def lstm_keys(settings):
        d = 2 if settings["bidirectional"] else 1
        h, shapes = settings["hidden_size"], {}
        for layer in range_(settings["num_layers"]):
            inputs = settings["input_size"] if layer == 0 else d * h
            for suffix in ("", "_reverse")[:d]:
                shapes[f"lstm.weight_ih_l{layer}{suffix}"] = (4 * h, inputs)
                shapes[f"lstm.weight_hh_l{layer}{suffix}"] = (4 * h, h)
                shapes[f"lstm.bias_ih_l{layer}{suffix}"] = (4 * h,)
                shapes[f"lstm.bias_hh_l{layer}{suffix}"] = (4 * h,)
        return shapes

    def settings_of(weights):
        """The settings a state_dict's LSTM was built with, as far as its keys and shapes tell."""
        w = dict_get(weights, "lstm.weight_ih_l0")
        u = dict_get(weights, "lstm.weight_hh_l0")
        if w is None or u is None or w.dim() != 2 or u.dim() != 2:
            return None
        layers = 0
        while f"lstm.weight_ih_l{layers}" in weights:
            layers += 1
        head = dict_get(weights, "head.weight")
        return {"input_size": int_(w.shape[1]), "hidden_size": int_(u.shape[1]), "num_layers": layers,
                "bidirectional": "lstm.weight_ih_l0_reverse" in weights,
                "num_classes": int_(head.shape[0]) if head is not None and head.dim() == 2 else 0}

    def state_check(settings, weights):
        """Why these weights can't be the skeleton's for these settings, or None."""
        keys = sorted_(weights)
        if not any_(k.startswith("lstm.") for k in keys):
            return "The model has no self.lstm: name its LSTM layer self.lstm, as the skeleton does."
        if "head.weight" not in weights:
            return "The model has no self.head: name its linear layer self.head, as the skeleton does."
        if any_(not (k.startswith("lstm.") or k in ("head.weight", "head.bias")) for k in keys):
            return "The model has layers besides self.lstm and self.head: this exercise wants only those two."
        if any_("weight_hr" in k for k in keys):
            return "self.lstm has a projection (proj_size): this exercise does not use one."
        found = settings_of(weights)
        if found is None:
            return "self.lstm's weights could not be read: build it with nn.LSTM(...)."
        d = 2 if settings["bidirectional"] else 1
        if found["num_layers"] != settings["num_layers"]:
            return (f"self.lstm has {found['num_layers']} layer(s) here, but num_layers was "
                    f"{settings['num_layers']}: pass num_layers on to nn.LSTM.")
        if found["bidirectional"] != settings["bidirectional"]:
            return (f"self.lstm is {'' if found['bidirectional'] else 'not '}bidirectional here, but bidirectional "
                    f"was {settings['bidirectional']}: pass bidirectional on to nn.LSTM.")
        expected = lstm_keys(settings)
        for key, shape in expected.items():
            if key not in weights and "bias" in key:
                return "self.lstm has no biases: keep nn.LSTM's default, bias=True."
            if key not in weights or tuple_(weights[key].shape) != shape:
                return ("self.lstm's sizes don't match input_size and hidden_size: build it as "
                        "nn.LSTM(input_size, hidden_size, ...).")
        head = tuple_(weights["head.weight"].shape)
        width, classes, h = d * settings["hidden_size"], settings["num_classes"], settings["hidden_size"]
        if len_(head) != 2 or head[0] != classes:
            return "self.head should give num_classes logits: nn.Linear(..., num_classes)."
        if head[1] != width:
            if d == 2 and head[1] == h:
                return ("For a bidirectional LSTM the head reads both directions' last hidden states: "
                        "2 * hidden_size features.")
            if head[1] == settings["num_layers"] * width:
                return ("The head reads every layer's state. It should read the top layer's only: h_n[-1], "
                        "with h_n[-2] beside it when the LSTM is bidirectional.")
            return "self.head should read D * hidden_size features: nn.Linear(D * hidden_size, num_classes)."
        bias = dict_get(weights, "head.bias")
        if bias is not None and tuple_(bias.shape) != (classes,):
            return "self.head should be nn.Linear(D * hidden_size, num_classes)."
        return None

    def run(settings, x, weights, batch_first=True):
        d = 2 if settings["bidirectional"] else 1
        flat = []
        for layer in range_(settings["num_layers"]):
            for suffix in ("", "_reverse")[:d]:
                flat += [weights[f"lstm.{name}_l{layer}{suffix}"] for name in ("weight_ih", "weight_hh", "bias_ih",
                                                                                 "bias_hh")]
        n = x.shape[0] if batch_first else x.shape[1]
        start = zeros(d * settings["num_layers"], n, settings["hidden_size"], dtype=x.dtype)
        output, h_n, c_n = vf_lstm(x, (start, start), flat, True, settings["num_layers"], 0.0, False,
                                   settings["bidirectional"], batch_first)
        return output, h_n, c_n

    def head(weights, features):
        out = features @ weights["head.weight"].t()
        bias = dict_get(weights, "head.bias")
        return out + bias if bias is not None else out

    def last_states(settings, h_n):
        return cat((h_n[-2], h_n[-1]), 1) if settings["bidirectional"] else h_n[-1]

    def logits(settings, x, weights):
        return head(weights, last_states(settings, run(settings, x, weights)[1]))

    # --- the class: SequenceClassifier(input_size, hidden_size, num_classes, num_layers, bidirectional) --

    SHAPES = ((2, False), (1, True), (2, True))  # every case has a second layer or a second direction

    def classifier_case(gen, i):
        layers, bidirectional = SHAPES[i % len_(SHAPES)]
        inputs, hidden = draw(gen, 1, 6), draw(gen, 1, 8)
        if hidden == inputs:
            hidden = inputs + 1
        n = draw(gen, 2, 6)
        steps = draw(gen, 2, 7)
        if steps == n:  # N != L: a forgotten batch_first shows in the shape
            steps = n + 1
        settings = {"input_size": inputs, "hidden_size": hidden, "num_classes": draw(gen, 2, 5),
                    "num_layers": layers, "bidirectional": bidirectional}
        return (settings, randn(n, steps, inputs, generator=gen))

    def last_output(settings, x, weights):
        output = run(settings, x, weights)[0]
        return head(weights, output[:, -1])

    def bottom_layer(settings, x, weights):
        h_n = run(settings, x, weights)[1]
        return head(weights, cat((h_n[0], h_n[1]), 1) if settings["bidirectional"] else h_n[0])

    def flattened(settings, x, weights):
        h_n = run(settings, x, weights)[1]
        return head(weights, h_n.reshape(x.shape[0], -1))

    def directions_swapped(settings, x, weights):
        h_n = run(settings, x, weights)[1]
        return head(weights, cat((h_n[-1], h_n[-2]), 1))

    def time_major(settings, x, weights):
        h_n = run(settings, x, weights, batch_first=False)[1]
        return head(weights, last_states(settings, h_n))

    def probabilities(settings, x, weights):
        return softmax(logits(settings, x, weights), 1)

    def cell_state(settings, x, weights):
        c_n = run(settings, x, weights)[2]
        return head(weights, last_states(settings, c_n))

    references["sequence_classifier"] = {
        "kind": "module",
        "case": classifier_case,
        "reference": logits,
        "state_check": state_check,
        "mistakes": [
            ("The head reads output[:, -1]. For a bidirectional LSTM the backward half of output[:, -1] has seen "
             "only the last step; the final states are in h_n: torch.cat((h_n[-2], h_n[-1]), dim=1).", last_output),
            ("The head reads the bottom layer's state: h_n[0] (and, with two directions, h_n[1], the bottom layer's "
             "backward state). The top layer's state is h_n[-1]; with two directions its forward state is h_n[-2] "
             "and its backward state h_n[-1]: torch.cat((h_n[-2], h_n[-1]), dim=1).", bottom_layer),
            ("h_n.view(N, -1) mixes samples: h_n is (D * num_layers, N, H), so the batch is not its first axis. "
             "Use torch.cat((h_n[-2], h_n[-1]), dim=1).", flattened),
            ("The two directions are concatenated the other way round: forward first, "
             "torch.cat((h_n[-2], h_n[-1]), dim=1).", directions_swapped),
            ("The logits have one row per time step, not one per sequence: build the LSTM with batch_first=True, "
             "since x is (N, L, input_size).", time_major),
            ("It returns probabilities (a softmax). Return the logits: nn.CrossEntropyLoss applies the softmax "
             "itself.", probabilities),
            ("The head reads the cell state c_n. Classify from the hidden state, h_n.", cell_state),
        ],
        "matmul": ("The head got features of the wrong width. It reads the top layer's final hidden state, "
                   "D * hidden_size features: h_n[-1], with h_n[-2] beside it when the LSTM is bidirectional. "
                   "(h_n.view(N, -1) takes every layer, and mixes samples.)"),
        "signature": ("SequenceClassifier(input_size, hidden_size, num_classes, num_layers=1, bidirectional=False), "
                      "whose forward maps (N, L, input_size) to (N, num_classes) logits"),
        "outputs": ("the output",),
        "not_yet": ("Its logits are not the head applied to the final hidden state(s). Compare forward with the "
                    "skeleton's comment, on the example above."),
    }

    # --- a trained model: temporal order -------------------------------------------------------------

    LENGTH, SYMBOLS, CLASSES, TEST_SIZE = 40, 6, 4, 1000

    def temporal_order(n, gen):
        """The lesson's task: which of X (0) and Y (1) sit at two far-apart places; 4 classes."""
        symbols = randint(2, SYMBOLS, (n, LENGTH), generator=gen)  # distractors a..d
        first = randint(LENGTH // 10, 2 * LENGTH // 10 + 1, (n,), generator=gen)
        second = randint(5 * LENGTH // 10, 6 * LENGTH // 10 + 1, (n,), generator=gen)
        a = randint(0, 2, (n,), generator=gen)
        b = randint(0, 2, (n,), generator=gen)
        rows = arange(n)
        symbols[rows, first] = a
        symbols[rows, second] = b
        return one_hot(symbols, SYMBOLS).to(float32), 2 * a + b

    def trained_logits(weights, x):
        settings = settings_of(weights)
        if settings is None or "head.weight" not in weights:
            return ("The model has no self.lstm and self.head: train an instance of your SequenceClassifier, "
                    "which has both.")
        why = state_check(settings, weights)
        if why:
            return why
        if settings["input_size"] != SYMBOLS or settings["num_classes"] != CLASSES:
            return (f"The model should read {SYMBOLS} features per step and give {CLASSES} logits: "
                    f"SequenceClassifier({SYMBOLS}, hidden_size, {CLASSES}).")
        return logits(settings, x, weights)

    references["temporal_order"] = {
        "kind": "trained",
        "test_set": lambda gen: temporal_order(TEST_SIZE, gen),
        "task": temporal_order,
        "logits": trained_logits,
        "not_yet": ("On {n} sequences it has never seen, the model is right {accuracy} of the time; this exercise "
                    "asks for {wanted}. Train it for more steps (on this task a forget-gate bias of 1 is enough: "
                    "lesson 6, section 3), and measure on fresh data."),
    }


_install_references(_course_answers)
del _install_references
