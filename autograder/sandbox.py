"""The sandboxed child: runs one submission's code cells, and reports the answers its tests read.

A worker's zygote forks this child for every submission (worker.py). The child

1. reads its plan (the code cells to run, and for each test cell the `answer_*`
   names it reads: never a test's source) from a pipe;
2. makes its own namespaces (namespaces.isolate: as an ordinary user, inside a user
   namespace of its own) and, when it got a PID namespace, forks the PID 1 of it, which
   does the rest while the child only waits and passes on its exit status;
3. shuts itself in (`enter`): its private mount namespace gets a new root holding only
   the system's folders and the interpreter's (wherever they are: under /tmp, in a home,
   inside the course), read-only, a few device nodes and private
   /tmp, /var/tmp, /dev/shm and /run/lock (namespaces.minimal_root; where that fails, an
   empty read-only tmpfs covers each folder known to be private, such as source/, the
   submissions, the output and the user's home), and /proc shows only its own processes; no
   network and no System V IPC; resource limits (address space, CPU time, file size,
   open files, processes: no fork, no threads); fds 0-2 on /dev/null and every other fd
   closed but the result pipe; as root, uid and gid `nobody` with no groups; no new
   privileges, no capabilities; Landlock (landlock.py: only the interpreter, the system's
   libraries and a private working folder can be reached; no TCP; no signal to any process
   outside) and a seccomp filter (seccomp.py: no sockets, ptrace, mounts or namespaces).
   Every layer that the system refuses is skipped and named: the `ready` message says
   which protections are active;
4. runs the code cells in order in the worker's preloaded IPython shell, each
   with a timeout (SIGALRM raises CellTimeout, a KeyboardInterrupt, in the cell,
   as Jupyter's interrupt would), with sys.stdout and sys.stderr capped in memory;
5. at a test cell runs nothing: it sends the answers the test reads, encoded as
   plain data by answers.encode, which captured every builtin it uses before
   the fork.

Messages to the worker are length-prefixed JSON (`ready`, `begin` per step,
`answers` per test, `done`). Student code can write to that pipe too: whatever
it sends is only a claim, checked by the judge, and the worker ends a child
that breaks the protocol.
"""
import io
import json
import os
import resource
import signal
import stat
import struct
import sys
import time

from . import answers, landlock, namespaces, seccomp
from .namespaces import PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS, PR_SET_PDEATHSIG, prctl

FRAME = struct.Struct(">I")
MAX_MESSAGE = 1 << 20          # bytes of one message (the worker enforces it)
ANSWER_BUDGET = 1 << 19        # bytes of encoded answers per test before they are replaced
OUTPUT_KEPT = 64 * 1024        # characters of each cell's stdout/stderr kept (the rest is counted)
# What student code may read besides the interpreter's own folders (Landlock): the system's
# programs, libraries and settings, never a home, a course or a scratch folder of the host.
SYSTEM_READ = ("/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/etc", "/sys")
DEVICES = ("/dev/null", "/dev/zero", "/dev/random", "/dev/urandom", "/dev/full")
# A test switch: "namespaces", "landlock", "seccomp", or "minimal_root" (the blocklist fallback then), comma-separated.
DISABLE_ENV = "AUTOGRADER_SANDBOX_DISABLE"

# Captured before any student code: the child writes its messages with these.
_monotonic = time.monotonic  # bound before any student code, which may patch time
_write, _dumps = os.write, json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode
_encode = answers.encode
_get_attr = object.__getattribute__
_dict_get, _ABSENT = dict.get, object()


# --- messages ---------------------------------------------------------------------------------------

def send(fd, message):
    data = _dumps(message).encode("ascii")
    data = FRAME.pack(len(data)) + data
    while data:
        data = data[_write(fd, data):]


def _read_all(fd, limit=256 << 20):
    chunks, size = [], 0
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise ValueError("plan too large")
        chunks.append(chunk)


# --- output ------------------------------------------------------------------------------------------

