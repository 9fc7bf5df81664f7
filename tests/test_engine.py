"""The sandboxed grading engine (autograder/engine.py) on the real lessons, honest and hostile.

Every submission is a lesson's solution notebook (source/) with one or two answer cells
changed. Sandbox probes report what they saw through the grade itself: a probe's answer
is right only if the protection held, so a full mark proves it. One engine (2 workers,
2 s cell timeout) serves the hostile cases, a few of which wait out a timeout; the honest lessons,
whose training cells take seconds, get one of their own. Throughput is a benchmark's
(benchmarks/grading_speed.py), not a test's.
"""
import functools
import os
import sys
import time
from pathlib import Path

import nbformat
import re

import pytest
from conftest import AG_REPO

from autograder import answers, course, pipeline, scoring
from autograder.engine import Engine, is_active

LESSONS = sorted(p.parent.name for p in AG_REPO.glob("source/*/*.ipynb") if p.stem == p.parent.name)
WRONG = {"shape": "(99, 99, 99)", "choice": '"Z"', "lstm": "nn.LSTM(1, 1)", "int": "99",
         "function": "def answer_q1(*args):\n    return None",
         "generated": "nn.LSTM(1, 1)"}  # the course test's q1 for its example id asks for a layer
TIMEOUT = 2
ROOT = os.geteuid() == 0


@functools.lru_cache(maxsize=None)
def source(lesson):
    return nbformat.read(str(AG_REPO / "source" / lesson / f"{lesson}.ipynb"), as_version=4)


def points(lesson):
    return {g.grade_id: g.points for g in scoring.graded_cells(source(lesson))}


def kinds(lesson):
    nb = source(lesson)
    return {course.grade_id(c): c.source.split("### BEGIN HIDDEN TESTS")[1].split("expect_")[1].split("(")[0]
            for c in nb.cells if re.fullmatch(r"q\d+_test", course.grade_id(c) or "")}


def set_answer(nb, n, code):
    cell = next(c for c in nb.cells if course.grade_id(c) == f"q{n}_answer")
    cell.source = code


def submission(tmp_path, lesson, changes=None, name=None, release=False):
    """A Job for `lesson`'s solution (or its release) with answer cells replaced: {n: code}."""
    folder = "release" if release else "source"
    nb = nbformat.read(str(AG_REPO / folder / lesson / f"{lesson}.ipynb"), as_version=4)
    for n, code in (changes or {}).items():
        set_answer(nb, n, code)
    path = tmp_path / (name or "sub") / f"{lesson}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return pipeline.prepare(path, AG_REPO, lesson)


def scores(results):
    return {r.name: r.score for r in results}


def expect(lesson, zero=()):
    return {gid: 0.0 if gid in zero else pts for gid, pts in points(lesson).items()}


def later(lesson, n):
    """The tests of exercise n and every later one: what a kernel that stops in exercise n's cell costs."""
    return {gid for gid in points(lesson) if int(gid[1:-len("_test")]) >= n}


def output(results, name):
    return next(r.output for r in results if r.name == name)


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("engine-out")


@pytest.fixture(scope="module")
def engine(out_dir):
    with Engine(workers=2, timeout=TIMEOUT, hide=[out_dir]) as e:
        yield e


@pytest.fixture(scope="module")
def lessons_engine(out_dir):
    """Honest lessons: their training cells take seconds, more on a loaded machine; 2 s is for the hostile cases."""
    with Engine(workers=2, timeout=120, hide=[out_dir]) as e:
        yield e


def grade(engine, *jobs):
    """{job: results} of jobs graded together."""
    return {id(job): results for job, results in engine.grade_all(list(jobs))}


def protected(engine, name, tmp_path):
    """Skip unless protection `name` is active here (grading one honest job first, if none was yet)."""
    if engine.protections is None:
        grade(engine, submission(tmp_path, "03_states", name="first"))
    if engine.protections is None:
        pytest.fail("the engine reported no protections")
    if engine.protections.get(name) is not True:
        pytest.skip(f"{name} is not available here: {engine.protections.get(name)}")


# --- honest submissions ---------------------------------------------------------------------------------

