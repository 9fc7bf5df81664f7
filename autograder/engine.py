"""The grading engine: preloaded workers that run submissions sandboxed and judge them.

    from autograder.engine import Engine
    with Engine(workers=2, timeout=60, hide=[submissions, out]) as engine:
        results = engine.grade(job)                  # one pipeline.Job -> [scoring.TestResult]
        for job, results in engine.grade_all(jobs):  # in completion order
            ...

Each worker (`python -m autograder.worker`, see worker.py) preloads torch, IPython and
the judge once (~2.5 s), then grades job after job: a child forked per submission runs
its code cells in a sandbox (sandbox.py) and reports the answers each test cell reads;
the worker runs the test cells on them (judge.py). This process never runs student
code; it only prepares jobs and collects results.

Nothing a submission does makes grade()/grade_all() raise. If a worker itself fails
during a job (it crashed, or overran every deadline), that job's tests all score 0
with an output saying so, and a fresh worker takes its place. A worker that can't
start at all raises errors.ExecutionError.

Hidden from student code, always: the course's source/, autograded/, feedback/,
submitted/, .git and gradebook.db, and the invoking user's home; plus `hide`.
Which protections are active is logged once (a warning when some are not) and kept
in `engine.protections`.
"""
import collections
import logging
import os
import pwd
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import DEFAULT_TIMEOUT
from .errors import ExecutionError

log = logging.getLogger("autograder")

ENGINE_VERSION = "sandbox-2"  # part of batch's cache keys: change it when grading changes
COURSE_HIDDEN = ("source", "autograded", "feedback", "submitted", ".git", "gradebook.db", "gradebook.db-journal")
STARTUP_ALLOWANCE = 180   # seconds a fresh worker may take to preload before its first job is overdue
JUDGE_ALLOWANCE = 60      # seconds for judging and replying, on top of the child's deadlines
STOP_WAIT = 5             # seconds workers get to exit on close() before they are killed
# The environment a worker (and so a child) gets: nothing else of ours, no credentials.
ENV_KEEP = ("PATH", "LANG", "LANGUAGE", "TZ", "HOME", "TMPDIR", "LD_LIBRARY_PATH", "PYTHONHOME", "PYTHONPATH",
            "PYTHONHASHSEED", "PYTHONDONTWRITEBYTECODE", "PYTHONNOUSERSITE", "PYTHONUTF8", "PYTHONIOENCODING",
            "VIRTUAL_ENV", "AUTOGRADER_SANDBOX_DISABLE")


DETAIL = "_detail"  # a protection's "<name>_detail" entry describes it (e.g. the Landlock ABI): no protection itself


def is_active(name, value):
    """Whether a protection of engine.protections holds (or is not needed: a user namespace under root)."""
    return value is True or (isinstance(value, str) and value.startswith("not needed"))


def worker_env(base=None):
    from .kernels import kernel_env
    from .worker import THREAD_ENV

    base = os.environ if base is None else base
    env = {k: v for k, v in base.items() if k in ENV_KEEP or k.startswith("LC_")}
    package_parent = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")]))
    env.update(THREAD_ENV, MPLBACKEND="Agg")
    return kernel_env(env)


def default_hidden(course=None):
    """Paths no submission may see: the course's private folders and the invoking user's home."""
    paths = []
    if course is not None:
        paths += [Path(course) / name for name in COURSE_HIDDEN]
    homes = {os.environ.get("HOME")}
    try:
        homes.add(pwd.getpwuid(os.getuid()).pw_dir)
    except KeyError:
        pass
    if os.environ.get("SUDO_USER"):
        try:
            homes.add(pwd.getpwnam(os.environ["SUDO_USER"]).pw_dir)
        except KeyError:
            pass
    paths += [Path(h) for h in homes if h]
    return paths


def _real(paths):
    found = []
    for p in paths:
        real = os.path.realpath(os.path.abspath(os.fspath(p)))
        if real != "/" and real not in found:
            found.append(real)
    return sorted(found, key=len)  # a folder before what is inside it (then already hidden)


def failed_results(job, why):
    from .scoring import TestResult

    message = f"GraderError: {why}. This is not your code's fault; ask for a regrade."
    return [TestResult(g.grade_id, 0.0, g.points, "failed", message) for g in job.graded]


