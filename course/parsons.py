"""Put the lines in order, for notebooks/parsons.ipynb: `show_problem(k)`, `order(k, [...])`, `parsons_widget(k)`.

`python -m course.build` pastes this file into the hidden "parsons" code cell of the notebook that
uses it, after the checks cell. Edit it here, never in a notebook.

Each problem is a short program whose lines are shown shuffled (the same shuffle every time, drawn
from sha256, never a working order). The learner lists the shown line numbers in the order they
want, or moves lines with the widget's "up" / "down" buttons. An order is judged by RUNNING it: the
lines are joined, executed in a fresh namespace that holds torch and nn (and the problem's givens),
and the problem's check inspects what the program built. So every order that is a correct program
passes (independent lines may swap), and a wrong one is told the real error it raised, on which of
its lines, or what is wrong with its result. Checking never touches the learner's own random state.

Without widgets (GitHub, screen readers, scripts): `show_problem(k)`, then `order(k, [3, 1, 2, ...])`.
Only ipywidgets API common to 7.7.1 (Colab) and 8 is used.
"""


def _install_parsons():
    import contextlib
    import hashlib
    import html
    import io
    import math
    import traceback
    import warnings

    import ipywidgets as widgets
    import torch
    from IPython import get_ipython
    from IPython.display import display
    from torch import nn

    FILE = "<your order>"  # the file name the joined lines are compiled under, to find their frames

    def in_kernel():
        shell = get_ipython()
        return shell is not None and getattr(shell, "kernel", None) is not None

    # --- the problems: the lines in a correct order, what the program is given, and its check ----------
    # A check gets the namespace the program left and what it printed; it returns None when the
    # result is right (with facts for the "correct" message in ns["_facts"]), else what is wrong.

    def check_run(ns, printed):
        for name in ("lstm", "x", "output", "h_n", "last"):
            if name not in ns:
                return f"the program never made `{name}`."
        if tuple(ns["last"].shape) != (2, 5):
            return f"`last` has shape {tuple(ns['last'].shape)}; the last step of a batch is (batch, hidden)."
        same = torch.allclose(ns["last"], ns["h_n"][-1])
        if not same:
            return "`last` is not the output's last step."
        ns["_facts"] = f"`last` equals h_n[-1]: {same}."
        return None

    def check_classifier(ns, printed):
        model = ns.get("model")
        if not isinstance(model, nn.Module):
            return "`model` is not an nn.Module."
        children = dict(model.named_children())
        if not isinstance(children.get("lstm"), nn.LSTM) or not isinstance(children.get("head"), nn.Linear):
            return "the model should hold an nn.LSTM as .lstm and an nn.Linear as .head."
        x = torch.randn(5, 6, 3)
        with torch.no_grad():
            y = model(x)
            by_hand = model.head(model.lstm(x)[1][0][-1])
        if not torch.allclose(y, by_hand):
            return "forward() should apply the head to h_n[-1]."
        ns["_facts"] = f"model(x) for x of shape (5, 6, 3) gave {tuple(y.shape)}: the head applied to h_n[-1]."
        return None

    def check_step(ns, printed):
        for name in ("model", "optimizer", "loss_fn", "loss"):
            if name not in ns:
                return f"the program never made `{name}`."
        if not math.isfinite(float(ns["loss"])):
            return f"the loss is {float(ns['loss'])}, not a finite number."
        torch.manual_seed(0)  # as run() seeded it before the lines: the model as it was before the step
        fresh = ns["Classifier"](3, 8, 2)
        moved = [not torch.equal(p, q) for p, q in zip(fresh.parameters(), ns["model"].parameters())]
        if not any(moved):
            return ("the model's parameters did not change: when optimizer.step() ran there were no "
                    "gradients for it to use.")
        ns["_facts"] = f"optimizer.step() changed {sum(moved)} of the model's {len(moved)} parameter tensors."
        return None

    def check_chunks(ns, printed):
        for name in ("lstm", "long_x", "state", "outputs", "whole"):
            if name not in ns:
                return f"the program never made `{name}`."
        if any(s.requires_grad for s in ns["state"]):
            return "the state left after the loop still requires grad: it was not detached."
        with torch.no_grad():
            at_once = ns["lstm"](ns["long_x"])[0]
        gap = (ns["whole"] - at_once).abs().max().item()
        if ns["whole"].shape != at_once.shape or gap > 1e-5:
            return "the joined chunks differ from running the whole sequence at once: was the state carried?"
        ns["_facts"] = (f"{len(ns['outputs'])} chunks joined equal one run over the whole sequence "
                        f"(largest difference {gap:.1e}), and the state left over is detached.")
        return None

    def check_sampling(ns, printed):
        for name in ("model", "gen", "chosen", "state"):
            if name not in ns:
                return f"the program never made `{name}`."
        chosen = ns["chosen"]
        if not isinstance(chosen, list) or len(chosen) != 6:
            return "`chosen` should hold the 6 sampled ids."
        # The same sampling from the same prompt and seed, the state carried and each id fed back.
        gen = torch.Generator().manual_seed(0)
        with torch.no_grad():
            logits, state = ns["model"](torch.tensor([[1, 2]]))
            want = []
            for _ in range(6):
                next_id = torch.multinomial(torch.softmax(logits[0, -1] / 0.8, dim=0), 1, generator=gen)
                want.append(int(next_id))
                logits, state = ns["model"](next_id.view(1, 1), state)
        if chosen != want:
            return ("the sampled ids are not the model's: each step should sample from the last logits, keep the "
                    "id, and feed it back with the state.")
        ns["_facts"] = f"it sampled {chosen} from the prompt [1, 2], carrying (h, c) from each call to the next."
        return None

    def warm_optimizers():
        # torch's first optimizer imports torch._dynamo, seconds on a slow machine: pay that when the
        # problem is first shown, so that checking an order stays well under a second.
        torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)

    CLASS_LINES = [
        "class Classifier(nn.Module):",
        "    def __init__(self, n_features, hidden, n_classes):",
        "        super().__init__()",
        "        self.lstm = nn.LSTM(n_features, hidden, batch_first=True)",
        "        self.head = nn.Linear(hidden, n_classes)",
        "    def forward(self, x):",
        "        output, (h_n, c_n) = self.lstm(x)",
        "        return self.head(h_n[-1])",
    ]
    PROBLEMS = {
        1: {"title": "Build an LSTM and run it", "given": "", "check": check_run, "lines": [
            "lstm = nn.LSTM(input_size=3, hidden_size=5, batch_first=True)",
            "x = torch.randn(2, 7, 3)  # (batch, steps, features)",
            "output, (h_n, c_n) = lstm(x)",
            "last = output[:, -1, :]",
            'print("output:", tuple(output.shape))',
            'print("last step:", tuple(last.shape))',
        ]},
        2: {"title": "A classifier module", "given": "", "check": check_classifier, "lines": CLASS_LINES + [
            "model = Classifier(3, 8, 4)",
            'print("scores:", tuple(model(torch.randn(5, 6, 3)).shape))',
        ]},
        3: {"title": "One training step", "check": check_step, "warm": warm_optimizers,
            "given": "\n".join(CLASS_LINES + ["x = torch.randn(4, 5, 3)", "y = torch.tensor([0, 1, 1, 0])"]),
            "lines": [
                "model = Classifier(3, 8, 2)",
                "optimizer = torch.optim.Adam(model.parameters(), lr=0.01)",
                "loss_fn = nn.CrossEntropyLoss()",
                "optimizer.zero_grad()",
                "loss = loss_fn(model(x), y)",
                "loss.backward()",
                "optimizer.step()",
                'print("loss before the step:", round(loss.item(), 4))',
            ]},
        4: {"title": "A long sequence in chunks", "given": "", "check": check_chunks, "lines": [
            "lstm = nn.LSTM(2, 6, batch_first=True)",
            "long_x = torch.randn(1, 60, 2)",
            "state = None",
            "outputs = []",
            "for chunk in long_x.split(20, dim=1):",
            "    out, state = lstm(chunk, state)",
            "    state = tuple(s.detach() for s in state)",
            "    outputs.append(out)",
            "whole = torch.cat(outputs, dim=1)",
            'print(len(outputs), "chunks joined:", tuple(whole.shape))',
        ]},
    }
    PROBLEMS[5] = {"title": "Sampling, one step at a time", "check": check_sampling, "given": "\n".join([
        "class TinyLM(nn.Module):",
        "    def __init__(self):",
        "        super().__init__()",
        "        self.embed = nn.Embedding(5, 4)",
        "        self.lstm = nn.LSTM(4, 8, batch_first=True)",
        "        self.head = nn.Linear(8, 5)",
        "    def forward(self, ids, state=None):",
        "        output, state = self.lstm(self.embed(ids), state)",
        "        return self.head(output), state",
        "torch.manual_seed(5)",
        "model = TinyLM()"]), "lines": [
        "gen = torch.Generator().manual_seed(0)",
        "ids = torch.tensor([[1, 2]])  # the prompt, a batch of one",
        "logits, state = model(ids)",
        "chosen = []",
        "for step in range(6):",
        "    probs = torch.softmax(logits[0, -1] / 0.8, dim=0)",
        "    next_id = torch.multinomial(probs, 1, generator=gen)",
        "    chosen.append(int(next_id))",
        "    logits, state = model(next_id.view(1, 1), state)",
        'print("sampled:", chosen)',
    ]}
    for p in PROBLEMS.values():  # a line number must name one line: no two lines may read the same
        assert len(set(p["lines"])) == len(p["lines"]), p["title"]

    def problem(k):
        if k not in PROBLEMS:
            raise ValueError(f"There are problems {min(PROBLEMS)} to {max(PROBLEMS)}; {k!r} is not one of them.")
        return PROBLEMS[k]

    # --- running an order -------------------------------------------------------------------------------

    def run(k, lines):
        """Run the lines (in the order given) as a program; (None, facts, printed) or (what went wrong, None, printed)."""
        p = problem(k)
        printed = io.StringIO()
        with torch.random.fork_rng(devices=[]), warnings.catch_warnings(), \
                contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            warnings.simplefilter("ignore")
            ns = {"__name__": "__parsons__", "torch": torch, "nn": nn}
            try:
                exec(compile(p["given"], "<given>", "exec"), ns)
                torch.manual_seed(0)  # the same first weights in every run: check_step rebuilds them
                code = compile("\n".join(lines), FILE, "exec")
            except SyntaxError as err:  # IndentationError too: the lines' indentation is part of the order
                return f"{where(lines, err.lineno)}is not valid Python: {type(err).__name__}: {err.msg}.", None, ""
            try:
                exec(code, ns)
            except Exception as err:
                frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename == FILE]
                line = frames[-1].lineno if frames else None
                return f"{where(lines, line)}raised {type(err).__name__}: {err}", None, printed.getvalue()
            try:
                wrong = p["check"](ns, printed.getvalue())
            except Exception as err:  # a result of the wrong kind: say what, not the checker's traceback
                wrong = f"its result is not what was asked ({type(err).__name__}: {err})."
        if wrong:
            return f"The program ran, but {wrong}", None, printed.getvalue()
        return None, ns.get("_facts", ""), printed.getvalue()

    def where(lines, lineno):
        if not lineno or not 1 <= lineno <= len(lines):
            return "Your program "
        return f"Line {lineno} of your order, `{lines[lineno - 1].strip()}`, "

    # --- the shuffle ----------------------------------------------------------------------------------------

    shuffles = {}

    def shown(k):
        """The order the lines are shown in (indices into the correct lines): a sha256-drawn shuffle that
        moves every line and does not run as a correct program, the same on every machine."""
        if k not in shuffles:
            problem(k).get("warm", lambda: None)()
            lines = problem(k)["lines"]
            for attempt in range(1000):
                idx = list(range(len(lines)))
                for i in range(len(idx) - 1, 0, -1):  # Fisher-Yates, one digest per swap
                    digest = hashlib.sha256(f"parsons|{k}|{attempt}|{i}".encode()).digest()
                    j = int.from_bytes(digest[:8], "big") % (i + 1)
                    idx[i], idx[j] = idx[j], idx[i]
                if all(i != n for n, i in enumerate(idx)) and run(k, [lines[i] for i in idx])[0] is not None:
                    shuffles[k] = idx
                    break
            else:
                raise RuntimeError(f"no shuffle of problem {k} fails")  # cannot happen for these problems
        return shuffles[k]

    def shown_lines(k):
        return [problem(k)["lines"][i] for i in shown(k)]

    def numbered(k, numbers=None):
        lines = shown_lines(k)
        numbers = numbers or range(1, len(lines) + 1)
        width = len(str(len(lines)))
        return "\n".join(f"{n:>{width}} | {lines[n - 1]}" for n in numbers)

    # --- judging a list of numbers -------------------------------------------------------------------------

    def check_order(k, numbers):
        """Judge an order (the shown line numbers, first line first): (passed, message)."""
        n = len(problem(k)["lines"])
        example = f"order({k}, [...]) with each of the numbers 1 to {n} once"
        if numbers is None:
            return False, f"Type your order: {example}, the shown line numbers in your order, first line first."
        if isinstance(numbers, (str, bytes)) or not hasattr(numbers, "__iter__"):
            return False, f"Give a list of line numbers: {example}."
        numbers = list(numbers)
        if any(isinstance(i, bool) or not isinstance(i, int) for i in numbers):
            return False, f"Give whole line numbers: {example}."
        if sorted(numbers) != list(range(1, n + 1)):
            problems = []
            missing = [i for i in range(1, n + 1) if i not in numbers]
            twice = sorted({i for i in numbers if numbers.count(i) > 1})
            outside = sorted({i for i in numbers if not 1 <= i <= n})
            if missing:
                problems.append(f"missing {', '.join(map(str, missing))}")
            if twice:
                problems.append(f"more than once: {', '.join(map(str, twice))}")
            if outside:
                problems.append(f"no such line: {', '.join(map(str, outside))}")
            return False, f"Use each of the numbers 1 to {n} exactly once ({'; '.join(problems)})."
        wrong, facts, printed = run(k, [shown_lines(k)[i - 1] for i in numbers])
        if wrong:
            return False, f"Not yet. {wrong}" + (f"\nIt printed before that:\n{printed.rstrip()}" if printed else "")
        return True, f"Correct! It ran, and {facts}\nIt printed:\n{printed.rstrip()}"

    # --- the text interface --------------------------------------------------------------------------------

    def show_problem(k):
        """Print problem k's lines, shuffled and numbered, and what the program is given."""
        p = problem(k)
        given = "" if not p["given"] else \
            ("Already defined for you (torch and nn too):\n" + "\n".join("    " + g for g in p["given"].split("\n")) + "\n\n")
        print(f"Problem {k}: {p['title']}\n\n{given}The lines, shuffled:\n{numbered(k)}\n\n"
              f"Answer with order({k}, [...]): the line numbers in your order, first line first.")

    def order(k, numbers):
        """Run your order of problem k's shown lines, e.g. order(1, [3, 1, 2, 6, 5, 4]), and print the verdict."""
        print(check_order(k, numbers)[1])

    # --- the widget ----------------------------------------------------------------------------------------

    class ParsonsBoard:
        """Problem k's lines in a list: select one, move it with "up" / "down", then "check".
        .select, .up, .down, .check, .program (the order as code) and .feedback are its widgets."""

        def __init__(self, k):
            self.k, self.numbers = k, list(range(1, len(problem(k)["lines"]) + 1))
            self.select = widgets.Select(options=self._options(), rows=len(self.numbers),
                                         description="lines", layout=widgets.Layout(width="44em"))
            self.up = widgets.Button(description="up", tooltip="move the selected line up")
            self.down = widgets.Button(description="down", tooltip="move the selected line down")
            self.check = widgets.Button(description="check", tooltip="run the lines in this order")
            self.up.on_click(lambda button: self.move(-1))
            self.down.on_click(lambda button: self.move(+1))
            self.check.on_click(lambda button: self.judge())
            self.program = widgets.HTML(value="")
            self.feedback = widgets.HTML(value="")
            self.widget = widgets.VBox([widgets.HTML(value=f"<b>Problem {k}: {html.escape(problem(k)['title'])}</b>"),
                                        self.select, widgets.HBox([self.up, self.down, self.check]),
                                        self.program, self.feedback])
            self._show_program()

        def _options(self):
            # Leading spaces would collapse in the list; non-breaking ones keep the indentation visible.
            lines = shown_lines(self.k)
            return [(f"{n}: " + "\u00a0" * (len(lines[n - 1]) - len(lines[n - 1].lstrip())) + lines[n - 1].lstrip(), n)
                    for n in self.numbers]

        def _show_program(self):
            self.program.value = ("<pre>" + html.escape(numbered(self.k, self.numbers)) + "</pre>"
                                  f"<code>order({self.k}, {self.numbers})</code>")

        def _say(self, text):
            self.feedback.value = "<pre>" + html.escape(text) + "</pre>"
            return text

        def move(self, step):
            chosen = self.select.value
            if chosen is None:
                return self._say("Select a line first.")
            at = self.numbers.index(chosen)
            to = at + step
            if not 0 <= to < len(self.numbers):
                return self._say(f"Line {chosen} is already {'first' if step < 0 else 'last'}.")
            self.numbers[at], self.numbers[to] = self.numbers[to], self.numbers[at]
            self.select.options = self._options()
            self.select.value = chosen  # keep the moved line selected, to move it again
            self._show_program()
            return self._say("")

        def judge(self):
            return self._say(check_order(self.k, self.numbers)[1])

        def __repr__(self):
            return f"Problem {self.k}, in this order:\n{numbered(self.k, self.numbers)}"

        def _ipython_display_(self):
            # One bundle: the widget where a frontend renders widgets, the lines as text elsewhere.
            if in_kernel():
                display({"text/plain": f"[The buttons for problem {self.k} show here where widgets run. Elsewhere "
                                       f"answer with order({self.k}, [...]), the numbers of the lines above.]",
                         "application/vnd.jupyter.widget-view+json": {
                             "model_id": self.widget.model_id, "version_major": 2, "version_minor": 0}}, raw=True)

    def parsons_widget(k):
        """Problem k as a widget (shown when it is a cell's last line); its .select, .up, .down, .check drive it."""
        return ParsonsBoard(k)

    def parsons_problems():
        """{k: (title, the shown lines)}, for scripts and tests."""
        return {k: (p["title"], shown_lines(k)) for k, p in PROBLEMS.items()}

    return show_problem, order, check_order, parsons_widget, parsons_problems


show_problem, order, check_order, parsons_widget, parsons_problems = _install_parsons()
del _install_parsons
