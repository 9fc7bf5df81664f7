"""Landlock: a process, root or not, restricts what it and its children can reach (Linux >= 5.13).

A thin ctypes binding of the three system calls, kept here rather than taken from a package:
it needs no compiler and no dependency, and it follows the kernel's ABI version, using every
right the running kernel knows (docs/sandbox.md says why this over the PyPI bindings).

    abi()                          -> the kernel's Landlock ABI version, 0 when there is none
    restrict(read_only, read_write, files) -> a description of what now holds (raises OSError)

After restrict(), this process can reach only the listed folders (read-only or read-write) and
files (read and write: /dev/null and the like); with ABI >= 4 it can neither bind nor connect
TCP sockets, and with ABI >= 6 it can neither signal nor reach the abstract UNIX sockets of any
process outside its own Landlock domain (the grader, other students).
"""
import ctypes
import os

# The system call numbers are the same on x86_64 and aarch64 (both use the generic table here).
SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446
CREATE_RULESET_VERSION = 1 << 0
RULE_PATH_BENEATH = 1

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1

READ = EXECUTE | READ_FILE | READ_DIR
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # the rights a rule on a file may hold


def _fs_rights(abi):
    rights = (1 << 13) - 1  # ABI 1: EXECUTE ... MAKE_SYM
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_libc = ctypes.CDLL(None, use_errno=True)
_syscall = getattr(_libc, "syscall", None)
if _syscall is not None:
    _syscall.restype = ctypes.c_long


def _call(number, *args):
    if _syscall is None:
        raise OSError(38, "Landlock: no syscall() on this system")
    result = _syscall(ctypes.c_long(number), *args)
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"Landlock: {os.strerror(err)}")
    return result


def abi():
    """The running kernel's Landlock ABI version; 0 when Landlock is missing or disabled."""
    try:
        return _call(SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(CREATE_RULESET_VERSION))
    except OSError:
        return 0


def restrict(read_only, read_write, files=()):
    """Allow only these folders (and `files`, read-write) from now on; return what holds, in words.

    Paths that don't exist are skipped. The caller must have set no_new_privs (or hold
    CAP_SYS_ADMIN): the kernel refuses otherwise.
    """
    version = abi()
    if version < 1:
        raise OSError(95, "Landlock is not available in this kernel")
    fs = _fs_rights(version)
    attr = _RulesetAttr(fs, NET_BIND_TCP | NET_CONNECT_TCP if version >= 4 else 0,
                        SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if version >= 6 else 0)
    size = 8 if version < 4 else 16 if version < 6 else 24  # the struct as this ABI knows it
    ruleset = _call(SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    try:
        for paths, rights in ((read_only, READ), (read_write, fs), (files, READ_FILE | WRITE_FILE)):
            for path in paths:
                _allow(ruleset, path, rights & fs)
        _call(SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0))
    finally:
        os.close(ruleset)
    held = ["files"] + (["TCP"] if version >= 4 else []) + (["signals", "abstract sockets"] if version >= 6 else [])
    return f"ABI {version}: {', '.join(held)}"


def _allow(ruleset, path, rights):
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # nothing there to allow
    try:
        if not os.path.isdir(path):
            rights &= FILE_RIGHTS
        rule = _PathBeneathAttr(rights, fd)
        _call(SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(RULE_PATH_BENEATH), ctypes.byref(rule),
              ctypes.c_uint32(0))
    finally:
        os.close(fd)
