"""Spot the bug, for notebooks/bugs.ipynb: `show_bug(k)`, `name_line(k, n)`, `fix(k, n, "...")`, `bugs_progress()`.

`python -m course.build` pastes this file into the hidden "bugs" code cell of notebooks/bugs.ipynb,
after the checks cell. Edit it here, never in the notebook.

Twelve short programs, each with exactly one classic torch.nn.LSTM (or GRU) bug. Silent ones run and give a
wrong number: `show_bug(k)` runs the program and prints the number next to the right one, computed
another way. Loud ones raise: `show_bug(k)` prints the real error torch raised and the line it came
from (which is not always the buggy line). The learner names the buggy line, then fixes it:
`fix(k, n, text)` puts `text` in place of line n, runs the changed program in a fresh namespace and
judges it only by running it, so any correct spelling passes and a wrong one is told what still fails.

The right lines are stored only as salted sha256 digests (`digest(k, n)`), so reading this cell does
not give them away at a glance; tests/test_bugs.py checks each digest against the line meant.
Every message is printed, never raised: a learner's wrong guess or broken fix shows no traceback.
"""


def _install_bugs():
    import copy
    import hashlib
    import textwrap
    import traceback

    import torch
    from torch import nn

    SALT = "lstm-course/spot-the-bug"

    def digest(k, line):
        return hashlib.sha256(f"{SALT}|{k}|{line}".encode()).hexdigest()[:24]

    class Missing(Exception):
        """The changed program no longer makes a name the check reads."""

    def need(ns, *names):
        values = []
        for name in names:
            if name not in ns:
                raise Missing(f"the program no longer defines `{name}`, which the check reads")
            values.append(ns[name])
        return values if len(values) > 1 else values[0]

    def nums(t, n=4):
        values = t.detach().reshape(-1)[:n].tolist()
        return "[" + ", ".join(f"{v:.3f}" for v in values) + (", ...]" if t.numel() > n else "]")

    def same(a, b):
        return isinstance(a, torch.Tensor) and a.shape == b.shape and torch.allclose(a, b, atol=1e-6)

    def shape(t):
        return tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__

    def described(t):
        if not isinstance(t, torch.Tensor):
            return f"a {type(t).__name__}, not a tensor"
        return f"shape {shape(t)}" + (f", row 0 = {nums(t[0], 6)}" if t.dim() > 1 else f" = {nums(t, 6)}")

    # Each probe reads the program's namespace after it ran, computes the right value another way and
    # returns (symptom gone?, the lines that show it). Loud bugs' probes run only once nothing raised.

    def probe_h0(ns):
        lstm, x, start, output = need(ns, "lstm", "x", "start", "output")
        layers, n, h = lstm.num_layers, x.shape[0], lstm.hidden_size
        lines, ok = [], True
        if "h0" in ns:
            lines.append(f"h0.shape = {shape(ns['h0'])}; torch expects (num_layers, N, H) = {(layers, n, h)}")
        with torch.no_grad():
            for i in range(n):
                alone, _ = lstm(x[i:i + 1], (start[i].expand(layers, 1, h).contiguous(), torch.zeros(layers, 1, h)))
                equal = same(output[i:i + 1], alone)
                ok &= equal
                lines.append(f"sequence {i}'s last output, in the batch:           {nums(output[i, -1])}")
                lines.append(f"sequence {i}'s last output, run alone from start[{i}]: {nums(alone[0, -1])}; "
                             f"equal? {equal}")
        return ok, lines

    def probe_last_step(ns):
        lstm, x, last = need(ns, "lstm", "x", "last")
        with torch.no_grad():
            want = lstm(x)[1][0][-1]
        equal = same(last, want)
        return equal, [f"last: {described(last)}",
                       f"each sequence's last step, h_n[-1]: {described(want)}",
                       f"last equals h_n[-1]? {equal}"]

    def probe_bidirectional(ns):
        lstm, x, final = need(ns, "lstm", "x", "final")
        with torch.no_grad():
            h_n = lstm(x)[1][0]
        want = torch.cat([h_n[-2], h_n[-1]], dim=1)
        h = lstm.hidden_size
        lines = [f"final: {described(final)}",
                 f"both final states: {described(want)}"]
        if isinstance(final, torch.Tensor) and final.shape == want.shape:
            lines.append(f"forward half equal? {same(final[:, :h], want[:, :h])}; "
                         f"backward half equal? {same(final[:, h:], want[:, h:])}")
        equal = same(final, want)
        lines.append(f"final equals torch.cat([h_n[0], h_n[1]], dim=1)? {equal}")
        return equal, lines

    def probe_per_sequence(ns):
        lstm, x, per_seq = need(ns, "lstm", "x", "per_seq")
        with torch.no_grad():
            h_n = lstm(x)[1][0]
        # Sequence i's final states, layer by layer, picked one by one.
        want = torch.stack([torch.cat([h_n[layer, i] for layer in range(h_n.shape[0])]) for i in range(x.shape[0])])
        lines = [f"h_n: shape {shape(h_n)}; (num_layers, N, H) = {(lstm.num_layers, len(x), lstm.hidden_size)}",
                 f"per_seq: shape {shape(per_seq)}; want one row per sequence: {shape(want)}"]
        if isinstance(per_seq, torch.Tensor) and per_seq.shape == want.shape:
            lines.append(f"per_seq[0] = {nums(per_seq[0])}")
            lines.append(f"sequence 0's final states, h_n[0, 0] then h_n[1, 0]: {nums(want[0])}")
            lines.append(f"row i holds sequence i's states? {[same(per_seq[i], want[i]) for i in range(len(want))]}")
        equal = same(per_seq, want)
        return equal, lines

    def probe_padded(ns):
        lstm, x, lengths, last = need(ns, "lstm", "x", "lengths", "last")
        with torch.no_grad():
            # Each sequence alone, without its padding: its own last step.
            want = torch.stack([lstm(x[i:i + 1, :int(n)])[1][0][-1, 0] for i, n in enumerate(lengths)])
        lines = [f"lengths = {[int(n) for n in lengths]}; last: shape {shape(last)}"]
        if isinstance(last, torch.Tensor) and last.shape == want.shape:
            rows = [same(last[i], want[i]) for i in range(len(want))]
            lines.append(f"last[1] = {nums(last[1])}; sequence 1 run alone (its {int(lengths[1])} steps): "
                         f"{nums(want[1])}")
            lines.append(f"row i is sequence i's own last step? {rows}")
        return same(last, want), lines

    def probe_chunks(ns):
        lstm, x = need(ns, "lstm", "x")
        grads = [p.grad for p in lstm.parameters()]
        if any(g is None for g in grads):
            return False, ["no gradient reached the LSTM's weights"]

        def reference(cut):
            # Chunk by chunk from the same weights; cut: each backward stops at the state its chunk was handed.
            ref = copy.deepcopy(lstm)
            ref.zero_grad(set_to_none=True)
            h = c = torch.zeros(ref.num_layers, x.shape[0], ref.hidden_size)
            for chunk in x.split(10, dim=1):
                output, (h, c) = ref(chunk, (h.detach(), c.detach()) if cut else (h, c))
                output.pow(2).mean().backward(retain_graph=not cut)
            return all(same(g, p.grad) for g, p in zip(grads, ref.parameters()))

        equal = reference(cut=True)
        lines = [f"gradients equal those of training chunk by chunk from the last state, detached? {equal}"]
        if not equal and reference(cut=False):
            lines.append("they are those of backpropagating through all the earlier chunks too "
                         "(retain_graph=True keeps that graph)")
        return equal, lines

    def probe_last_batch(ns):
        lstm, data, size, h_n = need(ns, "lstm", "data", "B", "h_n")
        batch = data.split(size)[-1]
        with torch.no_grad():
            want = lstm(batch)[1][0]
        equal = same(h_n, want)
        return equal, [f"the last batch has {len(batch)} sequences and h_n has shape {shape(h_n)}",
                       f"h_n equals the last batch's own final state, started from zeros? {equal}"]

    def probe_sizes(ns):
        lstm, features, hidden, x, scores = need(ns, "lstm", "features", "hidden", "x", "scores")
        ok = lstm.input_size == features and lstm.hidden_size == hidden and shape(scores) == (len(x), 2)
        return ok, [f"lstm reads {lstm.input_size} features a step and keeps {lstm.hidden_size} "
                    f"(features = {features}, hidden = {hidden}); scores: shape {shape(scores)}"]

    def probe_sequential(ns):
        lstm, head, x, scores = need(ns, "lstm", "head", "x", "scores")
        with torch.no_grad():
            want = head(lstm(x)[0])
        equal = same(scores, want)
        return equal, [f"scores: shape {shape(scores)}, want {shape(want)} (a pair of scores a step)",
                       f"scores equal head(output)? {equal}"]

    def probe_gru_state(ns):
        gru, x, top = need(ns, "gru", "x", "top")
        with torch.no_grad():
            want = gru(x)[1][-1]
        equal = same(top, want)
        return equal, [f"top: {described(top)}",
                       f"the top layer's final state, h_n[-1] of the GRU's (output, h_n): {described(want)}",
                       f"top equals it? {equal}"]

    def probe_forget_bias(ns):
        lstm = need(ns, "lstm")
        h, lines, ok = lstm.hidden_size, [], True
        for name, p in lstm.named_parameters():
            if name.startswith("bias_ih"):
                total = (p + getattr(lstm, name.replace("bias_ih", "bias_hh")))[h:2 * h].detach()
                right = torch.allclose(total, torch.ones_like(total))
                ok &= right
                lines.append(f"{name[len('bias_ih_'):]}: the forget gate's bias_ih + bias_hh = {nums(total)}; "
                             f"all 1? {right}")
        return ok, lines

    def probe_padded_loss(ns):
        logits, tags, lengths, loss = need(ns, "logits", "tags", "lengths", "loss")
        # The mean over the real steps, token by token: each sequence's own steps, whatever the padding holds.
        real = int(lengths.sum())
        with torch.no_grad():
            want = sum(nn.functional.cross_entropy(logits[i, :n], tags[i, :n], reduction="sum")
                       for i, n in enumerate(lengths.tolist())) / real
        value = float(loss.detach()) if isinstance(loss, torch.Tensor) and loss.numel() == 1 else None
        equal = value is not None and abs(value - float(want)) < 1e-5
        lines = [f"loss = {value:.4f}" if value is not None else f"loss: {described(loss)}",
                 f"the mean over the {real} real steps only (of {tags.numel()}): {float(want):.4f}; equal? {equal}"]
        grad = getattr(logits, "grad", None)
        if isinstance(grad, torch.Tensor):
            padded = torch.arange(tags.shape[1])[None, :] >= lengths[:, None]
            lines.append(f"the largest gradient at a padded step: {grad[padded].abs().max().item():.4f}")
            equal = equal and bool((grad[padded] == 0).all())
        return equal, lines

    # k: (title, program, probe, digest of the right line, {wrong line: its nudge}, the nudge for any
    # other wrong line). The right line is there only as its digest.
    BUGS = {
        1: ("h0 for a two-layer LSTM", """\
N, L, H = 2, 2, 3                               # 2 sequences, 2 layers
lstm = nn.LSTM(4, H, num_layers=L, batch_first=True)
x = torch.randn(N, 5, 4)                        # (N, T, features)
start = torch.randn(N, H)                       # each sequence's own first state
h0 = torch.stack([start] * L, dim=1)            # every layer starts from it
c0 = torch.zeros(L, N, H)
output, (h_n, c_n) = lstm(x, (h0, c0))
""", probe_h0, "9ce71bc1ad8c1017b4a2264e",
            {7: "Not line 7: the LSTM uses the states it is handed, and their shapes passed its check. "
                "Were they built in the order it reads them?"},
            "Compare each state's shape with (num_layers, N, H): which size comes first?"),
        2: ("the last step, batch first", """\
lstm = nn.LSTM(4, 3, batch_first=True)
x = torch.randn(2, 5, 4)                        # 2 sequences of 5 steps
output, (h_n, c_n) = lstm(x)
last = output[-1]                               # the last step of every sequence
scores = nn.Linear(3, 1)(last)
""", probe_last_step, "a8f7d9e2711012accc403870",
            {}, "Which dimension of output counts steps when batch_first=True?"),
        3: ("both directions' final states", """\
H = 3
lstm = nn.LSTM(4, H, batch_first=True, bidirectional=True)
x = torch.randn(2, 5, 4)
output, (h_n, c_n) = lstm(x)                    # output: (N, T, 2 * H)
final = output[:, -1]                           # both directions' final states
scores = nn.Linear(2 * H, 1)(final)
""", probe_bidirectional, "26c6533989d5c1b3170be6b5",
            {}, "Where in time does the backward direction finish reading?"),
        4: ("final states per sequence", """\
N, H = 3, 2
lstm = nn.LSTM(4, H, num_layers=2, batch_first=True)
x = torch.randn(N, 5, 4)
output, (h_n, c_n) = lstm(x)                    # h_n: (layers, N, H)
per_seq = h_n.view(N, -1)                       # each sequence's final states, layers side by side
scores = nn.Linear(2 * H, 1)(per_seq)
""", probe_per_sequence, "af54dcc9737a68f6a1ab7fc7",
            {}, "Even batch_first=True leaves h_n with layers first: what does a view of it put together?"),
        5: ("padded sequences", """\
lstm = nn.LSTM(4, 3, batch_first=True)
lengths = torch.tensor([5, 2, 3])
x = torch.randn(3, 5, 4)
x[torch.arange(5) >= lengths[:, None]] = 0      # zero padding after each sequence's end
output, (h_n, c_n) = lstm(x)
last = output[:, -1]                            # each sequence's last step
""", probe_padded, "52e578db8035aab14cbb7ea8",
            {5: "Not line 5: running the padded batch is allowed, and the padding comes after each sequence's "
                "steps, so the outputs up to each sequence's end are its own. Which steps are read?"},
            "Which step is each sequence's last real one?"),
        6: ("a long sequence in chunks", """\
lstm = nn.LSTM(4, 3, batch_first=True)
x = torch.randn(2, 20, 4)                       # one long batch of sequences, in chunks of 10 steps
h = torch.zeros(1, 2, 3)
c = torch.zeros(1, 2, 3)
for chunk in x.split(10, dim=1):
    output, (h, c) = lstm(chunk, (h, c))
    loss = output.pow(2).mean()
    loss.backward()
""", probe_chunks, "3c55175a6aba4d8836d86995",
            {8: "Not line 8: that is where it fails, not where it goes wrong. What does the second chunk's "
                "graph still hang on to?"},
            "What does each chunk carry over from the one before it, besides numbers?"),
        7: ("the smaller last batch", """\
B, H = 4, 3
lstm = nn.LSTM(5, H, batch_first=True)
def init_hidden(batch_size):
    return torch.zeros(1, batch_size, H), torch.zeros(1, batch_size, H)
data = torch.randn(10, 6, 5)                    # 10 sequences, in batches of B
for batch in data.split(B):
    output, (h_n, c_n) = lstm(batch, init_hidden(B))
""", probe_last_batch, "d0f98a97bfbc390b44403f56",
            {4: "Not line 4: init_hidden makes states of whatever batch size it is asked for. What is it asked?"},
            "How many sequences does each batch really have? Count the last one."),
        8: ("sizes in the constructor", """\
features, hidden = 10, 32
lstm = nn.LSTM(hidden, features, batch_first=True)
x = torch.randn(4, 7, features)                 # 4 sequences, 7 steps, 10 features each
output, (h_n, c_n) = lstm(x)
scores = nn.Linear(hidden, 2)(output[:, -1])
""", probe_sizes, "20cb01ed60abbf91922ec735",
            {4: "Not line 4: that is where it fails, not where it goes wrong. What does the error say the LSTM "
                "expected, and where was it told that?"},
            "Read the error: which size did the LSTM expect, and where did it get it from?"),
        9: ("an LSTM in nn.Sequential", """\
lstm = nn.LSTM(4, 8, batch_first=True)
head = nn.Linear(8, 2)
model = nn.Sequential(lstm, head)
x = torch.randn(3, 6, 4)
scores = model(x)                               # a pair of scores for each step
""", probe_sequential, "fbbf1fe22d7e134915f156fd",
            {5: "Not line 5: that is where it fails, not where it goes wrong. What does each piece of model "
                "hand to the next?"},
            "What does calling an nn.LSTM return, and what does nn.Linear want?"),
        10: ("a GRU's final state", """\
gru = nn.GRU(4, 3, num_layers=2, batch_first=True)
x = torch.randn(2, 5, 4)                        # 2 sequences of 5 steps
output, (h_n, c_n) = gru(x)                     # the final states
top = h_n[-1]                                   # the top layer's final state
scores = nn.Linear(3, 1)(top)
""", probe_gru_state, "0637c84266b4906807bca5ea",
            {4: "Not line 4: h_n[-1] is the top layer's row of a recurrent layer's final state. Is h_n here "
                "what the GRU returned?"},
            "How many states does a GRU carry, and so what does calling it return?"),
        11: ("the forget-gate bias of a deeper LSTM", """\
lstm = nn.LSTM(4, 3, num_layers=2, batch_first=True)
H = lstm.hidden_size
with torch.no_grad():                           # start out remembering: forget-gate bias 1
    for layer in range(1):
        getattr(lstm, f"bias_ih_l{layer}")[H:2 * H].fill_(1.0)
        getattr(lstm, f"bias_hh_l{layer}")[H:2 * H].zero_()
""", probe_forget_bias, "7256b928c5f3c2588b86a69c",
            {5: "Not line 5: rows H to 2H are the forget gate's, and bias_ih's are set to 1 there. In which layers?",
             6: "Not line 6: zeroing bias_hh's forget rows makes bias_ih's value the total. In which layers?"},
            "Which layers does the loop visit, and how many does the LSTM have?"),
        12: ("a tagger's loss over padded sequences", """\
lengths = torch.tensor([6, 2, 4])
tags = nn.utils.rnn.pad_sequence([torch.randint(1, 4, (n,)) for n in lengths.tolist()],
                                 batch_first=True)    # tags 1 to 3, padded with 0
logits = torch.randn(3, 6, 4, requires_grad=True)     # a tagger's logits: (N, L, 4 tags)
loss = nn.functional.cross_entropy(logits.reshape(-1, 4), tags.reshape(-1))  # the mean over the real steps
loss.backward()
""", probe_padded_loss, '614029533640dbf978d2161b',
            {2: "Not line 2: padding the tags with 0 is what pad_sequence does. 0 is a tag the model can give, "
                "though: which line decides whether the padded steps count?"},
            "Which steps does the mean run over, and what is the tag of a padded step?"),
    }
    LOUD = {6, 7, 8, 9}
    progress = {k: {"named": False, "fixed": False} for k in BUGS}

    def source(k):
        return BUGS[k][1].rstrip("\n")

    def run(k, lines):
        """Run a program in a fresh namespace, with the bug's own seed: (namespace, error or None)."""
        ns = {"__name__": f"bug{k}", "torch": torch, "nn": nn}
        # fork_rng: running a bug must not shift the notebook's random numbers.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(k)
            try:
                exec(compile("\n".join(lines) + "\n", f"<bug {k}>", "exec"), ns)
            except Exception as err:
                return ns, err
        return ns, None

    def error_text(k, err):
        if isinstance(err, SyntaxError):
            return f"SyntaxError: {err.msg} (line {err.lineno})"
        where = [f.lineno for f in traceback.extract_tb(err.__traceback__) if f.filename == f"<bug {k}>"]
        at = f" at line {where[-1]}" if where else ""
        message = str(err).strip().splitlines()[0] if str(err).strip() else "(no message)"
        return f"{type(err).__name__}{at}:\n" + textwrap.fill(message, 96, initial_indent="  ",
                                                              subsequent_indent="  ")

    def judge(k, lines):
        """(symptom gone?, report lines, raised?) of a program: its error, or what its probe saw."""
        ns, err = run(k, lines)
        if err is not None:
            return False, [error_text(k, err)], True
        try:
            with torch.random.fork_rng(devices=[]):
                return (*BUGS[k][2](ns), False)
        except Missing as miss:
            return False, [str(miss)], False
        except Exception as err:  # the changed program made something the check cannot read
            return False, [f"checking its result failed: {type(err).__name__}: {err}"], False

    def block(report):
        return "\n".join(textwrap.fill(line, 108, initial_indent="  ", subsequent_indent="    ") for line in report)

    def listing(lines):
        return "\n".join(f"{n:>3}  {line}" for n, line in enumerate(lines, 1))

    def bad_bug(k):
        if isinstance(k, bool) or not isinstance(k, int) or k not in BUGS:
            return f"There are bugs 1 to {len(BUGS)}: pick one of them, e.g. show_bug(1)."
        return None

    def line_number(k, n):
        """(the line number, None) or (None, what to type instead)."""
        if n is None:
            return None, "Type your answer: replace None with the number of the line you think holds the bug."
        if isinstance(n, str) and n.strip().isdigit():
            n = int(n)
        if isinstance(n, bool) or not isinstance(n, int):
            return None, "The line number is a whole number, as printed by show_bug()."
        count = len(source(k).splitlines())
        if not 1 <= n <= count:
            return None, f"Bug {k} has lines 1 to {count}."
        return n, None

    def show_text(k):
        lines = source(k).splitlines()
        head = f"Bug {k}: {BUGS[k][0]}  (torch and nn are imported; seeded with torch.manual_seed({k}))"
        ok, report, raised = judge(k, lines)
        if raised:
            ran = "Running it raises " + report[0]
        else:
            ran = "Running it: no error. " + \
                ("" if ok else "The numbers, next to the right ones computed another way:") + "\n" + block(report)
        return f"{head}\n{listing(lines)}\n\n{ran}"

    def name_text(k, n):
        problem = bad_bug(k)
        if problem:
            return problem
        n, problem = line_number(k, n)
        if problem:
            return problem
        if digest(k, n) == BUGS[k][3]:
            progress[k]["named"] = True
            return f"Right: line {n} is the bug. Now fix it: fix({k}, {n}, \"...your line...\")."
        return textwrap.fill(BUGS[k][4].get(n) or f"Not line {n}. {BUGS[k][5]}", 100)

    def fix_text(k, n, text):
        problem = bad_bug(k)
        if problem:
            return problem
        n, problem = line_number(k, n)
        if problem and problem.startswith("Type"):
            return ("Type your answer: the number of the line you change, and your fixed line as text, "
                    f"as in fix({k}, line_number, \"the line as it should be\").")
        if problem:
            return problem
        if not isinstance(text, str) or not text.strip():
            return "Type your fixed line between the quotes: it replaces the whole line."
        lines = source(k).splitlines()
        # Keep the replaced line's indentation, whatever the learner typed in front of theirs.
        indent = lines[n - 1][:len(lines[n - 1]) - len(lines[n - 1].lstrip())]
        new = textwrap.dedent(text.strip("\n")).splitlines()
        lines[n - 1:n] = [indent + line for line in new]
        ok, report, raised = judge(k, lines)
        if ok:
            progress[k]["fixed"] = True
            return f"Fixed! With your line {n}, the program runs and the symptom is gone:\n" + block(report)
        return ("Not fixed yet: with your line, it raises " + report[0]) if raised else \
            "Not fixed yet: with your line it runs, but:\n" + block(report)

    def progress_text():
        named = sum(p["named"] for p in progress.values())
        fixed = sum(p["fixed"] for p in progress.values())
        rows = [f"Spot the bug: {named} of {len(BUGS)} named, {fixed} of {len(BUGS)} fixed."]
        for k, p in progress.items():
            rows.append(f"  bug {k} ({'loud' if k in LOUD else 'silent'}, {BUGS[k][0]}): "
                        f"{'named' if p['named'] else 'not named yet'}, {'fixed' if p['fixed'] else 'not fixed yet'}")
        return "\n".join(rows)

    def show_bug(k):
        """Print bug k's numbered program, run it, and print its symptom."""
        print(bad_bug(k) or show_text(k))

    def name_line(k, n):
        """Print whether line n of bug k is its bug (a wrong pick gets a nudge, never the answer)."""
        print(name_text(k, n))

    def fix(k, n, text):
        """Put `text` in place of line n of bug k, run the changed program, print whether the symptom is gone."""
        print(fix_text(k, n, text))

    def bugs_progress():
        """Print which bugs are named and fixed."""
        print(progress_text())

    api = {"bugs": BUGS, "loud": LOUD, "digest": digest, "source": source, "run": run, "judge": judge,
           "show_text": show_text, "name_text": name_text, "fix_text": fix_text, "progress_text": progress_text,
           "progress": progress}
    return show_bug, name_line, fix, bugs_progress, api


show_bug, name_line, fix, bugs_progress, _spot_bugs = _install_bugs()
del _install_bugs
