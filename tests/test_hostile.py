"""Hostile and broken submissions (tests/corpus.py) through both graders.

- `python -m autograder grade-all` must grade every case exactly as the corpus expects: no
  over-credit, no under-credit of the untouched exercises, every ungradable file recorded
  with a reason, and none of the attacks' side effects.
- real `nbgrader autograde` (the repo's nbgrader_config.py, the cell timeout lowered to the
  same 5 s) must survive the same corpus as one batch. What it scores is recorded, compared
  with the expectations and printed, never asserted: it runs student code in one shared kernel
  with the grader's privileges, so some attacks succeed there by design (docs/hostile-corpus.md).

Both runs write what they observed to test-artifacts/hostile-*.json;
`python tests/test_hostile.py` prints the combined table of docs/hostile-corpus.md from them.
Slow (about 1 + 4 minutes: nbgrader grades one notebook at a time).
"""
import json
import re
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import (CHANNEL_CASES, CONTROL, FUNCTION_CASES, GRADIENT_CASES, MODEL_CASES, REPO,  # noqa: E402
                    SECRET_ENV, SEQUENCE_CASES, VICTIM, build_corpus, tool_env)

LESSON = "02_shapes"
# The other lessons, in the same batch (flat layout), each with the cases that are about it.
EXTRAS = (
    ("01_syntax", ["a00-control", "w01-warning-dropout", "w02-warning-proj-size"]),  # q7 is a proj_size LSTM
    ("04_cell", ["a00-control", *FUNCTION_CASES]),    # lstm_step cheats, each in its own notebook
    ("05_sequences", ["a00-control", *SEQUENCE_CASES]),  # last_valid, graded on the judge's padded outputs
    ("06_model", ["a00-control", *MODEL_CASES]),      # a class and a trained model; training in the sandbox
    ("07_gradients", ["a00-control", *GRADIENT_CASES]),  # a gradient curve of another model or input
)
TIMEOUT = 5  # seconds per cell, both graders
NOT_UNDER_NBGRADER = ("l06-signal",)  # too dangerous where student code runs unconfined (see below)
ARTIFACTS = REPO / "test-artifacts"
# Backstop for the host, not the grader's limit: every process of a run gets at most this much
# address space, so a grader that failed to limit r05-memory can't take the machine's RAM.
BACKSTOP_BYTES = 6 * 2**30


def _backstop():
    resource.setrlimit(resource.RLIMIT_AS, (BACKSTOP_BYTES, BACKSTOP_BYTES))


def verdict(case, scores):
    """One line: the score, then 'as expected' or what is wrong (over-/under-credit, ungradable)."""
    if scores is None:
        return "ungradable" + (" (as expected)" if case.ungradable else " (MUST be graded)")
    total = sum(scores.values())
    problems = case.problems(scores)
    return f"{total:g}/{case.max_score:g} " + ("as expected" if not problems else "— " + "; ".join(problems))


def dump(name, data):
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"hostile-{name}.json").write_text(json.dumps(data, indent=1) + "\n")


class Listener:
    """A TCP listener on 127.0.0.1 for l05-tcp: it records every connection that arrives."""

    def __init__(self):
        import socket
        import threading

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port, self.arrived, self.stop = self.sock.getsockname()[1], [], threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, addr = self.sock.accept()
            except OSError:
                continue
            self.arrived.append(addr)
            conn.close()

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


def plant_secrets(home, gradebook):
    """Files and an environment variable holding a secret that no feedback may ever show."""
    import secrets as random

    token = "SECRET" + random.token_hex(10)
    home.mkdir(parents=True, exist_ok=True)
    (home / "secret.txt").write_text(f"my key: {token}\n")
    gradebook.parent.mkdir(parents=True, exist_ok=True)
    gradebook.write_text(f"sqlite? no: {token}\n")
    return token, (home / "secret.txt", gradebook, SECRET_ENV)


