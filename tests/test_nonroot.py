"""The hostile corpus graded as an ordinary user: the same outcomes as under root.

Most instructors grade as themselves. Here an unprivileged user (tests/nonroot.py) grades the
corpus of tests/corpus.py with its own copy of the course and its own Python, through each
sandbox path the kernel offers without root:

- "full": a user namespace (with mount, PID, network and IPC namespaces inside), Landlock and
  seccomp;
- "landlock": Landlock alone (namespaces and seccomp turned off by the test switch
  AUTOGRADER_SANDBOX_DISABLE), as on Ubuntu 24.04 or in a container;
- "namespaces": the namespaces alone (Landlock and seccomp off).

Each must give every case exactly its expected scores, with no side effect, no TCP connection,
no secret in any output, and the course shown hidden by the self-test's canary. "full" grades the
whole corpus; the two fallbacks grade the cases whose outcome rests on how the child is isolated
(the control, the victim, the resource and the layer attacks): the cheats of the checks and of the
judge (e, p, f, s, m, g, c, n...) are stopped in the trusted judge, the same whichever layer runs. A last run with
every layer off shows that the attacks are real: there they succeed.
"""
import json
import shutil
import uuid
from pathlib import Path

import pytest

import nonroot
from corpus import SECRET_ENV, build_corpus
from test_hostile import LESSON, TIMEOUT, Listener, check_grade_all, corpus_for, dump, plant_secrets, print_observed

MODES = {
    "full": "",
    "landlock": "namespaces,seccomp",
    "namespaces": "landlock,seccomp",
}
# What each mode must show active (engine.protections), beyond the self-test's verdict.
MUST_HOLD = {
    "full": ("user_namespace", "mount_namespace", "pid_namespace", "network_namespace", "hidden_paths",
             "private_proc", "no_capabilities", "landlock", "seccomp"),
    "landlock": ("landlock",),
    "namespaces": ("user_namespace", "mount_namespace", "pid_namespace", "network_namespace", "hidden_paths",
                   "private_proc", "no_capabilities"),
}
# The cases whose outcome rests on the isolation layers (see the module's docstring).
LAYER_CASES = ("a00-control", "zz-victim", "r01-infinite-loop", "r02-ignores-interrupt", "r03-os-exit",
               "r04-system-exit", "r05-memory", "r06-print-lines", "r07-print-one-line", "l01-read-hidden",
               "l02-write-out", "l03-proc-walk", "l04-find-others", "l05-tcp", "l06-signal", "l07-smuggle")
ATTACKS = ("a00-control", "l01-read-hidden", "l03-proc-walk", "l04-find-others", "l05-tcp", "l07-smuggle")


def unique(tmp_path_factory):
    """A name no earlier run left behind in the user's home (an interrupted run keeps its folders)."""
    return f"{tmp_path_factory.mktemp('id').name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def user():
    try:
        return nonroot.grader()
    except (RuntimeError, OSError) as err:
        pytest.fail(f"no ordinary user to grade as: {err}")


def grade_all_as(user, base, mode, cases=None, disable=None, course=None):
    """Build the corpus in `base` (the user's), grade it there as the user; (cases, done, subs, out, ...).

    cases: only these of LESSON (default: the whole corpus); course: the course to grade with
    (default: the user's copy, made in base/course)."""
    course = course or nonroot.course_copy(user, base / "course")
    subs, out = base / "submissions", base / "out"
    listener = Listener()
    secret, secrets = plant_secrets(base / "home", course / "gradebook.db")
    try:
        if cases is None:
            built = corpus_for(subs, "flat", course, out, port=listener.port, secrets=secrets)
        else:
            built = build_corpus(subs, LESSON, course=course, out=out, cases=cases, port=listener.port,
                                 secrets=secrets)
        nonroot.give(user, base)
        env = user.env(**{SECRET_ENV: secret, "AUTOGRADER_SANDBOX_DISABLE": disable if disable is not None
                          else MODES[mode]})
        done = nonroot.run_as(user, [str(user.python), "-m", "autograder", "grade-all", str(subs), "--out", str(out),
                                     "--course", str(course), "--workers", "2", "--timeout", str(TIMEOUT), "--force"],
                              cwd=course, env=env)
    finally:
        listener.close()
    return built, done, subs, out, secret, listener