def test_lessons_solution_full_release_zero_partly_wrong_exactly(lessons_engine, tmp_path):
    engine = lessons_engine
    jobs = {}
    for lesson in LESSONS:
        kind = kinds(lesson)
        jobs[lesson, "solution"] = submission(tmp_path, lesson, name=f"{lesson}-solution")
        jobs[lesson, "release"] = submission(tmp_path, lesson, name=f"{lesson}-release", release=True)
        jobs[lesson, "partly"] = submission(tmp_path, lesson, {
            1: f"answer_q1 = {WRONG[kind['q1_test']]}",                   # wrong, of the right kind
            3: "raise ValueError('my own bug')\nanswer_q3 = None",        # an error before the answer
        }, name=f"{lesson}-partly")
    got = grade(engine, *jobs.values())
    for (lesson, what), job in jobs.items():
        results = got[id(job)]
        assert [r.name for r in results] == list(points(lesson)), (lesson, what)
        assert [r.max_score for r in results] == list(points(lesson).values())
        if what == "solution":
            assert scores(results) == expect(lesson), lesson
            # The course test's visible check confirms only an answer's form, and says nothing when graded.
            assert all(r.status == "passed" and (r.output.startswith("Correct!") or lesson == "course_test"
                                                 and r.output == "") for r in results)
        elif what == "release":
            assert scores(results) == expect(lesson, zero=points(lesson)), lesson
            # An answer never defined, or a function whose body is still the placeholder; the course test's
            # release has no student id either: no question of it exists (and it says so in every row).
            if lesson == "course_test":
                assert all(r.output.startswith("NoStudentId: No student id") and r.verdict == "not run"
                           for r in results), [r.output for r in results]
            else:
                assert all(r.output.startswith("Not answered: ") and r.verdict == "not answered"
                           for r in results), [r.output for r in results]
        else:
            assert scores(results) == expect(lesson, zero={"q1_test", "q3_test"}), lesson
            assert output(results, "q3_test").startswith("Not answered: answer_q3 is not defined")
        for r in results:
            assert "BEGIN HIDDEN" not in r.output and "expect_" not in r.output and "Traceback" not in r.output


def test_a_known_mistake_gets_its_hint_and_warnings_in_answer_cells_are_no_failure(engine, tmp_path):
    job = submission(tmp_path, "01_syntax", {
        2: "answer_q2 = nn.LSTM(20, 10)",  # the swapped sizes: a known mistake
        5: "import warnings\nwarnings.simplefilter('always')\n"
           "answer_q5 = nn.LSTM(5, 15, num_layers=2, batch_first=True, dropout=0.25)\n"
           "extra = nn.LSTM(4, 4, dropout=0.5)\nnn.LSTM(4, 8, proj_size=2)(torch.randn(3, 1, 4))",
        # The right settings in float64: rebuilt in the judge with its dtype, which is compared too.
        6: "answer_q6 = nn.LSTM(8, 16, bidirectional=True, dtype=torch.float64)",
    })
    (results,) = grade(engine, job).values()
    assert scores(results) == expect("01_syntax", zero={"q2_test", "q6_test"})
    assert output(results, "q2_test").startswith("WrongAnswer: The two sizes are swapped")
    assert "float64" in output(results, "q6_test") and "default dtype" in output(results, "q6_test")
    assert engine.threads_at_fork == 1  # torch's pools did not start before the fork


# --- the sandbox ---------------------------------------------------------------------------------------------

def probe(condition):
    """03_states q1's answer: right only if `condition` (Python source) holds in the child."""
    return f"answer_q1 = (2, 3, 20) if ({condition}) else (9, 9, 9)"


