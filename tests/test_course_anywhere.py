"""A course anywhere grades: under /tmp, with its venv inside it or beside it, or behind a symlink.

Scratch clones, CI runners and many instructors' first tries live under /tmp, which the sandbox
replaces with a private tmpfs (issue 15, item 16: there every self-test failed). The sandbox must
show student code the interpreter's folders wherever they are, and still none of the course's
private files.

- The new root, built in a forked child: a venv under /tmp (at its own name and through a symlink)
  is readable, the course's source/ and everything else of it are not; a new root that can't be
  made leaves the host's /tmp as it was, for the blocklist fallback, which shows the venv too.
- A course copied under /tmp, graded with a venv under /tmp made from the system's Python (the
  cached venv of tests/nonroot.py, copied by hard links): as root (its venv inside the course, as
  `make setup` makes it, started through a symlink) and as an ordinary user (its venv beside the
  course), each on the hostile corpus's isolation attacks with the same outcomes as elsewhere, the
  canary in source/ unread; and the Gradescope runner, whose venv is $AUTOGRADER_ROOT/venv.
"""
import dataclasses
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import pytest

import nonroot
from test_hostile import LESSON, check_grade_all, print_observed
from test_nonroot import MUST_HOLD, grade_all_as, protections

ROOT = os.geteuid() == 0
# The isolation attacks, the writer and its victim, one ungradable file (grade-all then exits 1) and the control.
CASES = ("a00-control", "zz-victim", "u02-empty-file", "l01-read-hidden", "l02-write-out", "l03-proc-walk",
         "l04-find-others", "l05-tcp", "l07-smuggle")
MUST_HOLD_AS_ROOT = ("mount_namespace", "pid_namespace", "network_namespace", "minimal_root", "hidden_paths",
                     "private_proc", "user_nobody", "landlock", "seccomp")


