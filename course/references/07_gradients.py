"""Lesson 07's references, the part every notebook may carry: what grad_norms and set_forget_bias are, the texts
their checks print, and set_forget_bias's `visible_state` (what every right answer leaves, for the visible
check's hash). Their key (cases, references, named mistakes, the check of a changed LSTM) is
course/keys/07_gradients.py, which only the hidden tests carry (docs/architecture.md, "Writing a reference").
"""


def _install_references(api):
    import torch

    cat = torch.cat
    references = api["references"]

    def forget_view(state, lstm, value):
        """What every right set_forget_bias leaves, whatever split of value it chose: each bias pair's total over
        the forget gate's rows and over the other rows (as they were), every weight."""
        h, view = lstm.hidden_size, {}
        for name, t in state.items():
            if name.startswith("bias_ih"):
                other = state[name.replace("bias_ih", "bias_hh")]
                view[name.replace("bias_ih", "forget_total")] = t[h:2 * h] + other[h:2 * h]
                view[name.replace("bias_ih", "other_total")] = cat((t[:h], t[2 * h:])) + cat((other[:h], other[2 * h:]))
            elif not name.startswith("bias_hh"):
                view[name] = t
        return view

    references["grad_norms"] = {
        "signature": "grad_norms(model, x) returning an (L,) tensor",
        "outputs": ("the norms",),
        "not_yet": ("These are not the norms of the gradient of the last step's output with respect to each input "
                    "step. Compare with the lesson's curve on the example above."),
    }

    references["set_forget_bias"] = {
        "visible_state": forget_view,
        "messages": {"replaced": ("It replaced the biases with new tensors: change the LSTM's own parameters in "
                                  "place, inside a `with torch.no_grad():` block.")},
        "signature": "set_forget_bias(lstm, value), changing the LSTM in place",
        "outputs": ("nothing",),
        "not_yet": "bias_ih + bias_hh over the forget gate's rows should be value in every layer and direction.",
    }


_install_references(_course_answers)
del _install_references