def test_student_code_cannot_see_hidden_paths_or_write_to_them(engine, out_dir, tmp_path):
    protected(engine, "hidden_paths", tmp_path)
    hidden = AG_REPO / "source" / "03_states" / "03_states.ipynb"
    git = AG_REPO / ".git"
    planted = Path("/tmp") / f"planted-by-a-submission-{os.getpid()}"
    home_file = next((p for p in sorted(Path.home().iterdir()) if p.is_file()), None)  # the grader's home
    job = submission(tmp_path, "03_states", {
        1: "import os\n"
           "def listed(p):\n"
           "    try:\n        return os.listdir(p)\n"
           "    except OSError:\n        return []\n"
           "def readable(p):\n"
           "    try:\n        open(p).read()\n        return True\n"
           "    except OSError:\n        return False\n"
           "def writable(p):\n"
           "    try:\n        open(p, 'w').write('planted')\n        return True\n"
           "    except OSError:\n        return False\n"
           + probe(f"not readable({str(hidden)!r}) and not os.path.exists({str(AG_REPO / 'source' / '03_states')!r})"
                   f" and not writable({str(out_dir / 'planted.txt')!r})"
                   f" and not listed({str(git)!r})"
                   f" and os.listdir('.') == [] and not readable({str(home_file or '/nonexistent')!r})"
                   f" and writable({str(planted)!r})"),  # its own /tmp: private
    })
    (results,) = grade(engine, job).values()
    assert scores(results) == expect("03_states")
    assert not (out_dir / "planted.txt").exists() and not planted.exists()
    assert hidden.is_file()  # hidden from the child only


@pytest.mark.skipif(not ROOT, reason="student code runs as nobody only when the grader runs as root")
def test_student_code_runs_as_nobody_without_network_in_its_own_pid_namespace(engine, tmp_path):
    import pwd

    protected(engine, "user_nobody", tmp_path)
    protected(engine, "pid_namespace", tmp_path)
    nobody = pwd.getpwnam("nobody")
    job = submission(tmp_path, "03_states", {
        1: "import os, socket\n"
           "def offline():\n"
           "    try:\n        socket.create_connection(('1.1.1.1', 53), timeout=1)\n        return False\n"
           "    except OSError:\n        return True\n"
           + probe(f"os.getuid() == os.geteuid() == {nobody.pw_uid} and os.getgroups() == [] and offline()"
                   " and os.getpid() == 1 and [p for p in os.listdir('/proc') if p.isdigit()] == ['1']"),
    })
    (results,) = grade(engine, job).values()
    assert scores(results) == expect("03_states")
    assert all(is_active(k, v) for k, v in engine.protections.items() if not k.endswith("_detail")), \
        engine.protections


def test_memory_limit_stops_the_cell_and_later_exercises_still_count(engine, tmp_path):
    # numpy.empty leaves the pages untouched: the limit is reached at once, not after faulting in GBs.
    hog = "import numpy\ndef hog():\n    keep = []\n    while True:\n        keep.append(numpy.empty(256 * 2**20, numpy.uint8))\n"
    job = submission(tmp_path, "03_states", {
        2: hog + "hog()\nanswer_q2 = (1, 3, 20)",                                         # never answered
        3: hog + "try:\n    hog()\nexcept MemoryError:\n    answer_q3 = (1, 3, 20)",  # right if the limit hit
    })
    (results,) = grade(engine, job).values()
    assert scores(results) == expect("03_states", zero={"q2_test"})


def test_timeouts_interrupt_a_loop_and_kill_a_cell_that_ignores_the_interrupt(engine, tmp_path):
    loop = submission(tmp_path, "03_states", {2: "while True:\n    pass\nanswer_q2 = (1, 3, 20)"}, name="loop")
    stubborn = submission(tmp_path, "03_states", {
        2: "import time\nwhile True:\n    try:\n        time.sleep(0.1)\n"
           "    except BaseException:\n        pass\nanswer_q2 = (1, 3, 20)"}, name="stubborn")
    started = time.monotonic()
    got = grade(engine, loop, stubborn)
    assert time.monotonic() - started < 3 * TIMEOUT + 10
    assert scores(got[id(loop)]) == expect("03_states", zero={"q2_test"})  # the run went on
    results = got[id(stubborn)]
    assert scores(results) == expect("03_states", zero=later("03_states", 2))
    assert output(results, "q2_test").startswith("NotRun: the kernel was stuck in cell")


