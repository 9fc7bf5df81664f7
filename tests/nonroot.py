"""An ordinary user to grade as: most instructors grade on a laptop or a JupyterHub pod, not as root.

`grader()` gives (user, python, home): run as root, it makes the user `lstmgrader` (useradd) and a
venv for it outside root's home, built with the system's own Python and only the packages grading
needs (the pins of requirements.txt; torch's CPU build as `make torch` installs it), cached under
build/nonroot-venv/<hash>. Run as an ordinary user already, it is that user and this venv.
`run_as(user, ...)` runs a command as that user, with a clean environment. `as_root(python)` is
root as such a grader, and `venv_copy(python, dest)` a copy of a venv somewhere else (under /tmp,
inside a course folder), as instructors make them.
"""
import grp
import hashlib
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
USER = "lstmgrader"
GRADING = ("torch", "nbgrader", "nbformat", "nbclient", "ipykernel", "ipywidgets", "matplotlib", "numpy")
# What a grading course folder holds: the instructor's notebooks and the grader.
COURSE_PARTS = ("source", "autograder", "course", "nbgrader_config.py", "pyproject.toml")


@dataclass
class Grader:
    name: str
    uid: int
    gid: int
    home: Path
    python: Path

    def env(self, **extra):
        env = {"HOME": str(self.home), "USER": self.name, "LOGNAME": self.name, "LANG": "C.UTF-8",
               "PATH": f"{self.python.parent}:/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}
        env.update(extra)
        return env


def _pins():
    text = (REPO / "requirements.txt").read_text()
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==([^\s#]+)", text, re.M))
    # torch too, though `make torch` installed it: its pin, satisfied by the CPU build, makes pip add
    # torch's own dependencies (sympy, which torch.optim needs, networkx, jinja2...).
    return [f"{name}=={pins[name]}" for name in GRADING]


def _system_python():
    """A python of this version that lives outside root's home (Debian's /usr/bin/python3.X)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (f"/usr/bin/{version}", f"/usr/local/bin/{version}"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def _venv():
    base = _system_python()
    if base is None:
        raise RuntimeError(f"no python{sys.version_info.major}.{sys.version_info.minor} outside root's home")
    key = hashlib.sha256(json.dumps([base, _pins(), sys.version_info[:2]]).encode()).hexdigest()[:12]
    venv = REPO / "build" / "nonroot-venv" / key
    python, done = venv / "bin" / "python", venv / ".complete"
    if done.exists():
        return python
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    subprocess.run(["make", "--no-print-directory", "torch", f"VENV={venv}"], cwd=REPO, check=True,
                   capture_output=True)
    installed = subprocess.run([str(python), "-m", "pip", "install", "--quiet", *_pins()],
                               capture_output=True, text=True)
    if installed.returncode != 0:
        raise RuntimeError(f"pip install failed:\n{installed.stderr[-3000:]}")
    for path in [venv, *venv.parents][: len(venv.relative_to(REPO).parts) + 1]:
        path.chmod(path.stat().st_mode | 0o055)  # readable by the grader's user
    done.write_text("\n".join(_pins()) + "\n")
    return python


def grader():
    """The ordinary user to grade as (made when we are root), with its python."""
    if os.geteuid() != 0:
        entry = pwd.getpwuid(os.getuid())
        return Grader(entry.pw_name, entry.pw_uid, entry.pw_gid, Path(entry.pw_dir), Path(sys.executable))
    try:
        entry = pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", USER], check=True)
        entry = pwd.getpwnam(USER)
    home = Path(entry.pw_dir)
    home.mkdir(parents=True, exist_ok=True)
    os.chown(home, entry.pw_uid, entry.pw_gid)
    return Grader(USER, entry.pw_uid, entry.pw_gid, home, _venv())


def as_root(python):
    """Root as a Grader, grading with `python`."""
    entry = pwd.getpwuid(0)
    return Grader(entry.pw_name, 0, 0, Path(entry.pw_dir), Path(python))


def venv_copy(python, dest):
    """The venv that `python` runs in, copied to `dest`; the python of the copy.

    Hard links where `dest` is on the same filesystem (about 2 s for the 1.4 GB grading venv), else
    a full copy. The copy is a venv of its own: Python finds its prefix from where it is started.
    Nothing may write into it (the files are the original's): graders run with PYTHONDONTWRITEBYTECODE.
    """
    prefix = Path(subprocess.run([str(python), "-c", "import sys; print(sys.prefix)"], capture_output=True,
                                 text=True, check=True).stdout.strip())
    dest.parent.mkdir(parents=True, exist_ok=True)
    linked = subprocess.run(["cp", "-al", str(prefix), str(dest)], capture_output=True, text=True)
    if linked.returncode != 0:
        shutil.rmtree(dest, ignore_errors=True)
        subprocess.run(["cp", "-a", str(prefix), str(dest)], check=True)
    copy = dest / "bin" / "python"
    assert copy.exists(), f"no python in the copy of {prefix}"
    return copy


def give(grader, path):
    """Make `path` (and everything in it) the grader's."""
    if os.geteuid() != 0:
        return
    for root, dirs, files in os.walk(path):
        for name in [root] + [os.path.join(root, n) for n in dirs + files]:
            os.lchown(name, grader.uid, grader.gid)


def course_copy(grader, dest):
    """The grader's own copy of the course (its instructor notebooks and the grader itself)."""
    dest.mkdir(parents=True)
    for part in COURSE_PARTS:
        src = REPO / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        else:
            shutil.copy(src, dest / part)
    give(grader, dest)
    return dest


def run_as(grader, args, cwd, env=None, timeout=900):
    """Run `args` as the grader (from root: dropping to its uid and gid), with its clean environment."""
    def drop():
        if os.geteuid() == 0:
            os.setgroups([grp.getgrgid(grader.gid).gr_gid])
            os.setgid(grader.gid)
            os.setuid(grader.uid)
        os.umask(0o022)
    return subprocess.run(args, cwd=cwd, env=env or grader.env(), capture_output=True, text=True,
                          timeout=timeout, preexec_fn=drop)