class CappedWriter(io.TextIOBase):
    """sys.stdout/sys.stderr of the child: keeps the first OUTPUT_KEPT characters of a cell, counts the rest."""

    def __init__(self, name):
        super().__init__()
        self.name, self.kept, self.size, self.dropped = name, [], 0, 0

    @property
    def encoding(self):
        return "utf-8"

    def writable(self):
        return True

    def isatty(self):
        return False

    def write(self, text):
        if type(text) is not str:
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        room = OUTPUT_KEPT - self.size
        if room > 0:
            piece = text[:room]  # one slice, however long the line
            self.kept.append(piece)
            self.size += len(piece)
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def flush(self):
        pass

    def reset(self):
        self.kept, self.size, self.dropped = [], 0, 0


# --- shutting the child in -----------------------------------------------------------------------------

def _reachable_by_others(path):
    """Whether a user with no rights here (nobody) can open `path` and walk to it."""
    current = "/"
    for part in [p for p in path.split("/") if p]:
        if not os.stat(current).st_mode & stat.S_IXOTH:
            return False
        current = os.path.join(current, part)
    mode = os.stat(current).st_mode
    return bool(mode & stat.S_IROTH) and (not stat.S_ISDIR(mode) or bool(mode & stat.S_IXOTH))


def _why(err):
    return f"{type(err).__name__}: {err}"


