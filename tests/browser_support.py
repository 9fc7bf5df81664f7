"""Helpers for tests/test_browser.py: Debian's Chromium, a private JupyterLab server, page scripts.

The facts behind these choices (flags, selectors, settings files) are in
/work/shared/browser-testing.md: launch the real binary /usr/lib/chromium/chromium, never
`playwright install`; give JupyterLab its own config/runtime/settings/workspaces folders;
stop the server and its kernels by PID.
"""
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

CHROMIUM = Path("/usr/lib/chromium/chromium")
CHROMIUM_PACKAGES = ["chromium", "fonts-dejavu-core", "fonts-liberation"]
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]
INSTALL_HINT = ("Install Debian's Chromium: `sudo apt-get update && sudo apt-get install -y "
                + " ".join(CHROMIUM_PACKAGES) + "` (do not run `playwright install`).")


def ensure_chromium(log=print):
    """Return (path or None, why). Installs Chromium with apt-get when missing and we are root."""
    if CHROMIUM.exists():
        return CHROMIUM, "present"
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        log(f"{CHROMIUM} is missing; installing {' '.join(CHROMIUM_PACKAGES)} with apt-get")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", *CHROMIUM_PACKAGES]):
            done = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                return None, f"`{' '.join(cmd)}` failed ({done.returncode}): {done.stderr[-800:]}"
        if CHROMIUM.exists():
            return CHROMIUM, "installed with apt-get"
        return None, f"apt-get installed {' '.join(CHROMIUM_PACKAGES)} but {CHROMIUM} is still missing"
    return None, f"{CHROMIUM} is missing and apt-get can't be used here (needs root and apt-get)"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterLab:
    """A JupyterLab server on 127.0.0.1 with its own folders under `base`, serving `base/served`."""

    def __init__(self, base, env=None):
        self.base = Path(base)
        self.served = self.base / "served"
        self.runtime = self.base / "runtime"
        self.settings = self.base / "user-settings"
        self.port, self.token = free_port(), secrets.token_hex(24)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.base / "jupyterlab.log"
        self.proc = None
        self.extra_env = env or {}

    def _write_settings(self):
        for name, values in {
            # No "official Jupyter news" toast over the page, no update check (no internet).
            "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
            # Every cell stays in the DOM, so selectors see the whole notebook.
            "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
        }.items():
            path = self.settings / f"{name}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))

    def start(self, timeout=60):
        for d in (self.served, self.runtime, self.settings, self.base / "config", self.base / "workspaces",
                  self.base / "ipython"):
            d.mkdir(parents=True, exist_ok=True)
        self._write_settings()
        env = dict(os.environ)
        for key in ("PYTHONPATH", "JUPYTER_PATH", "LSTM_COURSE_NO_FIGURES"):
            env.pop(key, None)
        env.update({"JUPYTER_CONFIG_DIR": str(self.base / "config"), "JUPYTER_RUNTIME_DIR": str(self.runtime),
                    "IPYTHONDIR": str(self.base / "ipython")}, **self.extra_env)
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={self.port}",
               "--ServerApp.port_retries=0", "--ServerApp.ip=127.0.0.1", f"--ServerApp.root_dir={self.served}",
               f"--IdentityProvider.token={self.token}", "--LabApp.expose_app_in_browser=True",
               f"--LabApp.user_settings_dir={self.settings}", f"--LabApp.workspaces_dir={self.base / 'workspaces'}"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        self._log = open(self.log_path, "wb")
        started = time.perf_counter()
        self.proc = subprocess.Popen(cmd, env=env, cwd=self.served, stdout=self._log, stderr=subprocess.STDOUT)
        status = f"{self.url}/api/status?token={self.token}"
        while time.perf_counter() - started < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(status, timeout=2) as reply:
                    if reply.status == 200:
                        return time.perf_counter() - started
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"JupyterLab did not answer {self.url}/api/status in {timeout} s:\n{self.log_tail()}")

    def notebook_url(self, name, workspace="browser-test"):
        return f"{self.url}/lab/workspaces/{workspace}/tree/{name}?reset&token={self.token}"

    def log_tail(self, chars=3000):
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self):
        """SIGTERM the server by its PID, then any kernel whose command line names our runtime folder."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        for pid in self.kernel_pids():
            _end(pid)
        if getattr(self, "_log", None):
            self._log.close()

    def kernel_pids(self):
        runtime, pids = str(self.runtime), []
        for entry in Path("/proc").glob("[0-9]*"):
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if any(runtime in a.decode(errors="replace") for a in argv) and int(entry.name) != os.getpid():
                pids.append(int(entry.name))
        return pids


def _end(pid, grace=5.0):
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# ---- page scripts (JupyterLab 4.6, ipywidgets 8) -------------------------------------------------

STDOUT = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stdout']"

KERNEL_READY_JS = """() => {
  const panel = [...document.querySelectorAll('.jp-NotebookPanel')].find(p => !p.classList.contains('lm-mod-hidden'));
  if (!panel) return false;
  const name = panel.querySelector('.jp-KernelName');
  const idle = panel.querySelector(".jp-Notebook-ExecutionIndicator[data-status='idle']");
  return !!(name && name.textContent.includes('ipykernel') && idle);
}"""

# Idle and no cell waiting or running ("[*]").
ALL_DONE_JS = """() => {
  const panel = [...document.querySelectorAll('.jp-NotebookPanel')].find(p => !p.classList.contains('lm-mod-hidden'));
  if (!panel || !panel.querySelector(".jp-Notebook-ExecutionIndicator[data-status='idle']")) return false;
  return ![...panel.querySelectorAll('.jp-InputPrompt')].some(p => p.textContent.includes('*'));
}"""

# The first explorer: an Output widget printing the nn.LSTM table, in a box that has a slider.
# Marks it with data-browser-test="explorer" and returns its text.
FIND_EXPLORER_JS = """() => {
  for (const out of document.querySelectorAll('.widget-output')) {
    const text = out.querySelector("%s");
    if (!text || !text.textContent.includes('nn.LSTM(')) continue;
    const box = out.parentElement;
    if (!box || !box.querySelector('.widget-slider .noUi-handle')) continue;
    box.setAttribute('data-browser-test', 'explorer');
    return text.textContent;
  }
  return null;
}""" % STDOUT

ERRORS_JS = """() => [...document.querySelectorAll(
  ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")].map(e => e.textContent.slice(0, 600))"""

# Before a key press: stamp the keydown, then the first new text and the first new figure.
ARM_LATENCY_JS = """() => {
  const box = document.querySelector("[data-browser-test='explorer']");
  const text = () => { const e = box.querySelector(".widget-output %s"); return e ? e.textContent : null; };
  const img = () => { const e = box.querySelector('.widget-output .jp-RenderedImage img'); return e ? e.src : null; };
  const before = text(), imgBefore = img();
  const lat = window.__browserTest = {before, t0: null, text: null, newText: null, img: null, hasImg: imgBefore !== null};
  document.addEventListener('keydown', () => { if (lat.t0 === null) lat.t0 = performance.now(); },
                            {capture: true, once: true});
  const obs = new MutationObserver(() => {
    if (lat.t0 === null) return;
    const t = text();
    if (lat.text === null && t && t !== before) { lat.text = performance.now(); lat.newText = t; }
    const i = img();
    if (lat.img === null && i && i !== imgBefore) lat.img = performance.now();
    if (lat.text !== null && (lat.img !== null || !lat.hasImg)) obs.disconnect();
  });
  obs.observe(box, {subtree: true, childList: true, characterData: true, attributes: true});
  return before;
}""" % STDOUT

LATENCY_DONE_JS = """() => { const l = window.__browserTest;
  return l.text !== null && (l.img !== null || !l.hasImg); }"""
