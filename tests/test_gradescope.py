"""`python -m autograder gradescope`: the zips, and their run_autograder run as Gradescope runs it.

A zip is unpacked into a temp folder laid out like /autograder (source/ = the zip, submission/,
results/; AUTOGRADER_ROOT points there), setup.sh runs without its installs (AUTOGRADER_SKIP_INSTALL),
and run_autograder runs with this venv's python first on PATH and no PYTHONPATH, so the grader
that runs is the copy inside the zip. The real lesson 01_syntax is graded: ~5 s a run.
"""
import copy
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder import gradescope, scoring

REPO = Path(__file__).resolve().parent.parent
LESSON = "01_syntax"
ASSIGNMENTS = sorted(p.name for p in (REPO / "source").iterdir() if (p / f"{p.name}.ipynb").is_file())
# Student code reading source/ is stopped by the sandboxed engine (docs/architecture.md, issue 3), not by this zip.
SANDBOXED = any(importlib.util.find_spec(m) for m in ("autograder.sandbox", "autograder.engine"))
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


def cli(*args, cwd=REPO):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-m", "autograder", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def zips(tmp_path_factory):
    out = tmp_path_factory.mktemp("gradescope")
    done = cli("gradescope", "--out", out)
    assert done.returncode == 0, done.stderr
    paths = {p.name: p for p in out.iterdir()}
    assert sorted(paths) == [f"autograder-{a}.zip" for a in ASSIGNMENTS]
    assert done.stdout.split() == [str(out / name) for name in sorted(paths)]
    return {a: paths[f"autograder-{a}.zip"] for a in ASSIGNMENTS}


def source_nb(assignment=LESSON):
    return nbformat.read(str(REPO / "source" / assignment / f"{assignment}.ipynb"), as_version=4)


def hidden_lines(assignment=LESSON):
    return [line for cell in scoring.graded_cells(source_nb(assignment)) for line in cell.hidden]