class _Worker:
    def __init__(self, env):
        job_r, self.job_w = os.pipe()
        self.out_r, out_w = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "autograder.worker", str(job_r), str(out_w)],
                pass_fds=(job_r, out_w), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                env=env, cwd="/", start_new_session=True)
        except OSError:
            os.close(self.job_w)
            os.close(self.out_r)
            raise
        finally:
            os.close(job_r)
            os.close(out_w)
        self.hello = False
        self.job = None       # (job id, job, deadline) in flight

    def send(self, message, timeout=STARTUP_ALLOWANCE):
        """Write a job; OSError if the worker is gone or does not read it in time."""
        import pickle

        from .worker import PIPE_FRAME

        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        view = memoryview(PIPE_FRAME.pack(len(data)) + data)
        deadline = time.monotonic() + timeout
        os.set_blocking(self.job_w, False)
        with selectors.DefaultSelector() as selector:
            selector.register(self.job_w, selectors.EVENT_WRITE)
            while view:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("the worker does not read its jobs")
                if selector.select(left):
                    try:
                        view = view[os.write(self.job_w, view[:1 << 16]):]
                    except BlockingIOError:
                        pass

    def drain(self):
        """Read what a dead worker left in its pipe (its hello, if it got that far)."""
        while True:
            message = self.receive()
            if message is None:
                return
            if message.get("m") == "hello":
                self.hello = True

    def receive(self):
        from .worker import read_frame

        try:
            return read_frame(self.out_r)
        except (OSError, EOFError, ValueError):
            return None

    def close_jobs(self):
        """No more jobs: the worker exits once it has replied to the current one."""
        if self.job_w >= 0:
            os.close(self.job_w)
            self.job_w = -1

    def close(self):
        self.close_jobs()
        if self.out_r >= 0:
            os.close(self.out_r)
            self.out_r = -1

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.kill()
        except OSError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass


