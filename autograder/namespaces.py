"""Linux namespaces for the sandboxed child: its own view of the filesystem, processes, network and IPC.

Called by sandbox.py in the child, before any student code. As root the child makes the
namespaces directly; as an ordinary user it makes a user namespace first (mapping its own uid
and gid to themselves, so nothing inside mistakes it for root), which lets it make the others
where the kernel allows unprivileged user namespaces (Debian, Fedora; not Ubuntu 24.04's
default AppArmor rule, nor Docker's default seccomp profile).

    isolate(root, enabled)      unshare: {protection: True or why not}
    minimal_root(expose, system)  a new root holding only the system's folders, the interpreter's
                                folders (wherever they are, /tmp included) and a private /tmp, all
                                read-only but /tmp (pivot_root)
    hide(paths, expose)         the fallback: an empty read-only tmpfs over each folder, /dev/null over each file
    private_tmp(expose)         fresh tmpfs over /tmp, /var/tmp, /dev/shm, /run/lock
    private_proc()              a /proc of this PID namespace only (the caller must be its PID 1)
    read_only_tree()            every mount read-only
    drop_capabilities()         the capabilities a user namespace gave, gone

The mount namespace's root is made private first, so nothing propagates to the host.
"""
import ctypes
import os
import platform

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWUSER = 0x00020000, 0x08000000, 0x10000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_BIND, MS_REC, MS_PRIVATE = 0x1000, 0x4000, 0x40000
MS_REMOUNT = 0x20
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS = 1, 4, 38
SYS_MOUNT_SETATTR, AT_FDCWD, AT_RECURSIVE, MOUNT_ATTR_RDONLY = 442, -100, 0x8000, 0x1
SYS_CAPSET = {"x86_64": 126, "aarch64": 91}
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
MNT_DETACH = 2
STAGE = "/tmp"  # where the new root is assembled: a fresh tmpfs covers it first
DEVICE_NODES = ("null", "zero", "full", "random", "urandom")
CAP_VERSION_3 = 0x20080522
PRIVATE_TMP = (("/tmp", "size=256m,mode=1777"), ("/var/tmp", "size=64m,mode=1777"),
               ("/dev/shm", "size=64m,mode=1777"), ("/run/lock", "size=1m,mode=1777"))
NAMESPACES = (("mount_namespace", CLONE_NEWNS), ("pid_namespace", CLONE_NEWPID),
              ("network_namespace", CLONE_NEWNET), ("ipc_namespace", CLONE_NEWIPC))

_libc = ctypes.CDLL(None, use_errno=True)
_SIGNATURES = {"mount": [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p],
               "unshare": [ctypes.c_int], "setns": [ctypes.c_int, ctypes.c_int],
               "prctl": [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]}
for _name, _args in _SIGNATURES.items():
    if hasattr(_libc, _name):  # Linux; elsewhere these protections report "not available"
        getattr(_libc, _name).argtypes = _args


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


def prctl(option, value):
    _check(_call("prctl", option, value, 0, 0, 0), f"prctl {option}")


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def read_only_tree(path="/"):
    """Make every mount at and below `path` read-only (mount_setattr, Linux 5.12+).

    Unlike a remount it only adds "read-only", so it also works on the mounts a user namespace
    inherited, whose other flags are locked.
    """
    attr = _MountAttr(MOUNT_ATTR_RDONLY, 0, 0, 0)
    _check(_call("syscall", ctypes.c_long(SYS_MOUNT_SETATTR), ctypes.c_int(AT_FDCWD),
                 ctypes.c_char_p(os.fsencode(path)), ctypes.c_uint(AT_RECURSIVE), ctypes.byref(attr),
                 ctypes.c_size_t(ctypes.sizeof(attr))), f"mount_setattr {path}")


# --- making the namespaces -------------------------------------------------------------------------------

def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


def _user_namespace(uid, gid):
    """A user namespace in which this process keeps its own uid and gid (and gains capabilities there)."""
    # The worker is not dumpable, and so is this fork of it: its /proc/self files then belong to
    # root, and the id maps below could not be written.
    prctl(PR_SET_DUMPABLE, 1)
    unshare(CLONE_NEWUSER, "unshare(CLONE_NEWUSER)")
    _write("/proc/self/setgroups", "deny")  # required before an unprivileged gid_map
    _write("/proc/self/uid_map", f"{uid} {uid} 1")
    _write("/proc/self/gid_map", f"{gid} {gid} 1")


