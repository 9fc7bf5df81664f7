"""A class of 40 graded with grade-all, per lesson: time per notebook, and what training costs.

    python benchmarks/class_grading.py [--students 40] [--workers 2] [--lessons 05_sequences 06_model]

For each lesson it builds `students` honest submissions (source/'s solutions in nbgrader's
student version), grades them with `python -m autograder grade-all --workers W`, and prints the
wall time and the time per notebook. For a lesson that trains a model (06_model) it also runs
the lesson once in a plain kernel on one thread, as the grader runs it, and sums the time of
its training cells (those that call `train(`): T. The promise checked is that grading a class
costs no more for training than the training itself, spread over the workers: the lesson's time
over a lesson of the same kind without training (05_sequences) stays under T * students / W.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from corpus import honest, tool_env  # noqa: E402


def grade_class(lesson, students, workers):
    import nbformat

    with tempfile.TemporaryDirectory(prefix="class-") as tmp:
        subs = Path(tmp) / "submitted"
        subs.mkdir()
        nb = honest(lesson)
        for k in range(students):
            nbformat.write(nb, str(subs / f"student{k:02d}_{lesson}.ipynb"))
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "autograder", "grade-all", str(subs), "--out", str(Path(tmp) / "out"),
                               "--workers", str(workers), "--course", str(ROOT)], capture_output=True, text=True,
                              env=tool_env())
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"grade-all failed:\n{done.stderr[-3000:]}")
        return wall


def training_seconds(lesson):
    """Seconds spent in the lesson's training cells, run top to bottom in a kernel on one thread."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(ROOT / "source" / lesson / f"{lesson}.ipynb", as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell("import torch\ntorch.set_num_threads(1)"))  # as the grader runs it
    with tempfile.TemporaryDirectory() as tmp:
        NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": tmp}}).execute()
    total = 0.0
    for cell in nb.cells:
        if cell.cell_type == "code" and "train(" in cell.source and not cell.source.lstrip().startswith("def "):
            timing = cell.metadata.get("execution", {})
            start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
            if start and end:
                total += (datetime.fromisoformat(end.replace("Z", "+00:00"))
                          - datetime.fromisoformat(start.replace("Z", "+00:00"))).total_seconds()
    return total


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--lessons", nargs="+", default=["05_sequences", "06_model"])
    args = parser.parse_args(argv)
    if not shutil.which("nbgrader", path=str(Path(sys.executable).parent)):
        raise SystemExit("run with the course's venv (it builds submissions with nbgrader)")
    walls = {}
    print(f"{args.students} honest submissions per lesson, grade-all --workers {args.workers}, "
          f"{os.cpu_count()} CPUs")
    for lesson in args.lessons:
        walls[lesson] = grade_class(lesson, args.students, args.workers)
        print(f"  {lesson}: {walls[lesson]:.1f} s wall, {walls[lesson] / args.students:.2f} s per notebook "
              f"({walls[lesson] * args.workers / args.students:.2f} s of a worker each)")
    if "06_model" in walls and "05_sequences" in walls:
        train = training_seconds("06_model")
        extra = walls["06_model"] - walls["05_sequences"]
        bound = train * args.students / args.workers
        print(f"06_model's training cells: {train:.1f} s in a kernel on one thread")
        print(f"06_model over 05_sequences: {extra:.1f} s for the class; training alone, spread over the workers: "
              f"{bound:.1f} s -> {'within' if extra <= bound else 'OVER'} the bound")


if __name__ == "__main__":
    main()
