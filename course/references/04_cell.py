"""Lesson 04's references, the part every notebook may carry: what lstm_gates, lstm_step and run_lstm are,
and the texts their checks print. Their key (cases, references, named mistakes) is course/keys/04_cell.py,
which only the hidden tests carry (docs/architecture.md, "Writing a reference").
"""


def _install_references(api):
    references = api["references"]
    matmul = ("Multiplying by the weights failed: weight_ih is stored as (4H, H_in), so the input is multiplied by "
              "its transpose.")

    references["lstm_step"] = {
        "signature": "lstm_step(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh) returning (h_next, c_next)",
        "outputs": ("h_next", "c_next"),
        "delegated": ("It calls PyTorch's own LSTM cell. This exercise asks for the step itself: compute the "
                      "four gates from the weights, then c' and h'."),
        "matmul": matmul,
        "not_yet": ("The result differs from nn.LSTMCell's on the same weights. Check each gate against the "
                    "equations, one at a time, on the example above."),
    }

    references["lstm_gates"] = {
        "signature": "lstm_gates(x, h, weight_ih, weight_hh, bias_ih, bias_hh) returning (i, f, g, o)",
        "outputs": ("i", "f", "g", "o"),
        "delegated": ("It calls PyTorch's own LSTM. nn.LSTMCell never shows its gates: compute them from the "
                      "weights yourself."),
        "matmul": matmul,
        "not_yet": "These are not the gates of this input. Check the pre-activations, then each activation.",
    }

    references["run_lstm"] = {
        "signature": ("run_lstm(x, weight_ih, weight_hh, bias_ih, bias_hh) returning (output, (h_n, c_n)), "
                      "as nn.LSTM does"),
        "outputs": ("output", "(h_n, c_n)"),
        "delegated": ("It calls PyTorch's own LSTM. This exercise asks for the loop itself: one step per time "
                      "step, carrying h and c."),
        "matmul": matmul,
        "not_yet": ("The result differs from nn.LSTM's on the same weights. Compare one step at a time with "
                    "your lstm_step."),
    }


_install_references(_course_answers)
del _install_references