def isolate(root, uid, gid, enabled=True):
    """Unshare this process's namespaces; {protection: True or why not}.

    `root`, `uid`, `gid`: who started the child, read before any unshare (inside a user
    namespace the answers change). The PID namespace applies to the next fork: the caller
    forks a PID 1 that runs the student's code.
    """
    active = {}
    if not enabled:
        for name, _ in (("user_namespace", 0),) + NAMESPACES:
            active[name] = "turned off (AUTOGRADER_SANDBOX_DISABLE)"
        return active
    if root:
        active["user_namespace"] = "not needed (root)"
    else:
        try:
            _user_namespace(uid, gid)
            active["user_namespace"] = True
        except OSError as err:
            why = f"not available: unprivileged user namespaces are not allowed here ({err.strerror or err})"
            active["user_namespace"] = why
            for name, _ in NAMESPACES:
                active[name] = "not available (no user namespace)"
            return active
    for name, flag in NAMESPACES:
        try:
            unshare(flag, name)
            active[name] = True
        except OSError as err:
            active[name] = f"{type(err).__name__}: {err}"
    if active["mount_namespace"] is True:
        try:
            mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing we mount may propagate to the host
        except OSError as err:
            active["mount_namespace"] = f"{type(err).__name__}: {err}"
    return active


# --- a new root ---------------------------------------------------------------------------------------------

def _syscall(table, what, *args):
    number = table.get(platform.machine())
    if number is None:
        raise OSError(95, f"{what}: unknown system call number on {platform.machine()}")
    _check(_call("syscall", ctypes.c_long(number), *args), what)


def _umount(path, flags=0):
    _libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
    _check(_libc.umount2(os.fsencode(path), flags), f"umount {path}")


def _open_path(path):
    return os.open(path, os.O_PATH | os.O_CLOEXEC)


def _close_all(*groups):
    for group in groups:
        for _, fd, _ in group:
            os.close(fd)


def _opened(expose, system):
    """What the new root will show, opened now: (links, system, interpreter, devices).

    links: [(path, link text)]; the others: [(path, fd, is a folder)]. Everything is opened
    before the first mount because the staging tmpfs covers STAGE (/tmp): a course, its venv or
    the target of a symlink to either may live there, and after that mount their paths would
    lead nowhere. An O_PATH fd keeps what it names reachable.
    """
    links, shown = [], ([], [], [])
    system_binds, interpreter, devices = shown
    try:
        for path in system:
            if os.path.islink(path):  # /lib -> usr/lib on merged-/usr systems: the link, as it is
                links.append((path, os.readlink(path)))
            elif os.path.exists(path):
                system_binds.append((path, _open_path(path), os.path.isdir(path)))
        for name, real in sorted(expose):  # a folder before what is inside it
            if os.path.isdir(real):
                # At the name Python uses (maybe through a symlink) and at its own.
                for at in dict.fromkeys((name, real)):
                    interpreter.append((at, _open_path(real), True))
        for name in DEVICE_NODES:
            if os.path.exists(f"/dev/{name}"):
                devices.append((f"/dev/{name}", _open_path(f"/dev/{name}"), False))
    except BaseException:
        _close_all(*shown)
        raise
    return links, system_binds, interpreter, devices


def _bind_at(target, fd, folder):
    """Bind the file or folder that `fd` holds at `target` (made if missing), read-only."""
    if folder:
        os.makedirs(target, 0o755, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), 0o755, exist_ok=True)
        if not os.path.exists(target):
            open(target, "w").close()
    _bind_read_only(target, fd)