def corpus_for(dest, layout, course, out, port=None, secrets=None):
    cases = build_corpus(dest, LESSON, layout=layout, course=course, out=out, port=port, secrets=secrets)
    if layout == "flat":
        for lesson, names in EXTRAS:
            cases += build_corpus(dest, lesson, layout=layout, course=course, out=out, cases=names)
    return cases


def check_grade_all(cases, done, subs, out, secret=None, listener=None, lesson=LESSON):
    """(failures, observed) of a grade-all run over the corpus: every case exactly as expected."""
    failures = []
    ungradable = any(case.ungradable for case in cases)
    if done.returncode != (1 if ungradable else 0):
        failures.append(f"exit {done.returncode} (1 when some submissions are ungradable, else 0)\n"
                        f"{done.stderr[-5000:]}")
    if "Traceback" in done.stderr:
        failures.append(done.stderr[-5000:])
    records = {}
    for path in out.glob("*/*.json"):
        record = json.loads(path.read_text())
        records[Path(record["submission"]).name] = record
    observed = {}
    for case in cases:
        record = records.get(case.path.name)
        if record is None:
            failures.append(f"{case.student} ({case.lesson}): no result JSON")
            continue
        where = f"{case.student} ({case.lesson})"
        if record.get("status") == "ungradable":
            scores = None
            if record.get("score") != 0 or not record.get("reason") or record.get("tests"):
                failures.append(f"{where}: ungradable, but score {record.get('score')}, "
                                f"reason {record.get('reason')!r}, tests {record.get('tests')}")
        else:
            scores = {t["name"]: float(t["score"]) for t in record["tests"]}
            if record["score"] != sum(scores.values()) or record["max_score"] != case.max_score:
                failures.append(f"{where}: score {record['score']}/{record['max_score']} "
                                f"(tests say {sum(scores.values())}, the lesson {case.max_score})")
        if "forged" in record or record.get("score") == 999:
            failures.append(f"{where}: the result JSON is forged: {record}")
        failures += [f"{where}: {p}" for p in case.problems(scores)]
        failures += [f"{where}: side effect: {p}" for p in case.side_effects()]
        observed[where] = {
            "scores": scores, "reason": record.get("reason", ""), "verdict": verdict(case, scores),
            "outputs": {t["name"]: t.get("output", "")[:200] for t in record.get("tests", [])}}

    # Nothing planted anywhere, no forged line in the course-wide CSV, no secret in any file written.
    planted = [str(p) for p in list(out.rglob("*INJECTED*")) + list(subs.rglob("*INJECTED*"))]
    failures += [f"planted file: {p}" for p in planted]
    if "999" in (out / "grades.csv").read_text():
        failures.append(f"grades.csv holds a forged line:\n{(out / 'grades.csv').read_text()}")
    if secret is not None:
        leaks = [str(p) for p in out.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]
        failures += [f"the secret reached {p}" for p in leaks]
    if listener is not None and listener.arrived:
        failures.append(f"TCP connections reached the test's listener from {listener.arrived}")
    control = records.get(f"{CONTROL}_{lesson}.ipynb")
    if not (control and control["score"] == control["max_score"] > 0):
        failures.append(f"the control did not get full marks: {control}")
    return failures, observed


def print_observed(title, observed):
    print(f"\n{title}:")
    for name, row in observed.items():
        print(f"  {name:<42} {row['verdict']}" + (f"  [{row['reason']}]" if row["reason"] else ""))


# --- grade-all ---------------------------------------------------------------------------------------

def test_grade_all_grades_the_hostile_corpus_exactly(tmp_path):
    subs, out = tmp_path / "submissions", tmp_path / "out"
    listener = Listener()
    secret, secrets = plant_secrets(tmp_path / "home", tmp_path / "gradebook.db")
    try:
        cases = corpus_for(subs, "flat", REPO, out, port=listener.port, secrets=secrets)
        assert len({c.path for c in cases}) == len(cases)
        assert {c.student for c in cases} >= {"l05-tcp", "l07-smuggle"}
        done = subprocess.run(
            [sys.executable, "-m", "autograder", "grade-all", str(subs), "--out", str(out), "--course", str(REPO),
             "--workers", "2", "--timeout", str(TIMEOUT), "--force"],
            cwd=tmp_path, env=dict(tool_env(), **{SECRET_ENV: secret}), capture_output=True, text=True,
            timeout=900, preexec_fn=_backstop)
    finally:
        listener.close()
    print(done.stderr[-3000:])
    failures, observed = check_grade_all(cases, done, subs, out, secret, listener)
    dump("grade-all", observed)
    print_observed("grade-all on the hostile corpus", observed)
    assert not failures, "\n".join(failures)