@pytest.fixture
def scratch():
    """A fresh folder directly under /tmp (pytest's own tmp_path may be configured elsewhere)."""
    path = Path(tempfile.mkdtemp(prefix="lstm-course-anywhere-", dir="/tmp"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def user():
    try:
        return nonroot.grader()
    except (RuntimeError, OSError) as err:
        pytest.fail(f"no ordinary user to grade as: {err}")


# --- the new root, in a forked child --------------------------------------------------------------------

def _in_child(probe):
    """Run probe() in a forked child with a private mount namespace; its string result."""
    from autograder import namespaces

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        result = "the probe failed"
        try:
            namespaces.unshare(namespaces.CLONE_NEWNS)
            namespaces.mount(None, "/", None, namespaces.MS_REC | namespaces.MS_PRIVATE)
            result = probe()
        except BaseException as err:
            result = f"{type(err).__name__}: {err}"
        finally:
            os.write(write, result.encode()[:10000])
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as f:
        return f.read()


def _course_with_a_venv(base):
    """A course-like folder under /tmp holding a venv-like folder, a symlink to it and private files."""
    course = base / "course"
    site = course / ".venv" / "lib" / "python3" / "site-packages"
    site.mkdir(parents=True)
    (site / "lazy_module.py").write_text("x = 1\n")
    (base / "venvlink").symlink_to(course / ".venv")
    for private in ("source/lesson/lesson.ipynb", "course/references/lesson.py", "out/grades.csv"):
        (course / private).parent.mkdir(parents=True, exist_ok=True)
        (course / private).write_text("hidden tests")
    expose = [[str(course / ".venv"), str(course / ".venv")], [str(base / "venvlink"), str(course / ".venv")],
              [str(base / "venvlink" / site.relative_to(course / ".venv")), str(site)]]
    return course, site, expose


def _views(course, site, base):
    """What the child sees: the module at both names, and each private file of the course."""
    link = base / "venvlink" / site.relative_to(course / ".venv") / "lazy_module.py"
    seen = {"module": (site / "lazy_module.py").read_text() == "x = 1\n",
            "through the link": link.read_text() == "x = 1\n"}
    for private in ("source", "course/references/lesson.py", "out/grades.csv"):
        seen[private] = (course / private).exists()
    return json.dumps(seen, sort_keys=True)


WANTED = json.dumps({"module": True, "through the link": True, "source": False, "course/references/lesson.py": False,
                     "out/grades.csv": False}, sort_keys=True)


@pytest.mark.skipif(not ROOT, reason="mount namespaces without a user namespace need root")
def test_the_new_root_shows_a_venv_under_tmp_and_nothing_else_of_its_course(scratch):
    from autograder import namespaces, sandbox

    course, site, expose = _course_with_a_venv(scratch)

    def probe():
        namespaces.minimal_root(expose, sandbox.SYSTEM_READ, hide=[str(course / "source")])
        return _views(course, site, scratch)

    assert _in_child(probe) == WANTED
    assert (course / "source" / "lesson" / "lesson.ipynb").exists(), "the host's view must not change"


@pytest.mark.skipif(not ROOT, reason="mount namespaces without a user namespace need root")
def test_a_new_root_that_fails_leaves_tmp_to_the_fallback(scratch, monkeypatch):
    from autograder import namespaces, sandbox

    course, site, expose = _course_with_a_venv(scratch)

    def refused(*args):
        raise OSError(1, "pivot_root: refused for the test")

    monkeypatch.setattr(namespaces, "_syscall", refused)

    def probe():
        try:
            namespaces.minimal_root(expose, sandbox.SYSTEM_READ, hide=[str(course / "source")])
            return "the new root was made"
        except OSError:
            pass
        if not (site / "lazy_module.py").exists():
            return "the staging tmpfs still covers /tmp"
        hidden = [str(course / p) for p in ("source", "course", "out")]
        failed = namespaces.hide(hidden, expose)
        namespaces.private_tmp(expose)
        return _views(course, site, scratch) if not failed else f"not hidden: {failed}"

    assert _in_child(probe) == WANTED


# --- grading from a course under /tmp ---------------------------------------------------------------------

def _check(done, cases, subs, out, secret, listener, must_hold):
    failures, observed = check_grade_all(cases, done, subs, out, secret, listener)
    held = protections(out)
    failures += [f"{name} is not active: {held.get(name)}" for name in must_hold if held.get(name) is not True]
    if held.get("course_hidden") is not True:
        failures.append(f"the self-test's canary was readable: {held.get('course_hidden')}")
    if not str(held.get("interpreter_detail")).startswith("readable"):
        failures.append(f"the interpreter's folders: {held.get('interpreter_detail')}")
    return failures, observed, held


@pytest.mark.skipif(not ROOT, reason="grading as root needs root")
def test_a_course_under_tmp_grades_as_root(user, scratch):
    """`make setup` in a clone under /tmp: the venv inside the course; python started through a symlink."""
    base = scratch / "corpus"
    course = nonroot.course_copy(nonroot.as_root(user.python), base / "course")
    nonroot.venv_copy(user.python, course / ".venv")
    (scratch / "venvlink").symlink_to(course / ".venv")
    root = nonroot.as_root(scratch / "venvlink" / "bin" / "python")
    cases, done, subs, out, secret, listener = grade_all_as(root, base, "full", cases=CASES, course=course)
    failures, observed, held = _check(done, cases, subs, out, secret, listener, MUST_HOLD_AS_ROOT)
    print_observed("grade-all as root, course and venv under /tmp", observed)
    print("protections: " + json.dumps(held))
    assert not failures, "\n".join(failures)


def test_a_course_under_tmp_grades_as_an_ordinary_user(user, scratch):
    """A venv made from the system's Python under /tmp, beside a course under /tmp."""
    python = nonroot.venv_copy(user.python, scratch / "venv")  # not in base: that becomes the user's
    grader = dataclasses.replace(user, python=python)
    cases, done, subs, out, secret, listener = grade_all_as(grader, scratch / "corpus", "full", cases=CASES)
    must_hold = MUST_HOLD["full"] if ROOT else ("landlock",)
    failures, observed, held = _check(done, cases, subs, out, secret, listener, must_hold)
    print_observed(f"grade-all as {user.name}, course and venv under /tmp", observed)
    print("protections: " + json.dumps(held))
    assert not failures, "\n".join(failures)


def test_the_gradescope_runner_grades_with_its_venv_under_tmp(user, scratch):
    """Gradescope's layout under /tmp: $AUTOGRADER_ROOT/venv is the grading venv, source/ the course."""
    import test_gradescope as gs

    zips = scratch / "zips"
    made = gs.cli("gradescope", "01_syntax", "--out", zips)
    assert made.returncode == 0, made.stderr
    root = gs.autograder_root(zips / "autograder-01_syntax.zip", scratch)
    nonroot.venv_copy(user.python, root / "venv")
    with zipfile.ZipFile(zips / "autograder-01_syntax.zip") as archive:
        (root / "submission" / "01_syntax.ipynb").write_bytes(archive.read("source/01_syntax/01_syntax.ipynb"))
    text, stdout = gs.run_autograder(root, PYTHONDONTWRITEBYTECODE=1)
    results = gs.validate(text)
    marks = gs.graded(results)
    assert marks and all(score == top for score, top in marks.values()), (marks, stdout[-3000:])
    held = results["extra_data"]["protections"]
    assert held["course_hidden"] is True, held
    assert str(held["interpreter_detail"]).startswith("readable"), held
    gs.assert_no_leak(text)


def test_a_failed_self_test_names_what_the_child_could_not_read(tmp_path):
    from autograder import sandbox, selftest
    from autograder.scoring import TestResult

    missing = tmp_path / "gone" / ".venv"
    seen = sandbox._interpreter_readable([[str(tmp_path), str(tmp_path)], [str(missing), str(missing)]])
    assert seen == f"NOT readable: {missing} (No such file or directory)"
    assert sandbox._interpreter_readable([[str(tmp_path), str(tmp_path)]]) == "readable: 1 folder"
    unanswered = "Not answered: answer_q1 is not defined when this test runs."
    results = [TestResult("q0_test", 0.0, 1.0, "failed", unanswered), TestResult("q1_test", 0.0, 1.0, "failed", unanswered)]
    message = selftest.failure_message(results, {"interpreter_detail": seen})
    assert f"the interpreter's folders were NOT readable: {missing} (No such file or directory)" in message
    assert "symlinked venv" not in message and "not of any submission" in message
