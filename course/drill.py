"""Unlimited practice for notebooks/practice.ipynb: `drill = Drill()`, or `next_question()` / `answer(...)`.

`python -m course.build` pastes this file into the hidden "drill" code cell of the notebooks that
use it, after the checks cell (which holds course/questions.py). Edit it here, never in a notebook.

One generated question at a time, from the practice pool's templates of the current level
(course/practice_pool.py, never the graded course test's): the learner answers, the feedback names
the mistake as a lesson's check does, "show me" (after an attempt) runs the question's situation and
prints what torch computes, and "next" draws another. A question counts once, at its first answer
(the check button and Enter on the same answer count one); three questions right in a row move the
level up (easy, medium, hard), two wrong in a row move it down.

The same drill works without widgets, for GitHub viewers, screen readers and scripts:
`next_question()`, `answer("(4, 2, 3)")` (typed text, or the value itself; `answer(None)`, the
notebook's placeholder, does nothing), `show_me()`, `progress_summary()`. Questions are Markdown:
the widget renders it, the text interface prints it without backticks. Progress survives Colab's
resets: `save_progress()` prints a state string
that `load_progress("...")` restores anywhere, and also writes a small JSON file to Google Drive
when Drive is mounted (`drive.mount("/content/drive")`). Only ipywidgets API common to 7.7.1
(Colab) and 8 is used; the answer box is read when its value changes (Enter, or leaving the box),
because Text.on_submit warns on stderr in both.
"""