def test_grade_all_gives_the_channels_cheats_nothing(tmp_path):
    """Cheats on the answer channel (tests/channel_demo.py's lesson, its references only in the tests):
    each gets 0 for the exercise it attacks, and nothing else."""
    from channel_demo import LESSON as DEMO, lesson
    from conftest import ag_make_course

    course = ag_make_course(tmp_path / "course", {DEMO: lesson()})
    subs, out = tmp_path / "submissions", tmp_path / "out"
    cases = build_corpus(subs, DEMO, layout="flat", course=course, out=out, cases=[CONTROL, *CHANNEL_CASES])
    assert {c.student for c in cases} == {CONTROL, *CHANNEL_CASES}
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "grade-all", str(subs), "--out", str(out), "--course", str(course),
         "--workers", "2", "--timeout", str(TIMEOUT), "--force"],
        cwd=tmp_path, env=tool_env(), capture_output=True, text=True, timeout=600, preexec_fn=_backstop)
    print(done.stderr[-3000:])
    failures, observed = check_grade_all(cases, done, subs, out, lesson=DEMO)
    dump("grade-all-channel", observed)
    print_observed("grade-all on the answer channel's cheats", observed)
    assert not failures, "\n".join(failures)


# --- nbgrader autograde --------------------------------------------------------------------------------

def nbgrader_failures(log):
    """{student: the exception that stopped nbgrader} from autograde's log."""
    failed = {}
    lines = log.splitlines()
    for i, line in enumerate(lines):
        m = re.search(r"There was an error processing assignment: .*/submitted/([^/]+)/", line)
        if not m:
            continue
        block = []
        for follow in lines[i + 1:]:
            if follow.startswith("[") and block:
                break
            block.append(follow)
        errors = [b.strip() for b in block if re.match(r"\s*[\w.]+(Error|Exception|Exit)\b:?", b)]
        failed[m.group(1)] = errors[-1][:160] if errors else "error"
    for m in re.finditer(r"error processing assignment '[^']+' for student '([^']+)'", log):
        failed.setdefault(m.group(1), "error")
    return failed


def gradebook_scores(course, lesson):
    """{student: {grade_id: score}} of every submission in the course's gradebook."""
    from nbgrader.api import Gradebook

    found = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for sub in gb.assignment_submissions(lesson):
            notebook = next((n for n in sub.notebooks if n.name == lesson), None)
            if notebook is not None:
                found[sub.student.id] = {g.name: float(g.score or 0) for g in notebook.grades}
    return found


