"""The lessons' keys: what each graded function, class and trained model computes, and its named mistakes.

A lesson's graded functions are split in two files (docs/architecture.md, "Writing a reference"):
course/references/<lesson>.py holds what may ship in every notebook (the texts, the module classes that
case arguments are rebuilt from, the `observe` hooks, a trained model's task), and course/keys/<lesson>.py
its key: the cases, the reference, the named mistakes and everything else that computes an answer. No
notebook a student receives carries a key file: course/build.py compresses it (`blob`) into the hidden
region of each test cell that names one of its references, where `expect_function` (and the `_module`,
`_trained` kinds) runs it in a scope of its own and keeps nothing (course/hidden_key.py); the grader's
worker and judge read it from the same hidden tests, restored from source/.

A key file is plain Python run with one global, `api` (the checks cell's `_course_answers`, its public
references among them); it defines `KEY = {reference name: {field: value}}`. It is never imported as a
module. Trusted code (course/build.py, the tests, the benchmarks) merges it into a checks namespace's
references with `install`, after which everything works by reference name, as in a notebook of old.
"""
import base64
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Fields that compute an answer or a named mistake, or say which cases are drawn: never in a public reference.
KEY_FIELDS = ("case", "visible_case", "reference", "mistakes", "state_check", "weights", "report_check", "test_set",
              "logits", "raises", "errors", "compare", "report", "grad", "cases", "visible_cases")


def files():
    """course/keys/<lesson>.py, one per lesson with graded functions, classes or trained models."""
    return sorted(p for p in HERE.glob("*.py") if not p.name.startswith("_"))


def text(path):
    return Path(path).read_text().rstrip("\n") + "\n"


def blob(source):
    """A key as a hidden test carries it: its source compressed, in base64."""
    return base64.b64encode(zlib.compress(source.encode(), 9)).decode()


def load(api, source, filename="<lesson key>"):
    """The key's KEY ({reference: fields}), run on `api` as a hidden test runs it (trusted code only)."""
    scope = {"api": api, "__name__": "course_key"}
    exec(compile(source, filename, "exec"), scope)  # noqa: S102 - the course's own key
    return scope["KEY"]


def install(api, sources=None):
    """Merge keys (their sources; default every file of course/keys/) into api["references"], in place: the
    whole references, as trusted code needs them. Returns {reference name: the key source defining it}."""
    defined = {}
    for source in (sources if sources is not None else [text(p) for p in files()]):
        for name, fields in load(api, source).items():
            if name not in api["references"]:
                raise KeyError(f"the key defines {name!r}, which no public reference file names")
            api["references"][name].update(fields)
            defined[name] = source
    return defined
