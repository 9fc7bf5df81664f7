"""Generated questions: the machinery of the course test's pool and of the practice pool (pasted after checks.py).

A template (`@template(name, difficulty, kind, lesson, tag, pool)`) *renders* a question from
its draws alone: its text, the numbers it gives (`given`, plain data) and, for multiple choice,
its options from a fixed list, shuffled. Rendering never computes an answer: a guard that would
need one (no named mistake may equal the answer) is a condition on the draws, and a draw that
fails it returns None so the template draws again. The answer and the named mistakes come from
a *solver* that runs torch on what the question gives:

- the course test's templates (course/graded_pool.py) are solved by its key
  (course/graded_key/), which no student's notebook carries: it lives in the hidden tests of
  source/course_test and in the grader's judge;
- the practice pool's templates (course/practice_pool.py) carry their solvers with them: the
  practice test, the drill and the review score any answer at once, so their key is public.

Every draw comes from sha256(salt|student|qid|k), k counting the draws: the same salt, student
id and question give the same question on every machine, Python and torch version. The draws
also pick each student's templates: 3 easy, 4 medium and 3 hard from the pool's templates of
each difficulty (`draw_set`), at least REASONING of them tagged "reasoning" in the course test.

`question(name, student, qid, salt)` renders one question; `judge(q, answer)` says whether an
answer is right for a question its solver completed (None, or the message a fixed exercise
would give); `problems(q)` lists what would make a completed question unfair (a mistake equal
to the answer or to another mistake, a number on a rounding edge, not exactly one right option).
"""


