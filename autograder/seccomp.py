"""seccomp: a second layer under the namespaces and Landlock, refusing system calls a lesson never needs.

`deny()` installs a classic-BPF filter (no compiler, no dependency) that makes the calls in
DENIED fail with EPERM: no sockets (so no network and no UNIX socket to another process),
no ptrace or reading another process's memory, no new namespaces, no mounts, no kernel
modules, keyrings, BPF, perf or io_uring. Everything else is allowed. Only x86_64 and aarch64
are known; elsewhere deny() raises and the sandbox reports the layer as not active.
"""
import ctypes
import os
import platform

PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
RET_ALLOW, RET_ERRNO = 0x7FFF0000, 0x00050000
EPERM = 1
X32_SYSCALL_BIT = 0x40000000

# seccomp_data: nr at offset 0, arch at offset 4.
BPF_LD_W_ABS, BPF_JEQ_K, BPF_JGE_K, BPF_RET_K = 0x20, 0x15, 0x35, 0x06

DENIED = ("socket", "socketpair", "ptrace", "process_vm_readv", "process_vm_writev", "unshare", "setns",
          "mount", "umount2", "pivot_root", "chroot", "open_tree", "move_mount", "fsopen", "fsconfig",
          "fsmount", "fspick", "mount_setattr", "bpf", "perf_event_open", "kexec_load", "kexec_file_load",
          "init_module", "finit_module", "delete_module", "add_key", "request_key", "keyctl", "userfaultfd",
          "io_uring_setup", "io_uring_enter", "io_uring_register")

ARCHES = {
    "x86_64": (0xC000003E, {
        "socket": 41, "socketpair": 53, "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311,
        "unshare": 272, "setns": 308, "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161,
        "bpf": 321, "perf_event_open": 298, "kexec_load": 246, "kexec_file_load": 320, "init_module": 175,
        "finit_module": 313, "delete_module": 176, "add_key": 248, "request_key": 249, "keyctl": 250,
        "userfaultfd": 323}),
    "aarch64": (0xC00000B7, {
        "socket": 198, "socketpair": 199, "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271,
        "unshare": 97, "setns": 268, "mount": 40, "umount2": 39, "pivot_root": 41, "chroot": 51,
        "bpf": 280, "perf_event_open": 241, "kexec_load": 104, "kexec_file_load": 294, "init_module": 105,
        "finit_module": 273, "delete_module": 106, "add_key": 217, "request_key": 218, "keyctl": 219,
        "userfaultfd": 282}),
}
# The same numbers on both: the newer calls share one table.
COMMON = {"io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428,
          "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442}


class _Filter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_Filter))]


def program(machine=None):
    """The filter for this machine, as [(code, jt, jf, k)]; raises OSError for an unknown one."""
    machine = machine or platform.machine()
    if machine not in ARCHES:
        raise OSError(95, f"seccomp: no syscall table for {machine}")
    arch, numbers = ARCHES[machine]
    numbers = dict(numbers, **COMMON)
    deny = sorted({numbers[name] for name in DENIED})
    ops = [(BPF_LD_W_ABS, 0, 0, 4),                      # arch
           (BPF_JEQ_K, 1, 0, arch),                      # ours: go on
           (BPF_RET_K, 0, 0, RET_ERRNO | EPERM),         # another ABI's calls: refused
           (BPF_LD_W_ABS, 0, 0, 0)]                      # the call's number
    if machine == "x86_64":
        ops += [(BPF_JGE_K, 0, 1, X32_SYSCALL_BIT), (BPF_RET_K, 0, 0, RET_ERRNO | EPERM)]  # no x32 detour
    for i, number in enumerate(deny):
        left = len(deny) - i - 1  # checks after this one; then the ALLOW, then the ERRNO
        ops.append((BPF_JEQ_K, left + 1, 0, number))
    ops += [(BPF_RET_K, 0, 0, RET_ALLOW), (BPF_RET_K, 0, 0, RET_ERRNO | EPERM)]
    return ops


def deny():
    """Install the filter on this process (no_new_privs must be set already); return what it refuses."""
    ops = program()
    filters = (_Filter * len(ops))(*[_Filter(*op) for op in ops])
    prog = _Program(len(ops), filters)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"seccomp: {os.strerror(err)}")
    return f"{len(DENIED)} system calls refused (sockets, ptrace, namespaces, mounts ...)"
