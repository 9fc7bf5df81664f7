"""Lesson 02's reference, the part every notebook may carry: what to_time_major is, and the texts its checks
print. Its key (cases, reference, named mistakes) is course/keys/02_shapes.py, which only the hidden tests
carry (docs/architecture.md, "Writing a reference").
"""


def _install_references(api):
    references = api["references"]

    references["to_time_major"] = {
        "signature": "to_time_major(x) returning an (L, N, H_in) tensor",
        "outputs": ("the result",),
        "not_yet": ("Row t of the result should be step t of every sequence. Label a small tensor, as section 9 "
                    "does, and look at what your function makes of it."),
    }


_install_references(_course_answers)
del _install_references