def autograder_root(zip_path, tmp_path):
    """An /autograder-like folder: the zip unpacked into source/, setup.sh's permissions applied."""
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    (root / "results").mkdir()
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")  # as Gradescope does
    (root / "run_autograder").chmod(0o755)
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_SKIP_INSTALL": "1"}
    done = subprocess.run(["bash", str(root / "source" / "setup.sh")], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return root


def run_autograder(root, **env_extra):
    """Run run_autograder as Gradescope does; return (results.json as text, its stdout)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["AUTOGRADER_ROOT"] = str(root)
    env.update({k: str(v) for k, v in env_extra.items()})
    done = subprocess.run(["bash", str(root / "run_autograder")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return (root / "results" / "results.json").read_text(), done.stdout


def validate(text):
    """results.json, checked against Gradescope's specification; returns it parsed."""
    results = json.loads(text)
    allowed = {"score", "execution_time", "output", "visibility", "stdout_visibility", "extra_data", "tests",
               "leaderboard", "output_format"}
    assert set(results) <= allowed, set(results) - allowed
    assert isinstance(results["score"], float)
    assert isinstance(results.get("execution_time", 0), int)
    assert isinstance(results["output"], str) and results["output"]
    assert results["visibility"] in VISIBILITY and results["stdout_visibility"] == "hidden"
    assert isinstance(results["tests"], list)
    for test in results["tests"]:
        assert set(test) == {"name", "score", "max_score", "status", "output", "visibility"}, test
        assert isinstance(test["name"], str) and test["name"]
        assert isinstance(test["score"], float) and isinstance(test["max_score"], float)
        assert 0 <= test["score"] <= test["max_score"]
        assert test["status"] in ("passed", "failed") and isinstance(test["output"], str)
        assert test["visibility"] in VISIBILITY
    assert results["score"] == sum(t["score"] for t in results["tests"])
    return results


def assert_no_leak(text, assignment=LESSON):
    assert "BEGIN HIDDEN TESTS" not in text and "expect_" not in text
    assert "Traceback" not in text
    for line in hidden_lines(assignment):
        assert line not in text, line


def graded(results):
    """{name: (score, max_score)} of the graded tests; checks the self-check beside each one."""
    tests = {t["name"]: t for t in results["tests"]}
    out = {}
    for name, test in tests.items():
        if name.endswith(" (self-check)"):
            assert test["visibility"] == "visible" and test["score"] == test["max_score"] == 0.0
            assert name[:-len(" (self-check)")] in tests
        else:
            assert test["visibility"] == "after_published"
            assert f"{name} (self-check)" in tests
            out[name] = (test["score"], test["max_score"])
    return out


# --- the zips ---------------------------------------------------------------------------------------

def test_zip_holds_what_grading_needs_and_nothing_more(zips):
    for assignment, path in zips.items():
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
        package = {f"autograder/{p.relative_to(REPO / 'autograder').as_posix()}"
                   for p in (REPO / "autograder").rglob("*") if p.is_file() and "__pycache__" not in p.parts}
        assert names == {"setup.sh", "run_autograder", "requirements.txt",
                         f"source/{assignment}/{assignment}.ipynb"} | package
        assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111
        assert f"--assignment {assignment} " in zipfile.ZipFile(path).read("run_autograder").decode()


def test_zips_are_reproducible_and_bad_names_exit_2(zips, tmp_path):
    done = cli("gradescope", LESSON, "--out", tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / f"autograder-{LESSON}.zip").read_bytes() == zips[LESSON].read_bytes()
    bad = cli("gradescope", "99_nope", "--out", tmp_path / "bad")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "99_nope" in bad.stderr
    assert not (tmp_path / "bad").exists()


def test_requirements_pin_what_grading_needs_and_setup_installs_them_then_locks_source(zips):
    with zipfile.ZipFile(zips[LESSON]) as archive:
        requirements = archive.read("requirements.txt").decode().splitlines()
        setup = archive.read("setup.sh").decode()
        runner = archive.read("run_autograder").decode()
    repo_pins = {line.split("==")[0].lower(): line.strip() for line in (REPO / "requirements.txt").read_text().splitlines()
                 if "==" in line and not line.startswith("#")}
    lines = [line for line in requirements if line and not line.startswith("#")]
    assert lines[0] == "--extra-index-url https://download.pytorch.org/whl/cpu"
    assert lines[1:] == [repo_pins[name] for name in
                         ("torch", "nbgrader", "nbformat", "nbclient", "ipykernel", "ipywidgets", "matplotlib", "numpy")]
    assert "torch==2.13.0" in lines
    assert re.search(r'pip install --no-cache-dir -r "\$SRC/requirements.txt"', setup)
    assert 'SRC="$ROOT/source"' in setup and 'ROOT="${AUTOGRADER_ROOT:-/autograder}"' in setup
    assert 'chmod -R go-rwx "$SRC/source"' in setup
    assert 'ROOT="${AUTOGRADER_ROOT:-/autograder}"' in runner
    for script in (setup, runner):
        assert script.startswith("#!/usr/bin/env bash\n")
        assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0


# --- run_autograder --------------------------------------------------------------------------------

def test_solution_gets_full_marks(zips, tmp_path):
    root = autograder_root(zips[LESSON], tmp_path)
    assert oct((root / "source" / "source").stat().st_mode & 0o777) == "0o700"  # setup.sh locked it
    shutil.copy(REPO / "source" / LESSON / f"{LESSON}.ipynb", root / "submission" / "submission.ipynb")
    text, stdout = run_autograder(root)
    results = validate(text)
    scores = graded(results)
    assert scores and all(score == max_score == 1.0 for score, max_score in scores.values())
    assert results["score"] == len(scores)
    for test in results["tests"]:
        assert test["status"] == "passed" and "Correct! (01_syntax.q" in test["output"]
        if not test["name"].endswith("(self-check)"):  # a graded test leads with its context
            assert test["output"].startswith("Exercise ") and "Verdict: correct." in test["output"].split("\n")[0]
    assert f"autograder package {root / 'source' / 'autograder'}" in stdout  # the zip's own grader
    assert_no_leak(text)


HOSTILE_CELLS = {
    # An answer that equals anything: judged by type first, so it fails.
    "q1_answer": 'class Anything(str):\n    def __eq__(self, other):\n        return True\n'
                 '    __hash__ = str.__hash__\n\nanswer_q1 = Anything("A")',
    # A cell that never ends: stopped after AUTOGRADER_TIMEOUT, so answer_q2 is never set.
    "q2_answer": "while True:\n    pass\nanswer_q2 = nn.LSTM(10, 20)",
    # Read the hidden tests to copy the answer, and forge a perfect results.json.
    "q3_answer": """import glob, json, os, re
answer_q3 = None
root = os.environ.get("AUTOGRADER_ROOT", "/autograder")
for path in glob.glob(os.path.join(root, "source", "**", "*.ipynb"), recursive=True):
    try:
        cells = json.load(open(path))["cells"]
    except OSError:
        continue
    for cell in cells:
        text = "".join(cell["source"])
        print(text)
        found = re.search(r'expect_choice\\("01_syntax.q3", answer_q3, "([A-Z])"', text)
        if found:
            answer_q3 = found[1]
os.makedirs(os.path.join(root, "results"), exist_ok=True)
with open(os.path.join(root, "results", "results.json"), "w") as f:
    json.dump({"score": 100.0, "output": "forged"}, f)""",
}


def hostile_notebook(path):
    nb = copy.deepcopy(source_nb())
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in HOSTILE_CELLS:
            cell.source = HOSTILE_CELLS[gid]
    nbformat.write(nb, str(path))


def test_hostile_submission_loses_only_what_it_attacked(zips, tmp_path):
    root = autograder_root(zips[LESSON], tmp_path)
    hostile_notebook(root / "submission" / f"{LESSON}.ipynb")
    text, _ = run_autograder(root, AUTOGRADER_TIMEOUT=15)
    results = validate(text)
    assert "forged" not in text
    scores = graded(results)
    tests = {t["name"]: t for t in results["tests"]}
    assert scores["q1_test"] == (0.0, 1.0) and "of type Anything" in tests["q1_test (self-check)"]["output"]
    assert scores["q2_test"] == (0.0, 1.0) and "answer_q2" in tests["q2_test (self-check)"]["output"]
    others = {name: s for name, s in scores.items() if name not in ("q1_test", "q2_test", "q3_test")}
    assert others and all(score == max_score for score, max_score in others.values())
    assert_no_leak(text)
    if scores["q3_test"][0] and not SANDBOXED:
        pytest.xfail("student code can read source/ until the sandboxed engine (issue 3) runs it")
    assert scores["q3_test"] == (0.0, 1.0)
    assert results["score"] == sum(s for s, _ in others.values())


def _processes_with(root):
    """pids of processes whose environment names this root (a grader or kernel left running)."""
    marker = f"AUTOGRADER_ROOT={root}".encode()
    pids = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker in environ.read_bytes().split(b"\0"):
                pids.append(int(environ.parent.name))
        except OSError:
            pass
    return pids


def test_deadline_stops_the_grader_and_its_kernel(zips, tmp_path):
    root = autograder_root(zips[LESSON], tmp_path)
    hostile_notebook(root / "submission" / "mine.ipynb")
    text, _ = run_autograder(root, AUTOGRADER_TIMEOUT=60, AUTOGRADER_DEADLINE=4)
    results = validate(text)
    assert results["score"] == 0.0 and results["tests"] == []
    assert "Grading stopped after 4 s" in results["output"]
    time.sleep(0.5)
    assert _processes_with(root) == []


@pytest.mark.parametrize("files, message", [
    ({"submission.ipynb": "print('hello')\n"}, "submission.ipynb is not a Jupyter notebook (not valid JSON)."),
    ({"answers.py": "answer_q1 = 'A'\n"}, "No Jupyter notebook (.ipynb file) was found. Your submission holds: "
                                         "answers.py."),
    ({}, "Your submission is empty."),
])
def test_not_a_notebook_scores_zero_with_a_message(zips, tmp_path, files, message):
    root = autograder_root(zips[LESSON], tmp_path)
    for name, content in files.items():
        (root / "submission" / name).write_text(content)
    text, _ = run_autograder(root)
    results = validate(text)
    assert results["score"] == 0.0 and results["tests"] == [] and results["visibility"] == "visible"
    assert message in results["output"] and f"{LESSON}.ipynb" in results["output"]


def test_a_runner_that_cannot_start_still_leaves_results(zips, tmp_path):
    root = autograder_root(zips[LESSON], tmp_path)
    (root / "source" / "autograder" / "cli.py").write_text("this is not python (\n")  # the runner can't start
    text, stdout = run_autograder(root)
    results = validate(text)
    assert results["score"] == 0.0 and "internal error" in results["output"]
    assert "SyntaxError" in stdout or "autograder" in stdout


# --- choosing the notebook, and building results (no grading) --------------------------------------

def touch(folder, *names):
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("{}")
    return folder


@pytest.mark.parametrize("names, chosen", [
    (["whatever.ipynb"], "whatever.ipynb"),
    (["notes.ipynb", "Copy of 01_syntax.ipynb"], "Copy of 01_syntax.ipynb"),
    (["01_syntax (1).ipynb", "01_syntax.ipynb", "scratch.ipynb"], "01_syntax.ipynb"),
    (["hw/01_syntax.ipynb", ".ipynb_checkpoints/01_syntax-checkpoint.ipynb", "__MACOSX/x.ipynb"],
     "hw/01_syntax.ipynb"),
])
def test_find_submission_prefers_the_assignments_name(tmp_path, names, chosen):
    assert gradescope.find_submission(touch(tmp_path, *names), LESSON) == tmp_path / chosen


def test_find_submission_refuses_ambiguity_and_links(tmp_path):
    with pytest.raises(gradescope.SubmissionError, match="cannot tell which one"):
        gradescope.find_submission(touch(tmp_path / "a", "x.ipynb", "y.ipynb"), LESSON)
    linked = tmp_path / "b"
    linked.mkdir()
    (linked / "01_syntax.ipynb").symlink_to(REPO / "source" / LESSON / f"{LESSON}.ipynb")
    with pytest.raises(gradescope.SubmissionError, match="is a link"):
        gradescope.find_submission(linked, LESSON)


def test_results_show_the_visible_check_at_once_and_the_grade_when_published():
    hidden = ("expect_choice(\"01_syntax.q1\", answer_q1, \"A\", mistakes=[",)
    out = {"score": 1.0, "max_score": 4.0, "tests": [
        {"name": "q1_test", "score": 1.0, "max_score": 1.0, "status": "passed", "output": "Correct! (x.q1)"},
        # the visible check passed, a hidden test did not
        {"name": "q2_test", "score": 0.0, "max_score": 1.0, "status": "failed",
         "output": "Correct! (x.q2)\nAssertionError: a hint"},
        {"name": "q3_test", "score": 0.0, "max_score": 1.0, "status": "failed", "output": "AssertionError: " + hidden[0]},
        {"name": "essay", "score": 0.0, "max_score": 1.0, "status": "failed", "output": scoring.MANUAL},
    ]}
    results = gradescope.results_from(out, LESSON, "mine.ipynb", hidden)
    tests = {t["name"]: t for t in results["tests"]}
    assert [t["name"] for t in results["tests"]] == [
        "q1_test (self-check)", "q1_test", "q2_test (self-check)", "q2_test", "q3_test (self-check)", "q3_test",
        "essay"]
    assert tests["q2_test (self-check)"]["status"] == "passed"
    assert tests["q2_test (self-check)"]["output"] == "Correct! (x.q2)"
    assert tests["q2_test"]["output"] == "Correct! (x.q2)\nAssertionError: a hint"
    assert tests["q3_test"]["output"] == tests["q3_test (self-check)"]["output"] == scoring.WITHHELD
    assert results["score"] == 1.0 and "out of 4" in results["output"]
    validate(json.dumps({**results, "execution_time": 0}))


def test_a_refusal_or_a_failed_self_test_is_reported_as_the_graders_fault(tmp_path, monkeypatch):
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    (root / "source" / "source" / LESSON).mkdir(parents=True)
    shutil.copy(REPO / "source" / LESSON / f"{LESSON}.ipynb", root / "source" / "source" / LESSON)
    shutil.copy(REPO / "source" / LESSON / f"{LESSON}.ipynb", root / "submission" / f"{LESSON}.ipynb")
    for stderr, words in [
        ("autograder: refusing to grade (--require-isolation): student code could read source/", "refused to grade"),
        ("autograder: the grader failed its self-test: a notebook with a known right answer ...", "self-test"),
    ]:
        monkeypatch.setattr(gradescope, "_call_grader", lambda *a, stderr=stderr: (2, "", stderr + "\n"))
        results = gradescope.grade_submission(root, LESSON, 60, 480, require_isolation=True)
        assert results["score"] == 0.0 and results["tests"] == []
        assert words in results["output"] and "not your notebook's fault" in results["output"]
        assert "submit again" not in results["output"].split("(Details")[0] or "don't need to submit again" in results["output"]


def test_the_zip_can_require_isolation(tmp_path):
    done = cli("gradescope", LESSON, "--out", tmp_path, "--require-isolation")
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(tmp_path / f"autograder-{LESSON}.zip") as archive:
        script = archive.read("run_autograder").decode()
    assert "gradescope-run --assignment 01_syntax" in script and "--require-isolation" in script
