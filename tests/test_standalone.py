"""A notebook alone works: each lesson and each companion notebook, copied alone into an empty
folder, runs with only what Google Colab has, at Colab's own versions, as Colab opens it from GitHub.

Colab today: Python 3.13, torch 2.11 (CPU runtime), ipywidgets 7.7.1, IPython 7.34.0, ipykernel
6.17.1, matplotlib 3.10.0 and numpy 2.1.3. The venv pins all of them but Python (this machine's
3.11) and torch (2.13.0, the CPU wheel on disk, standing in for 2.11). The answered instructor
version (source/<a>/<a>.ipynb) runs in a kernel from that bare venv (no nbgrader, no course
package, no PYTHONPATH); every cell must run and every test cell must print "Correct!". The venv
is cached under build/standalone-venv/<hash of the package list>.
"""
import hashlib
import json
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
# What Colab gives a notebook, and nothing of this project. torch stays pinned (a local CPU wheel here).
PACKAGES = ["torch==2.13.0", "ipywidgets==7.7.1", "ipython==7.34.0", "ipykernel==6.17.1", "matplotlib==3.10.0",
            "numpy==2.1.3"]
LESSONS = sorted(ROOT.glob("source/*/*.ipynb")) + sorted(ROOT.glob("notebooks/*.ipynb"))
CELL_TIMEOUT_S = 300
pytestmark = pytest.mark.slow
_timings = {}

# Appended to the in-memory copy only: proves where the kernel ran.
PROBE = """import importlib.util as _u, json as _j, os as _o, sys as _s
print("STANDALONE-PROBE " + _j.dumps({"prefix": _s.prefix, "cwd": _o.getcwd(), "files": sorted(_o.listdir(".")),
      "nbgrader": _u.find_spec("nbgrader") is not None, "course": _u.find_spec("course") is not None}))"""


def _clean_env():
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "JUPYTER_PATH")
           and not k.startswith("LSTM_COURSE_")}
    return env


@pytest.fixture(scope="session")
def standalone_python():
    """The python of a venv holding only PACKAGES, built once per package list."""
    key = hashlib.sha256(json.dumps([PACKAGES, list(sys.version_info[:2])]).encode()).hexdigest()[:16]
    venv = ROOT / "build" / "standalone-venv" / key
    python, done = venv / "bin" / "python", venv / ".complete"
    if not done.exists():
        shutil.rmtree(venv, ignore_errors=True)
        venv.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=_clean_env())
        installed = subprocess.run([str(python), "-m", "pip", "install", "--quiet", *PACKAGES],
                                   capture_output=True, text=True, env=_clean_env())
        assert installed.returncode == 0, f"pip install {' '.join(PACKAGES)} failed:\n{installed.stderr[-3000:]}"
        done.write_text("\n".join(PACKAGES) + "\n")
        _timings["venv built"] = f"{time.perf_counter() - started:.0f} s"
    else:
        _timings["venv"] = "cached"
    probe = subprocess.run([str(python), "-c", "import nbgrader"], capture_output=True, text=True,
                           cwd=venv.parent, env=_clean_env())
    assert probe.returncode != 0, f"nbgrader is importable in {venv}; the standalone venv must lack it"
    return python