@pytest.mark.slow
def test_nbgrader_autograde_survives_the_hostile_corpus(tmp_path):
    course = tmp_path / "course"
    (course / "source").mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", course)
    shutil.copytree(REPO / "source" / LESSON, course / "source" / LESSON)
    env = tool_env()
    nbgrader = lambda *args, **kw: subprocess.run(["nbgrader", *args], cwd=course, env=env, capture_output=True,
                                                  text=True, **kw)
    made = nbgrader("generate_assignment", LESSON, "--force", "--log-level=WARN", timeout=300)
    assert made.returncode == 0, made.stderr
    # Not l06-signal: nbgrader runs student code with its own privileges, and as root that case would
    # SIGKILL every process on the machine up to pid 4000 (it did, once).
    cases = [c for c in corpus_for(course / "submitted", "nbgrader", course, course / "autograded")
             if c.student not in NOT_UNDER_NBGRADER]
    for name in NOT_UNDER_NBGRADER:
        shutil.rmtree(course / "submitted" / name, ignore_errors=True)

    # Every student in one batch, as an instructor runs it; the cell timeout lowered from 60 s.
    done = nbgrader("autograde", LESSON, "--force", f"--Execute.timeout={TIMEOUT}",
                    timeout=1200, preexec_fn=_backstop)
    log = done.stdout + done.stderr
    failed = nbgrader_failures(log)
    graded = gradebook_scores(course, LESSON)

    observed, table = {}, []
    for case in cases:
        scores = graded.get(case.student)
        outcome = "graded" if case.student not in failed else f"failed: {failed[case.student]}"
        if case.student in failed:
            row = f"not graded ({failed[case.student]})"
            if scores is not None:
                row += f"; gradebook {sum(scores.values()):g}/{case.max_score:g}"
        elif scores is None:
            row = "no gradebook entry"
        else:
            row = verdict(case, scores)
        effects = case.side_effects()
        if effects:
            row += "; side effects: " + "; ".join(effects).replace(f"{tmp_path}/", "")
        if any(case.path in other.must_not_change and other.side_effects() for other in cases):
            row += "; its notebook was rewritten by another student's code before grading"
        observed[case.student] = {"outcome": outcome, "scores": scores, "verdict": row}
        table.append(f"  {case.student:<26} {row}")
    dump("nbgrader", {"returncode": done.returncode, "cases": observed})
    print(f"\nnbgrader autograde on the hostile corpus (exit {done.returncode}):")
    print("\n".join(table))

    # The batch survives: it ends, and every student is either in the gradebook or named in an error.
    students = {c.student for c in cases}
    missing = sorted(s for s in students if s not in graded and s not in failed)
    assert not missing, f"nbgrader neither graded nor failed: {missing}\n{log[-5000:]}"
    # It ended in its own way: 0, or 1 after listing the students it could not grade.
    assert done.returncode == 0 or (done.returncode == 1 and failed and re.search(
        r"error processing assignment '[^']+' for student", log)), log[-5000:]
    assert CONTROL not in failed and sum(graded[CONTROL].values()) == len(graded[CONTROL]) > 0
    last = max(students)  # students are graded in order: the last one too, after every failure
    assert last in graded or last in failed


# --- the combined table (docs/hostile-corpus.md) -----------------------------------------------------------

def combined_table():
    """The rows of docs/hostile-corpus.md from test-artifacts/hostile-*.json (this file's and test_nonroot.py's runs)."""
    import tempfile

    def load(name):
        path = ARTIFACTS / f"hostile-{name}.json"
        return json.loads(path.read_text()) if path.exists() else {}

    ours, theirs = load("grade-all"), load("nbgrader").get("cases", {})
    nonroot = {mode: load(f"nonroot-{mode}").get("cases", {}) for mode in ("full", "landlock", "namespaces")}
    with tempfile.TemporaryDirectory() as tmp:
        cases = build_corpus(Path(tmp) / "s", LESSON, port=1, secrets=("a", "b", SECRET_ENV))
        for lesson, names in EXTRAS:
            cases += build_corpus(Path(tmp) / "s", lesson, cases=names)
    rows = ["| case | attack | expected | `grade-all` as root | as an ordinary user: full / Landlock only / "
            "namespaces only | `nbgrader autograde` |", "|---|---|---|---|---|---|"]
    for c in cases:
        key = f"{c.student} ({c.lesson})"
        mine = ours.get(key, {}).get("verdict", "not run")
        users = " / ".join(nonroot[m].get(key, {}).get("verdict", "not run") for m in nonroot)
        nbg = theirs.get(c.student, {}).get("verdict", "not run") if c.lesson == LESSON else "(not run)"
        name = c.student if c.lesson == LESSON else f"{c.student} ({c.lesson})"
        rows.append(f"| {name} | {c.attack} | {c.expectation} | {mine} | {users} | {nbg} |".replace("\n", " "))
    return "\n".join(rows)


if __name__ == "__main__":
    print(combined_table())
