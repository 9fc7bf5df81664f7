"""Run a submission's test cells on its answers, in the worker (trusted, clean), and score them.

The child (sandbox.py) never runs a test cell: at each one it sent the answers the
test reads, as plain data (what the checks cell's describe() or probe() made of them,
answers.py). Here, for each test cell in order, a fresh namespace holds what the restored
checks cell defines (executed once per job) and those answers as the checks' own
`Received`, which the checks accept back only in the form they make; a function answer is
replayed from its recorded calls, on the inputs the worker drew from `seed`, and the
reference is computed here. A test whose answer was never defined scores 0 as "not answered"
(in Jupyter it would raise NameError). Otherwise the test cell's whole source, hidden
tests included, runs there like IPython runs a cell: stdout and stderr (warnings too)
are captured, the value of a last expression other than None becomes an execute_result, an error
becomes {ename, evalue}. scoring.score_cell then applies nbgrader's determine_grade
with the source's points, and writes feedback without tracebacks or hidden lines.
"""
import ast
import builtins
import contextlib
import io
import signal
import warnings


from . import answers, scoring
from .cells import Node as NotebookNode

MAX_OUTPUT = 64 * 1024  # characters of a test cell's stdout or stderr kept


class TestTimeout(Exception):
    """A test cell ran past the timeout (it is trusted code: this is a safety net)."""


class _Capture(io.StringIO):
    def write(self, text):
        if self.tell() < MAX_OUTPUT:
            super().write(text[:MAX_OUTPUT - self.tell()])
        return len(text)


def error_output(ename, evalue):
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[])


def stream_output(name, text):
    return NotebookNode(output_type="stream", name=name, text=text)


def _exception_output(err):
    try:
        evalue = str(err)
    except Exception:
        evalue = ""
    return error_output(type(err).__name__, evalue)


def _on_alarm(signum, frame):
    raise TestTimeout("the test ran past its timeout")


@contextlib.contextmanager
def _time_limit(seconds):
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _split(source):
    """(module of all statements but a last expression, that expression or None), like IPython's 'last_expr'."""
    tree = ast.parse(source)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr) and not source.rstrip().endswith(";"):
        last = ast.Expression(tree.body.pop().value)
    return tree, last


def _plain_text(value):
    from IPython.lib.pretty import pretty

    try:
        return pretty(value)
    except Exception:
        return repr(value)


class Judge:
    """The tests of one job: the checks cell runs once, each test cell in a copy of its namespace."""

    def __init__(self, checks_source, timeout, settings=(), student=None):
        """settings: sources of the course's own locked settings cells (the course test's salt), run
        after the checks; student: the submitter, whose questions a course test's hidden tests make."""
        self.timeout = timeout
        self.base = {"__name__": "__main__", "__builtins__": builtins}
        self.base_error = None
        for source, name in [(checks_source, "<course_checks>")] + [(s, "<test_settings>") for s in settings]:
            if source and self.base_error is None:
                outputs = self._execute(source, self.base, name)
                errors = [o for o in outputs if o.output_type == "error"]
                self.base_error = errors[0] if errors else None
        api = self._kinds()
        if student is not None and api is not None and "grade_as" in api:
            api["grade_as"](student)

    def names(self):
        """The names the checks cell defines (e.g. answer_digest: never a student's answer)."""
        return set(self.base)

    def _kinds(self):
        api = self.base.get("_course_answers")
        return api if isinstance(api, dict) else None

    def show(self, encoded):
        """The answers one test read, as one short line of plain text ("" when none was given)."""
        api, parts = self._kinds(), []
        for name, data in sorted(encoded.items()):
            if data == answers.MISSING or not isinstance(data, dict):
                continue
            if data.get("via") == answers.VIA_CHECKS and api is not None:
                if "calls" in data:  # a function or class answer: show_calls where the checks cell can run one
                    text = api["show_calls"](data.get("calls")) if "show_calls" in api else "a function"
                else:
                    text = api["show"](data.get("data"))
            elif data.get("t") == "unreadable":
                text = "an answer the grader could not read"
            else:
                text = answers.display(data)
            parts.append((name, text))
        return parts[0][1] if len(parts) == 1 else "; ".join(f"{n} = {t}" for n, t in parts)

    def run_test(self, source, encoded, name="<test>", seed=None):
        """The outputs of test cell `source` run on `encoded` ({name: what the child reported});
        `seed`: the one the worker drew the test's function inputs from."""
        namespace = dict(self.base)
        api = self._kinds()
        unanswered = sorted(var for var, data in encoded.items() if data == answers.MISSING)
        if unanswered:  # the test would only raise NameError: say what that means for a student
            return [error_output(scoring.NOT_ANSWERED_ENAME, scoring.not_answered_message(unanswered[0]))]
        if api is not None and "set_seed" in api:  # only checks cells that run function answers have one
            api["set_seed"](seed)
        for var, data in encoded.items():
            if isinstance(data, dict) and data.get("t") == "unreadable":
                return [error_output("AnswerError", f"{var} could not be read ({data.get('why', 'error')})")]
            if isinstance(data, dict) and data.get("via") == answers.VIA_CHECKS and api is not None:
                if "calls" in data:  # a function answer: its calls, and those of its visible check's cases
                    calls = data.get("calls")
                    if isinstance(calls, dict) and "visible" in data:
                        calls = dict(calls, visible=data.get("visible"))
                    namespace[var] = api["received"](calls)
                else:  # a value; a trained model also with what its forward did on its visible check's set
                    found = data.get("data")
                    if isinstance(found, dict) and "visible" in data:
                        found = dict(found, visible=data.get("visible"))
                    namespace[var] = api["received"](found)
                continue
            try:
                namespace[var] = answers.decode(data)
            except answers.Malformed as err:
                return [error_output("AnswerError", f"{var} could not be read ({err})")]
            except Exception as err:  # e.g. a layer torch refuses to build
                return [error_output("AnswerError", f"{var} could not be rebuilt ({type(err).__name__})")]
        return self._execute(source, namespace, name)

    def _execute(self, source, namespace, name):
        out, err = _Capture(), _Capture()
        outputs, result, failure = [], None, None
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings(), \
                    _time_limit(self.timeout):
                body, last = _split(source)
                exec(compile(body, name, "exec"), namespace)
                if last is not None:
                    value = eval(compile(last, name, "eval"), namespace)
                    if value is not None:
                        result = _plain_text(value)
        except BaseException as exc:  # the test failed: its error is the cell's output, as in Jupyter
            failure = _exception_output(exc)
        if out.getvalue():
            outputs.append(stream_output("stdout", out.getvalue()))
        if err.getvalue():
            outputs.append(stream_output("stderr", err.getvalue()))
        if result is not None:
            outputs.append(NotebookNode(output_type="execute_result", execution_count=None, metadata={},
                                        data={"text/plain": result}))
        if failure is not None:
            outputs.append(failure)
        return outputs


def test_cell(source, outputs):
    return NotebookNode(cell_type="code", source=source, metadata={}, outputs=outputs, execution_count=None)


def not_run(source, why):
    return test_cell(source, [error_output("NotRun", why)])


def score(graded, cells, shown=None):
    """TestResults of `graded` (scoring.graded_cells of the source) from {grade_id: judged cell};
    `shown`: {grade_id: the answer it judged, as answers.display text}."""
    shown = shown or {}
    return [scoring.score_cell(g, cells.get(g.grade_id), shown.get(g.grade_id, "")) for g in graded]
