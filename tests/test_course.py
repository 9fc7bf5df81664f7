"""The course as a whole: notebooks run, release/ is nbgrader's output of source/, and nothing leaks."""
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.kernels import SlicedKernelManager

ROOT = Path(__file__).resolve().parent.parent
SOURCE = sorted(ROOT.glob("source/*/*.ipynb"))
COMPANIONS = sorted(ROOT.glob("notebooks/*.ipynb"))
RELEASE = sorted(ROOT.glob("release/*/*.ipynb"))
VENV_BIN = str(Path(sys.executable).parent)


def run_notebook(path, tmp_path):
    """Execute a copy of the notebook top to bottom in a fresh kernel, cwd = an empty folder."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=120, kernel_name="python3", kernel_manager_class=SlicedKernelManager, resources={"metadata": {"path": str(tmp_path)}}).execute()
    return nb, time.perf_counter() - start


@pytest.mark.parametrize("path", SOURCE + COMPANIONS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom_without_errors_or_stderr(path, tmp_path):
    nb, seconds = run_notebook(path, tmp_path)
    print(f"{path.relative_to(ROOT)} ran in {seconds:.1f} s")
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.outputs:
            assert output.output_type != "error", f"{path.name}: {output.get('ename')}: {output.get('evalue')}"
            assert not (output.output_type == "stream" and output.name == "stderr"), \
                f"{path.name} wrote to stderr:\n{cell.source[:200]}\n---\n{output.text[:500]}"
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    for cell in tests:
        printed = "".join(o.get("text", "") for o in cell.outputs)
        # The course test's visible check only confirms an answer's form; its hidden test passed silently.
        passed = "Correct!" in printed or ("check_form(" in cell.source and "Answer recorded" in printed)
        assert passed, f"{cell.metadata.nbgrader.grade_id} did not pass on the solution"


@pytest.mark.parametrize("path", SOURCE + COMPANIONS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; strip them before committing"


def test_release_is_nbgraders_output_of_source(tmp_path):
    """Regenerate release/ in a scratch copy of the course and compare it with what is committed."""
    course = tmp_path / "course"
    for part in ("source", "autograder"):
        shutil.copytree(ROOT / part, course / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "nbgrader_config.py", course)
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ["PATH"])
    for path in SOURCE:
        subprocess.run([f"{VENV_BIN}/nbgrader", "generate_assignment", path.parent.name, "--force",
                        "--log-level=ERROR"], cwd=course, env=env, check=True, capture_output=True)
    fresh = sorted((course / "release").glob("*/*.ipynb"))
    assert [p.relative_to(course) for p in fresh] == [p.relative_to(ROOT) for p in RELEASE], \
        "release/ does not hold exactly one notebook per source assignment: run `make release`"
    for new in fresh:
        committed = ROOT / new.relative_to(course)
        assert nbformat.read(new, 4) == nbformat.read(committed, 4), \
            f"{committed.relative_to(ROOT)} is out of date with source/: run `make release`"


@pytest.mark.parametrize("path", RELEASE, ids=lambda p: p.stem)
def test_release_leaks_no_solution_or_hidden_test(path):
    text = path.read_text()
    # A hidden test is a call such as expect_shape("02_shapes.q1", ...); the checks cell only defines them.
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", 'expect_shape(\\"', 'expect_lstm(\\"',
                   'expect_choice(\\"'):
        assert marker not in text, f"{path.name} contains {marker!r}"
    source = ROOT / "source" / path.parent.name / path.name
    assert "BEGIN HIDDEN TESTS" in source.read_text() and 'expect_' in source.read_text()  # the markers are real
    solution_lines = {line.strip() for cell in nbformat.read(source, 4).cells
                      if cell.metadata.get("nbgrader", {}).get("solution") and "### BEGIN SOLUTION" in cell.source
                      for line in cell.source.split("### BEGIN SOLUTION", 1)[1].split("### END SOLUTION")[0]
                      .splitlines() if len(line.strip()) > 6}
    # A line the lesson shows openly, in a worked example, is teaching, not a leak.
    taught = {line.strip() for cell in nbformat.read(source, 4).cells
              if not cell.metadata.get("nbgrader", {}).get("solution") for line in cell.source.splitlines()}
    released = {line.strip() for cell in nbformat.read(path, 4).cells for line in cell.source.splitlines()}
    assert not (solution_lines - taught) & released, f"solution lines leaked: {(solution_lines - taught) & released}"
    assert solution_lines - taught, "every solution line is also in the lesson: the test would prove nothing"


def test_every_source_assignment_is_released():
    assert [p.parent.name for p in RELEASE] == [p.parent.name for p in SOURCE]
