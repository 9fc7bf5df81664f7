"""Lesson 05's reference, the part every notebook may carry: what last_valid is, and the texts its checks
print. Its key (cases, reference, named mistakes) is course/keys/05_sequences.py, which only the hidden
tests carry (docs/architecture.md, "Writing a reference").
"""


def _install_references(api):
    api["references"]["last_valid"] = {
        "signature": "last_valid(output, lengths, batch_first=True) returning an (N, D*H_out) tensor",
        "outputs": ("the result",),
        "not_yet": ("These are not each sequence's last valid steps. Try it on the example above, where you "
                    "can compare with h_n."),
    }


_install_references(_course_answers)
del _install_references
