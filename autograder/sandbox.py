"""The sandboxed child: runs one submission's code cells, and reports the answers its tests read.

A worker's zygote forks this child for every submission (worker.py). The child

1. reads its plan (the code cells to run, and for each test cell the `answer_*`
   names it reads: never a test's source) from a pipe;
2. shuts itself in (`enter`): a new session; a private mount namespace whose
   root is made private first, so nothing propagates to the host, in which an
   empty read-only tmpfs covers each hidden folder (source/, the submissions, the
   output ...) and /dev/null each hidden file, every other mount is read-only,
   /tmp, /var/tmp, /dev/shm and /run/lock are private tmpfs, and /proc shows only this child (it runs as PID 1 of a new PID
   namespace when the zygote could make one); no network and no System V IPC
   (new net and IPC namespaces); resource limits (address space, CPU time, file
   size, open files, processes: no fork, no threads); fds 0-2 on /dev/null and
   every other fd closed but the result pipe; and, when started as root, uid and
   gid `nobody` with no groups, no new privileges and not dumpable. A step that
   is not permitted (not root, a container's rules) is skipped: the `ready`
   message says which protections are active;
3. runs the code cells in order in the worker's preloaded IPython shell, each
   with a timeout (SIGALRM raises CellTimeout, a KeyboardInterrupt, in the cell,
   as Jupyter's interrupt would), with sys.stdout and sys.stderr capped in memory;
4. at a test cell runs nothing: it sends the answers the test reads, encoded as
   plain data by answers.encode, which captured every builtin it uses before
   the fork.

Messages to the worker are length-prefixed JSON (`ready`, `begin` per step,
`answers` per test, `done`). Student code can write to that pipe too: whatever
it sends is only a claim, checked by the judge, and the worker ends a child
that breaks the protocol.
"""
import ctypes
import io
import json
import os
import resource
import signal
import stat
import struct
import sys

from . import answers

FRAME = struct.Struct(">I")
MAX_MESSAGE = 1 << 20          # bytes of one message (the worker enforces it)
ANSWER_BUDGET = 1 << 19        # bytes of encoded answers per test before they are replaced
OUTPUT_KEPT = 64 * 1024        # characters of each cell's stdout/stderr kept (the rest is counted)

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x08000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 0x20, 0x1000, 0x4000, 0x40000
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS = 1, 4, 38
PRIVATE_TMP = (("/tmp", "size=256m,mode=1777"), ("/var/tmp", "size=64m,mode=1777"),
               ("/dev/shm", "size=64m,mode=1777"), ("/run/lock", "size=1m,mode=1777"))
SYS_MOUNT_SETATTR, AT_FDCWD, AT_RECURSIVE, MOUNT_ATTR_RDONLY = 442, -100, 0x8000, 0x1

_libc = ctypes.CDLL(None, use_errno=True)
_SIGNATURES = {"mount": [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p],
               "unshare": [ctypes.c_int], "setns": [ctypes.c_int, ctypes.c_int],
               "prctl": [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]}
for _name, _args in _SIGNATURES.items():
    if hasattr(_libc, _name):  # Linux; elsewhere these protections report "not available"
        getattr(_libc, _name).argtypes = _args

# Captured before any student code: the child writes its messages with these.
_write, _dumps = os.write, json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode
_encode_name = answers.encode_name
_get_attr = object.__getattribute__


def _call(name, *args):
    function = getattr(_libc, name, None)
    if function is None:
        raise OSError(38, f"{name}: not available on this system")
    return function(*args)


def _check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def unshare(flags, what="unshare"):
    _check(_call("unshare", flags), what)