def _become_pid_1(keep_fd):
    """Fork the PID 1 of the new PID namespace and return in it; the parent waits, then exits as it did."""
    pid = os.fork()
    if pid == 0:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # and with it the whole namespace
        return
    os.close(keep_fd)  # only PID 1 reports
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_IGN)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def enter(config, keep_fd, root, active):
    """Shut this (freshly forked) process in as `config` says; update `active` ({protection: True or why not}).

    config: hide (absolute real paths), expose ([name, real folder] pairs of the interpreter's
    folders, to keep visible inside hidden ones), python (real folders the interpreter needs),
    workdir (a fallback working folder, created by the worker), user ([uid, gid] to become when
    root, or None), memory (bytes of address space above the current size), cpu (seconds),
    fsize (bytes), nofile, nproc, env, disable (layers a test turned off).
    root: whether the grader runs as root, read before any namespace was made.
    """
    os.umask(0o022)
    vsz = _address_space()
    disabled = set(config.get("disable") or ())

    tmp_ok = False  # whether /tmp is a private tmpfs (then the working folder is made there)
    proc_ok = False
    if active.get("mount_namespace") is True:
        pid_1 = active.get("pid_namespace") is True
        fallback = f"turned off ({DISABLE_ENV})" if "minimal_root" in disabled else None
        if fallback is None:
            try:  # an allowlist: a root holding only the system, the interpreter and a private /tmp
                namespaces.minimal_root(config["expose"], SYSTEM_READ, proc=pid_1, hide=config["hide"])
                active["minimal_root"] = active["hidden_paths"] = active["read_only_filesystem"] = True
                active["private_tmp"] = tmp_ok = True
                if pid_1:
                    active["private_proc"] = proc_ok = True
            except OSError as err:
                fallback = _why(err)
        if fallback is not None:  # a blocklist: cover what we know must be hidden
            active["minimal_root"] = fallback
            failed = namespaces.hide(config["hide"], config["expose"])
            active["hidden_paths"] = True if not failed else "not hidden: " + ", ".join(failed)
            _try(active, "read_only_filesystem", namespaces.read_only_tree)  # writable: only the private tmpfs below
            try:
                tmp_ok = namespaces.private_tmp(config["expose"])
                active["private_tmp"] = True
            except OSError as err:
                active["private_tmp"] = _why(err)
        if not pid_1:
            active["private_proc"] = "not available (no PID namespace)"
        elif "private_proc" not in active:
            proc_ok = _try(active, "private_proc", namespaces.private_proc)
    else:
        for name in ("minimal_root", "hidden_paths", "read_only_filesystem", "private_tmp", "private_proc"):
            active[name] = "not available (no mount namespace)"

    # The user to become: only if it can still read the interpreter (after the mounts above).
    user = config.get("user") if root else None
    if root and user is None:
        active["user_nobody"] = "no such user"
    elif not root:
        active["user_nobody"] = "not available (needs root): runs as the grader's own user"
    else:
        unreadable = [p for p in config["python"] if os.path.exists(p) and not _reachable_by_others(p)]
        if unreadable:
            active["user_nobody"] = f"skipped: it could not read {unreadable[0]}"
            user = None

    # A private, empty working folder.
    if tmp_ok:
        workdir = "/tmp/work"
        os.mkdir(workdir, 0o700)
    else:
        workdir = config["workdir"]
    if user is not None:
        os.chown(workdir, user[0], user[1])
    os.chdir(workdir)
    os.environ.clear()
    os.environ.update(config["env"])
    os.environ.update(HOME=workdir, TMPDIR=workdir, PWD=workdir, MPLCONFIGDIR=os.path.join(workdir, ".matplotlib"))

    # File descriptors: 0-2 on /dev/null, nothing else open but the result pipe.
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    if keep_fd <= 2 or null == keep_fd:
        raise RuntimeError("the result pipe must not be fd 0-2")
    os.closerange(3, keep_fd)
    os.closerange(keep_fd + 1, 1 << 20)
    os.set_inheritable(keep_fd, False)

    # Resource limits, each on its own (one the system refuses doesn't stop the others).
    cpu = int(config["cpu"]) + 1
    unset = [] if vsz is not None else ["RLIMIT_AS (address space unknown)"]
    for name, soft, hard in (("RLIMIT_CPU", cpu, cpu + 5), ("RLIMIT_FSIZE", config["fsize"], config["fsize"]),
                             ("RLIMIT_NOFILE", config["nofile"], config["nofile"]),
                             ("RLIMIT_NPROC", config["nproc"], config["nproc"]), ("RLIMIT_CORE", 0, 0),
                             ("RLIMIT_AS", vsz and vsz + config["memory"], vsz and vsz + config["memory"])):
        which = getattr(resource, name, None)
        if which is None or soft is None:
            continue
        try:
            _, ceiling = resource.getrlimit(which)
            if ceiling != resource.RLIM_INFINITY:  # never above what we were given
                soft, hard = min(soft, ceiling), min(hard, ceiling)
            resource.setrlimit(which, (soft, hard))
        except (OSError, ValueError) as err:
            unset.append(f"{name} ({err})")
    active["rlimits"] = True if not unset else "not set: " + ", ".join(unset)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the file size limit fails, it doesn't kill

    # The user: everything above needed root.
    if user is not None:
        try:
            os.setgroups([])
            os.setresgid(user[1], user[1], user[1])
            os.setresuid(user[0], user[0], user[0])
            active["user_nobody"] = True
        except OSError as err:
            active["user_nobody"] = _why(err)
    _try(active, "no_new_privileges", lambda: prctl(PR_SET_NO_NEW_PRIVS, 1))
    if active.get("user_namespace") is True:  # its capabilities could undo the mounts above
        _try(active, "no_capabilities", namespaces.drop_capabilities)
    _try(active, "not_dumpable", lambda: prctl(PR_SET_DUMPABLE, 0))  # no other process may trace it

    # Landlock: whatever the namespaces did, only these folders can be reached from now on.
    if "landlock" in disabled:
        active["landlock"] = f"turned off ({DISABLE_ENV})"
    else:
        scratch = [workdir] + ([p for p, _ in namespaces.PRIVATE_TMP] if tmp_ok else [])
        readable = sorted(set(config["python"]) | set(SYSTEM_READ) | ({"/proc"} if proc_ok else set()))
        try:
            active["landlock_detail"] = landlock.restrict(readable, scratch, DEVICES)
            active["landlock"] = True
        except OSError as err:
            active["landlock"] = f"not available ({err.strerror or err})"
    if "seccomp" in disabled:
        active["seccomp"] = f"turned off ({DISABLE_ENV})"
    else:
        try:
            active["seccomp_detail"] = seccomp.deny()
            active["seccomp"] = True
        except OSError as err:
            active["seccomp"] = f"not available ({err.strerror or err})"
    _try(active, "dies_with_the_grader", lambda: prctl(PR_SET_PDEATHSIG, signal.SIGKILL))  # after the uid change
    # Lazily imported modules live in the interpreter's folders: say which ones the layers above
    # left unreadable, so that a failed self-test names the cause instead of guessing.
    active["interpreter_detail"] = _interpreter_readable(config["expose"])
    return active


