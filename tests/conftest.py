"""Shared pytest setup for the course's test suite (its markers are declared in pyproject.toml)."""

# --- autograder (tests/test_autograder*.py) ------------------------------------------------------
# A tiny course built in a temp dir (not the real lessons), with its release made by real nbgrader.
import os as _ag_os
import shutil as _ag_shutil
import subprocess as _ag_subprocess
import sys as _ag_sys
from pathlib import Path as _AgPath

import pytest as _ag_pytest

AG_REPO = _AgPath(__file__).resolve().parent.parent
AG_SENTINEL = "ag-hidden-sentinel"  # written only inside hidden-test regions of the fixture course


def _ag_nbgrader_md(grade_id, grade=False, solution=False, locked=False, points=None):
    md = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution}
    if points is not None:
        md["points"] = points
    return {"nbgrader": md}


def _ag_lesson(name, exercises):
    """A source notebook following docs/architecture.md.

    exercises: (kind, solution code, expected answer, [(mistake, hint)], points) for each.
    """
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    from course.build import checks_source

    checks_src = checks_source(None)
    ns = {"__name__": "ag_checks"}
    exec(compile(checks_src, "checks.py", "exec"), ns)
    digest, describe = ns["answer_digest"], ns["describe_answer"]

    cells = [
        new_markdown_cell(f"# {name}: a lesson for the grader's tests",
                          metadata=_ag_nbgrader_md(f"{name}_intro", locked=True)),
        new_code_cell(checks_src, metadata={"course": {"generated": "checks"},
                                            **_ag_nbgrader_md("course_checks", locked=True)}),
        new_code_cell("import torch\nfrom torch import nn"),
    ]
    for n, (kind, solution, expected, mistakes, points) in enumerate(exercises, 1):
        qid, var = f"{name}.q{n}", f"answer_q{n}"
        if kind == "lstm":
            import torch  # only to compute the visible check's keys

            as_answer = lambda cfg: torch.nn.LSTM(**cfg)
        else:
            as_answer = lambda value: value
        key = digest(qid, describe(as_answer(expected)))
        seal = ns["_course_answers"]["seal_hint"]  # visible checks hold their hints sealed, as course/build.py writes them
        hints = {digest(qid, describe(as_answer(wrong))): seal(qid, describe(as_answer(wrong)), hint)
                 for wrong, hint in mistakes}
        hidden_mistakes = "".join(f"    ({wrong!r}, {hint!r}),\n" for wrong, hint in mistakes)
        cells += [
            new_markdown_cell(f"### Exercise {n}\n\nAnswer with {kind}."),
            new_code_cell(f"# Set {var} to a {kind}.\n### BEGIN SOLUTION\n{var} = {solution}\n### END SOLUTION",
                          metadata=_ag_nbgrader_md(f"q{n}_answer", solution=True)),
            new_code_cell(
                "# Checks your answer without revealing it.\n"
                f"check({var}, {qid!r}, {key!r}, {hints!r})\n"
                "### BEGIN HIDDEN TESTS\n"
                f"# {AG_SENTINEL} q{n}\n"
                f"expect_{kind}({qid!r}, {var}, {expected!r}, mistakes=[\n{hidden_mistakes}])\n"
                "### END HIDDEN TESTS",
                metadata=_ag_nbgrader_md(f"q{n}_test", grade=True, locked=True, points=points)),
        ]
    cells.append(new_markdown_cell("That's all."))
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}})
    nbformat.validate(nb)
    return nb


AG_EXERCISES = {
    "01_demo": [
        ("shape", "(7, 5, 3)", (7, 5, 3), [((5, 7, 3), "Which axis holds the batch?")], 1),
        ("choice", '"C"', "C", [("A", "Think about what the layer returns.")], 1),
        ("lstm", "nn.LSTM(input_size=6, hidden_size=9, num_layers=2)",
         {"input_size": 6, "hidden_size": 9, "num_layers": 2},
         [({"input_size": 9, "hidden_size": 6, "num_layers": 2}, "Check the order of the two sizes.")], 2),
    ],
    "02_extra": [("shape", "(2, 3)", (2, 3), [], 1)],
}


@_ag_pytest.fixture(scope="session")
def ag_env():
    """Environment for subprocesses: the venv's bin first on PATH (nbgrader runs alembic), the repo importable."""
    env = dict(_ag_os.environ)
    env["PATH"] = str(_AgPath(_ag_sys.executable).parent) + _ag_os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = _ag_os.pathsep.join(filter(None, [str(AG_REPO), env.get("PYTHONPATH")]))
    return env


@_ag_pytest.fixture(scope="session")
def ag_nbgrader(ag_env):
    """Run `nbgrader ARGS...` in a course directory; fails the test on a non-zero exit."""
    def run(course, *args):
        done = _ag_subprocess.run(["nbgrader", *args, "--log-level=WARN"], cwd=course, env=ag_env,
                                  capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done
    return run


@_ag_pytest.fixture(scope="session")
def ag_grade(ag_env):
    """Run `python -m autograder ARGS...`; returns the CompletedProcess."""
    def run(*args, cwd=None, timeout=300):
        return _ag_subprocess.run([_ag_sys.executable, "-m", "autograder", *map(str, args)], cwd=cwd or AG_REPO,
                                  env=ag_env, capture_output=True, text=True, timeout=timeout)
    return run


def ag_make_course(root, assignments):
    """A course directory at `root`: the repo's nbgrader_config.py and source/<a>/<a>.ipynb for each notebook."""
    import nbformat

    root.mkdir(parents=True, exist_ok=True)
    _ag_shutil.copy(AG_REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    for name, nb in assignments.items():
        (root / "source" / name).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(root / "source" / name / f"{name}.ipynb"))
    return root


@_ag_pytest.fixture(scope="session")
def ag_course(tmp_path_factory, ag_nbgrader):
    """The fixture course (01_demo, 02_extra) with release/01_demo made by `nbgrader generate_assignment`."""
    root = ag_make_course(tmp_path_factory.mktemp("ag") / "course",
                          {name: _ag_lesson(name, ex) for name, ex in AG_EXERCISES.items()})
    ag_nbgrader(root, "generate_assignment", "01_demo", "--force")
    assert (root / "release" / "01_demo" / "01_demo.ipynb").is_file()
    return root