def mount(source, target, fstype, flags, data=None):
    enc = lambda s: None if s is None else os.fsencode(s)
    _check(_call("mount", enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def read_only_tree(path="/"):
    """Make every mount at and below `path` read-only (mount_setattr, Linux 5.12+)."""
    attr = _MountAttr(MOUNT_ATTR_RDONLY, 0, 0, 0)
    _check(_call("syscall", ctypes.c_long(SYS_MOUNT_SETATTR), ctypes.c_int(AT_FDCWD), ctypes.c_char_p(os.fsencode(path)),
                         ctypes.c_uint(AT_RECURSIVE), ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr))),
           "mount_setattr")


def prctl(option, value):
    _check(_call("prctl", option, value, 0, 0, 0), f"prctl {option}")


def new_pid_namespace(own_ns_fd):
    """Make the next fork() of this process PID 1 of a new PID namespace (the zygote calls this per child).

    `own_ns_fd` is this process's own /proc/self/ns/pid: joining it first keeps every new
    namespace a child of ours, not of the previous child's (namespaces nest 32 deep at most).
    """
    _check(_call("setns", own_ns_fd, CLONE_NEWPID), "setns")
    unshare(CLONE_NEWPID, "unshare(CLONE_NEWPID)")


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

def _inside(path, folder):
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _reachable_by_others(path):
    """Whether a user with no rights here (nobody) can open `path` and walk to it."""
    current = "/"
    for part in [p for p in path.split("/") if p]:
        if not os.stat(current).st_mode & stat.S_IXOTH:
            return False
        current = os.path.join(current, part)
    mode = os.stat(current).st_mode
    return bool(mode & stat.S_IROTH) and (not stat.S_ISDIR(mode) or bool(mode & stat.S_IXOTH))


def _tmpfs_over(path, expose, options, read_only):
    """A fresh tmpfs over `path`, with the folders of `expose` inside it bound back in read-only.

    The interpreter may live inside a folder that is covered (a venv in a clone under /tmp,
    or under the invoking user's home): lazily imported modules must stay readable. `expose`
    holds [as Python names it, real folder] pairs, because Python keeps using the name it
    was started by: a venv reached through a symlink inside `path` is bound back at the
    symlink's place too, or every import through it would fail.
    """
    targets = {}
    for shown, real in expose:
        for at in (shown, real):
            if _inside(at, path) and at != path and os.path.isdir(real):
                targets[at] = real
    kept = []
    try:
        for at, real in sorted(targets.items()):  # a folder before what is inside it
            kept.append((at, os.open(real, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)))
        flags = MS_NOSUID | MS_NODEV | MS_NOEXEC
        mount("tmpfs", path, "tmpfs", flags, options)
        for at, fd in kept:
            os.makedirs(at, 0o755, exist_ok=True)
            mount(f"/proc/self/fd/{fd}", at, None, MS_BIND | MS_REC)
            mount(None, at, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
        if read_only:
            mount(None, path, None, MS_REMOUNT | MS_RDONLY | flags, options)
    finally:
        for _, fd in kept:
            os.close(fd)


def _hide_folder(path, expose):
    """An empty read-only tmpfs over `path`, with the folders of `expose` inside it bound back in."""
    _tmpfs_over(path, expose, "size=1m,mode=0755", read_only=True)


def _hide_file(path):
    mount("/dev/null", path, None, MS_BIND)
    mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY)


def _why(err):
    return f"{type(err).__name__}: {err}"


