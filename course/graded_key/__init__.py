"""The course test's key: what each of course/graded_pool.py's templates asks, solved by running torch.

`common.py` holds what every solver uses; `easy.py`, `medium.py` and `hard.py` the solvers of one
difficulty's pool each. No notebook a student receives carries these files: `course/build.py`
compresses `common.py` with one difficulty's file (`blob(level)`) into the hidden tests of
source/course_test's questions of that difficulty, where `expect_generated` runs it in a scope of
its own and keeps nothing (course/graded_pool.py); the grader's judge runs the same hidden tests,
restored from source/. The files are plain Python run with one global, `api` (the checks cell's
`_course_answers`); they are never imported as modules.

    python -m course.graded_key vet      rebuild graded_pool.py's vetted number tables
"""
import base64
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
LEVELS = ("easy", "medium", "hard")


def source(level=None):
    """The key's text for one difficulty (every difficulty for None): common.py, then the solvers."""
    levels = LEVELS if level is None else (level,)
    return "\n\n\n".join((HERE / f"{name}.py").read_text().rstrip("\n") for name in ("common", *levels)) + "\n"


def blob(level):
    """One difficulty's key as a hidden test carries it: compressed, in base64 (a few KB)."""
    return base64.b64encode(zlib.compress(source(level).encode(), 9)).decode()


def load(api, level=None):
    """The key's namespace (its `solve(q)`, `SOLVERS`), run on `api` as a hidden test runs it."""
    scope = {"api": api, "__name__": "course_key"}
    exec(compile(source(level), str(HERE / "common.py"), "exec"), scope)  # noqa: S102 - the course's own key
    return scope


# --- the course test's generated cells (course/build.py writes them into source/course_test) -------------

HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def hidden_region(qid, answer, api):
    """A test cell's hidden region: `expect_generated` with the key of the question's difficulty."""
    level = dict(api["TEST_LAYOUT"])[qid.rsplit(".", 1)[-1]]
    return f"{HIDDEN_BEGIN}\nexpect_generated({qid!r}, {answer}, key={blob(level)!r})\n{HIDDEN_END}"


def literal(q, value):
    """Python source of an answer, as a student would type it."""
    if q["kind"] == "lstm":
        return "nn.LSTM(" + ", ".join(f"{k}={v!r}" for k, v in value.items()) + ")"
    if q["kind"] == "float":
        return f"{value:.{q['decimals']}f}"
    if q["kind"] == "floats":
        return "(" + ", ".join(f"{v:.{q['decimals']}f}" for v in value) + ")"
    return repr(tuple(value) if q["kind"] == "shape" else value)


def example_solution(number, student, salt, api, key=None):
    """The instructor's solution cell of question `number` ("q3") for the example id the source notebook types."""
    api["set_salt"](salt)
    api["grade_as"](student)
    try:
        q = (key or load(api))["solve"](api["graded_question"](number))
    finally:
        api["set_salt"](None)
        api["grade_as"](None)
    return (f"# Set answer_{number} to your answer, in the form the question asks for.\n### BEGIN SOLUTION\n"
            f"answer_{number} = {literal(q, q['answer'])}\n### END SOLUTION")
