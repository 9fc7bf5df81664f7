"""Generated questions: the course test's per-student variants and the practice drill (pasted after checks.py).

A template draws its numbers (sizes, layers, flags, lengths) from a seed and computes the
expected answer by running torch on that configuration, never by a formula written here. Its
wrong answers and hints are the lessons' named mistakes, each computed the same way on the
configuration the mistake stands for (bidirectional forgotten, batch_first applied to the
states, ...). A template that would give a mistake equal to the answer, or two equal
mistakes, draws again.

Every draw comes from sha256(salt|student|qid|k), with k counting the draws: the same salt,
student id and question give the same question on every machine, Python and torch version
(Python's `random` promises that only for random() itself). Multiple-choice options are
shuffled by the same draws, so "q7 is B" holds for one student only.

`question(template, student, qid, salt)` makes one question: a dict with its text, kind
("shape", "choice", "int" or "lstm"), difficulty, answer, mistakes and, for multiple choice,
options. `expect_generated(qid, answer, template)` is the hidden test of the course test: it
regenerates the student's question (from the id the grader set with `grade_as`, else the one
the notebook gave `start_test`) and judges the answer with the checks of its kind.
"""


def _install_questions(api):
    import base64
    import contextlib
    import hashlib
    import json
    import os
    import warnings
    import zlib

    import torch
    from torch import nn
    from torch.nn.utils.rnn import pack_padded_sequence

    sha256 = hashlib.sha256
    int_, str_, tuple_, list_, len_, range_, sorted_, sum_ = int, str, tuple, list, len, range, sorted, sum
    dict_, set_, any_, all_, enumerate_, isinstance_ = dict, set, any, all, enumerate, isinstance
    print_, max_, getattr_, bool_, eval_ = print, max, getattr, bool, eval
    lstm_type, zeros, no_grad, mkldnn_off = nn.LSTM, torch.zeros, torch.no_grad, torch.backends.mkldnn.flags
    fail, given, describe = api["fail"], api["given"], api["describe"]
    LETTERS = "ABCD"
    TEMPLATES = {}
    state = {"salt": None, "student": None, "grading": None, "typed": None}

    class Draws:
        """Numbers drawn from sha256(salt|student|qid|k), k = 0, 1, 2, ... in order."""

        def __init__(self, salt, student, qid, start=0):
            self.prefix, self.k = f"{salt}|{student}|{qid}|", start

        def below(self, n):
            digest = sha256(f"{self.prefix}{self.k}".encode()).digest()
            self.k += 1
            return int_.from_bytes(digest[:8], "big") % n

        def between(self, low, high):
            return low + self.below(high - low + 1)

        def flag(self):
            return self.below(2) == 1

        def pick(self, options):
            return options[self.below(len_(options))]

        def shuffled(self, items):
            items = list_(items)
            for i in range_(len_(items) - 1, 0, -1):  # Fisher-Yates, from the same draws
                j = self.below(i + 1)
                items[i], items[j] = items[j], items[i]
            return items

    def template(name, difficulty, kind, lesson):
        def register(make):
            TEMPLATES[name] = {"name": name, "difficulty": difficulty, "kind": kind, "lesson": lesson, "make": make}
            return make
        return register

    # --- running torch ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def plain_cpu():
        """No autograd, no warnings (proj_size and one-layer dropout warn), and PyTorch's own LSTM kernel:
        oneDNN builds one for every new shape, up to 0.4 s each here, where PyTorch's takes milliseconds."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with no_grad(), mkldnn_off(enabled=False):
                yield

    def run(cfg, steps, batch, lengths=None):
        """(output, h_n, c_n) shapes of nn.LSTM(**cfg) on an input of `steps` x `batch` (packed when lengths)."""
        with plain_cpu():
            torch.manual_seed(0)
            layer = lstm_type(**cfg)
            shape = (batch, steps, cfg["input_size"]) if cfg.get("batch_first") else (steps, batch, cfg["input_size"])
            x = zeros(shape)
            if lengths is not None:
                x = pack_padded_sequence(x, lengths, batch_first=bool_(cfg.get("batch_first")), enforce_sorted=False)
            output, (h_n, c_n) = layer(x)
        out_shape = tuple_(output.data.shape) if lengths is not None else tuple_(output.shape)
        return out_shape, tuple_(h_n.shape), tuple_(c_n.shape), layer

    def call(cfg):
        args = [str_(cfg["input_size"]), str_(cfg["hidden_size"])]
        args += [f"{k}={cfg[k]}" for k in ("num_layers", "batch_first", "bidirectional", "proj_size") if k in cfg]
        return f"nn.LSTM({', '.join(args)})"

    def input_text(cfg, steps, batch):
        if cfg.get("batch_first"):
            return f"`x` of shape `({batch}, {steps}, {cfg['input_size']})` ({batch} sequences of {steps} steps)"
        return f"`x` of shape `({steps}, {batch}, {cfg['input_size']})` ({batch} sequences of {steps} steps)"

    def without(cfg, **changes):
        new = dict_(cfg)
        new.update(changes)
        return {k: v for k, v in new.items() if v is not None}

    # --- the templates --------------------------------------------------------------------------------
    # Each make(d) returns the configuration's question, or None to draw again.

    @template("constructor", "easy", "lstm", "01_syntax")
    def constructor(d):
        h_in, h = d.between(2, 40), d.between(2, 64)
        if h_in == h:
            return None
        first = d.flag()
        cfg = {"input_size": h_in, "hidden_size": h, "batch_first": first}
        layout = "(batch, seq_len, features)" if first else "(seq_len, batch, features)"
        text = (f"Build an LSTM layer that reads {h_in} features per time step, has {h} hidden units, and takes "
                f"its input as {layout}. Set the answer to the layer itself, `nn.LSTM(...)`.")
        mistakes = [({"input_size": h, "hidden_size": h_in, "batch_first": first},
                     "You swapped input_size and hidden_size: the features per step come first."),
                    ({"input_size": h_in, "hidden_size": h, "batch_first": not first},
                     "Check batch_first: it says whether the batch axis comes first in the input.")]
        return {"text": text, "answer": cfg, "mistakes": mistakes, "show": cfg, "steps": 3, "batch": 2}

    @template("h_n_layers", "easy", "shape", "03_states")
    def h_n_layers(d):
        h_in, h, layers, steps, batch = d.between(2, 30), d.between(2, 32), d.between(2, 4), d.between(3, 12), \
            d.between(2, 10)
        cfg = {"input_size": h_in, "hidden_size": h, "num_layers": layers}
        _, h_n, _, _ = run(cfg, steps, batch)
        one = run(without(cfg, num_layers=None), steps, batch)[1]
        text = f"`lstm = {call(cfg)}` reads {input_text(cfg, steps, batch)}. What is the shape of `h_n`?"
        mistakes = [((h_n[1], h_n[0], h_n[2]), "h_n's batch axis is the second: (num_layers * D, N, H_out)."),
                    (one, "h_n has one row per layer: count num_layers."),
                    ((h_n[0], h_n[1], h_in), "h_n has hidden_size features, not input_size.")]
        return {"text": text, "answer": h_n, "mistakes": mistakes, "show": cfg, "steps": steps, "batch": batch}

    @template("weight_shape", "easy", "shape", "04_cell")
    def weight_shape(d):
        h_in, h = d.between(2, 40), d.between(2, 40)
        which = d.pick(["weight_ih_l0", "weight_hh_l0"])
        if h_in == h:
            return None
        cfg = {"input_size": h_in, "hidden_size": h}
        layer = run(cfg, 2, 1)[3]
        shape = tuple_(getattr_(layer, which).shape)
        other = "weight_hh_l0" if which == "weight_ih_l0" else "weight_ih_l0"
        text = f"`lstm = {call(cfg)}`. What is the shape of `lstm.{which}`?"
        mistakes = [((shape[0] // 4, shape[1]), "The four gates' weights are stacked: 4 * hidden_size rows."),
                    ((shape[1], shape[0]), "PyTorch stores (out_features, in_features): 4 * hidden_size rows."),
                    (tuple_(getattr_(layer, other).shape), f"That is {other}'s shape: which input does {which} "
                                                          "multiply?")]
        return {"text": text, "answer": shape, "mistakes": mistakes, "show": cfg, "steps": 2, "batch": 1}

    @template("output_bidirectional", "medium", "shape", "02_shapes")
    def output_bidirectional(d):
        h_in, h, steps, batch = d.between(2, 30), d.between(2, 32), d.between(3, 12), d.between(2, 10)
        if steps == batch:
            return None
        cfg = {"input_size": h_in, "hidden_size": h, "batch_first": True, "bidirectional": True}
        out = run(cfg, steps, batch)[0]
        one = run(without(cfg, bidirectional=None), steps, batch)[0]
        time_major = run(without(cfg, batch_first=None), steps, batch)[0]
        text = f"`lstm = {call(cfg)}` reads {input_text(cfg, steps, batch)}. What is the shape of `output`?"
        mistakes = [(one, "A bidirectional LSTM's output holds both directions: D * hidden_size features."),
                    (time_major, "With batch_first=True the output is batch-first too."),
                    ((batch, steps, h_in * 2), "output has D * hidden_size features, not input_size.")]
        return {"text": text, "answer": out, "mistakes": mistakes, "show": cfg, "steps": steps, "batch": batch}

    @template("h_n_batch_first", "medium", "shape", "03_states")
    def h_n_batch_first(d):
        h_in, h, layers, steps, batch = d.between(2, 30), d.between(2, 32), d.between(1, 3), d.between(3, 12), \
            d.between(2, 10)
        bi = d.flag()
        cfg = without({"input_size": h_in, "hidden_size": h, "num_layers": layers, "batch_first": True},
                      bidirectional=True if bi else None)
        if batch == layers * (2 if bi else 1):
            return None
        h_n = run(cfg, steps, batch)[1]
        text = f"`lstm = {call(cfg)}` reads {input_text(cfg, steps, batch)}. What is the shape of `h_n`?"
        mistakes = [((h_n[1], h_n[0], h_n[2]), "batch_first does not apply to h_n and c_n: their batch axis is "
                                               "always the second.")]
        if bi:
            mistakes.append((run(without(cfg, bidirectional=None), steps, batch)[1],
                             "h_n has one row per layer and direction: num_layers * D."))
        mistakes.append(((h_n[0], h_n[1], h_n[2] * 2), "h_n keeps the directions apart, each hidden_size wide."))
        return {"text": text, "answer": h_n, "mistakes": mistakes, "show": cfg, "steps": steps, "batch": batch}

    @template("parameter_count", "medium", "int", "04_cell")
    def parameter_count(d):
        h_in, h = d.between(2, 24), d.between(2, 24)
        if h_in == h:
            return None
        cfg = {"input_size": h_in, "hidden_size": h, "num_layers": 2}
        layer = run(cfg, 2, 1)[3]
        count = sum_(p.numel() for p in layer.parameters())
        first = sum_(p.numel() for n, p in layer.named_parameters() if n.endswith("l0"))
        one_bias = count - sum_(p.numel() for n, p in layer.named_parameters() if n.startswith("bias_hh"))
        same_input = 2 * first
        text = (f"How many numbers does `{call(cfg)}` learn: the total `numel()` of its parameters? "
                "Give a whole number.")
        mistakes = [(first, "That is the first layer only: count the second layer too."),
                    (one_bias, "There are two bias vectors per layer, bias_ih and bias_hh."),
                    (same_input, "The second layer reads the first layer's output: hidden_size features, not "
                                 "input_size.")]
        return {"text": text, "answer": count, "mistakes": mistakes, "show": cfg, "steps": 2, "batch": 1}

    def choice(d, candidates, right, text, cfg, steps, batch):
        """A multiple-choice question: the right candidate and three named wrong ones, shuffled by the draws."""
        wrong = [c for c in candidates if c[0] != right[0]]
        options = d.shuffled([right] + wrong[:3])
        letter = LETTERS[options.index(right)]
        lines = [text, ""] + [f"- {LETTERS[i]}. `{o[0]}`" for i, o in enumerate_(options)] + ["", "Give the letter."]
        mistakes = [(LETTERS[i], o[1]) for i, o in enumerate_(options) if o is not right]
        return {"text": "\n".join(lines), "answer": letter, "options": LETTERS, "mistakes": mistakes, "show": cfg,
                "steps": steps, "batch": batch}

    def slices_equal(cfg, steps, batch, slices, target):
        """Which of `slices` (Python source over output) equal `target` (source over h_n), by running torch."""
        with plain_cpu():
            torch.manual_seed(1)
            layer = lstm_type(**cfg)
            shape = (batch, steps, cfg["input_size"]) if cfg.get("batch_first") else (steps, batch, cfg["input_size"])
            output, (h_n, c_n) = layer(torch.randn(shape))
            scope = {"output": output, "h_n": h_n}
            want = eval_(target, {}, scope)  # noqa: S307 - trusted: the template's own source text
            found = []
            for s in slices:
                got = eval_(s, {}, scope)  # noqa: S307
                found.append(tuple_(got.shape) == tuple_(want.shape) and bool_(torch.allclose(got, want)))
        return found

    @template("output_vs_h_n", "medium", "choice", "03_states")
    def output_vs_h_n(d):
        h_in, h, steps, batch = d.between(2, 12), d.between(2, 12), d.between(3, 9), d.between(2, 9)
        first = d.flag()
        if steps == batch:
            return None
        cfg = {"input_size": h_in, "hidden_size": h, "batch_first": first}
        slices = ["output[-1]", "output[:, -1]", "output[0]", "output[:, 0]"]
        equal = slices_equal(cfg, steps, batch, slices, "h_n[-1]")
        if equal.count(True) != 1:
            return None
        right = slices[equal.index(True)]
        hints = {"output[-1]": "With batch_first=True, output[-1] is the last sequence of the batch, not the last "
                               "step.",
                 "output[:, -1]": "Without batch_first, output is (L, N, H): output[:, -1] is the last sequence at "
                                  "every step.",
                 "output[0]": "That is the first step (or the first sequence), not the last step.",
                 "output[:, 0]": "That is the first step (or the first sequence), not the last step."}
        candidates = [(s, hints[s]) for s in slices]
        text = (f"`lstm = {call(cfg)}` reads {input_text(cfg, steps, batch)}, and "
                "`output, (h_n, c_n) = lstm(x)`. Which of these equals `h_n[-1]`?")
        return choice(d, candidates, (right, ""), text, cfg, steps, batch)

    @template("h_n_everything", "hard", "shape", "03_states")
    def h_n_everything(d):
        h_in, h, layers, steps, batch = d.between(2, 30), d.between(4, 32), d.between(2, 3), d.between(3, 12), \
            d.between(2, 10)
        proj = d.between(1, h - 1)
        cfg = {"input_size": h_in, "hidden_size": h, "num_layers": layers, "batch_first": True,
               "bidirectional": True, "proj_size": proj}
        if batch == 2 * layers or proj == batch:
            return None
        h_n = run(cfg, steps, batch)[1]
        text = f"`lstm = {call(cfg)}` reads {input_text(cfg, steps, batch)}. What is the shape of `h_n`?"
        mistakes = [((h_n[1], h_n[0], h_n[2]), "batch_first does not apply to h_n: its batch axis is the second."),
                    (run(without(cfg, bidirectional=None), steps, batch)[1],
                     "h_n has one row per layer and direction: num_layers * D."),
                    (run(without(cfg, proj_size=None), steps, batch)[1],
                     "With proj_size, h is projected: h_n has proj_size features (c_n keeps hidden_size).")]
        return {"text": text, "answer": h_n, "mistakes": mistakes, "show": cfg, "steps": steps, "batch": batch}

    @template("input_shape", "easy", "shape", "02_shapes")
    def input_shape(d):
        h_in, h, steps, batch = d.between(2, 30), d.between(2, 32), d.between(3, 12), d.between(2, 10)
        first = d.flag()
        if len_({h_in, h, steps, batch}) < 4:
            return None
        cfg = {"input_size": h_in, "hidden_size": h, "batch_first": first}
        shape = (batch, steps, h_in) if first else (steps, batch, h_in)
        run(cfg, steps, batch)  # torch accepts it: the answer is a shape the layer reads
        text = (f"`lstm = {call(cfg)}` is to read {batch} sequences of {steps} steps each, in one batch. What "
                "shape must its input `x` have?")
        mistakes = [((shape[1], shape[0], h_in), "Check batch_first: it says whether the batch axis comes first."),
                    ((shape[0], shape[1], h), "The input has input_size features per step; hidden_size is the "
                                              "output's."),
                    ((batch, h_in) if first else (steps, h_in), "A batch of sequences is 3-D: steps, batch and "
                                                               "features.")]
        return {"text": text, "answer": shape, "mistakes": mistakes, "show": cfg, "steps": steps, "batch": batch}

    @template("c_n_projection", "hard", "shape", "03_states")
    def c_n_projection(d):
        h_in, h, layers, steps, batch = d.between(2, 30), d.between(4, 32), d.between(1, 3), d.between(3, 12), \
            d.between(2, 10)
        proj, bi = d.between(1, h - 1), d.flag()
        cfg = without({"input_size": h_in, "hidden_size": h, "num_layers": layers, "proj_size": proj},
                      bidirectional=True if bi else None)
        if batch == layers * (2 if bi else 1) or (layers == 1 and not bi):  # hard: projection and more
            return None
        _, h_n, c_n, _ = run(cfg, steps, batch)
        text = f"`lstm = {call(cfg)}` reads {input_text(cfg, steps, batch)}. What is the shape of `c_n`?"
        mistakes = [(h_n, "proj_size projects h only: c_n keeps hidden_size features (that is h_n's shape)."),
                    ((c_n[1], c_n[0], c_n[2]), "c_n's batch axis is the second: (num_layers * D, N, H_cell).")]
        if bi:
            mistakes.append((run(without(cfg, bidirectional=None), steps, batch)[2],
                             "c_n has one row per layer and direction: num_layers * D."))
        return {"text": text, "answer": c_n, "mistakes": mistakes, "show": cfg, "steps": steps, "batch": batch}

    @template("backward_final_state", "hard", "choice", "05_sequences")
    def backward_final_state(d):
        h_in, h, steps, batch = d.between(2, 10), d.between(2, 10), d.between(3, 9), d.between(2, 9)
        first = d.flag()
        if steps == batch:
            return None
        cfg = {"input_size": h_in, "hidden_size": h, "batch_first": first, "bidirectional": True}
        t = ":, " if first else ""
        slices = [f"output[{t}0, {h}:]", f"output[{t}-1, {h}:]", f"output[{t}-1, :{h}]", f"output[{t}0, :{h}]"]
        equal = slices_equal(cfg, steps, batch, slices, "h_n[-1]")
        if equal.count(True) != 1:
            return None
        right = slices[equal.index(True)]
        hints = {slices[1]: "The backward direction ends at step 0: its last step is not the last time step.",
                 slices[2]: "That is the forward direction's final state, h_n[-2].",
                 slices[3]: "The backward half of output is its second half: the features from hidden_size on."}
        candidates = [(s, hints.get(s, "")) for s in slices]
        text = (f"`lstm = {call(cfg)}` reads {input_text(cfg, steps, batch)}, and "
                "`output, (h_n, c_n) = lstm(x)`. Which of these equals `h_n[-1]`, the backward direction's final "
                "state?")
        return choice(d, candidates, (right, ""), text, cfg, steps, batch)

    @template("packed_data", "hard", "shape", "05_sequences")
    def packed_data(d):
        n, h_in, h = d.between(3, 5), d.between(2, 20), d.between(2, 20)
        lengths = [d.between(1, 12) for _ in range_(n)]
        first = d.flag()
        if len_(set_(lengths)) < 2 or h_in == h:
            return None
        longest = max_(lengths)
        cfg = {"input_size": h_in, "hidden_size": h, "batch_first": first}
        out_data = run(cfg, longest, n, lengths)[0]
        layout = "batch-first" if first else "time-major"
        text = (f"A {layout} padded batch of {n} sequences with lengths {lengths} and {h_in} features per step is "
                f"packed with `pack_padded_sequence(x, {lengths}, batch_first={first}, enforce_sorted=False)` and "
                f"run through `lstm = {call(cfg)}`. What is the shape of the packed output's `.data`?")
        mistakes = [((n * longest, out_data[1]), "Packing keeps only the real steps: sum(lengths) rows, not N * L."),
                    ((out_data[0], h_in), "The LSTM's output has hidden_size features per step, not input_size."),
                    ((n, longest, out_data[1]) if first else (longest, n, out_data[1]),
                     "That is the padded output. A PackedSequence's data is 2-D: every real step, one per row.")]
        return {"text": text, "answer": out_data, "mistakes": mistakes, "show": cfg, "steps": longest, "batch": n,
                "lengths": lengths}

    # --- one question -----------------------------------------------------------------------------------

    def question(name, student, qid, salt):
        """The question `qid` of template `name` for this student: the same everywhere, for the same salt."""
        spec = TEMPLATES[name]
        d = Draws(salt, student, qid)
        for _ in range_(200):
            made = spec["make"](d)
            if made is None:
                continue
            values = [describe_value(spec["kind"], made["answer"])] + \
                [describe_value(spec["kind"], wrong) for wrong, _ in made["mistakes"]]
            keys = [repr(sorted_(v.items())) for v in values]
            if len_(set_(keys)) == len_(keys):  # no mistake equals the answer or another mistake
                return dict_(made, template=name, kind=spec["kind"], difficulty=spec["difficulty"],
                             lesson=spec["lesson"], qid=qid, student=student)
        raise RuntimeError(f"template {name} found no question for {student!r}, {qid!r}")

    def describe_value(kind, value):
        if kind == "lstm":
            with plain_cpu():
                torch.manual_seed(0)
                return describe(lstm_type(**value))
        return describe(value if kind != "shape" else tuple_(value))

    def verdict(q, answer):
        """None if `answer` is right for question q, else the message a fixed exercise would give."""
        expect = {"shape": api["expect_shape"], "int": api["expect_int"], "lstm": api["expect_lstm"]}
        try:
            if q["kind"] == "choice":
                api["expect_choice"](q["qid"], answer, q["answer"], options=q["options"], mistakes=q["mistakes"])
            else:
                expect[q["kind"]](q["qid"], answer, q["answer"], mistakes=q["mistakes"])
        except AssertionError as err:
            return str_(err)
        return None

    # --- the course test: who is being tested ------------------------------------------------------------

    def set_salt(salt):
        state["salt"] = salt

    def grade_as(student):
        """The grader's id for this submission: it wins over the notebook's own."""
        state["grading"] = str_(student)

    def start_test(student_id):
        """The notebook's id cell: check it, note it, and say which id the questions are for."""
        if not isinstance_(student_id, str_) or not student_id.strip() or student_id.strip() == "your id here":
            hub = os.environ.get("JUPYTERHUB_USER")  # a suggestion only: the id is always the one typed
            hint = f" (JupyterHub knows you as {hub!r}: if that is your student id, type it.)" if hub else ""
            fail("Type your student id above, as a string such as \"s1234567\", then run this cell again." + hint)
        state["typed"] = student_id.strip()
        if state["grading"] is not None and state["grading"] != state["typed"]:
            print_(f"Note: this notebook says student_id = {state['typed']!r}, but it was submitted by "
                  f"{state['grading']!r}: it is graded as {state['grading']!r}'s test.")
        print_(f"Questions for {student()!r}.")

    def student():
        return state["grading"] if state["grading"] is not None else state["typed"]

    def test_question(qid, name):
        if student() is None:
            fail("Run the cell with your student id first: your questions are made from it.")
        if state["salt"] is None:
            fail("The course test's settings cell has not run: run the notebook from the top.")
        return question(name, student(), qid, state["salt"])

    def show_question(qid, name):
        from IPython.display import Markdown, display
        q = test_question(qid, name)
        display(Markdown(f"**{q['difficulty'].capitalize()}.** {q['text']}"))

    def check_form(answer, qid, kind):
        """The course test's visible check: the answer has the right form; whether it is right is told after grading."""
        data = describe(answer)
        want = {"shape": "shape", "choice": "choice", "int": "int", "lstm": "lstm"}[kind]
        if data["kind"] != want:
            fail(api["wrong_kind"](want, data, LETTERS if kind == "choice" else None))
        print_(f"Answer recorded: {api['show'](data)}. It is graded after you hand in the test.")

    def expect_generated(qid, answer, template):
        number = qid.rsplit(".", 1)[-1]
        message = verdict(test_question(number, template), answer)
        if message is not None:
            fail(message)

    # --- the practice test: the course test's questions, for any word, scored at once ---------------------

    COURSE_TEST = [("q1", "constructor"), ("q2", "h_n_layers"), ("q3", "weight_shape"),
                   ("q4", "output_bidirectional"), ("q5", "h_n_batch_first"), ("q6", "parameter_count"),
                   ("q7", "output_vs_h_n"), ("q8", "h_n_everything"), ("q9", "backward_final_state"),
                   ("q10", "packed_data")]  # 3 easy, 4 medium, 3 hard: source/07_test asks the same

    def start_practice(word):
        if not isinstance_(word, str_) or not word.strip():
            fail("Give any word, between quotes: each word makes a test of its own.")
        state["salt"], state["typed"], state["grading"] = "practice-test", word.strip(), None
        print_(f"Practice test {word.strip()!r}: 10 questions. Answer them all, then run the last cell.")

    def score_my_test():
        from IPython import get_ipython
        shell = get_ipython()
        found = shell.user_ns if shell is not None else {}
        by_level, lines = {}, []
        for qid, name in COURSE_TEST:
            q = test_question(qid, name)
            value = found.get(f"answer_{qid}")
            message = "not answered" if value is None else verdict(q, value)
            right = message is None
            done = by_level.setdefault(q["difficulty"], [0, 0])
            done[0], done[1] = done[0] + right, done[1] + 1
            lines.append(f"{qid} ({q['difficulty']}): " + ("right" if right else "not answered" if value is None
                                                          else f"wrong: {message}"))
        total = sum_(v[0] for v in by_level.values())
        lines.append("score: " + ", ".join(f"{level} {by_level[level][0]}/{by_level[level][1]}"
                                          for level in ("easy", "medium", "hard") if level in by_level)
                     + f"; total {total}/{len_(COURSE_TEST)}")
        print_("\n".join(lines))
        return total

    # --- progress that survives Colab's resets: the drill's and the review's (both built on these questions) ---

    def encode_state(data):
        """A line to paste back: JSON, compressed, in URL-safe base64."""
        return base64.urlsafe_b64encode(zlib.compress(json.dumps(data).encode())).decode()

    def decode_state(text):
        """The data of encode_state's line; ValueError for anything else."""
        try:
            data = json.loads(zlib.decompress(base64.urlsafe_b64decode(str_(text).strip().encode())))
        except Exception:
            raise ValueError("not a state string") from None
        if not isinstance_(data, dict_) or data.get("v") != 1:
            raise ValueError("not a state string")
        return data

    def keep_state(text, summary, folder, name, loader):
        """Print how to restore `text` (always), and save it as folder/name when that folder exists
        (Google Drive, once mounted)."""
        where = ""
        if folder and os.path.isdir(folder):
            with open(os.path.join(folder, name), "w") as f:
                json.dump({"state": text, "summary": summary}, f)
            where = f" Also saved to {os.path.join(folder, name)}."
        print_(f"{summary}\nTo continue later, run: {loader}({text!r}){where}")
        return text

    def kept_state(folder, name, what):
        """The state string keep_state saved as folder/name."""
        path = os.path.join(folder, name)
        if not os.path.exists(path):
            raise FileNotFoundError(f"No saved {what} at {path}: mount Drive, or pass the state string.")
        with open(path) as f:
            return json.load(f)["state"]

    api.update({"COURSE_TEST": COURSE_TEST, "start_practice": start_practice, "score_my_test": score_my_test,
                "encode_state": encode_state, "decode_state": decode_state, "keep_state": keep_state,
                "kept_state": kept_state})
    api.update({"templates": TEMPLATES, "question": question, "generated_verdict": verdict, "draws": Draws,
                "set_salt": set_salt, "grade_as": grade_as, "start_test": start_test, "show_question": show_question,
                "check_form": check_form, "expect_generated": expect_generated, "test_question": test_question,
                "test_student": student})


_install_questions(_course_answers)
del _install_questions
grade_as, start_test, show_question = (_course_answers[k] for k in ("grade_as", "start_test", "show_question"))
check_form, expect_generated = _course_answers["check_form"], _course_answers["expect_generated"]
start_practice, score_my_test = _course_answers["start_practice"], _course_answers["score_my_test"]