def test_exits_and_floods(engine, tmp_path):
    cases = {
        "os_exit": ({2: "answer_q2 = (1, 3, 20)\nimport os\nos._exit(0)"}, later("03_states", 2)),
        "system_exit": ({2: "raise SystemExit\nanswer_q2 = (1, 3, 20)"}, {"q2_test"}),
        "interrupt": ({2: "raise KeyboardInterrupt\nanswer_q2 = (1, 3, 20)"}, {"q2_test"}),
        "flood": ({2: "answer_q2 = (1, 3, 20)\nimport sys\nprint('y' * 10_000_000)\n"
                      "for i in range(400_000):\n    print(f'{i:09d} ' + 'x' * 110)\n"
                      "sys.stderr.write('z' * 2_000_000)"}, set()),
        "segfault": ({2: "answer_q2 = (1, 3, 20)\nimport ctypes\nctypes.string_at(0)"},
                     later("03_states", 2)),
    }
    jobs = {name: submission(tmp_path, "03_states", changes, name=name) for name, (changes, _) in cases.items()}
    got = grade(engine, *jobs.values())
    for name, (_, zero) in cases.items():
        assert scores(got[id(jobs[name])]) == expect("03_states", zero=zero), name
    assert output(got[id(jobs["os_exit"])], "q2_test").startswith("NotRun: the kernel stopped in cell")
    assert "SIGSEGV" in output(got[id(jobs["segfault"])], "q2_test")


@pytest.mark.skipif(not ROOT, reason="without root, student code runs as the grader's own user, who may kill it")
def test_killing_the_parent_or_everything_harms_no_one_else(engine, tmp_path):
    protected(engine, "user_nobody", tmp_path)
    pids = [w.proc.pid for w in engine._workers]
    killers = {
        "ppid": submission(tmp_path, "03_states", {2: "import os\nanswer_q2 = (1, 3, 20)\n"
                                                      "try:\n    os.kill(os.getppid(), 9)\nexcept OSError:\n    pass"},
                           name="ppid"),
        "all": submission(tmp_path, "03_states", {2: "import os\nanswer_q2 = (1, 3, 20)\n"
                                                     "try:\n    os.kill(-1, 9)\nexcept OSError:\n    pass"}, name="all"),
    }
    if engine.protections.get("pid_namespace") is not True:
        del killers["all"]  # without a PID namespace kill(-1) reaches every process of this user
    honest = [submission(tmp_path, "03_states", name=f"honest{i}") for i in range(4)]
    got = grade(engine, *killers.values(), *honest)
    for name, job in killers.items():
        # Its answers up to the kill count; at worst the kill ends its own child.
        assert scores(got[id(job)])["q1_test"] == 1.0 and scores(got[id(job)])["q2_test"] == 1.0, name
    for job in honest:
        assert scores(got[id(job)]) == expect("03_states")
    assert [w.proc.pid for w in engine._workers] == pids  # no worker died
    assert all(w.proc.poll() is None for w in engine._workers)


def test_patched_interpreter_and_lying_answers_get_no_credit(engine, tmp_path):
    fake = ("class FakeLSTM(nn.Module):\n"
            "    def __init__(self, *a, **k):\n        super().__init__()\n"
            "        self.input_size, self.hidden_size = 12, 20\n"
            "        self.batch_first = self.bidirectional = True\n"
            "    @property\n    def __class__(self):\n        return _Real\n"
            "    def __eq__(self, other):\n        return True\n    __hash__ = nn.Module.__hash__\n"
            "_Real = nn.LSTM\n")
    lie = "    def __eq__(self, other):\n        return True\n    def __ne__(self, other):\n        return False\n"
    cases = {
        "nn.LSTM": {7: fake + "nn.LSTM = FakeLSTM\ntorch.nn.LSTM = FakeLSTM\n"
                              "answer_q7 = nn.LSTM(12, 20, batch_first=True, bidirectional=True)"},
        "rnn module": {7: fake + "import torch.nn.modules.rnn\ntorch.nn.modules.rnn.LSTM = FakeLSTM\n"
                                 "answer_q7 = FakeLSTM(12, 20)"},
        "torch.equal": {1: "torch.equal = lambda *a, **k: True\ntorch.allclose = lambda *a, **k: True\n"
                           "torch.Tensor.__eq__ = lambda self, other: True\nanswer_q1 = (9, 9, 9)"},
        "isinstance": {1: "import builtins\nbuiltins.isinstance = lambda *a, **k: True\n"
                          "builtins.type = lambda *a: tuple\nanswer_q1 = (9, 9, 9)"},
        "transformer": {1: "answer_q1 = (9, 9, 9)\nget_ipython().input_transformers_post.append(\n"
                           "    lambda lines: ['pass\\n'] if any('check(' in l for l in lines) else lines)"},
        "equals anything": {1: "class Anything:\n" + lie + "    __hash__ = object.__hash__\nanswer_q1 = Anything()"},
        "tuple subclass": {1: "class Shape(tuple):\n" + lie + "    __hash__ = tuple.__hash__\n"
                              "answer_q1 = Shape((99, 99, 99))"},
        "int subclass": {1: "class Dim(int):\n" + lie + "    __hash__ = int.__hash__\n"
                            "answer_q1 = (Dim(99), Dim(99), Dim(99))"},
        "str subclass": {6: "class Letter(str):\n" + lie + "    __hash__ = str.__hash__\n"
                            "    def strip(self, *a):\n        return self\n"
                            "    def upper(self):\n        return self\nanswer_q6 = Letter('Z')"},
    }
    jobs = {name: submission(tmp_path, "02_shapes", changes, name=name.replace(" ", "_").replace(".", "_"))
            for name, changes in cases.items()}
    got = grade(engine, *jobs.values())
    for name, changes in cases.items():
        results = scores(got[id(jobs[name])])
        (n,) = changes
        assert results[f"q{n}_test"] == 0.0, name
        if name not in ("isinstance",):  # that patch may break the student's own later cells
            assert results == expect("02_shapes", zero={f"q{n}_test"}), name