def _interpreter_readable(expose):
    """'readable: N folders', or 'NOT readable: <folder> (<why>), ...' as student code sees them."""
    folders = sorted({at for pair in expose for at in pair})
    unreadable = []
    for folder in folders:
        try:
            with os.scandir(folder) as entries:
                next(entries, None)
        except OSError as err:
            unreadable.append(f"{folder} ({err.strerror or type(err).__name__})")
    if unreadable:
        return "NOT readable: " + ", ".join(unreadable)
    return f"readable: {len(folders)} folder" + ("s" if len(folders) != 1 else "")


def _try(active, name, action):
    try:
        action()
    except (OSError, ValueError) as err:
        active[name] = _why(err)
        return False
    if active.get(name, True) is True:
        active[name] = True
    return active[name] is True


def _address_space():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * resource.getpagesize()
    except OSError:  # no /proc: no base to add the allowance to
        return None


# --- running the cells -------------------------------------------------------------------------------------

class CellTimeout(KeyboardInterrupt):
    """Raised in a cell that ran past its timeout, like Jupyter's interrupt."""


def _on_alarm(signum, frame):
    raise CellTimeout("the cell ran past its timeout")


_ALL_SIGNALS = set(signal.valid_signals()) - {signal.SIGKILL, signal.SIGSTOP}
_sigmask, _setitimer, _settrace, _setprofile = signal.pthread_sigmask, signal.setitimer, sys.settrace, sys.setprofile


def _quiet():
    """Between cells: no signal, timer or trace hook of the student's may interrupt our code."""
    _sigmask(signal.SIG_BLOCK, _ALL_SIGNALS)
    for timer in (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL, signal.ITIMER_PROF):
        _setitimer(timer, 0)
    _settrace(None)
    _setprofile(None)


def _run_cell(shell, code, timeout, outputs):
    for writer in outputs:
        writer.reset()
    sys.stdout, sys.stderr = outputs
    signal.signal(signal.SIGALRM, _on_alarm)
    try:
        try:
            _sigmask(signal.SIG_UNBLOCK, _ALL_SIGNALS)
            _setitimer(signal.ITIMER_REAL, timeout)
            shell.run_cell(code, store_history=True)
        finally:
            _quiet()
    except BaseException:  # a timeout that fired outside the cell's own code, anything else
        pass
    _quiet()
    # A failed cell keeps its frames (and their memory) alive through the traceback: drop it.
    sys.last_type = sys.last_value = sys.last_traceback = None
    try:
        sys.last_exc = None
    except AttributeError:
        pass


class CallTimeout(Exception):
    """Raised in a function answer that ran past its time (the checks' probe notes it as such)."""


def _on_call_alarm(signum, frame):
    raise CallTimeout("the function ran past its time")


def _call_guard(seconds, budget_end=None):
    """A guard for one call of a function answer: signals on, a timer armed; all off again after.

    budget_end: when the test's time for all its calls runs out (time.monotonic()). Each call gets at most
    what is left of it, and none once it is spent, so that an answer that never returns costs its test's
    timeout once, not a second per call: the supervisor kills a step that runs past timeout + grace."""
    class Guard:
        def __enter__(self):
            left = seconds if budget_end is None else min(seconds, budget_end - _monotonic())
            if left < 0.05:
                raise CallTimeout("the test's time for its calls ran out")
            signal.signal(signal.SIGALRM, _on_call_alarm)
            _sigmask(signal.SIG_UNBLOCK, _ALL_SIGNALS)
            _setitimer(signal.ITIMER_REAL, left)

        def __exit__(self, *exc):
            _quiet()
            return False
    return Guard


# The answer kinds of the course's checks cell, taken right after that cell ran (before any student
# code): its describe() and, where the notebook has answers judged by running them (channel.py, probes.py),
# its probe() report every answer (answers.py says why).
_kinds = {}


def _take_kinds(shell):
    try:
        api = _dict_get(_get_attr(shell, "user_ns"), "_course_answers")
        if type(api) is dict:
            seal = api.get("seal")
            if seal is not None:  # the references' hooks and the cases' classes, as the checks cell made them
                seal()
            _kinds.update(describe=api["describe"])
            for name in ("probe", "trained_accuracy"):  # where the notebook runs answers (channel.py, probes.py)
                if api.get(name) is not None:
                    _kinds[name] = api[name]
    except BaseException:
        _kinds.clear()


