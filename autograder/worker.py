"""A grading worker: `python -m autograder.worker JOB_FD RESULT_FD`, started by engine.Engine.

Three kinds of process, of which only the last runs student code:

- the worker (this module's main): preloads torch (one thread), IPython, ipywidgets,
  matplotlib and the judge once, then for each job it receives (a pickled dict on
  JOB_FD) plans the run, has the zygote fork a child, supervises the child, judges
  the answers it reported (judge.py) and sends the TestResults back on RESULT_FD.
  It holds the hidden tests, so it never forks after it has seen a job;
- the zygote: forked from the worker right after the preload, before any job, so its
  memory holds no test and no other student's code. For each job the worker hands
  it two pipe ends (SCM_RIGHTS); it forks the child, reports the child's pid, waits
  for it and reports its exit status. It never reads a plan or a message;
- the child (sandbox.py): reads its plan from the worker, makes its own namespaces
  (and the PID 1 of its PID namespace, which does the rest), shuts itself in, runs the
  code cells and reports answers.

The worker and its zygote are not dumpable: a child that shares their uid (a grader run
by an ordinary user) can neither ptrace them nor read their memory through /proc.

The worker enforces deadlines (setup, each cell: timeout + grace, the whole job)
and limits on the child's messages; a child that overruns them, or breaks the
protocol, is SIGKILLed (its PID namespace dies with it). What it reported until
then is judged; tests it never reached get a NotRun error.
"""
import math
import os
import pickle
import selectors
import signal
import socket
import struct
import sys
import tempfile
import time

PIPE_FRAME = struct.Struct(">Q")   # engine <-> worker: length-prefixed pickles (both trusted)
ZYGOTE_MESSAGE = struct.Struct(">cq")

SETUP_TIMEOUT = 30       # seconds for the child to read its plan and shut itself in
GRACE = 5                # at most, seconds past a cell's timeout before the child is killed (see grace())
EXIT_TIMEOUT = 10        # seconds for the child to exit after its last message, or to be reaped when killed
MAX_MESSAGE = 1 << 20    # bytes of one message from the child
MAX_TOTAL = 8 << 20      # bytes of all its messages
FSIZE = 50 * 10 ** 6     # bytes a child may write to one file
NOFILE = 256
NPROC = 0                # new processes or threads a child may start (as nobody: none)
DEFAULT_MEMORY = 2 << 30  # bytes of address space a child may add to the preloaded size

THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "NUMEXPR_NUM_THREADS": "1", "VECLIB_MAXIMUM_THREADS": "1"}


def grace(timeout):
    """Seconds a cell that got its timeout interrupt has to stop before the child is killed."""
    return min(GRACE, max(2.0, timeout / 2))


# --- engine <-> worker frames ------------------------------------------------------------------------