def test_a_child_that_breaks_the_protocol_is_stopped_and_recorded(engine, tmp_path):
    job = submission(tmp_path, "03_states", {
        2: "import os\nanswer_q2 = (1, 3, 20)\n"
           "for fd in range(3, 64):\n    try:\n        os.write(fd, b'\\x00\\x00\\x00\\x05hello')\n"
           "    except OSError:\n        pass"})
    (results,) = grade(engine, job).values()
    assert scores(results) == expect("03_states", zero=later("03_states", 2))
    assert "could not read" in output(results, "q2_test")


def test_a_worker_that_dies_mid_job_scores_zero_and_is_replaced(tmp_path):
    import signal
    import threading

    slow = submission(tmp_path, "03_states", {2: "import time\ntime.sleep(20)\nanswer_q2 = (1, 3, 20)"}, name="slow")
    honest = submission(tmp_path, "03_states", name="honest")
    with Engine(workers=1, timeout=30) as engine:
        assert scores(engine.grade(honest)) == expect("03_states")  # the worker is up
        pid = engine._workers[0].proc.pid
        threading.Timer(1.0, os.kill, (pid, signal.SIGKILL)).start()
        results = engine.grade(slow)
        assert scores(results) == expect("03_states", zero=points("03_states"))
        assert all(r.output.startswith("GraderError: the grader failed on this submission") for r in results)
        assert scores(engine.grade(honest)) == expect("03_states")
        assert engine._workers[0].proc.pid != pid


# --- answers as plain data ------------------------------------------------------------------------------------

def checks_api():
    from course.build import checks_source

    ns = {"__name__": "__main__"}
    exec(checks_source(None), ns)
    return ns["_course_answers"]


def over_the_wire(data):
    import json

    return json.loads(json.dumps(data, allow_nan=False))


def test_what_describe_makes_comes_back_the_same_from_the_grader():
    import torch
    from torch import nn

    api = checks_api()

    class Sub(tuple):
        pass

    layer = nn.LSTM(8, 16, num_layers=2, batch_first=True, dropout=0.5, bidirectional=True, proj_size=4)
    tampered = nn.LSTM(8, 16)
    tampered.hidden_size = 30
    for value in [(4, 2, 3), [4, 2], torch.Size([4, 2, 3]), (4, 2.0, 3), (True, 2), "b", " (C) ", "AB", ["C"],
                  None, ..., 3, 2.5, float("nan"), {"a": 1}, Sub((1, 2)), (Sub(), 1), layer, tampered,
                  nn.LSTM(8, 16, bias=False), nn.LSTM(8, 16, dtype=torch.float64), nn.GRU(3, 4), 10 ** 50,
                  torch.zeros(2), print, lambda x: x]:
        want = api["describe"](value)
        got = api["describe"](api["received"](over_the_wire(want)))
        assert got == want, value
        assert api["show"](got) == api["show"](want)