def _report(namespace, name, calls, call_time, trained=None, budget_end=None):
    value = _dict_get(namespace, name, _ABSENT) if type(namespace) is dict else _ABSENT
    if value is _ABSENT:
        return answers.MISSING
    if not _kinds:
        return _encode(value)
    if name in calls and "probe" not in _kinds:  # planned calls, but no probe to run them: only a wrong answer
        return {"t": "unreadable", "why": "the checks cell runs no function answers"}
    if name in calls:  # a function or class answer: run on the judge's cases (plain data), each call timed
        planned = calls[name]
        found = {"via": answers.VIA_CHECKS,
                 "calls": _kinds["probe"](value, planned["cases"], _call_guard(call_time, budget_end), planned["spec"])}
        if "visible" in planned:  # the visible check's cases: what the answer did there, for the judge's check
            seen = planned["visible"]
            found["visible"] = _kinds["probe"](value, seen["cases"], _call_guard(call_time, budget_end), seen["spec"],
                                               seen["weights"] if seen["spec"].get("kind") == "module" else None)
        return found
    found = {"via": answers.VIA_CHECKS, "data": _kinds["describe"](value)}
    if trained and name in trained and "trained_accuracy" in _kinds:  # its own forward on the visible check's set
        seen = trained[name]
        try:
            found["visible"] = _kinds["trained_accuracy"](value, seen["reference"], seen["data"],
                                                          _call_guard(call_time, budget_end))
        except CallTimeout:  # the model's forward ran past its time: the visible figure only is lost
            found["visible"] = {"error": "CallTimeout"}
    return found


def _answers(shell, names, calls, call_time, trained=None, budget_end=None):
    try:
        namespace = _get_attr(shell, "user_ns")
    except BaseException:
        namespace = None
    found, size = {}, 0
    for name in names:
        try:
            value = _report(namespace, name, calls, call_time, trained, budget_end)
            text = _dumps(value)
        except BaseException as err:  # unreadable (e.g. out of memory while encoding, a cheat's exception)
            value, text = {"t": "unreadable", "why": type(err).__name__[:100]}, ""
        if size + len(text) > ANSWER_BUDGET:
            value = {"t": "unreadable", "why": "the answer is too large to grade"}
        size += len(text)
        found[name] = value
    return found


def run(shell, plan, out):
    """Run the plan's steps in this (sandboxed) process; report on `out`."""
    timeout = plan["timeout"]
    outputs = (CappedWriter("stdout"), CappedWriter("stderr"))
    for index, step in enumerate(plan["steps"]):
        _quiet()
        send(out, {"m": "begin", "step": index})
        if "code" in step:
            _run_cell(shell, step["code"], timeout, outputs)
            if step.get("checks"):
                _take_kinds(shell)
        else:
            calls = step.get("calls") or {}
            # Every call of a function answer gets its share of the test's time (its visible check's calls too).
            call_time = max(1.0, timeout / (1 + max([len(c["cases"]) + len(c.get("visible", {}).get("cases", ()))
                                                     for c in calls.values()] or [0])))
            budget_end = _monotonic() + timeout  # all of this test's calls together
            send(out, {"m": "answers", "step": index,
                       "answers": _answers(shell, step["names"], calls, call_time, step.get("trained"), budget_end)})
    send(out, {"m": "done"})


def child_main(shell, plan_fd, out_fd):
    """The child's whole life, right after fork(); never returns."""
    code = 0
    try:
        os.setsid()
        plan = json.loads(_read_all(plan_fd))
        os.close(plan_fd)
        config = plan["sandbox"]
        # Who started us, read before any namespace: inside a user namespace the answers change.
        root, uid, gid = os.geteuid() == 0, os.getuid(), os.getgid()
        active = {}
        try:
            active = namespaces.isolate(root, uid, gid, enabled="namespaces" not in (config.get("disable") or ()))
            if active.get("pid_namespace") is True:
                _become_pid_1(out_fd)
            enter(config, out_fd, root, active)
        except BaseException as err:
            send(out_fd, {"m": "failed", "why": _why(err)[:1000]})
            os._exit(3)
        send(out_fd, {"m": "ready", "protections": active})
        run(shell, plan, out_fd)
    except BaseException:
        code = 1
    os._exit(code)  # no atexit handler, no finalizer of the student's