def enter(config, keep_fd):
    """Shut this (freshly forked) process in as `config` says; return {protection: True or why not}.

    config: hide (absolute real paths), expose ([name, real folder] pairs of the interpreter's
    folders, to keep visible inside hidden ones), python (real folders the interpreter needs), workdir (a fallback working folder,
    created by the worker), user ([uid, gid] to become when root, or None), memory (bytes of
    address space above the current size), cpu (seconds), fsize (bytes), nofile, nproc, env.
    """
    active = {}
    os.umask(0o022)
    vsz = _address_space()
    root = os.geteuid() == 0

    # Namespaces. The mount namespace is used only once its root is private.
    active["pid_namespace"] = True if os.getpid() == 1 else "not available (not permitted)"
    mounts = _try(active, "mount_namespace", lambda: unshare(CLONE_NEWNS))
    if mounts:
        mounts = _try(active, "mount_namespace", lambda: mount(None, "/", None, MS_REC | MS_PRIVATE))
    _try(active, "network_namespace", lambda: unshare(CLONE_NEWNET))
    _try(active, "ipc_namespace", lambda: unshare(CLONE_NEWIPC))

    tmp_ok = False  # whether /tmp is a private tmpfs (then the working folder is made there)
    if mounts:
        failed = []
        for path in config["hide"]:  # ancestors first: what is inside one is then already gone
            try:
                if os.path.isdir(path):
                    _hide_folder(path, config["expose"])
                elif os.path.exists(path):
                    _hide_file(path)
            except OSError as err:
                failed.append(f"{path} ({err.strerror or err})")
        active["hidden_paths"] = True if not failed else "not hidden: " + ", ".join(failed)
        _try(active, "read_only_filesystem", read_only_tree)  # writable: only the private tmpfs below
        for path, options in PRIVATE_TMP:
            if os.path.isdir(path):
                ok = _try(active, "private_tmp",
                          lambda: _tmpfs_over(path, config["expose"], options, read_only=False))
                tmp_ok = tmp_ok or (ok and path == "/tmp")
        if os.getpid() == 1:
            _try(active, "private_proc", lambda: mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC))
        else:
            active["private_proc"] = "not available (no PID namespace)"
    else:
        for name in ("hidden_paths", "read_only_filesystem", "private_tmp", "private_proc"):
            active[name] = "not available (no mount namespace)"

    # The user to become: only if it can still read the interpreter (after the mounts above).
    user = config.get("user") if root else None
    if root and user is None:
        active["user_nobody"] = "no such user"
    elif not root:
        active["user_nobody"] = "not available (needs root)"
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

    # The user, last: everything above needed root.
    if user is not None:
        try:
            os.setgroups([])
            os.setresgid(user[1], user[1], user[1])
            os.setresuid(user[0], user[0], user[0])
            active["user_nobody"] = True
        except OSError as err:
            active["user_nobody"] = _why(err)
    _try(active, "no_new_privileges", lambda: prctl(PR_SET_NO_NEW_PRIVS, 1))
    if user is not None:
        _try(active, "not_dumpable", lambda: prctl(PR_SET_DUMPABLE, 0))
    _try(active, "dies_with_the_grader", lambda: prctl(PR_SET_PDEATHSIG, signal.SIGKILL))  # after the uid change
    return active


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


def _answers(shell, names):
    try:
        namespace = _get_attr(shell, "user_ns")
    except BaseException:
        namespace = None
    found, size = {}, 0
    for name in names:
        try:
            value = _encode_name(namespace, name)
            text = _dumps(value)
        except BaseException as err:  # unreadable (e.g. out of memory while encoding)
            value, text = {"t": "unreadable", "why": type(err).__name__[:100]}, ""
        if size + len(text) > ANSWER_BUDGET:
            value = {"t": "other", "name": "answer too large to grade"}
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
        else:
            send(out, {"m": "answers", "step": index, "answers": _answers(shell, step["names"])})
    send(out, {"m": "done"})


def child_main(shell, plan_fd, out_fd):
    """The child's whole life, right after fork(); never returns."""
    code = 0
    try:
        os.setsid()
        plan = json.loads(_read_all(plan_fd))
        os.close(plan_fd)
        try:
            active = enter(plan["sandbox"], out_fd)
        except BaseException as err:
            send(out_fd, {"m": "failed", "why": _why(err)[:1000]})
            os._exit(3)
        send(out_fd, {"m": "ready", "protections": active})
        run(shell, plan, out_fd)
    except BaseException:
        code = 1
    os._exit(code)  # no atexit handler, no finalizer of the student's
