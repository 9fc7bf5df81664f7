"""A new user's first five minutes, as the README describes them.

- `make lab` serves the course root and opens the start page (the URL it prints too), every link
  on the start page opens through that very server (its contents API), and nbgrader's instructor
  panels are off there, while `make instructor-lab` keeps them;
- `make setup` takes torch's CPU build on Linux, also where PyTorch's index can't be reached,
  shown on a simulated machine with its own package indexes;
- the grader runs from any folder, through a symlinked venv too, and a grader that can't
  trust itself stops loudly instead of handing out zeros;
- a notebook of another assignment, renamed, is graded by its cells, with a warning.
"""
import json
import os
import posixpath
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

import nbformat
import pytest

from browser_support import free_port

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(sys.executable).parent.parent


def _get(url):
    with urllib.request.urlopen(url, timeout=10) as reply:
        return reply.status, json.loads(reply.read())


# --- make lab -------------------------------------------------------------------------------------------

@pytest.fixture
def lab_server(tmp_path, request):
    """`make lab` (or the target the test names), exactly as the README runs it, plus only what a test
    needs (no browser, a port, a token)."""
    target = getattr(request, "param", "lab")
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ)
    env.pop("LSTM_COURSE_NO_FIGURES", None)
    env.pop("JUPYTER_CONFIG_PATH", None)
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR", "IPYTHONDIR"):
        env[name] = str(tmp_path / name.lower())
    flags = (f"--no-browser --port={port} --ServerApp.port_retries=0 --ServerApp.ip=127.0.0.1 "
             f"--IdentityProvider.token={token} --LabApp.user_settings_dir={tmp_path / 'settings'} "
             f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}")
    log = open(tmp_path / "lab.log", "wb")
    proc = subprocess.Popen(["make", "--no-print-directory", target, f"LAB_FLAGS={flags}"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, (tmp_path / "lab.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "lab.log").read_text()
            try:
                if _get(f"{base}/api/status?token={token}")[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
                time.sleep(0.2)
        yield {"base": base, "token": token, "runtime": tmp_path / "jupyter_runtime_dir",
               "log": lambda: (tmp_path / "lab.log").read_text(errors="replace")}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def page_config(base, path, token):
    """(the path a GET of `path` ends at, the JupyterLab page config that page carries)."""
    with urllib.request.urlopen(f"{base}{path}?token={token}", timeout=30) as reply:
        html = reply.read().decode()
        landed = urllib.parse.urlsplit(reply.url).path
    data = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', html, re.S)
    assert data, html[:2000]
    return landed, json.loads(data.group(1))


def _status(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as reply:
            return reply.status
    except urllib.error.HTTPError as err:
        return err.code


START_PAGE = "/lab/tree/notebooks/00_start_here.ipynb"
NBGRADER_LAB = "@jupyter/nbgrader"  # its plugins: create-assignment, formgrader, assignment-list, course-list...


def notebook_links(nb):
    """Relative links to notebooks in a notebook's markdown cells."""
    links = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            links += [m for m in re.findall(r"\]\(([^)\s]+\.ipynb)\)", source) if "://" not in m]
    return links


def test_make_lab_serves_the_course_root_and_every_start_page_link(lab_server):
    base, token = lab_server["base"], lab_server["token"]
    assert f"Serving notebooks from local directory: {ROOT}" in lab_server["log"]()
    listing = {item["name"] for item in _get(f"{base}/api/contents/?token={token}")[1]["content"]}
    assert {"notebooks", "release"} <= listing, listing

    # What the browser is sent to, and the URL printed for --no-browser: the start page, not the Launcher.
    opened = next(lab_server["runtime"].glob("jpserver-*-open.html")).read_text()
    assert f"{base}{START_PAGE}?token=" in opened
    printed = re.findall(rf"{re.escape(base)}(/\S*)\?token=", lab_server["log"]())
    assert printed and set(printed) == {START_PAGE}, lab_server["log"]()
    landed, config = page_config(base, "/", token)  # the server's own root goes there too
    assert landed == START_PAGE and config["treePath"] == "notebooks/00_start_here.ipynb", (landed, config["treePath"])

    # Students don't see nbgrader's instructor panels: its lab extension is off, its server extensions too.
    assert NBGRADER_LAB in config["disabledExtensions"], config["disabledExtensions"]
    assert any(ext["name"] == NBGRADER_LAB for ext in config["federated_extensions"])  # installed, but off
    assert _status(f"{base}/formgrader?token={token}") == 404

    start = _get(f"{base}/api/contents/notebooks/00_start_here.ipynb?token={token}")[1]
    links = notebook_links(start["content"])
    lessons = sorted(p.parent.name for p in ROOT.glob("release/*/*.ipynb"))
    assert len(links) >= len(lessons) and all(any(lesson in link for link in links) for lesson in lessons), links
    for link in links:
        path = posixpath.normpath(posixpath.join("notebooks", link))
        status, model = _get(f"{base}/api/contents/{urllib.parse.quote(path)}?content=0&token={token}")
        assert status == 200 and model["type"] == "notebook", (link, model)


@pytest.mark.parametrize("lab_server", ["instructor-lab"], indirect=True)
def test_make_instructor_lab_keeps_nbgrader_panels(lab_server):
    base, token = lab_server["base"], lab_server["token"]
    _, config = page_config(base, "/lab", token)
    assert NBGRADER_LAB not in config["disabledExtensions"], config["disabledExtensions"]
    assert _status(f"{base}/formgrader?token={token}") == 200


# --- torch's CPU build ------------------------------------------------------------------------------------

def fake_torch(folder, version, build):
    """A tiny wheel named torch, whose torch/BUILD says which build it stands for."""
    name = f"torch-{version}-py3-none-any.whl"
    info = f"torch-{version}.dist-info"
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(folder / name, "w") as whl:
        files = {"torch/__init__.py": f"__version__ = {version!r}\n", "torch/BUILD": build,
                 f"{info}/METADATA": f"Metadata-Version: 2.1\nName: torch\nVersion: {version}\n",
                 f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
        files[f"{info}/RECORD"] = "".join(f"{path},,\n" for path in files) + f"{info}/RECORD,,\n"
        for path, text in files.items():
            whl.writestr(path, text)
    return folder / name


def simple_index(root, wheels):
    """A PEP 503 index in a folder (pip reads file:// indexes through their index.html)."""
    project = root / "torch"
    project.mkdir(parents=True)
    links = []
    for wheel in wheels:
        shutil.copy(wheel, project / wheel.name)
        links.append(f'<a href="{wheel.name}">{wheel.name}</a>')
    (project / "index.html").write_text("<html><body>" + "".join(links) + "</body></html>")
    (root / "index.html").write_text('<html><body><a href="torch/">torch</a></body></html>')
    return root.as_uri()


@pytest.fixture(scope="module")
def machine(tmp_path_factory):
    """An ordinary Linux machine's view of the package world: PyPI's torch is the CUDA build, and
    PyTorch's CPU index holds torch+cpu. Nothing of this machine's own pip configuration applies."""
    base = tmp_path_factory.mktemp("machine")
    version = re.search(r"^torch==([\d.]+)", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    cuda = fake_torch(base / "wheels-cuda", version, "cuda")
    cpu = fake_torch(base / "wheels-cpu", f"{version}+cpu", "cpu")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_INDEX_URL=simple_index(base / "pypi", [cuda]),
               PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_CACHE_DIR="1")
    return {"base": base, "env": env, "cpu_index": simple_index(base / "cpu-index", [cpu]),
            "cpu_wheels": cpu.parent, "version": version}


def install_torch(machine, tmp_path, **make_vars):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    args = [f"{k}={v}" for k, v in {"VENV": venv, **make_vars}.items()]
    done = subprocess.run(["make", "--no-print-directory", "torch", *args], cwd=ROOT, env=machine["env"],
                          capture_output=True, text=True, timeout=300)
    build = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import importlib.resources as r; print(r.files('torch').joinpath('BUILD').read_text())"],
                           capture_output=True, text=True)
    return done, build.stdout.strip()


def test_setup_takes_the_cpu_build_on_linux(machine, tmp_path):
    done, build = install_torch(machine, tmp_path, TORCH_CPU_INDEX=machine["cpu_index"])
    assert done.returncode == 0, done.stderr
    assert build == "cpu" and "the CPU build" in done.stdout


def test_setup_takes_the_cpu_build_from_elsewhere_when_the_index_is_unreachable(machine, tmp_path):
    # A closed port: the index can't be reached. A local copy of the CPU wheel (as on this machine) still serves.
    machine = dict(machine, env=dict(machine["env"], PIP_FIND_LINKS=str(machine["cpu_wheels"])))
    done, build = install_torch(machine, tmp_path, TORCH_CPU_INDEX=f"http://127.0.0.1:{free_port()}/whl/cpu")
    assert done.returncode == 0, done.stderr
    assert build == "cpu"


def test_setup_never_falls_back_to_the_cuda_build_silently(machine, tmp_path):
    done, build = install_torch(machine, tmp_path, TORCH_CPU_INDEX=f"http://127.0.0.1:{free_port()}/whl/cpu")
    assert done.returncode != 0 and build == "", "with no CPU build anywhere, setup must stop, not fetch CUDA"
    assert f"torch=={machine['version']}+cpu" in done.stderr


def test_torch_cuda_keeps_pypis_build(machine, tmp_path):
    done, build = install_torch(machine, tmp_path, TORCH="cuda", TORCH_CPU_INDEX=machine["cpu_index"])
    assert done.returncode == 0, done.stderr
    assert build == "cuda"


# --- the grader, from anywhere ----------------------------------------------------------------------------

def grade(python, *args, cwd):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # only the installed project
    return subprocess.run([str(python), "-m", "autograder", "grade", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def solution(tmp_path, lesson="02_shapes", name=None):
    path = tmp_path / (name or f"{lesson}.ipynb")
    shutil.copy(ROOT / "source" / lesson / f"{lesson}.ipynb", path)
    return path


def test_the_grader_runs_from_another_folder(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = grade(sys.executable, solution(tmp_path), "--course", ROOT, cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    assert "\nTotal: 9/9\n" in done.stdout, done.stdout
    console = subprocess.run([str(VENV / "bin" / "lstm-autograder"), "grade", str(solution(tmp_path)), "--course",
                              str(ROOT), "--json"], cwd=elsewhere, capture_output=True, text=True, timeout=300)
    assert console.returncode == 0, console.stderr
    assert json.loads(console.stdout)["score"] == 9.0


def test_a_symlinked_venv_grades_as_the_real_one(tmp_path):
    # The link lives under /tmp, which the sandbox covers with a private tmpfs.
    link = tmp_path / "venvlink"
    link.symlink_to(VENV)
    done = grade(link / "bin" / "python", solution(tmp_path), "--course", ROOT, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "\nTotal: 9/9\n" in done.stdout, done.stdout


def test_a_grader_that_fails_its_self_test_stops_instead_of_grading(tmp_path):
    from autograder import selftest
    from autograder.engine import Engine
    from autograder.errors import SelfTestError

    site = next(p for p in sys.path if p.endswith("site-packages"))
    broken = os.path.join(site, "matplotlib")  # what a lazy import needs, hidden: a sandbox at fault
    with Engine(workers=1, timeout=10, hide=[broken]) as engine:
        with pytest.raises(SelfTestError, match="failed its self-test") as info:
            selftest.run(engine)
    assert "not of any submission" in str(info.value)
    # It names what the child could not reach, not a guess.
    assert "student code could not import: import matplotlib.sankey (ModuleNotFoundError" in str(info.value)
    with Engine(workers=1, timeout=10) as engine:  # the same job on a sound sandbox
        assert [(r.name, r.score) for r in selftest.run(engine).results] == [("q0_test", 1.0), ("q1_test", 1.0)]


# --- a notebook of another assignment ---------------------------------------------------------------------

def test_a_renamed_notebook_of_another_assignment_is_graded_by_its_cells(tmp_path):
    path = solution(tmp_path, "03_states", name="02_shapes (1).ipynb")
    done = grade(sys.executable, path, "--course", ROOT, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "02_shapes (1).ipynb graded as 03_states"
    assert "Total: 9/9" in done.stdout
    warning = "named like 02_shapes, but its cells are 03_states's: graded as 03_states"
    assert warning in done.stderr and f"Note: 02_shapes (1).ipynb is {warning}" in done.stdout
    asked = grade(sys.executable, path, "--course", ROOT, "--assignment", "02_shapes", "--json", cwd=tmp_path)
    result = json.loads(asked.stdout)
    assert result["score"] == 0.0 and "is it the wrong notebook?" in result["extra_data"]["note"]
    nb = nbformat.read(path, as_version=4)
    assert nb.cells  # the submission itself is left as it was