def _install_drill(api):
    import ast
    import os
    import warnings

    import ipywidgets as widgets
    import torch
    from IPython import get_ipython
    from IPython.display import display
    from torch import nn
    from torch.nn.utils.rnn import pack_padded_sequence

    LEVELS = ("easy", "medium", "hard")
    UP, DOWN = 3, 2  # right answers in a row to move up; wrong ones in a row to move down
    SALT = "practice"
    DRIVE = "/content/drive/MyDrive"
    FILE = "lstm-course-practice.json"
    forms = api["FORMS"]

    def in_kernel():
        shell = get_ipython()
        return shell is not None and getattr(shell, "kernel", None) is not None

    def parse(text, kind):
        """The value typed text stands for, read without running it (an nn.LSTM(...) call is rebuilt from
        its literal arguments); raises ValueError with what to type instead."""
        text = text.strip()
        if kind == "choice":
            letter = text.strip("'\" ").upper()
            if len(letter) != 1 or not "A" <= letter <= "Z":
                raise ValueError(f"Type {forms[kind]}.")
            return letter
        try:
            if kind == "lstm":
                call = ast.parse(text, mode="eval").body
                name = call.func.attr if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) else \
                    getattr(getattr(call, "func", None), "id", None)
                if name != "LSTM":
                    raise ValueError
                args = [ast.literal_eval(a) for a in call.args]
                kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    return nn.LSTM(*args, **kwargs)
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError, AttributeError):
            raise ValueError(f"Type {forms[kind]}.") from None
        return tuple(value) if kind == "shape" and isinstance(value, list) else value

    class Drill:
        """The drill's state and its widget: .widget, .question, .next_question(), .answer(), .show_me()."""

        def __init__(self, level="easy", learner=None):
            if level not in LEVELS:
                raise ValueError(f"level must be one of {', '.join(LEVELS)}")
            self.level, self.streak, self.misses, self.best, self.count = level, 0, 0, 0, 0
            self.learner = learner or "learner-" + os.urandom(4).hex()  # whose questions: new ones for each learner
            self.history, self.question, self.attempted, self.counted = [], None, False, False
            self.judged = (None, "")  # the text of the answer that counted, and its feedback
            self._build_widget()

        # --- the drill itself ----------------------------------------------------------------------

        def next_question(self):
            names = api["pool_names"]("practice", self.level)
            draws = api["draws"](SALT, self.learner, f"pick{self.count}")
            name = names[draws.below(len(names))]
            self.question = api["practice_question"](name, self.learner, f"d{self.count}", SALT)
            self.count += 1
            self.attempted = self.counted = False
            text = f"[{self.level}, question {self.count}] {self.question['text']}"
            self._shown(text)
            return api["plain_text"](text)

        def answer(self, value):
            """Judge an answer (typed text or the value); return the feedback."""
            if self.question is None:
                self.next_question()
            q = self.question
            if value is None or isinstance(value, str) and not value.strip():  # the notebook's placeholder
                return self._feedback(f"Type your answer between the parentheses, {forms[q['kind']]}: for example "
                                      "answer(\"(2, 3, 4)\").")
            if self.counted and isinstance(value, str) and value.strip() == self.judged[0]:
                return self._feedback(self.judged[1])  # the same text again (Enter, then the check button)
            typed = value.strip() if isinstance(value, str) else None
            if isinstance(value, str) and q["kind"] != "choice":
                try:
                    value = parse(value, q["kind"])
                except ValueError as err:
                    return self._feedback(str(err))
            message = api["judge_question"](q, value)
            self.attempted = True
            right = message is None
            if self.counted:  # one answer counts once: a second try (or the same one again) only gets feedback
                return self._feedback(("Right!" if right else f"Not yet. {api['plain_text'](message)}") +
                                      " (Your first answer to this question counted: press next for another.)")
            self.counted = True
            self.history.append([q["template"], self.level, int(right)])
            if right:
                self.streak, self.misses = self.streak + 1, 0
                self.best = max(self.best, self.streak)
                text = "Right!"
                if self.streak % UP == 0 and self.level != LEVELS[-1]:
                    self.level = LEVELS[LEVELS.index(self.level) + 1]
                    text += f" {UP} in a row: on to {self.level} questions."
            else:
                self.streak, self.misses = 0, self.misses + 1
                text = f"Not yet. {api['plain_text'](message)}"
                if self.misses >= DOWN and self.level != LEVELS[0]:
                    self.level, self.misses = LEVELS[LEVELS.index(self.level) - 1], 0
                    text += f" Back to {self.level} questions for a while."
            self.judged = (typed, text)
            return self._feedback(text)

        def show_me(self):
            """After an attempt: run the question's situation and print what torch computes."""
            q = self.question
            if q is None or not self.attempted:
                return self._feedback("Answer first: then 'show me' runs the configuration.")
            if "show" not in q:  # a question about numbers or a program: its own worked result
                return self._feedback(q["worked"])
            cfg, steps, batch = q["show"], q["steps"], q["batch"]
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.manual_seed(0)
                layer = nn.LSTM(**cfg)
                shape = (batch, steps, cfg["input_size"]) if cfg.get("batch_first") else \
                    (steps, batch, cfg["input_size"])
                x = torch.zeros(shape)
                lines = [f"lstm = {api['show'](api['describe'](layer))}", f"x: {tuple(x.shape)}"]
                if q.get("lengths"):
                    x = pack_padded_sequence(x, q["lengths"], batch_first=bool(cfg.get("batch_first")),
                                             enforce_sorted=False)
                    lines.append(f"packed with lengths {q['lengths']}: data {tuple(x.data.shape)}, "
                                 f"batch_sizes {x.batch_sizes.tolist()}")
                output, (h_n, c_n) = layer(x)
                out = output.data if q.get("lengths") else output
                lines.append(f"output{'.data' if q.get('lengths') else ''}: {tuple(out.shape)}, "
                             f"h_n: {tuple(h_n.shape)}, c_n: {tuple(c_n.shape)}")
                lines += [f"{name}: {tuple(p.shape)}" for name, p in layer.named_parameters() if name.endswith("l0")]
                lines.append(f"parameters in all: {sum(p.numel() for p in layer.parameters())}")
            return self._feedback("\n".join(lines))

        def summary(self):
            done = len(self.history)
            if not done:
                return "No questions answered yet."
            parts = []
            for level in LEVELS:
                mine = [h for h in self.history if h[1] == level]
                if mine:
                    parts.append(f"{level}: {sum(h[2] for h in mine)}/{len(mine)} right")
            return (f"{done} answered ({', '.join(parts)}); best streak {self.best}; now at {self.level}, "
                    f"streak {self.streak}.")

        # --- saving -------------------------------------------------------------------------------------

        def state(self):
            data = {"v": 1, "learner": self.learner, "level": self.level, "streak": self.streak,
                    "misses": self.misses, "best": self.best, "count": self.count, "history": self.history[-500:]}
            return api["encode_state"](data)

        def restore(self, text):
            try:
                data = api["decode_state"](text)
                if data.get("level") not in LEVELS:
                    raise ValueError
            except ValueError:
                raise ValueError("That is not a progress string from save_progress().") from None
            self.learner, self.level, self.streak = str(data["learner"]), data["level"], int(data["streak"])
            self.misses, self.best, self.count = int(data["misses"]), int(data["best"]), int(data["count"])
            self.history = [list(h) for h in data["history"]]
            self.question, self.attempted, self.counted = None, False, False
            self._status()

        # --- the widget ----------------------------------------------------------------------------------

        def _build_widget(self):
            self._text = widgets.HTML(value="")
            self._box = widgets.Text(value="", placeholder="your answer, then Enter", description="answer",
                                     continuous_update=False)
            self._box.observe(self._typed, names="value")
            self._check = widgets.Button(description="check", tooltip="judge the answer in the box")
            self._show = widgets.Button(description="show me", tooltip="after an attempt: run it, print the shapes")
            self._next = widgets.Button(description="next", tooltip="another question")
            self._check.on_click(lambda button: self.answer(self._box.value))
            self._show.on_click(lambda button: self.show_me())
            self._next.on_click(lambda button: self.next_question())
            self._status_line = widgets.Label(value="")
            self._out = widgets.Output()
            self.widget = widgets.VBox([self._text, widgets.HBox([self._box, self._check, self._show, self._next]),
                                        self._status_line, self._out])
            self._status()

        def _typed(self, change):
            if change["new"].strip():
                self.answer(change["new"])

        def _status(self):
            self._status_line.value = (f"level: {self.level} | streak: {self.streak} | best: {self.best} | "
                                       f"answered: {len(self.history)}")

        def _shown(self, text):
            self._text.value = api["as_html"](text)
            self._box.value = ""
            self._status()
            self._out.clear_output()

        def _feedback(self, text):
            self._status()
            self._out.clear_output(wait=True)
            with self._out:
                print(text)
            return text

    drill = {"current": None}

    def current():
        if drill["current"] is None:
            drill["current"] = Drill()
        return drill["current"]

    def start_drill(level="easy"):
        """Show the drill's widget with a first question (a fresh drill at `level`), and return it."""
        drill["current"] = Drill(level)
        text = drill["current"].next_question()
        if in_kernel():
            # One bundle: the widget where a frontend renders widgets, the question as text elsewhere
            # (GitHub, nbviewer, a screen reader's plain view).
            display({"text/plain": f"{text}\n(Answer with answer(...) where the drill's widget does not show.)",
                     "application/vnd.jupyter.widget-view+json": {
                         "model_id": drill["current"].widget.model_id, "version_major": 2, "version_minor": 0}},
                    raw=True)
        return drill["current"]

    # The text interface: each prints what the widget would show.
    def next_question():
        """Draw the next question and print it."""
        print(current().next_question())

    def answer(value):
        """Answer the current question (typed text such as "(4, 2, 3)", or the value) and print the feedback."""
        print(current().answer(value))

    def show_me():
        """After an attempt: print the real shapes of the current question's layer."""
        print(current().show_me())

    def progress_summary():
        print(current().summary())

    def save_progress(folder=DRIVE):
        """Print a state string for load_progress(); also save it to Drive when Drive is mounted."""
        api["keep_state"](current().state(), current().summary(), folder, FILE, "load_progress")

    def load_progress(text=None, folder=DRIVE):
        """Restore from a state string, or, without one, from the file save_progress() wrote to Drive."""
        if text is None:
            text = api["kept_state"](folder, FILE, "progress")
        current().restore(text)
        print(f"Progress restored. {current().summary()}")

    return Drill, start_drill, next_question, answer, show_me, progress_summary, save_progress, load_progress


(Drill, start_drill, next_question, answer, show_me, progress_summary, save_progress,
 load_progress) = _install_drill(_course_answers)
del _install_drill