def protections(out):
    record = next(json.loads(p.read_text()) for p in out.glob("*/*.json")
                  if json.loads(p.read_text()).get("extra_data"))
    return record["extra_data"]["protections"]


@pytest.mark.parametrize("mode", list(MODES))
def test_the_hostile_corpus_graded_as_an_ordinary_user(user, mode, tmp_path_factory):
    base = user.home / f"corpus-{mode}-{unique(tmp_path_factory)}"
    try:
        cases, done, subs, out, secret, listener = grade_all_as(user, base, mode,
                                                                cases=None if mode == "full" else LAYER_CASES)
        failures, observed = check_grade_all(cases, done, subs, out, secret, listener)
        held = protections(out)
        dump(f"nonroot-{mode}", {"protections": held, "cases": observed})
        print_observed(f"grade-all as {user.name} ({mode})", observed)
        print(f"protections ({mode}): " + json.dumps(held))
        failures += [f"{name} is not active: {held.get(name)}" for name in MUST_HOLD[mode] if held.get(name) is not True]
        if held.get("course_hidden") is not True:
            failures.append(f"the self-test's canary was readable: {held.get('course_hidden')}")
        assert not failures, "\n".join(failures)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_with_every_layer_off_the_attacks_succeed(user, tmp_path_factory):
    """The corpus's attacks are real: with no namespace, no Landlock and no seccomp, they over-credit."""
    base = user.home / f"corpus-open-{unique(tmp_path_factory)}"
    try:
        cases, done, subs, out, secret, listener = grade_all_as(user, base, None, cases=ATTACKS,
                                                                 disable="namespaces,landlock,seccomp")
        assert done.returncode == 0, done.stderr[-3000:]
        scores = {}
        for path in out.glob("*/*.json"):
            record = json.loads(path.read_text())
            scores[record["student"]] = record["score"]
        over = {c.student for c in cases if c.student != "a00-control" and scores.get(c.student, 0) >
                c.expected_total[1]}
        assert over >= {"l01-read-hidden", "l03-proc-walk", "l04-find-others", "l05-tcp"}, (scores, done.stderr[-2000:])
        assert listener.arrived, "the TCP attack must reach an unprotected listener"
        assert any(secret.encode() in p.read_bytes() for p in out.rglob("*") if p.is_file()), \
            "l07-smuggle must get the secret into the feedback when nothing stops it from reading it"
        assert "could read the course's source/" in done.stderr  # the canary says so, loudly
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_require_isolation_refuses_where_the_course_is_readable(user, tmp_path_factory):
    base = user.home / f"refuse-{unique(tmp_path_factory)}"
    try:
        course = nonroot.course_copy(user, base / "course")
        notebook = base / f"{LESSON}.ipynb"
        shutil.copy(course / "source" / LESSON / f"{LESSON}.ipynb", notebook)
        nonroot.give(user, base)
        open_env = user.env(AUTOGRADER_SANDBOX_DISABLE="namespaces,landlock,seccomp")
        args = [str(user.python), "-m", "autograder", "grade", str(notebook), "--course", str(course)]
        refused = nonroot.run_as(user, args + ["--require-isolation"], cwd=course, env=open_env)
        assert refused.returncode == 2 and "refusing to grade (--require-isolation)" in refused.stderr, refused.stderr
        warned = nonroot.run_as(user, args, cwd=course, env=open_env)
        assert warned.returncode == 0 and "WARNING: the sandbox did not hide source/" in warned.stdout
        sound = nonroot.run_as(user, args + ["--require-isolation"], cwd=course)
        assert sound.returncode == 0 and "Sandbox: source/ was hidden" in sound.stdout, sound.stderr[-2000:]
        assert Path(base / "course" / "source").exists() and not list((course / "source").glob(".autograder-canary-*"))
    finally:
        shutil.rmtree(base, ignore_errors=True)