class Engine:
    """Preloaded, sandboxing grading workers (see the module docstring)."""

    def __init__(self, workers=2, timeout=DEFAULT_TIMEOUT, hide=(), memory=None, job_timeout=None):
        if workers < 1:
            raise ValueError("an engine needs at least one worker")
        self.size, self.timeout, self.memory, self.job_timeout = workers, timeout, memory, job_timeout
        self.hide = list(hide)
        self.protections = None
        self.threads_at_fork = None  # threads a worker had when it forked its zygote (must be 1)
        self._workers, self._env, self._ids = [], None, 0
        self._logged = False

    # --- lifecycle
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def start(self):
        if self._env is None:
            self._env = worker_env()
        while len(self._workers) < self.size:
            self._workers.append(self._spawn())

    def _spawn(self):
        try:
            return _Worker(self._env)
        except OSError as err:
            raise ExecutionError(f"could not start a grading worker: {err}") from None

    def close(self):
        workers, self._workers = self._workers, []
        for w in workers:
            w.close_jobs()  # EOF: the worker exits after its current job
        deadline = time.monotonic() + STOP_WAIT
        for w in workers:
            try:
                w.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            w.kill()
            w.close()

    # --- grading
    def grade(self, job):
        """[TestResult] of one job (blocking)."""
        for _, results in self.grade_all([job]):
            return results

    def grade_all(self, jobs):
        """Yield (job, [TestResult]) for every job, in completion order."""
        self.start()
        queue, source, exhausted = collections.deque(), iter(jobs), False
        try:
            while True:
                for w in list(self._workers):
                    if w.job is not None:
                        continue
                    if not queue and not exhausted:
                        try:
                            queue.append(next(source))
                        except StopIteration:
                            exhausted = True
                    if not queue:
                        break
                    job = queue.popleft()
                    if not self._assign(w, job):
                        queue.appendleft(job)  # it never reached the worker: another one takes it
                busy = [w for w in self._workers if w.job is not None]
                if not busy:
                    if exhausted and not queue:
                        return
                    continue
                yield from self._collect(busy)
        finally:
            for w in [w for w in self._workers if w.job is not None]:  # abandoned mid-way
                self._replace(w, respawn=False)  # start() tops the pool up when it is needed again

    def _message(self, job):
        self._ids += 1
        hide = _real(self.hide + default_hidden(getattr(job, "course", None)))
        return self._ids, {"id": self._ids, "notebook": job.notebook, "graded": job.graded, "hide": hide,
                           "timeout": self.timeout, "memory": self.memory, "job_timeout": self.job_timeout,
                           "student": getattr(job, "student", None)}

    def _deadline(self, w, job):
        steps = sum(1 for c in job.notebook.cells if c.get("cell_type") == "code")
        from .worker import EXIT_TIMEOUT, SETUP_TIMEOUT, grace

        child = SETUP_TIMEOUT + steps * (self.timeout + grace(self.timeout)) + EXIT_TIMEOUT
        if self.job_timeout:
            child = min(child, self.job_timeout + EXIT_TIMEOUT)
        tests = len(job.graded)
        startup = 0 if w.hello else STARTUP_ALLOWANCE
        return time.monotonic() + startup + child + tests * self.timeout + JUDGE_ALLOWANCE

    def _assign(self, w, job):
        job_id, message = self._message(job)
        try:
            w.send(message)
        except OSError:
            w.kill()
            w.drain()
            self._check_startup(w)
            self._replace(w)
            return False
        w.job = (job_id, job, self._deadline(w, job))
        return True

    def _collect(self, busy):
        by_fd = {w.out_r: w for w in busy}
        with selectors.DefaultSelector() as selector:
            for fd in by_fd:
                selector.register(fd, selectors.EVENT_READ)
            wait = max(0.0, min(w.job[2] for w in busy) - time.monotonic())
            ready = [key.fd for key, _ in selector.select(wait)]
        for fd in ready:
            w = by_fd[fd]
            message = w.receive()
            if message is None:
                yield self._lost(w, f"its worker stopped (exit code {w.proc.poll()})")
            elif message.get("m") == "hello":
                w.hello = True
                self.threads_at_fork = max(self.threads_at_fork or 0, message.get("threads", 0))
                w.job = (w.job[0], w.job[1], self._deadline(w, w.job[1]))
            elif message.get("m") == "result" and message.get("id") == w.job[0]:
                job = w.job[1]
                w.job = None
                if message.get("fatal"):
                    self._replace(w)
                yield job, self._results(job, message)
            else:
                yield self._lost(w, "its worker sent an unexpected reply")
        now = time.monotonic()
        for w in busy:
            if w.job is not None and w in self._workers and now > w.job[2]:
                yield self._lost(w, "its worker did not finish in time")

    def _lost(self, w, why):
        job = w.job[1]
        self._check_startup(w)
        log.warning("%s: %s; a fresh worker takes its place", getattr(job, "path", "a submission"), why)
        self._replace(w)
        return job, failed_results(job, f"the grader failed on this submission ({why})")

    def _check_startup(self, w):
        if not w.hello:
            w.kill()
            w.close()
            if w in self._workers:
                self._workers.remove(w)
            raise ExecutionError(f"a grading worker failed to start (exit code {w.proc.poll()}); "
                                 "see the messages above")

    def _replace(self, w, respawn=True):
        w.kill()
        w.close()
        if w in self._workers:
            self._workers.remove(w)
            if respawn:
                self._workers.append(self._spawn())

    def _results(self, job, message):
        from .scoring import TestResult

        self._note(message.get("protections"))
        if "failed" in message:
            log.warning("%s: %s", getattr(job, "path", "a submission"), message["failed"])
            return failed_results(job, message["failed"])
        return [TestResult.from_dict(r) for r in message["results"]]

    def _note(self, protections):
        if not protections or self._logged:
            return
        self._logged = True
        self.protections = dict(protections)
        on = sorted(k for k, v in protections.items() if is_active(k, v))
        off = {k: v for k, v in protections.items() if not is_active(k, v) and not k.endswith(DETAIL)}
        if off:
            log.warning("sandbox: active: %s; NOT active: %s", ", ".join(on) or "none",
                        "; ".join(f"{k} ({v})" for k, v in sorted(off.items())))
        else:
            log.info("sandbox: all protections active: %s", ", ".join(on))
