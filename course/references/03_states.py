"""Lesson 03's reference, the part every notebook may carry: what top_layer_states is, and the texts its checks
print. Its key (cases, reference, named mistakes) is course/keys/03_states.py, which only the hidden tests
carry (docs/architecture.md, "Writing a reference").
"""


def _install_references(api):
    references = api["references"]

    references["top_layer_states"] = {
        "signature": "top_layer_states(h_n, num_layers) returning an (N, D * H) tensor",
        "outputs": ("the result",),
        "not_yet": ("These are not the top layer's states, forward then backward, one row per sequence. Try it "
                    "on h_n of a layer you build, and compare with output (section 7)."),
    }


_install_references(_course_answers)
del _install_references