def minimal_root(expose, system, proc=False, hide=()):
    """Replace this mount namespace's root by one that holds only what student code needs.

    `system`: the system's folders (bound read-only where they exist); `expose`: [name, real
    folder] pairs of the interpreter's folders (bound at both places, read-only), wherever they
    are: under /tmp, in a home, inside the course folder, behind a symlink. /dev holds only the
    harmless device nodes, /tmp and /var/tmp are fresh tmpfs, and with `proc` (the caller is
    the PID 1 of its own PID namespace) /proc is that namespace's; else it is an empty folder.
    Everything else of the host, the course, the submissions and every home included, is simply
    not there: an allowlist, where hide() is a blocklist.

    `hide`: paths that must stay invisible even inside a folder bound in (an empty tmpfs covers
    each one that the new root shows and that holds none of the interpreter's folders).

    The new /proc is mounted before the old root goes: in a user namespace the kernel allows a
    proc mount only while another one is fully visible in the mount namespace.

    Raises OSError, with the host's tree as it was, when the new root can't be made (the caller
    then falls back to hide()); RuntimeError when the root was switched but the old one could not
    be dropped (then the child must not run).
    """
    links, system_binds, interpreter, devices = _opened(expose, system)
    try:
        mount("tmpfs", STAGE, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
        try:
            new_root = os.path.join(STAGE, "root")
            _assemble(new_root, links, system_binds, interpreter, devices, proc,
                      hide, [at for pair in expose for at in pair])
            old = f"{new_root}/.old-root"
            os.mkdir(old, 0o700)
            _syscall(SYS_PIVOT_ROOT, "pivot_root", ctypes.c_char_p(new_root.encode()), ctypes.c_char_p(old.encode()))
        except BaseException:
            _umount(STAGE, MNT_DETACH)  # the host's /tmp as it was, for the fallback
            raise
    finally:
        _close_all(system_binds, interpreter, devices)
    try:
        os.chdir("/")
        _umount("/.old-root", MNT_DETACH)  # the host's whole tree, gone from this namespace
        os.rmdir("/.old-root")
        mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    except OSError as err:
        raise RuntimeError(f"the new root is in place but the host's could not be dropped ({err})") from None


def _assemble(new_root, links, system_binds, interpreter, devices, proc, hide, exposed):
    """The new root at `new_root`, from what _opened() holds."""
    os.mkdir(new_root, 0o755)
    mount("tmpfs", new_root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    for path, text in links:
        os.makedirs(os.path.dirname(new_root + path), 0o755, exist_ok=True)
        os.symlink(text, new_root + path)
    for path, fd, folder in system_binds:
        _bind_at(new_root + path, fd, folder)
    for path, options in PRIVATE_TMP:  # before the interpreter: a venv may live under /tmp
        os.makedirs(new_root + path, 0o755, exist_ok=True)
        mount("tmpfs", new_root + path, "tmpfs", MS_NOSUID | MS_NODEV, options)
    for path, fd, folder in interpreter:
        if not os.path.exists(new_root + path):  # else already shown: inside /usr, or a folder above it
            _bind_at(new_root + path, fd, folder)
    for path in hide:
        if os.path.isdir(new_root + path) and not any(inside(at, path) for at in exposed if at != path):
            mount("tmpfs", new_root + path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY,
                  "size=1m,mode=0755")
    for path, fd, _ in devices:
        target = new_root + path
        os.makedirs(os.path.dirname(target), 0o755, exist_ok=True)
        open(target, "w").close()
        mount(f"/proc/self/fd/{fd}", target, None, MS_BIND)
    os.symlink("/proc/self/fd", f"{new_root}/dev/fd")
    os.makedirs(f"{new_root}/proc", 0o555, exist_ok=True)
    if proc:
        mount("proc", f"{new_root}/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)


# --- hiding folders ----------------------------------------------------------------------------------------

def inside(path, folder):
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _bind_read_only(at, fd):
    mount(f"/proc/self/fd/{fd}", at, None, MS_BIND | MS_REC)
    read_only_tree(at)


def tmpfs_over(path, expose, options, read_only):
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
            if inside(at, path) and at != path and os.path.isdir(real):
                targets[at] = real
    kept = []
    try:
        for at, real in sorted(targets.items()):  # a folder before what is inside it
            kept.append((at, os.open(real, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)))
        flags = MS_NOSUID | MS_NODEV | MS_NOEXEC
        mount("tmpfs", path, "tmpfs", flags, options)
        for at, fd in kept:
            os.makedirs(at, 0o755, exist_ok=True)
            _bind_read_only(at, fd)
        if read_only:
            mount(None, path, None, MS_REMOUNT | MS_RDONLY | flags, options)
    finally:
        for _, fd in kept:
            os.close(fd)


def _hide_file(path):
    fd = os.open("/dev/null", os.O_PATH | os.O_CLOEXEC)
    try:
        _bind_read_only(path, fd)
    finally:
        os.close(fd)


def hide(paths, expose):
    """Cover each of `paths` (ancestors first); return [why] for those that stay visible."""
    failed = []
    for path in paths:  # ancestors first: what is inside one is then already gone
        try:
            if os.path.isdir(path):
                tmpfs_over(path, expose, "size=1m,mode=0755", read_only=True)
            elif os.path.exists(path):
                _hide_file(path)
        except OSError as err:
            failed.append(f"{path} ({err.strerror or err})")
    return failed


def private_tmp(expose):
    """Fresh tmpfs over the usual scratch folders; True if /tmp is one of them."""
    tmp = False
    for path, options in PRIVATE_TMP:
        if os.path.isdir(path):
            tmpfs_over(path, expose, options, read_only=False)
            tmp = tmp or path == "/tmp"
    return tmp


def private_proc():
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)


# --- capabilities --------------------------------------------------------------------------------------------

class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_capabilities():
    """Give up every capability (a user namespace grants them all to its creator), for good."""
    number = SYS_CAPSET.get(platform.machine())
    if number is None:
        raise OSError(95, f"capset: unknown system call number on {platform.machine()}")
    header, data = _CapHeader(CAP_VERSION_3, 0), (_CapData * 2)()
    _check(_call("syscall", ctypes.c_long(number), ctypes.byref(header), ctypes.byref(data)), "capset")