def _install_questions(api):
    import base64
    import contextlib
    import hashlib
    import html
    import json
    import math
    import os
    import re
    import warnings
    import zlib

    import torch
    from torch import nn
    from torch.nn.utils.rnn import pack_padded_sequence

    sha256 = hashlib.sha256
    int_, str_, tuple_, list_, len_, range_, sorted_, sum_ = int, str, tuple, list, len, range, sorted, sum
    dict_, set_, enumerate_, isinstance_, print_, bool_, any_ = dict, set, enumerate, isinstance, print, bool, any
    lstm_type, zeros, no_grad, mkldnn_off = nn.LSTM, torch.zeros, torch.no_grad, torch.backends.mkldnn.flags
    LETTERS = "ABCD"
    LEVELS = ("easy", "medium", "hard")
    TEST_LAYOUT = [("q1", "easy"), ("q2", "easy"), ("q3", "easy"), ("q4", "medium"), ("q5", "medium"),
                   ("q6", "medium"), ("q7", "medium"), ("q8", "hard"), ("q9", "hard"), ("q10", "hard")]
    REASONING = 6  # of a course test's 10 questions, at least this many need reasoning
    LSTM_DEFAULTS = {"num_layers": 1, "bias": True, "batch_first": False, "dropout": 0.0, "bidirectional": False,
                     "proj_size": 0}
    TEMPLATES = {}
    FORMS = {"shape": "a shape, such as (2, 3, 4)", "int": "a whole number, such as 120",
             "choice": "a letter: A, B, C or D", "lstm": "a layer, such as nn.LSTM(4, 8, batch_first=True)",
             "float": "a number, such as 0.427", "floats": "two numbers, as a tuple such as (0.427, -0.25)"}

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

    def template(name, difficulty, kind, lesson, tag, pool):
        """Register a renderer: make(d) returns {"text", "given", ...} from the draws alone, or None to draw again."""
        assert difficulty in LEVELS and kind in FORMS and tag in ("recall", "reasoning"), (name, difficulty, kind, tag)

        def register(make):
            TEMPLATES[name] = {"name": name, "difficulty": difficulty, "kind": kind, "lesson": lesson, "tag": tag,
                               "pool": pool, "render": make}
            return make
        return register

    # --- running torch: helpers any question may use (they compute what a student can run, not a key) -------

    @contextlib.contextmanager
    def plain_cpu():
        """No autograd, no warnings (proj_size and one-layer dropout warn), and PyTorch's own LSTM kernel:
        oneDNN builds one for every new shape, up to 0.4 s each here, where PyTorch's takes milliseconds."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with no_grad(), mkldnn_off(enabled=False):
                yield

    def run(cfg, steps, batch, lengths=None):
        """(output, h_n, c_n) shapes of nn.LSTM(**cfg) on an input of `steps` x `batch` (packed when lengths), and
        the layer."""
        with plain_cpu():  # no seed: shapes do not depend on the weights
            layer = lstm_type(**cfg)
            shape = (batch, steps, cfg["input_size"]) if cfg.get("batch_first") else (steps, batch, cfg["input_size"])
            x = zeros(shape)
            if lengths is not None:
                x = pack_padded_sequence(x, lengths, batch_first=bool_(cfg.get("batch_first")), enforce_sorted=False)
            output, (h_n, c_n) = layer(x)
        out_shape = tuple_(output.data.shape) if lengths is not None else tuple_(output.shape)
        return out_shape, tuple_(h_n.shape), tuple_(c_n.shape), layer

    def count(cfg):
        """How many numbers nn.LSTM(**cfg) learns."""
        with plain_cpu():
            return sum_(p.numel() for p in lstm_type(**cfg).parameters())

    def slices_equal(cfg, steps, batch, slices, target):
        """Which of `slices` (Python source over output, h_n, c_n) equal `target`, by running torch on random x."""
        with plain_cpu():
            torch.manual_seed(1)
            layer = lstm_type(**cfg)
            shape = (batch, steps, cfg["input_size"]) if cfg.get("batch_first") else (steps, batch, cfg["input_size"])
            output, (h_n, c_n) = layer(torch.randn(shape))
            scope = {"output": output, "h_n": h_n, "c_n": c_n, "torch": torch}
            return equal_to(scope, slices, target)

    def equal_to(scope, slices, target):
        """For each expression of `slices`, whether it evaluates to `target`'s shape and values (an error: no)."""
        want = eval(target, {}, scope)  # noqa: S307 - trusted: a template's own source text
        found = []
        for s in slices:
            try:
                got = eval(s, {}, scope)  # noqa: S307
                # A loose tolerance: a packed run and an unpacked one differ in the last bits, wrong options by far.
                found.append(tuple_(got.shape) == tuple_(want.shape) and bool_(torch.allclose(got, want, atol=1e-5)))
            except Exception:
                found.append(False)
        return found

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

    def choices(d, text, candidates):
        """A multiple-choice question from a fixed list of (option id, shown text): every option, shuffled by
        the draws. Which one is right is the solver's business."""
        shown = d.shuffled(candidates)
        lines = [text, ""] + [f"- {LETTERS[i]}. {o[1]}" for i, o in enumerate_(shown)] + ["", "Give the letter."]
        return {"text": "\n".join(lines), "choices": [list_(o) for o in shown]}

    def code(text):
        return f"`{text}`"

    # --- one question ---------------------------------------------------------------------------------

    def question(name, student, qid, salt, accept=None):
        """The question `qid` of template `name` for this student, rendered from its draws (no answer).
        accept(q): a further condition (a practice template's own, which may solve the question)."""
        spec = TEMPLATES[name]
        d = Draws(salt, student, qid)
        for _ in range_(500):
            made = spec["render"](d)
            if made is None:
                continue
            q = dict_(made, template=name, kind=spec["kind"], difficulty=spec["difficulty"], lesson=spec["lesson"],
                      tag=spec["tag"], pool=spec["pool"], qid=qid, student=student)
            if "choices" in q:
                q["options"] = LETTERS[:len_(q["choices"])]
            if accept is None or accept(q):
                return q
        raise RuntimeError(f"template {name} found no question for {student!r}, {qid!r}")

    def answer_key(q, value):
        """What decides whether two answers of q's kind are the same (numbers: rounded to q's decimals)."""
        if q["kind"] in ("float", "floats"):
            return api["number_key"](q["qid"], value if q["kind"] == "float" else tuple_(value), q["decimals"])
        if q["kind"] == "lstm":  # a layer is judged by its settings: compare them, defaults filled in
            settings = dict_(LSTM_DEFAULTS, **value)
            return repr(sorted_(dict_(settings, dropout=float(settings["dropout"])).items()))
        return repr(sorted_(api["describe"](value if q["kind"] != "shape" else tuple_(value)).items()))

    def problems(q):
        """What makes a completed question (answer and mistakes filled in) unfair; [] when nothing does."""
        found = []
        keys = [answer_key(q, q["answer"])] + [answer_key(q, wrong) for wrong, _ in q["mistakes"]]
        if len_(set_(keys)) != len_(keys):
            found.append("a named mistake equals the answer or another mistake")
        if any_(not message for _, message in q["mistakes"]):
            found.append("a named mistake without its hint")
        if q["kind"] in ("float", "floats"):
            values = [q["answer"]] if q["kind"] == "float" else list_(q["answer"])
            if any_(api["near_edge"](v, q["decimals"]) for v in values):
                found.append(f"the answer lies within {api['number_edge']} of a rounding edge")
        if q["kind"] == "choice":
            letters = [q["answer"]] + [m for m, _ in q["mistakes"]]
            if q.get("right", 1) != 1 or any_(x not in q["options"] for x in letters):
                found.append("not exactly one right option")
        return found

    def judge(q, answer):
        """None if `answer` is right for the completed question q, else the message a fixed exercise would give."""
        qid = q["qid"]
        try:
            if q["kind"] == "choice":
                api["expect_choice"](qid, answer, q["answer"], options=q["options"], mistakes=q["mistakes"])
            elif q["kind"] == "float":
                api["expect_float"](qid, answer, q["answer"], q["decimals"], mistakes=q["mistakes"])
            elif q["kind"] == "floats":
                api["expect_floats"](qid, answer, q["answer"], q["decimals"], mistakes=q["mistakes"])
            else:
                expect = {"shape": api["expect_shape"], "int": api["expect_int"], "lstm": api["expect_lstm"]}
                expect[q["kind"]](qid, answer, q["answer"], mistakes=q["mistakes"])
        except AssertionError as err:
            return str_(err)
        return None

    def chosen(q, answer):
        """The option id a multiple-choice answer picked (None when it is not one of the letters)."""
        if q["kind"] != "choice":
            return None
        data = api["describe"](answer)
        if data.get("kind") != "choice" or data["value"] not in q["options"]:
            return None
        return q["choices"][q["options"].index(data["value"])][0]

    # --- each student's templates ---------------------------------------------------------------------

    def pool_names(pool, difficulty):
        return sorted_(n for n, t in TEMPLATES.items() if t["pool"] == pool and t["difficulty"] == difficulty)

    def draw_set(pool, student, salt, quota=0):
        """{qid: template} of a 10-question test: 3 easy, 4 medium, 3 hard of `pool`, at least `quota` of them
        tagged reasoning; uniform over such sets (drawn until one meets the quota)."""
        d = Draws(salt, student, "templates")
        sizes = {level: sum_(1 for _, lv in TEST_LAYOUT if lv == level) for level in LEVELS}
        for _ in range_(1000):
            picked = {level: d.shuffled(pool_names(pool, level))[:sizes[level]] for level in LEVELS}
            if sum_(TEMPLATES[n]["tag"] == "reasoning" for names in picked.values() for n in names) >= quota:
                return {qid: picked[level][sum_(1 for q, lv in TEST_LAYOUT[:i] if lv == level)]
                        for i, (qid, level) in enumerate_(TEST_LAYOUT)}
        raise RuntimeError("no template set meets the quota")

    def count_sets(pool, quota=0):
        """How many distinct template sets draw_set can give: computed, not sampled."""
        def ways(n, k):
            return math.comb(n, k) if 0 <= k <= n else 0
        per_level = []
        for level in LEVELS:
            size = sum_(1 for _, lv in TEST_LAYOUT if lv == level)
            names = pool_names(pool, level)
            reasoning = sum_(TEMPLATES[n]["tag"] == "reasoning" for n in names)
            per_level.append({r: ways(reasoning, r) * ways(len_(names) - reasoning, size - r)
                              for r in range_(size + 1)})
        total = 0
        for a, ea in per_level[0].items():
            for b, eb in per_level[1].items():
                for c, ec in per_level[2].items():
                    if a + b + c >= quota:
                        total += ea * eb * ec
        return total

    # --- text: Markdown for widgets and Jupyter, plain text for print ------------------------------------

    def as_html(text):
        """A question's Markdown (`code`, **bold**, "- A." option lines) as HTML for a widget."""
        out, items = [], []
        for block in str_(text).split("\n\n"):
            lines = block.split("\n")
            if all(line.startswith("- ") for line in lines if line.strip()):
                items = "".join(f"<li>{inline_html(line[2:])}</li>" for line in lines if line.strip())
                out.append(f"<ul style=\"list-style: none; padding-left: 1em\">{items}</ul>")
            else:
                out.append("<p>" + "<br>".join(inline_html(line) for line in lines) + "</p>")
        return "".join(out)

    def inline_html(line):
        line = html.escape(line, quote=False)
        line = re.sub(r"`([^`]+)`", r"<code>\1</code>", line)
        return re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", line)

    def question_markdown(q):
        """What show_question displays: the difficulty, the question, and the form its answer takes."""
        return f"**{q['difficulty'].capitalize()}.** {q['text']}\n\n*Answer with {FORMS[q['kind']]}.*"

    def plain_text(text):
        """A question's Markdown as plain text: no backticks, no bold marks."""
        return str_(text).replace("`", "").replace("**", "")

    # --- progress that survives Colab's resets: the drill's and the review's -----------------------------

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

    def kept_state(folder, name, what):
        """The state string keep_state saved as folder/name."""
        path = os.path.join(folder, name)
        if not os.path.exists(path):
            raise FileNotFoundError(f"No saved {what} at {path}: mount Drive, or pass the state string.")
        with open(path) as f:
            return json.load(f)["state"]

    api.update({"templates": TEMPLATES, "template": template, "draws": Draws, "question": question,
                "judge_question": judge, "question_problems": problems, "chosen_option": chosen,
                "draw_set": draw_set, "count_sets": count_sets, "pool_names": pool_names,
                "TEST_LAYOUT": TEST_LAYOUT, "REASONING": REASONING, "LEVELS": LEVELS, "FORMS": FORMS,
                "plain_cpu": plain_cpu, "run": run, "count_parameters": count, "slices_equal": slices_equal,
                "equal_to": equal_to, "call": call, "input_text": input_text, "without": without,
                "choices": choices, "code": code, "as_html": as_html, "plain_text": plain_text,
                "question_markdown": question_markdown,
                "encode_state": encode_state, "decode_state": decode_state, "keep_state": keep_state,
                "kept_state": kept_state})


_install_questions(_course_answers)
del _install_questions