@pytest.fixture
def standalone_kernel(standalone_python, tmp_path, monkeypatch):
    """The name of a kernel spec that runs the standalone venv's python."""
    kernel_dir = tmp_path / "jupyter" / "kernels" / "standalone"
    kernel_dir.mkdir(parents=True)
    (kernel_dir / "kernel.json").write_text(json.dumps({
        "argv": [str(standalone_python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "standalone", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))  # read by the client's KernelSpecManager
    return "standalone"


def _printed(cell):
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stdout")


def passed(cell):
    """A test cell's visible check passed: "Correct!", or, in the course test, the answer's form was right."""
    return "Correct!" in _printed(cell) or ("check_form(" in cell.source and "Answer recorded" in _printed(cell))


@pytest.mark.parametrize("lesson", LESSONS or [None], ids=[p.stem for p in LESSONS] or ["no-lessons"])
def test_lesson_runs_alone(lesson, standalone_python, standalone_kernel, tmp_path, capsys):
    assert lesson is not None, "no instructor notebooks found under source/<a>/<a>.ipynb"
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(lesson, alone / lesson.name)

    nb = nbformat.read(alone / lesson.name, as_version=4)
    test_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                  and c.metadata.get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"].get("solution")]
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    client = NotebookClient(nb, kernel_name="standalone", timeout=CELL_TIMEOUT_S, allow_errors=True,
                            kernel_manager_class=SlicedKernelManager, resources={"metadata": {"path": str(alone)}})
    started = time.perf_counter()
    client.execute(env=_clean_env())  # passed to the kernel's Popen: no PYTHONPATH, nothing of ours
    seconds = time.perf_counter() - started

    def stdout(cell):
        return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stdout")

    errors = [f"cell {i}: {o.ename}: {o.evalue}\n{c.source[:300]}" for i, c in enumerate(nb.cells)
              if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{lesson.relative_to(ROOT)} failed standing alone:\n" + "\n\n".join(errors)
    stderr = [f"cell {i}: {o.text[:300]}" for i, c in enumerate(nb.cells) if c.cell_type == "code"
              for o in c.outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not stderr, f"{lesson.relative_to(ROOT)} wrote to stderr standing alone:\n" + "\n".join(stderr)
    # Each explorer went out once, as a widget for Colab with its plain-text table for other viewers.
    bundles = [o.data for c in nb.cells if c.cell_type == "code" for o in c.outputs
               if o.output_type == "display_data" and "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    explorers = sum(1 for c in nb.cells if c.cell_type == "code" and not c.metadata.get("course")
                    and ("explore(" in c.source or "explore_gates(" in c.source or "explore_gradients(" in c.source))
    assert len([b for b in bundles if "nn.LSTM(" in b.get("text/plain", "") or "LSTM unit" in b.get("text/plain", "")
                or "||dy/dx_1||" in b.get("text/plain", "")]) \
        >= explorers, f"{lesson.name}: {explorers} explorer(s), but {len(bundles)} widget bundle(s)"
    probe = json.loads(stdout(nb.cells[-1]).split("STANDALONE-PROBE ", 1)[1])
    assert Path(probe["prefix"]) == standalone_python.parent.parent, probe
    assert Path(probe["cwd"]).resolve() == alone.resolve() and probe["files"] == [lesson.name], probe
    assert not probe["nbgrader"] and not probe["course"], probe
    assert test_cells or lesson.parent.name == "notebooks", f"{lesson.relative_to(ROOT)} has no nbgrader test cells"
    silent = [i for i in test_cells if not passed(nb.cells[i])]
    assert not silent, f"test cells {silent} of {lesson.relative_to(ROOT)} did not print 'Correct!'"
    with capsys.disabled():
        extra = "".join(f"; {k}: {v}" for k, v in _timings.items())
        _timings.clear()
        print(f"\n[standalone] {lesson.stem}: ran alone in {seconds:.1f} s, "
              f"{len(test_cells)} test cells Correct!{extra}")


def test_drill_is_driven_under_colab_widgets(standalone_kernel, tmp_path):
    """practice.ipynb's drill under ipywidgets 7.7.1: the same driver as test_drill.py."""
    from drill_driver import DRIVER

    nb = nbformat.read(ROOT / "notebooks" / "practice.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(DRIVER))
    NotebookClient(nb, kernel_name=standalone_kernel, timeout=CELL_TIMEOUT_S, kernel_manager_class=SlicedKernelManager,
                   resources={"metadata": {"path": str(tmp_path)}}).execute(env=_clean_env())
    report = json.loads(_printed(nb.cells[-1]).split("DRILL-DRIVER ", 1)[1])
    assert report["ipywidgets"] == "7.7.1" and "7 answered" in report["summary"]
    stderr = [o.text for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "stream" and o.name == "stderr"]
    assert not stderr, stderr  # no DeprecationWarning from Text.on_submit, or anything else


def test_questions_match_the_golden_values_under_colab_pins(standalone_python, tmp_path):
    """The generator as the notebooks carry it, in the bare venv: the course test's checks cell with its key
    (course/graded_key/, which its hidden tests carry) and practice_test's checks cell."""
    from course import graded_key

    for name, path in (("graded.py", ROOT / "source" / "course_test" / "course_test.ipynb"),
                       ("practice.py", ROOT / "notebooks" / "practice_test.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        checks = next(c.source for c in cells if c.metadata.get("course", {}).get("generated") == "checks")
        (tmp_path / name).write_text(checks, encoding="utf-8")
    (tmp_path / "key.py").write_text(graded_key.source(), encoding="utf-8")
    shutil.copy(ROOT / "tests" / "question_snapshot.py", tmp_path)
    script = ("import json, question_snapshot as q\n"
              "def load(name):\n"
              "    ns = {'__name__': '__main__'}\n"
              "    exec(compile(open(name, encoding='utf-8').read(), name, 'exec'), ns)\n"
              "    return ns['_course_answers']\n"
              "graded, practice = load('graded.py'), load('practice.py')\n"
              "key = {'api': graded, '__name__': 'course_key'}\n"
              "exec(compile(open('key.py', encoding='utf-8').read(), 'key.py', 'exec'), key)\n"
              "print(json.dumps(q.snapshot(graded, key['solve'], practice)))")
    done = subprocess.run([str(standalone_python), "-c", script], cwd=tmp_path, capture_output=True, text=True,
                          env=_clean_env(), timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    golden = json.loads((ROOT / "tests" / "data" / "questions_golden.json").read_text(encoding="utf-8"))
    assert json.loads(done.stdout) == golden


@pytest.mark.parametrize("name", ["parsons", "review", "explorer"])
def test_mode_widgets_are_driven_under_colab_widgets(name, standalone_kernel, tmp_path):
    """The Parsons board, the review widget and the explorer (in lstm_lab.ipynb) under ipywidgets 7.7.1,
    clicked and moved as a learner would."""
    import widget_drivers

    notebook = "lstm_lab" if name == "explorer" else name
    nb = nbformat.read(ROOT / "notebooks" / f"{notebook}.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(getattr(widget_drivers, name.upper())))
    NotebookClient(nb, kernel_name=standalone_kernel, timeout=CELL_TIMEOUT_S, kernel_manager_class=SlicedKernelManager,
                   resources={"metadata": {"path": str(tmp_path)}}).execute(env=_clean_env())
    report = json.loads(_printed(nb.cells[-1]).split("WIDGET-DRIVER ", 1)[1])
    assert report["ipywidgets"] == "7.7.1" and name in report
    stderr = [o.text for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "stream" and o.name == "stderr"]
    assert not stderr, stderr