def write_frame(fd, obj):
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(PIPE_FRAME.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _read_exactly(fd, n):
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_frame(fd):
    """The next object on `fd`, or None at end of file."""
    head = _read_exactly(fd, PIPE_FRAME.size)
    if head is None:
        return None
    data = _read_exactly(fd, PIPE_FRAME.unpack(head)[0])
    return None if data is None else pickle.loads(data)


# --- preload ----------------------------------------------------------------------------------------------

def preload():
    """Import and warm up everything a child needs; return the IPython shell. No thread may start."""
    os.environ.update(THREAD_ENV)
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ["LSTM_COURSE_NO_FIGURES"] = "1"
    import torch

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    import warnings

    import inspect  # noqa: F401  (lessons use it)
    import numpy  # noqa: F401
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.backends.backend_agg  # noqa: F401  (the explorer cell's imports)
    import matplotlib.figure  # noqa: F401
    import matplotlib.patches  # noqa: F401
    import matplotlib.pyplot  # noqa: F401
    import ipywidgets  # noqa: F401
    import IPython.display  # noqa: F401
    import IPython.lib.pretty  # noqa: F401
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    from . import answers, judge, landlock, namespaces, sandbox, scoring, seccomp  # noqa: F401

    config = Config()
    config.HistoryManager.enabled = False  # no SQLite, no saving thread
    shell = InteractiveShell.instance(config=config)

    # The first LSTM forward initialises torch's kernels: do it once here, not in every child.
    state = torch.random.get_rng_state()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for kwargs in ({}, {"num_layers": 2, "bidirectional": True, "batch_first": True}):
            layer = torch.nn.LSTM(3, 4, **kwargs)
            layer(torch.randn(2, 5, 3))
    torch.random.set_rng_state(state)  # a child starts where a fresh kernel would
    import gc

    gc.collect()
    gc.freeze()  # children never scan (so never copy) the preloaded objects' pages
    return shell


def threads():
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 1


# --- the zygote -------------------------------------------------------------------------------------------

class ZygoteError(Exception):
    """The zygote stopped answering: this worker can't run children any more."""


def _zygote_main(sock, shell):
    from . import sandbox

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(sock, 16, 4)
        except OSError:
            os._exit(0)
        if not message:
            os._exit(0)
        if len(fds) != 2:
            for fd in fds:
                os.close(fd)
            sock.sendall(ZYGOTE_MESSAGE.pack(b"E", 0))
            continue
        pid = os.fork()  # the child makes its own namespaces (sandbox.child_main)
        if pid == 0:
            try:
                sock.close()
                sandbox.child_main(shell, fds[0], fds[1])
            finally:
                os._exit(70)
        for fd in fds:
            os.close(fd)
        sock.sendall(ZYGOTE_MESSAGE.pack(b"P", pid))
        while True:
            try:
                _, status = os.waitpid(pid, 0)
                break
            except ChildProcessError:
                status = 0
                break
        sock.sendall(ZYGOTE_MESSAGE.pack(b"S", status))


def start_zygote(shell, keep=()):
    """Fork the zygote; return (socket to it, its pid)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        try:
            ours.close()
            from . import namespaces

            try:
                namespaces.prctl(namespaces.PR_SET_PDEATHSIG, signal.SIGKILL)
            except OSError:  # not Linux: the worker's EOF still ends us
                pass
            if os.getppid() != parent:
                os._exit(0)
            os.closerange(3, theirs.fileno())
            os.closerange(theirs.fileno() + 1, 1 << 20)
            _zygote_main(theirs, shell)
        finally:
            os._exit(0)
    theirs.close()
    return ours, pid


class Zygote:
    def __init__(self, shell):
        self.sock, self.pid = start_zygote(shell)

    def fork(self, plan_fd, out_fd):
        """Ask for a child reading `plan_fd` and writing `out_fd`; return its pid."""
        try:
            socket.send_fds(self.sock, [b"F"], [plan_fd, out_fd])
            kind, value = self.receive(SETUP_TIMEOUT)
        except OSError as err:
            raise ZygoteError(f"the zygote is gone ({err})") from None
        if kind != b"P":
            raise ZygoteError("the zygote could not fork")
        return value

    def receive(self, timeout):
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(ZYGOTE_MESSAGE.size, socket.MSG_WAITALL)
        except (socket.timeout, OSError) as err:
            raise ZygoteError(f"the zygote does not answer ({err})") from None
        if len(data) != ZYGOTE_MESSAGE.size:
            raise ZygoteError("the zygote is gone")
        return ZYGOTE_MESSAGE.unpack(data)


# --- one job ----------------------------------------------------------------------------------------------

class Run:
    """What a child reported: answers per test step, and where and why it stopped early (if it did)."""

    def __init__(self, steps):
        self.steps = steps
        self.answers = {}         # step -> {name: encoded}
        self.protections = None   # from the child's `ready`
        self.current = -1         # the step it last began
        self.done = False
        self.stop = None          # why it stopped before `done`: died, timeout, malformed, failed
        self.detail = ""
        self.status = None


def _kill(pid):
    for kill in (os.kill, os.killpg):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class Supervisor:
    """Feeds a plan to a child, reads its messages, enforces its deadlines and limits."""

    def __init__(self, zygote, plan, timeout, job_timeout=None):
        self.zygote, self.plan, self.timeout = zygote, plan, timeout
        steps = plan["steps"]
        self.run = Run(steps)
        self.step_time = timeout + grace(timeout)
        total = SETUP_TIMEOUT + len(steps) * self.step_time + EXIT_TIMEOUT
        self.job_deadline = time.monotonic() + (min(total, job_timeout) if job_timeout else total)
        self.deadline = time.monotonic() + SETUP_TIMEOUT
        self.killed = False
        self.buffer, self.received = bytearray(), 0
        self.awaiting = None  # a test step whose answers come next

    def supervise(self):
        plan_r, plan_w = os.pipe()
        out_r, out_w = os.pipe()
        try:
            pid = self.zygote.fork(plan_r, out_w)
        finally:
            os.close(plan_r)
            os.close(out_w)
        self.pid = pid
        data = _plan_bytes(self.plan)
        pending = memoryview(data)
        os.set_blocking(plan_w, False)
        os.set_blocking(out_r, False)
        selector = selectors.DefaultSelector()
        selector.register(plan_w, selectors.EVENT_WRITE, "plan")
        selector.register(out_r, selectors.EVENT_READ, "out")
        selector.register(self.zygote.sock, selectors.EVENT_READ, "zygote")
        exited, eof = False, False
        try:
            while not (exited and eof):
                now = time.monotonic()
                deadline = min(self.deadline, self.job_deadline)
                if now >= deadline:
                    if self.killed or exited:
                        if not exited:
                            raise ZygoteError("a killed child was not reaped")
                        break  # exited, but something still holds its pipe: stop reading
                    self._stop("timeout")
                    self.deadline = self.job_deadline = time.monotonic() + EXIT_TIMEOUT
                    continue
                for key, _ in selector.select(deadline - now):
                    if key.data == "plan":
                        try:
                            pending = pending[os.write(plan_w, pending[:1 << 16]):]
                        except BlockingIOError:
                            continue
                        except OSError:  # the child is gone or closed its plan: no more to send
                            pending = pending[:0]
                        if not pending:
                            selector.unregister(plan_w)
                            os.close(plan_w)
                            plan_w = None
                    elif key.data == "out":
                        eof = self._read(out_r) or eof
                        if eof:
                            selector.unregister(out_r)
                    else:
                        kind, status = self.zygote.receive(EXIT_TIMEOUT)
                        if kind != b"S":
                            raise ZygoteError("unexpected message from the zygote")
                        exited, self.run.status = True, status
                        selector.unregister(self.zygote.sock)
                        # Whatever the child wrote before it died is still in the pipe.
                        self.deadline = self.job_deadline = time.monotonic() + (0.5 if not eof else 0)
        finally:
            selector.close()
            for fd in (plan_w, out_r):
                if fd is not None:
                    os.close(fd)
        if not exited:
            raise ZygoteError("the child's exit was never reported")
        run = self.run
        if not run.done and run.stop is None:
            run.stop = "died"
            run.detail = describe_status(run.status)
        return run

    def _stop(self, why, detail=""):
        if self.run.stop is None and not self.run.done:
            self.run.stop, self.run.detail = why, detail
        if not self.killed:
            _kill(self.pid)
            self.killed = True

    def _read(self, fd):
        """Read what is there; True at end of file."""
        while True:
            try:
                chunk = os.read(fd, 1 << 16)
            except BlockingIOError:
                return False
            if not chunk:
                return True
            if self.killed:
                continue  # drain, ignore
            self.received += len(chunk)
            if self.received > MAX_TOTAL + 64 * len(self.run.steps):
                self._stop("malformed", "it sent more than the grader accepts")
                continue
            self.buffer += chunk
            self._messages()

    def _messages(self):
        import json

        while len(self.buffer) >= 4 and not self.killed:
            size = int.from_bytes(self.buffer[:4], "big")
            if size > MAX_MESSAGE:
                self._stop("malformed", "it sent a message larger than the grader accepts")
                return
            if len(self.buffer) < 4 + size:
                return
            data = bytes(self.buffer[4:4 + size])
            del self.buffer[:4 + size]
            try:
                message = json.loads(data)
            except (ValueError, RecursionError):
                message = None
            if type(message) is not dict or not self._handle(message):
                self._stop("malformed", "it sent data the grader could not read")

    def _handle(self, message):
        run, kind, now = self.run, message.get("m"), time.monotonic()
        if run.done:
            return False
        if run.protections is None:  # before `ready` no student code has run
            if kind == "ready" and type(message.get("protections")) is dict:
                run.protections = {str(k)[:100]: v if v is True else str(v)[:300]
                                   for k, v in list(message["protections"].items())[:50]}
                self.deadline = now + self.step_time
                return True
            if kind == "failed":
                self._stop("failed", str(message.get("why", ""))[:1000])
                return True
            return False
        if kind == "begin":
            step = message.get("step")
            if type(step) is not int or not run.current < step < len(run.steps) or self.awaiting is not None:
                return False
            run.current = step
            self.awaiting = step if "test" in run.steps[step] else None
            self.deadline = now + self.step_time
            return True
        if kind == "answers":
            found = message.get("answers")
            if message.get("step") != self.awaiting or type(found) is not dict:
                return False
            names = run.steps[self.awaiting]["names"]
            run.answers[self.awaiting] = {name: found.get(name, {"t": "missing"}) for name in names}
            self.awaiting = None
            self.deadline = now + self.step_time
            return True
        if kind == "done":
            if self.awaiting is not None or run.current != len(run.steps) - 1:
                return False
            run.done = True
            self.deadline = now + EXIT_TIMEOUT
            return True
        return False


def _plan_bytes(obj):
    import json

    return json.dumps(obj, ensure_ascii=True).encode("ascii")


def describe_status(status):
    if status is None:
        return ""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = str(number)
        return f"killed by {name}"
    if os.WIFEXITED(status):
        return f"exit code {os.WEXITSTATUS(status)}"
    return ""


# --- planning and judging ------------------------------------------------------------------------------

def _interpreter_paths():
    """[name, real folder] of every folder the interpreter reads (lazily imported modules): they
    stay visible in the sandbox, under the name Python uses (maybe through a symlink) and their own."""
    names = [sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix,
             os.path.dirname(sys.executable)]
    names += [entry for entry in sys.path if entry and os.path.isabs(entry)
              and os.path.basename(entry) in ("site-packages", "dist-packages")]
    found = {}
    for name in names:
        shown = os.path.abspath(name)
        if os.path.isdir(shown):
            found[shown] = os.path.realpath(shown)
    return sorted([shown, real] for shown, real in found.items())


def _nobody():
    import pwd

    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        return None
    return [entry.pw_uid, entry.pw_gid]


class Worker:
    def __init__(self, shell):
        from .sandbox import DISABLE_ENV

        self.zygote = Zygote(shell)
        self.expose = _interpreter_paths()
        self.python = sorted({real for _, real in self.expose})
        self.user = _nobody()
        self.env = {k: v for k, v in os.environ.items()}
        self.disable = [part.strip() for part in os.environ.get(DISABLE_ENV, "").split(",") if part.strip()]

    def plan(self, job, check_names, trial):
        """(plan steps for the child, {grade_id: (step, source, cell number, seed)} of the test cells).

        A test cell that runs a function or class answer (expect_function, expect_module) gets, in its
        step, the plain data of those calls (course/probes.py's call_plan: the cases, drawn here from a
        fresh seed that the judge uses again, and what the child must run and report).
        """
        import secrets

        from . import answers, course

        tests = {g.grade_id for g in job["graded"] if not g.manual}
        steps, cells = [], {}
        api = trial.base.get("_course_answers")
        for number, cell in enumerate(job["notebook"].cells, 1):
            if cell.cell_type != "code":
                continue
            gid = course.grade_id(cell)
            if gid in tests and gid not in cells:
                step = {"cell": number, "test": gid, "names": answers.names_read(cell.source, check_names)}
                seed = None
                wanted = answers.function_calls(cell.source) if isinstance(api, dict) else {}
                if wanted:
                    seed = secrets.randbelow(2 ** 48)
                    step["calls"] = {}
                    for name, (reference, count) in wanted.items():
                        if reference in api["references"]:  # {"spec": what to run and report, "cases": [...]}
                            step["calls"][name] = api["call_plan"](reference, seed, count)
                cells[gid] = (len(steps), cell.source, number, seed)
                steps.append(step)
            else:
                steps.append({"cell": number, "code": cell.source, **({"checks": True} if gid == "course_checks"
                                                                       else {})})
        return steps, cells

    def grade(self, job):
        """The reply to the engine for one job: its results, or why it could not be graded."""
        from . import judge, scoring

        timeout = job["timeout"]
        checks = next((c.source for c in job["notebook"].cells
                       if c.cell_type == "code" and _grade_id(c) == "course_checks"), "")
        # Restored from the source (locked), so trusted: the course test's salt.
        settings = [c.source for c in job["notebook"].cells
                    if c.cell_type == "code" and _grade_id(c) == "test_settings"]
        trial = judge.Judge(checks, timeout, settings, job.get("student"))
        if trial.base_error is not None:  # the course's own cells, not the student's: never a student's zero
            error = trial.base_error
            return {"failed": f"the course's checks or settings cell failed in the judge "
                              f"({error.get('ename')}: {error.get('evalue')})"}
        steps, cells = self.plan(job, trial.names(), trial)
        workdir = tempfile.mkdtemp(prefix="autograder-")
        hide = [p for p in job["hide"] if p != "/"]
        total = SETUP_TIMEOUT + len(steps) * (timeout + grace(timeout))
        plan = {"timeout": timeout, "steps": steps, "sandbox": {
            "hide": hide, "expose": self.expose, "python": self.python, "workdir": workdir,
            "user": self.user, "memory": job.get("memory") or DEFAULT_MEMORY,
            "cpu": math.ceil(min(total, job.get("job_timeout") or total)),
            "fsize": FSIZE, "nofile": NOFILE, "nproc": NPROC, "env": self.env, "disable": self.disable}}
        try:
            run = Supervisor(self.zygote, plan, timeout, job.get("job_timeout")).supervise()
        finally:
            _remove(workdir)
        if run.stop == "failed":
            return {"failed": f"the sandbox could not start: {run.detail}", "protections": run.protections}

        api = trial.base.get("_course_answers")
        # The course test (course/graded_pool.py): its settings cell makes per-student questions.
        course_test = bool(settings) and isinstance(api, dict) and "record_items" in api
        if course_test:
            api["record_items"](True)
        judged, shown, items = {}, {}, {}
        for gid, (step, source, _, seed) in cells.items():
            if course_test and job.get("student") is None:  # no question exists: say so in every row (flagged)
                judged[gid] = judge.test_cell(source, [judge.error_output(scoring.NO_STUDENT_ID_ENAME, NO_STUDENT_ID)])
                shown[gid] = trial.show(run.answers.get(step, {}))
            elif step in run.answers:
                judged[gid] = judge.test_cell(source, trial.run_test(source, run.answers[step], f"<{gid}>", seed))
                shown[gid] = trial.show(run.answers[step])
                if course_test:
                    items[gid] = api["take_item"]()
            else:
                judged[gid] = judge.not_run(source, _why_not_run(run, steps, timeout))
        results = judge.score(job["graded"], judged, shown)
        for result in results:  # the course test's item data, for grade-all's item analysis
            result.item = items.get(result.name)
            if course_test and result.item is None and job.get("student") is not None:
                result.item = api["question_item"](result.name.removesuffix("_test"))  # not answered, or not run
        return {"results": [r.as_dict() for r in results], "protections": run.protections,
                "stop": run.stop, "detail": run.detail}


NO_STUDENT_ID = ("No student id: the notebook's id cell holds no id and no submitter was given, and every question "
                 "of the course test is made from the student's id, so this one could not be graded. Grade it again "
                 "with --student-id (or from nbgrader's layout, or a file name with the id).")


def _grade_id(cell):
    from .course import grade_id

    return grade_id(cell)


def _why_not_run(run, steps, timeout):
    cell = steps[run.current]["cell"] if 0 <= run.current < len(steps) else None
    where = f"in cell {cell}" if cell else "before its first cell"
    if run.stop == "timeout":
        return (f"the kernel was stuck {where} (it ran past the {timeout} s timeout and could not be "
                "interrupted); this test did not run")
    if run.stop == "malformed":
        return f"the kernel was stopped {where}: {run.detail}; this test did not run"
    detail = f", {run.detail}" if run.detail else ""
    return f"the kernel stopped {where} (exit, os._exit() or a crash{detail}); this test did not run"


def _remove(path):
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    job_fd, result_fd = int(argv[0]), int(argv[1])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the engine stops us (EOF or a signal to our group)
    from . import namespaces

    try:  # no process of our uid may ptrace us or read our memory (the hidden tests) through /proc
        namespaces.prctl(namespaces.PR_SET_DUMPABLE, 0)
    except OSError:
        pass
    shell = preload()
    count = threads()
    if count > 1:  # fork() copies only the calling thread: a lock held by another one stays held
        print(f"autograder.worker: {count} threads before fork (expected 1); children may deadlock",
              file=sys.stderr)
    worker = Worker(shell)  # forks the zygote: nothing of any job is in memory yet
    write_frame(result_fd, {"m": "hello", "pid": os.getpid(), "threads": count})
    while True:
        job = read_frame(job_fd)
        if job is None:
            os._exit(0)  # the engine is done with us (skip the interpreter's slow teardown of torch)
        try:
            reply = worker.grade(job)
        except ZygoteError as err:
            write_frame(result_fd, {"m": "result", "id": job["id"], "fatal": True,
                                    "failed": f"the grading worker broke ({err})"})
            os._exit(1)  # the engine starts a fresh worker (a fresh zygote needs a clean process)
        except Exception as err:  # a bug of ours: report it for this job, keep serving
            import traceback

            traceback.print_exc()
            reply = {"failed": f"the grader failed ({type(err).__name__}: {err})"}
        reply.update(m="result", id=job["id"])
        write_frame(result_fd, reply)


if __name__ == "__main__":
    sys.exit(main())
