"""Lesson 06's references, the part every notebook may carry: what the SequenceClassifier class is, the task
a model is trained on (temporal order), and the texts their checks print. Their key (the class's cases,
reference and named mistakes; how a trained model's logits are computed from its weights) is
course/keys/06_model.py, which only the hidden tests carry (docs/architecture.md, "Writing a reference").
"""


def _install_references(api):
    import torch

    randint, one_hot, arange, float32 = torch.randint, torch.nn.functional.one_hot, torch.arange, torch.float32
    references = api["references"]

    references["sequence_classifier"] = {
        "kind": "module",
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

    LENGTH, SYMBOLS, CLASSES = 40, 6, 4

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

    references["temporal_order"] = {
        "kind": "trained",
        "task": temporal_order,  # public: the visible check measures the student's own forward on it
        "sizes": (SYMBOLS, CLASSES),
        "not_yet": ("On {n} sequences it has never seen, the model is right {accuracy} of the time; this exercise "
                    "asks for {wanted}. Train it for more steps (on this task a forget-gate bias of 1 is enough: "
                    "lesson 6, section 3), and measure on fresh data."),
    }


_install_references(_course_answers)
del _install_references
