"""Grading speed: `nbgrader autograde` against `python -m autograder grade-all`, on the same submissions.

Builds about 40 submissions in nbgrader's layout (submitted/<student>/<lesson>/<lesson>.ipynb)
from the three lessons: each student submits every lesson, and is correct, partly wrong (a
fixed share of the answers replaced by wrong ones) or blank (nbgrader's student version as
released). Then grades them, one grader after the other, in a temporary copy of the course:

- nbgrader: `nbgrader autograde <lesson> --force` for each lesson (the repo's
  nbgrader_config.py, one kernel per notebook, one notebook at a time);
- grade-all: `python -m autograder grade-all submitted --out OUT --force` (default workers).

Prints both wall times, their ratio, and whether every submission's per-test scores agree
(nbgrader's gradebook, read with nbgrader.api.Gradebook, against grade-all's result JSONs).

    .venv/bin/python benchmarks/grading_speed.py [--students 14] [--workers N] [--keep DIR]
"""
import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from corpus import exercises, honest, released, set_answer, source_notebook, tool_env  # noqa: E402

KINDS = ("correct", "partly wrong", "blank")


def lessons():
    return sorted(p.parent.name for p in ROOT.glob("source/*/*.ipynb") if p.stem == p.parent.name)


def build(course, students, seed=0):
    """Write the submissions; returns {(student, lesson): kind}."""
    import nbformat

    rng = random.Random(seed)
    made = {}
    for lesson in lessons():
        ex = exercises(source_notebook(lesson, course))
        for k in range(students):
            student = f"s{k + 1:02d}"
            kind = KINDS[k % len(KINDS)]
            if kind == "blank":
                nb = released(lesson, course)
            else:
                nb = honest(lesson, course)
                if kind == "partly wrong":
                    for e in rng.sample(ex, max(1, len(ex) // 3)):
                        set_answer(nb, e, f"answer_q{e.n} = {e.wrong}")
            path = course / "submitted" / student / lesson / f"{lesson}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, str(path))
            made[(student, lesson)] = kind
    return made


def cpu_of_children():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(cmd, cwd, env):
    """(wall seconds, CPU seconds of the command and everything it started) of a command that must succeed."""
    started, cpu = time.monotonic(), cpu_of_children()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return wall, cpu_of_children() - cpu


def load():
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def nbgrader_scores(course, made):
    from nbgrader.api import Gradebook, MissingEntry

    found = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student, lesson in made:
            try:
                notebook = gb.find_submission_notebook(lesson, lesson, student)
            except MissingEntry:
                continue
            found[(student, lesson)] = {g.name: float(g.score or 0) for g in notebook.grades}
    return found


def grade_all_scores(out, made):
    found = {}
    for student, lesson in made:
        path = out / student / f"{lesson}.json"
        if path.is_file():
            record = json.loads(path.read_text())
            found[(student, lesson)] = {t["name"]: float(t["score"]) for t in record.get("tests", [])}
    return found


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--students", type=int, default=14, help="students, each submitting every lesson (default 14)")
    p.add_argument("--workers", type=int, help="grade-all's --workers (default: its own default)")
    p.add_argument("--keep", help="build the course here and keep it (default: a temporary folder)")
    args = p.parse_args(argv)

    tmp = None
    if args.keep:
        course = Path(args.keep).resolve()
        if course.exists():
            shutil.rmtree(course)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="grading-speed-")
        course = Path(tmp.name) / "course"
    try:
        env = tool_env()
        (course / "source").mkdir(parents=True)
        shutil.copy(ROOT / "nbgrader_config.py", course)
        for lesson in lessons():
            shutil.copytree(ROOT / "source" / lesson, course / "source" / lesson)
            run(["nbgrader", "generate_assignment", lesson, "--force", "--log-level=WARN"], course, env)
        made = build(course, args.students)
        counts = {kind: sum(1 for k in made.values() if k == kind) for kind in KINDS}
        print(f"{len(made)} submissions ({', '.join(f'{n} {kind}' for kind, n in counts.items())}) "
              f"of {', '.join(lessons())}; {os.cpu_count()} CPUs")

        print(f"before: {load()} (other work on the machine slows both graders)")
        nbgrader_wall = nbgrader_cpu = 0.0
        for lesson in lessons():
            wall, cpu = run(["nbgrader", "autograde", lesson, "--force", "--log-level=WARN"], course, env)
            nbgrader_wall, nbgrader_cpu = nbgrader_wall + wall, nbgrader_cpu + cpu
        print(f"nbgrader autograde: {nbgrader_wall:7.1f} s wall, {nbgrader_cpu:6.1f} s CPU")

        out = course / "graded"
        cmd = [sys.executable, "-m", "autograder", "grade-all", str(course / "submitted"), "--out", str(out),
               "--course", str(course), "--force"]
        if args.workers:
            cmd += ["--workers", str(args.workers)]
        ours_wall, ours_cpu = run(cmd, course, env)
        print(f"grade-all:          {ours_wall:7.1f} s wall, {ours_cpu:6.1f} s CPU"
              + (f" ({args.workers} workers)" if args.workers else " (default workers)"))
        print(f"ratio:              {nbgrader_wall / ours_wall:7.1f}x less wall time, "
              f"{nbgrader_cpu / ours_cpu:.1f}x less CPU (nbgrader / grade-all)")
        print(f"after:  {load()}")

        theirs, ours = nbgrader_scores(course, made), grade_all_scores(out, made)
        differ = [(key, theirs.get(key), ours.get(key)) for key in sorted(made) if theirs.get(key) != ours.get(key)
                  or theirs.get(key) is None]
        print(f"per-test scores:    {len(made) - len(differ)} of {len(made)} submissions agree")
        for (student, lesson), a, b in differ:
            print(f"  {student}/{lesson} ({made[(student, lesson)]}): nbgrader {a} grade-all {b}")
        return 1 if differ else 0
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