def test_forged_answers_are_only_claims():
    api = checks_api()
    forged = [{"kind": "shape", "value": "abc"}, {"kind": "choice", "value": "AB"}, {"kind": "int", "value": 2 ** 80},
              {"kind": "lstm", "config": {"input_size": 8}, "dtype": "torch.float32"}, {"kind": "nope"}, [], None,
              {"kind": "invalid", "code": "other", "type": "A" * 50}, {"kind": "invalid", "code": "secret-code"},
              {"kind": "invalid", "code": "module", "type": "sk_live_0123456789abcdef0123456789"}]
    for data in forged:
        described = api["describe"](api["received"](data))
        assert described["kind"] in ("invalid", "shape", "choice", "int", "lstm")
        text = api["show"](described)
        assert "sk_live" not in text and "A" * 31 not in text and "secret-code" not in text
    calls = api["probe"](api["received"]({"kind": "calls", "results": [{"out": {"t": "tensor", "dtype": "float32",
                                                                               "shape": [10 ** 9], "data": []}}]}), [()])
    assert calls["results"] == [{"error": "unreadable"}]  # a claimed tensor that is not what it says


def test_names_read_finds_answers_only():
    src = "check(answer_q1, 'x')\n### BEGIN HIDDEN TESTS\nexpect_shape('x', answer_q1, (1,))\nanswer_digest\n"
    assert answers.names_read(src, exclude={"answer_digest"}) == ["answer_q1"]
    assert answers.names_read("this is not python (") == []


@pytest.mark.skipif(not ROOT, reason="mount namespaces need root")
def test_covered_folders_keep_the_interpreter_folders_inside_them_readable(tmp_path):
    # CI may clone the course (and its .venv) under /tmp, which the child covers with a private tmpfs;
    # an instructor may run the grader through a symlink to the venv, which Python keeps using.
    from autograder import namespaces

    covered = tmp_path / "clone"
    (covered / ".venv" / "lib").mkdir(parents=True)
    (covered / ".venv" / "lib" / "module.py").write_text("x = 1\n")
    (covered / "venvlink").symlink_to(covered / ".venv")
    (covered / "source").mkdir()
    (covered / "source" / "secret.ipynb").write_text("hidden tests")
    expose = [[str(covered / ".venv"), str(covered / ".venv")], [str(covered / "venvlink"), str(covered / ".venv")]]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        status = "fail"
        try:
            namespaces.unshare(namespaces.CLONE_NEWNS)
            namespaces.mount(None, "/", None, namespaces.MS_REC | namespaces.MS_PRIVATE)
            namespaces.tmpfs_over(str(covered), expose, "size=1m,mode=1777", read_only=False)
            visible = (covered / ".venv" / "lib" / "module.py").read_text() == "x = 1\n"
            through_link = (covered / "venvlink" / "lib" / "module.py").read_text() == "x = 1\n"
            hidden = not (covered / "source").exists()
            status = f"{visible} {through_link} {hidden}"
        finally:
            os.write(write, status.encode())
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    assert os.read(read, 100).decode() == "True True True"
    assert (covered / "source" / "secret.ipynb").exists(), "the host's view must not change"


def test_a_tests_calls_share_its_time_so_a_never_returning_answer_costs_one_timeout():
    """Each call of a function answer gets its share of the test's time, but at least 1 s; so many calls of an
    answer that never returns (hidden and visible cases) must stop when the test's own time is spent, not
    run a second each past the step's deadline (then the child was killed and every later test lost)."""
    import signal

    from autograder import sandbox

    mask, handler = signal.pthread_sigmask(signal.SIG_BLOCK, []), signal.getsignal(signal.SIGALRM)
    try:
        shared_budget(sandbox)
    finally:  # the guard leaves signals blocked, as the child wants between cells: not in pytest's process
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        signal.signal(signal.SIGALRM, handler)


def shared_budget(sandbox):
    budget_end = time.monotonic() + 0.3
    started, timed_out = time.monotonic(), 0
    for _ in range(8):
        try:
            with sandbox._call_guard(1.0, budget_end)():
                while True:
                    pass
        except sandbox.CallTimeout:
            timed_out += 1
    assert timed_out == 8 and time.monotonic() - started < 1.0  # 0.3 s for all eight, not eight seconds
    with sandbox._call_guard(0.2, time.monotonic() + 5)():  # a call that returns disarms its timer
        pass
    time.sleep(0.3)
