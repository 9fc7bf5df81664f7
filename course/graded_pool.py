"""The course test: its pool of templates, rendered from each student's draws, and its cells' API
(pasted after course/questions.py into the checks cell of source/course_test only).

Each student's 10 questions (3 easy, 4 medium, 3 hard, at least 6 of them tagged reasoning) are
drawn from this pool with the term's salt and their student id. This file only *renders* them:
their text, the numbers they give, their options shuffled. Nothing here computes an answer or a
named mistake. The key that does (course/graded_key/) reaches a notebook only inside the hidden
tests of source/course_test, compressed: `expect_generated(qid, answer_qN, key=...)` runs it on
the student's question, judges the answer, and keeps nothing of it (course/hidden_key.py).

A numeric question draws its numbers from a vetted table: every entry was solved by the key
and kept only when its answer lies well inside a rounding bin and no named mistake rounds to
the answer or to another mistake (`python -m course.graded_key vet` rebuilds the tables).
"""


def _install_graded_pool(api):
    import os

    int_, str_, len_, range_, list_, max_, min_, sorted_, set_ = int, str, len, range, list, max, min, sorted, set
    print_, isinstance_, dict_ = print, isinstance, dict
    template, choices, call, input_text, code = (api[k] for k in ("template", "choices", "call", "input_text", "code"))
    fail, describe = api["fail"], api["describe"]
    POOL, LETTERS = "graded", "ABCD"
    DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcde"  # a vetted table's numbers, -15 to 15, one character each
    state = {"salt": None, "grading": None, "typed": None, "record": False, "item": None}

    def entry(d, table, width):
        """One entry of a vetted table: `width` whole numbers from -15 to 15."""
        k = d.below(len_(table) // width)
        return [DIGITS.index(ch) - 15 for ch in table[k * width:(k + 1) * width]]

    def tenths(n):
        return f"{n / 10:.1f}"

    # --- easy ---------------------------------------------------------------------------------------------

    @template("constructor", "easy", "lstm", "01_syntax", "recall", POOL)
    def constructor(d):
        h_in, h, first = d.between(2, 40), d.between(2, 64), d.flag()
        if h_in == h:
            return None
        layout = "(batch, seq_len, features)" if first else "(seq_len, batch, features)"
        return {"text": f"Build an LSTM layer that reads {h_in} features per time step, has {h} hidden units, and "
                        f"takes its input as {layout}. Set the answer to the layer itself, `nn.LSTM(...)`.",
                "given": {"features": h_in, "hidden": h, "batch_first": first}}

    @template("h_n_layers", "easy", "shape", "03_states", "recall", POOL)
    def h_n_layers(d):
        h_in, h, layers, steps, batch = d.between(2, 30), d.between(2, 32), d.between(2, 4), d.between(3, 12), \
            d.between(2, 10)
        if layers == batch or h_in == h:
            return None
        cfg = {"input_size": h_in, "hidden_size": h, "num_layers": layers}
        return {"text": f"`lstm = {call(cfg)}` reads {input_text(cfg, steps, batch)}. What is the shape of `h_n`?",
                "given": {"cfg": cfg, "steps": steps, "batch": batch}}

    @template("weight_shape", "easy", "shape", "04_cell", "recall", POOL)
    def weight_shape(d):
        h_in, h = d.between(2, 40), d.between(2, 40)
        which = d.pick(["weight_ih_l0", "weight_hh_l0"])
        if h_in in (h, 4 * h):
            return None
        cfg = {"input_size": h_in, "hidden_size": h}
        return {"text": f"`lstm = {call(cfg)}`. What is the shape of `lstm.{which}`?",
                "given": {"cfg": cfg, "weight": which}}

    @template("input_shape", "easy", "shape", "02_shapes", "recall", POOL)
    def input_shape(d):
        h_in, h, steps, batch = d.between(2, 30), d.between(2, 32), d.between(3, 12), d.between(2, 10)
        first = d.flag()
        if len_({h_in, h, steps, batch}) < 4:
            return None
        cfg = {"input_size": h_in, "hidden_size": h, "batch_first": first}
        return {"text": f"`lstm = {call(cfg)}` is to read {batch} sequences of {steps} steps each, in one batch. "
                        "What shape must its input `x` have?",
                "given": {"cfg": cfg, "steps": steps, "batch": batch}}

    # Vetted by the key (`python -m course.graded_key vet` rewrites them): each entry is one question's numbers,
    # in tenths (steps for cell_recurrence's last), one character each: cell_update i, f, g, c; gate_step i, f, g, o,
    # c; cell_recurrence f, i, g, c_0, steps.
    TABLES = {
        "cell_update": (
            "QVWHUTHZTXYJXSTQXVWQTYKEVWHaWXGcRSQHVWWHRVYQTQYUSYXeVRQFWYMUXUJNVYUJRWLSVRLaVTXYWUVUXQVdYTHYVTNE"
            "RXVYVWVeUTRQRYHbUXXBXRNMXUMLURHGYXYdUWONSYYJXUVOYUOeUYXZRQTSTRKSYRLdWRObYUKCXQJBTUYLRUWDYTVbVSSA"
            "WTTZQXYMWXOSRSGTQRQVTVGaQUJOQWRMRVLBRQOLYUSQYSTQWROBYRJLRYKcUXIMXQWBWXQMUQTZUVSNXTYNYRTUSXOBUSTO"
            "WYQaWXSVYQGMVYRbRTMDQXUFSVRXVRXTURLIQRLGWVKcSVSdXVXOUVOTXWOIRXLIRVQTQVRGWSWYWUGMVUUQUTTFXWKdVWTe"
            "XTQFXVYDYSNEXQTASTKNYXQIRWOGRSRDXVICRXIZSUWLUSULYSKLTQTcWRQFUTYVSUYAQWRdQWLOUYOCSTGVUXRIYQOTRXNH"
            "YVXZRWLUWTWcSTUaYWMISUYcUYTaWVLdWSUQYVHCUXTXXULTXQJXSWGFRSGCWSGRYVXEQWWATSMNYTYDQYJcYTWKUWISQXKa"
            "STUIWRGJSYMIRXUERUQKVQRZVQQbRSNVRXMIQVLOYUVbVSYXUXHWTVUOXVOWVYIJUWTeWVHVVRTaYWTXTRWLYWMBXTYWVYGS"
            "UWLORWYLQTHFWYHGWXLWSULTVTHcVSNdRUYRWYOSSYVEWVGcSRVGXTGJXUREVWSAXVYKSYMCXRKLWROLTVKdSWGDWRUOSTOH"
            "WRJFXQKYWTMQXQYCTVWNWSGFWVYGSULHTUOdWQQeXRLBWVMHXWHEUSLNSYGKUQMZTXMcVUGNUYSQTQWOSRIJUQOCWVXLQRQD"
            "XVKHWTNYYQOAYROcYXXVVTQcWRHBXVLNRSVOVRGSYUGXSQWTWSRQSWMIWRQeQXVJYTOBUVXHWTWDUWSIXQGWXRYIWXIATSXO"
            "RYXBQWQAVYHIWYGaUQSXRWRWTXOXVUKRXSLCQULAUTSEVQRATWWdRSMcTWYVQSRD"),
        "gate_step": (
            "XUYXGXSNWbYXYWSVWNVWSVQXcQYSTeVQXXIVWLQMRUWRbUWOTbSYIQXWXORUUQRYdXQOYEQVUYMQXIRVWYWVEVUIWLQXLTTY"
            "UYUTUQVWbRSJXcRSOYUQUGWbSYMWJTXOVYYXLXZXUYQIXUWWNYWTVNUXORJSVYRRQSGQIQWKRUWXISDYVSVBQSTRATXMWZTU"
            "NRVRYXWTUVIRATQMVGYRTSVWTSYFSWYVdYUNQARVYTSUYNUeVTVWdYQJXRYULXQVRWUXYSQYaYUQWJVUOYMYVXXLSYVTeSTQ"
            "YJSRWUcVYSRQYWVQDWTIXMXWXWcXWUTXRSWUEQYSVZUSWWIUXLYcUXKVGUYNVdXVUSCSXVWcSTYUaVQGRVVUISTWVMXNRVVS"
            "AYVXTJUVXVBSQRYXUXJQFYTWWVTVJVEXSVYbUWWUUVUOYKXWTSCXVMQIVSVYOYTORESYGTOYTXQQSXHUdVYOSHSUXRSUWGTK"
            "TWSRHUYVWORXSWBVTVUTXTTXcUYOUcQVTVIUWRXFXWOSXUTWUMXQNYFWTWYQRXVTZQYOTEQVYQFSVJUBYQSURQWOSBUTMWcX"
            "UMYJXQRSXTXHYVUWHYBTWHQdYQRRbVRGWQRVQSJTYRRaXQJReSRIWCQXYYdXYHREXUWQTXSGYXYSGWbWYNUAVYSXKSRQSZRY"
            "XXYQUHQbQYKXEUWLYDVWIVHRUHXdVXVXeVSWQMQWJSdVXNTBSVHReYRRSbSUGVbYVOUZSRJYMVQTYFWQGTKVSGQHRXORFRTO"
            "VCXRYXERUGWNRYUSLSUWRdSYNVXYRVULXTOXCRUVUTXTXXTXQUVIRQSVYTXXVYYTNTOVUXQLUVIXOTQWXLYXJYAQWISJUXVX"
            "HSWTRRWQVYOQUVSeYTYYXUXNTXYRUWTVUWRcWUVTbYUTVQVWMYcRXJUKQSHXBRTYUFTRUXTQXGRJVQLRHVQYWAURGRITUJUK"
            "RSNSaRQIVNRSOUCQUGXUSWGQBTUVTWUQSXeSYSTTRXISeRQMXBSYUUHTSNUEWXYSXXTUQNUWNVVWXXQMUXLXMUYNUKUSNUBV"
            "XKXCVXUTISUHQAWRNQBRYQWeRVYTcWQJYHQRMXYSWSVCQVISGQTRUCXVVSQRXVRcYSXVETUQUVYUNSZQVOWeUTKSGTVLQdYV"
            "OQDYSIWVYTTYXXRHRAVTVQQTUSXZRWLYDWUQVYQVSVIYSQRZUXOSFRQJSAUYKTMSRUVdQVSREYQUVDYQQYcQSXYHXVYRWVXY"
            "VGSQIVJTWOQDSUQWGTQJYIWVWXCXRIRJ"),
        "cell_recurrence": (
            "XYRKUSXMZTTVYSTRYJDTVSUWTVXGaTURTHSSXTJVYWWbUUTGUVTWIIRRQUAUXSKGUXWGLVSWJEUVQJKTQRRJSWXXIRVYWESU"
            "TNLRYQYOSUQNMRXTSCSTQKBTUSOCSQYSeUTYQCVTYQMRVYHTVVRUMUTWITVSVJXSWQXCVTSOZRVUXQVUWTYRSQHEVTVNbSWR"
            "TURUYTLSURIHVQRYSRQYTGURUIHTQSHNSVTGLVWRGFUWUQRSWYLNTQXXHTVXYMUTXYcUSUUOSWSIZSQXSXSRSLUSWVKWURUL"
            "FVQTMVRTXHSSSWXASSQXIRSWHBTYTYIRVXSAVTQVURYVVNURQVCSQWTXVTSGVUTSXFTVQVOTVTXQTUYIRVQTISUWRWBRTUSC"
            "TYUTKRYWSKSWRQKRVUUOVWYHUSUYJBVSTGSVUVKBRXSTNRRQXSTVUQNUYWYSUYXHLSXRHKUSVITTYSUWSUYYeSYTQZRVYJHU"
            "QVLAVYQHCTTQRLRUWUNUWRUMRTSTaVSVJSSQROATYSYbVYXVaUWRUbVUWWTTSXSKUWYTaVUSRZRQSTITSVKIUQSHbVTQTVTY"
            "QGLRVSKRRWUKeRYRGMRWSMBSYRQYTWULJTXQJCTYTIESXYKKVUVXcRXYOdVQUUISXURYTRYILTWXYKSTVRMSYWIJSWRVaURV"
            "RVVXYMJTUSWaVTRVTSTVYJUTRMXVURGFRWQSRTYTMORRVYWTRSVLUUWHYRRVIXTWRYLUYUOZVUSUNUVUKXTQTICVSTSKTSTY"
            "FRSQRIVTQLYTRTUISSTHNVWQIQSUWGJTQWJcUYRXATVUUMRUQHDSQRKbTRQTTVYXHVSRQTWTUTSRSUYQdUVXHWSQXYJSUSRO"
            "TWYTETSXUdTUTIDUYXKAVWYVERRULYRYXGZTTQXKSQSScTYRGFVRSOZTUXUWRXYORTRQLQVTSYSVYRHaRXQVcVTSMcUYXLNV"
            "TYLNTWYXRSRXKRRWTKHUWXXLRTVUBRRQIEURVTTVUYIZUURLeRWUVaTWRSIUYSSbUYRWZSRUJDRVYIFVYVYUSRSXLUUSOYVU"
            "VYVTXTNOUVTKQURYTRVQRXHSQSUGUYRKGSTUVGSYQKLTVULcUWSQLVQUWLSSVXRRTYHSSVSJbSURLTVXYQERUTUaTURTCTXW"
            "KJSYRWEUXWMFRWTMSVTUSDVRUTBTVYOeUVRGSSSYQJTSQJDSTSUITVXLDUVXQHSYWVATVYKJUYRUYSYTOBTTWOQRVTIZTSWM"
            "cSQRMURYTSSVUXHaVYXNHRYWLaTUQNTU"),
    }

    @template("cell_update", "easy", "float", "04_cell", "reasoning", POOL)
    def cell_update(d):
        i, f, g, c = entry(d, TABLES["cell_update"], 4)
        return {"text": f"One LSTM unit at one time step. Its input gate is i = {tenths(i)} and its forget gate "
                        f"f = {tenths(f)} (after their sigmoid), its cell candidate is g = {tenths(g)} (after its "
                        f"tanh), and the cell state it received is c_(t-1) = {tenths(c)}. What is its new cell state "
                        "c_t? Give a float, to 2 decimals.",
                "given": {"i": i / 10, "f": f / 10, "g": g / 10, "c": c / 10}, "decimals": 2}

    GATES = [("c_constant", "Every c_t equals c_0: the cell state never changes."),
             ("c_is_g", "Every c_t equals that step's candidate g_t: nothing of c_(t-1) is kept."),
             ("c_zero", "c_t is 0 from the first step on."),
             ("h_zero", "h_t is 0 at every step, while c_t keeps changing.")]
    PINNED = {"keep": "its forget gate f = 1 and its input gate i = 0",
              "replace": "its forget gate f = 0 and its input gate i = 1",
              "reset": "its forget gate f = 0 and its input gate i = 0",
              "closed": "its output gate o = 0, while its forget and input gates stay between 0 and 1 and change "
                        "with the input"}

    @template("gate_extremes", "easy", "choice", "04_cell", "reasoning", POOL)
    def gate_extremes(d):
        pinned, steps, c0 = d.pick(sorted_(PINNED)), d.between(4, 9), d.pick([-9, -7, -5, -3, 3, 5, 7, 9])
        o = d.between(3, 8)
        other = "" if pinned == "closed" else f", and its output gate o = {tenths(o)}"
        text = (f"One LSTM unit reads a sequence of {steps} steps, starting from the cell state c_0 = {tenths(c0)}. "
                f"At every step, {PINNED[pinned]}{other}. Which statement is true?")
        return dict_(choices(d, text, [(key, said) for key, said in GATES]),
                     given={"pinned": pinned, "steps": steps, "c0": c0 / 10, "o": o / 10})

    GATE_NAMES = {"i": "input gate i", "f": "forget gate f", "g": "cell candidate g", "o": "output gate o"}

    @template("gate_rows", "easy", "choice", "04_cell", "reasoning", POOL)
    def gate_rows(d):
        h_in, h, gate = d.between(2, 20), d.between(2, 16), d.pick(sorted_(GATE_NAMES))
        text = (f"`lstm = nn.LSTM({h_in}, {h})`. Its `weight_ih_l0` has {4 * h} rows: four blocks of {h}, one per "
                f"gate, each multiplying the input x_t for its gate. Which block is the {GATE_NAMES[gate]}'s?")
        blocks = [(f"rows {k}", code(f"lstm.weight_ih_l0[{k * h}:{(k + 1) * h}]")) for k in range_(4)]
        return dict_(choices(d, text, blocks), given={"cfg": {"input_size": h_in, "hidden_size": h}, "gate": gate})

    # --- medium -------------------------------------------------------------------------------------------

    @template("output_bidirectional", "medium", "shape", "02_shapes", "recall", POOL)
    def output_bidirectional(d):
        h_in, h, steps, batch = d.between(2, 30), d.between(2, 32), d.between(3, 12), d.between(2, 10)
        if steps == batch or h in (h_in, 2 * h_in):
            return None
        cfg = {"input_size": h_in, "hidden_size": h, "batch_first": True, "bidirectional": True}
        return {"text": f"`lstm = {call(cfg)}` reads {input_text(cfg, steps, batch)}. What is the shape of `output`?",
                "given": {"cfg": cfg, "steps": steps, "batch": batch}}

    @template("h_n_batch_first", "medium", "shape", "03_states", "recall", POOL)
    def h_n_batch_first(d):
        h_in, h, layers, steps, batch = d.between(2, 30), d.between(2, 32), d.between(1, 3), d.between(3, 12), \
            d.between(2, 10)
        bi = d.flag()
        cfg = {"input_size": h_in, "hidden_size": h, "num_layers": layers, "batch_first": True}
        if bi:
            cfg["bidirectional"] = True
        if batch == layers * (2 if bi else 1):
            return None
        return {"text": f"`lstm = {call(cfg)}` reads {input_text(cfg, steps, batch)}. What is the shape of `h_n`?",
                "given": {"cfg": cfg, "steps": steps, "batch": batch}}

    @template("parameter_count", "medium", "int", "04_cell", "recall", POOL)
    def parameter_count(d):
        h_in, h = d.between(2, 24), d.between(2, 24)
        if h_in in (h, h - 2):
            return None
        cfg = {"input_size": h_in, "hidden_size": h, "num_layers": 2}
        return {"text": f"How many numbers does `{call(cfg)}` learn: the total `numel()` of its parameters? "
                        "Give a whole number.", "given": {"cfg": cfg}}

    @template("output_vs_h_n", "medium", "choice", "03_states", "recall", POOL)
    def output_vs_h_n(d):
        h_in, h, steps, batch = d.between(2, 12), d.between(2, 12), d.between(3, 9), d.between(2, 9)
        first = d.flag()
        if steps == batch:
            return None
        cfg = {"input_size": h_in, "hidden_size": h, "batch_first": first}
        text = (f"`lstm = {call(cfg)}` reads {input_text(cfg, steps, batch)}, and "
                "`output, (h_n, c_n) = lstm(x)`. Which of these equals `h_n[-1]`?")
        slices = ["output[-1]", "output[:, -1]", "output[0]", "output[:, 0]"]
        return dict_(choices(d, text, [(s, code(s)) for s in slices]),
                     given={"cfg": cfg, "steps": steps, "batch": batch})

    @template("gate_step", "medium", "floats", "04_cell", "reasoning", POOL)
    def gate_step(d):
        i, f, g, o, c = entry(d, TABLES["gate_step"], 5)
        return {"text": f"One LSTM unit at one time step. Its gates, after their sigmoid, are i = {tenths(i)}, "
                        f"f = {tenths(f)} and o = {tenths(o)}; its cell candidate, after its tanh, is g = "
                        f"{tenths(g)}; the cell state it received is c_(t-1) = {tenths(c)}. What are its new cell "
                        "state c_t and hidden state h_t? Give the tuple (c_t, h_t), each to 3 decimals.",
                "given": {"i": i / 10, "f": f / 10, "g": g / 10, "o": o / 10, "c": c / 10}, "decimals": 3,
                "count": 2}

    @template("bptt_reach", "medium", "int", "05_sequences", "reasoning", POOL)
    def bptt_reach(d):
        k = d.between(4, 9)
        t = d.between(2 * k + 2, 6 * k)
        total = t + d.between(0, 2 * k)
        if t % k == 0:
            return None
        return {"text": f"A model reads a sequence of {total} steps in chunks of {k} steps. For each chunk it runs "
                        "`out, (h, c) = lstm(chunk, (h, c))`, and between chunks it calls "
                        "`h, c = h.detach(), c.detach()`. A loss computed from the output at step "
                        f"{t} alone (steps numbered from 1) is backpropagated. Counting step {t} itself, how many of "
                        "the input steps get a gradient from it?",
                "given": {"total": total, "chunk": k, "t": t}}

    LOOPS = {"no_detach": ("    loss.backward()", ""),
             "retain": ("    loss.backward(retain_graph=True)", ""),
             "detach": ("    loss.backward()", "\n    h, c = h.detach(), c.detach()")}
    BACKWARD = [("error", "The second chunk's `loss.backward()` raises a RuntimeError: it reaches into the first "
                          "chunk's graph, which was already freed."),
                ("through_all", "Each `loss.backward()` reaches back through every chunk so far, so each one costs "
                                "more than the one before."),
                ("own_chunk", "Each `loss.backward()` stays within its own chunk of steps."),
                ("no_weight_grad", "No gradient reaches the LSTM's weights after the first chunk.")]

    @template("bptt_backward", "medium", "choice", "05_sequences", "reasoning", POOL)
    def bptt_backward(d):
        loop, k, chunks = d.pick(sorted_(LOOPS)), d.between(4, 12), d.between(3, 6)
        backward, detach = LOOPS[loop]
        program = (f"h, c = h0, c0\nfor chunk in x.split({k}):  # {chunks} chunks of {k} steps\n"
                   f"    out, (h, c) = lstm(chunk, (h, c))\n    loss = out.pow(2).mean()\n{backward}{detach}")
        text = (f"A sequence of {k * chunks} steps is trained in chunks of {k} steps, keeping the state from one "
                f"chunk to the next:\n\n```python\n{program}\n```\n\nWhich statement is true?")
        return dict_(choices(d, text, BACKWARD), given={"loop": loop, "chunk": k, "chunks": chunks})

    @template("head_width", "medium", "int", "06_model", "reasoning", POOL)
    def head_width(d):
        h_in, h, layers, proj = d.between(2, 30), d.between(4, 32), d.between(2, 3), d.flag()
        p = d.between(1, h - 1) if proj else 0
        if p and h == layers * p:
            return None
        projected = f", and projects its hidden state to {p} feature{'s' * (p > 1)} (`proj_size={p}`)" if p else ""
        return {"text": f"A classifier reads `torch.cat([h_n[-2], h_n[-1]], dim=1)` from an LSTM that reads {h_in} "
                        f"features per step, has {h} hidden units in each direction, stacks {layers} layers, runs in "
                        f"both directions{projected}. Its head is `nn.Linear(in_features, 5)`. What must "
                        "`in_features` be?",
                "given": {"features": h_in, "hidden": h, "layers": layers, "proj": p}}

    @template("running_sequences", "medium", "int", "05_sequences", "reasoning", POOL)
    def running_sequences(d):
        n = d.between(4, 7)
        lengths = [d.between(1, 12) for _ in range_(n)]
        middle = sorted_(set_(x for x in lengths if min_(lengths) < x < max_(lengths)))
        if not middle:
            return None
        t = d.pick(middle)
        return {"text": f"A batch of {n} sequences of lengths {lengths} is packed with `pack_padded_sequence(x, "
                        f"lengths, enforce_sorted=False)` and run through an LSTM. At time step {t} (steps counted "
                        "from 0), how many of the sequences does the LSTM process?",
                "given": {"lengths": lengths, "t": t}}

    # (f, share) pairs whose answer and named mistakes all differ: tests/test_questions.py checks each with the key.
    FORGET_PAIRS = [(0.6, 0.05), (0.6, 0.01), (0.6, 0.001), (0.7, 0.1), (0.7, 0.05), (0.7, 0.001), (0.75, 0.1),
                    (0.75, 0.05), (0.75, 0.001), (0.8, 0.1), (0.8, 0.05), (0.8, 0.01), (0.85, 0.1), (0.85, 0.05),
                    (0.85, 0.01), (0.85, 0.001), (0.9, 0.1), (0.9, 0.05), (0.9, 0.01), (0.9, 0.001), (0.95, 0.1),
                    (0.95, 0.05), (0.95, 0.01), (0.95, 0.001), (0.98, 0.1), (0.98, 0.05), (0.98, 0.01), (0.98, 0.001)]

    @template("forget_steps", "medium", "int", "07_gradients", "reasoning", POOL)
    def forget_steps(d):
        f, share = d.pick(FORGET_PAIRS)
        return {"text": f"One LSTM unit's input gate is shut and its forget gate holds at f = {f} at every step, "
                        "so along its cell state each step multiplies the gradient by f. After how many steps is "
                        f"less than {share} of the gradient along c left? Give the smallest whole number of steps.",
                "given": {"f": f, "share": share}}

    @template("tagger_logits", "medium", "shape", "08_generation", "reasoning", POOL)
    def tagger_logits(d):
        n, longest, extra = d.between(2, 8), d.between(3, 12), d.between(1, 4)
        e, h, tags, bi, total = d.between(2, 16), d.between(2, 16), d.between(2, 9), d.flag(), d.flag()
        steps, width = longest + extra, h * (2 if bi else 1)
        if tags == width or n in (longest, steps):
            return None
        bidirectional = ", bidirectional=True" if bi else ""
        total_length = f", total_length={steps}" if total else ""
        return {"text": f"A tagger reads a batch of token ids of shape `({n}, {steps})`: {n} sequences padded to "
                        f"{steps} steps, the longest of them {longest} steps long. It embeds them into {e} features, "
                        "packs them with `pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)`, "
                        f"runs them through `nn.LSTM({e}, {h}, batch_first=True{bidirectional})`, unpacks the output "
                        f"with `pad_packed_sequence(out, batch_first=True{total_length})`, and applies its head "
                        f"`nn.Linear({width}, {tags})` to it. What is the shape of the logits?",
                "given": {"batch": n, "steps": steps, "longest": longest, "embedding": e, "hidden": h, "tags": tags,
                          "bidirectional": bi, "total_length": total}}

    # --- hard -------------------------------------------------------------------------------------------------

    @template("h_n_everything", "hard", "shape", "03_states", "recall", POOL)
    def h_n_everything(d):
        h_in, h, layers, steps, batch = d.between(2, 30), d.between(4, 32), d.between(2, 3), d.between(3, 12), \
            d.between(2, 10)
        proj = d.between(1, h - 1)
        cfg = {"input_size": h_in, "hidden_size": h, "num_layers": layers, "batch_first": True,
               "bidirectional": True, "proj_size": proj}
        if batch == 2 * layers or proj == batch:
            return None
        return {"text": f"`lstm = {call(cfg)}` reads {input_text(cfg, steps, batch)}. What is the shape of `h_n`?",
                "given": {"cfg": cfg, "steps": steps, "batch": batch}}

    @template("c_n_projection", "hard", "shape", "03_states", "recall", POOL)
    def c_n_projection(d):
        h_in, h, layers, steps, batch = d.between(2, 30), d.between(4, 32), d.between(1, 3), d.between(3, 12), \
            d.between(2, 10)
        proj, bi = d.between(1, h - 1), d.flag()
        cfg = {"input_size": h_in, "hidden_size": h, "num_layers": layers, "proj_size": proj}
        if bi:
            cfg["bidirectional"] = True
        if batch == layers * (2 if bi else 1) or (layers == 1 and not bi):  # hard: projection and more
            return None
        return {"text": f"`lstm = {call(cfg)}` reads {input_text(cfg, steps, batch)}. What is the shape of `c_n`?",
                "given": {"cfg": cfg, "steps": steps, "batch": batch}}

    @template("backward_final_state", "hard", "choice", "05_sequences", "recall", POOL)
    def backward_final_state(d):
        h_in, h, steps, batch = d.between(2, 10), d.between(2, 10), d.between(3, 9), d.between(2, 9)
        first = d.flag()
        if steps == batch:
            return None
        cfg = {"input_size": h_in, "hidden_size": h, "batch_first": first, "bidirectional": True}
        at = (lambda step, half: f"output[:, {step}, {half}]") if first else \
            (lambda step, half: f"output[{step}, :, {half}]")
        slices = [("output[first step, backward half]", at(0, f"{h}:")),
                  ("output[last step, backward half]", at(-1, f"{h}:")),
                  ("output[last step, forward half]", at(-1, f":{h}")),
                  ("output[first step, forward half]", at(0, f":{h}"))]
        text = (f"`lstm = {call(cfg)}` reads {input_text(cfg, steps, batch)}, and "
                "`output, (h_n, c_n) = lstm(x)`. Which of these equals `h_n[-1]`, the backward direction's final "
                "state?")
        return dict_(choices(d, text, [(key, code(s)) for key, s in slices]),
                     given={"cfg": cfg, "steps": steps, "batch": batch, "slices": dict_(slices)})

    @template("packed_data", "hard", "shape", "05_sequences", "recall", POOL)
    def packed_data(d):
        n, h_in, h = d.between(3, 5), d.between(2, 20), d.between(2, 20)
        lengths = [d.between(1, 12) for _ in range_(n)]
        first = d.flag()
        if len_(set_(lengths)) < 2 or h_in == h:
            return None
        cfg = {"input_size": h_in, "hidden_size": h, "batch_first": first}
        layout = "batch-first" if first else "time-major"
        return {"text": f"A {layout} padded batch of {n} sequences with lengths {lengths} and {h_in} features per step "
                        f"is packed with `pack_padded_sequence(x, {lengths}, batch_first={first}, "
                        f"enforce_sorted=False)` and run through `lstm = {call(cfg)}`. What is the shape of the "
                        "packed output's `.data`?",
                "given": {"cfg": cfg, "lengths": lengths}}

    # Four programs each, exactly one of them right (the key checks which, by running torch).
    LAST_STATE = {"h_n[-1]": "h_n[-1]", "h_n[0]": "h_n[0]", "c_n[-1]": "c_n[-1]",
                  "padded[last step]": ("padded[:, -1]", "padded[-1]"),
                  "padded[lengths - 1]": ("padded[torch.arange(N), lengths - 1]",  # batch-first, time-major
                                          "padded[lengths - 1, torch.arange(N)]"),
                  "padded[other axis]": ("padded[lengths - 1, torch.arange(N)]", "padded[torch.arange(N), lengths - 1]"),
                  "out.data[-N:]": "out.data[-N:]"}
    LAST_STATE_SETS = [("h_n[-1]", "h_n[0]", "padded[last step]", "out.data[-N:]"),
                       ("padded[lengths - 1]", "padded[last step]", "h_n[0]", "c_n[-1]"),
                       ("padded[lengths - 1]", "padded[other axis]", "out.data[-N:]", "h_n[0]"),
                       ("h_n[-1]", "c_n[-1]", "padded[other axis]", "padded[last step]")]

    @template("packed_last_state", "hard", "choice", "05_sequences", "reasoning", POOL)
    def packed_last_state(d):
        h_in, h, layers, n, first = d.between(2, 12), d.between(2, 12), d.between(2, 3), d.between(3, 5), d.flag()
        lengths = [d.between(1, 9) for _ in range_(n)]
        programs = d.pick(LAST_STATE_SETS)
        if len_(set_(lengths)) < n or lengths == list_(range_(1, n + 1)):  # 1..N: lengths - 1 is arange(N) too
            return None
        cfg = {"input_size": h_in, "hidden_size": h, "num_layers": layers}
        if first:
            cfg["batch_first"] = True
        text = (f"`lstm = {call(cfg)}` runs a packed batch of N = {n} sequences with lengths {lengths}, given as a "
                "tensor `lengths`:\n\n```python\n"
                f"packed = pack_padded_sequence(x, lengths, batch_first={first}, enforce_sorted=False)\n"
                f"out, (h_n, c_n) = lstm(packed)\npadded, _ = pad_packed_sequence(out, batch_first={first})\n```\n\n"
                f"Which expression gives, for each sequence, the top layer's hidden state at its last real step, as "
                f"an `({n}, {h})` tensor in the batch's order?")
        program = lambda key: LAST_STATE[key] if isinstance_(LAST_STATE[key], str_) else \
            LAST_STATE[key][0 if first else 1]  # noqa: E731
        shown = [(key, code(program(key))) for key in programs]
        return dict_(choices(d, text, shown), given={"cfg": cfg, "lengths": lengths})

    HEADS = {"cat(h_n[2L-2], h_n[2L-1])": lambda L, H, t: f"torch.cat([h_n[{2 * L - 2}], h_n[{2 * L - 1}]], dim=1)",
             "cat(h_n[0], h_n[1])": lambda L, H, t: "torch.cat([h_n[0], h_n[1]], dim=1)",
             "cat(h_n[L-1], h_n[2L-1])": lambda L, H, t: f"torch.cat([h_n[{L - 1}], h_n[{2 * L - 1}]], dim=1)",
             "output[last step]": lambda L, H, t: t(-1, ""),
             "cat(output[last, :H], output[first, H:])":
                 lambda L, H, t: f"torch.cat([{t(-1, f':{H}')}, {t(0, f'{H}:')}], dim=1)",
             "cat(output[first, :H], output[last, H:])":
                 lambda L, H, t: f"torch.cat([{t(0, f':{H}')}, {t(-1, f'{H}:')}], dim=1)",
             "h_n.view(N, -1)": lambda L, H, t: "h_n.view(N, -1)"}
    HEAD_SETS = [("cat(h_n[2L-2], h_n[2L-1])", "cat(h_n[0], h_n[1])", "output[last step]", "h_n.view(N, -1)"),
                 ("cat(output[last, :H], output[first, H:])", "output[last step]", "cat(h_n[L-1], h_n[2L-1])",
                  "h_n.view(N, -1)"),
                 ("cat(h_n[2L-2], h_n[2L-1])", "cat(h_n[L-1], h_n[2L-1])", "cat(output[first, :H], output[last, H:])",
                  "cat(h_n[0], h_n[1])"),
                 ("cat(output[last, :H], output[first, H:])", "cat(h_n[0], h_n[1])", "cat(h_n[L-1], h_n[2L-1])",
                  "cat(output[first, :H], output[last, H:])")]

    @template("head_states", "hard", "choice", "06_model", "reasoning", POOL)
    def head_states(d):
        h_in, h, layers = d.between(2, 12), d.between(3, 12), d.between(2, 3)
        steps, n = d.between(3, 8), d.between(2, 6)
        first, proj = d.flag(), d.flag()
        p = d.between(1, h - 1) if proj else 0
        heads = d.pick(HEAD_SETS)
        if steps == n:
            return None
        cfg = {"input_size": h_in, "hidden_size": h, "num_layers": layers, "bidirectional": True}
        if first:
            cfg["batch_first"] = True
        if p:
            cfg["proj_size"] = p
        width = p or h
        text = (f"`lstm = {call(cfg)}` reads {input_text(cfg, steps, n)}, and `output, (h_n, c_n) = lstm(x)`; "
                f"N = {n}. A head needs, for each sequence, the top layer's final hidden states of both directions "
                f"side by side: the forward direction's after the last step, then the backward direction's after it "
                f"has read the whole sequence, as an `({n}, {2 * width})` tensor. Which expression gives exactly that?")
        def t(step, half):  # output at one step, all sequences, some features
            where = f"[:, {step}" if first else f"[{step}, :"
            return f"output{where}, {half}]" if half else f"output{where}]"
        shown = [(key, code(HEADS[key](layers, width, t))) for key in heads]
        return dict_(choices(d, text, shown), given={"cfg": cfg, "steps": steps, "batch": n})

    @template("params_in_words", "hard", "int", "04_cell", "reasoning", POOL)
    def params_in_words(d):
        h_in, h, layers = d.between(2, 24), d.between(4, 24), d.between(2, 3)
        p = d.between(1, h // 2)
        if h_in == h or (layers - 1) * p == layers:
            return None
        return {"text": f"An LSTM reads {h_in} features per step, has {h} hidden units in each direction, runs in "
                        f"both directions, stacks {layers} layers, and projects each direction's hidden state to {p} "
                        f"feature{'s' * (p > 1)} (`proj_size`). It keeps both bias vectors, as by default. How many "
                        "numbers does it learn (the total `numel()` of its parameters)?",
                "given": {"features": h_in, "hidden": h, "layers": layers, "proj": p}}

    GENERATION_LOOPS = {
        "carried": ("runs the prompt once, `logits, state = model(prompt)`; then, at each of the {s} steps, it "
                    "appends the argmax of the last logits and feeds only that id back with the state, "
                    "`logits, state = model(next_id, state)`"),
        "rerun": ("at each of the {s} steps runs the whole sequence so far from the start, "
                  "`logits, _ = model(ids)`, and appends the argmax of the last step's logits to `ids`")}

    @template("generation_cost", "hard", "int", "08_generation", "reasoning", POOL)
    def generation_cost(d):
        prompt, steps, loop = d.between(2, 9), d.between(3, 12), d.pick(sorted_(GENERATION_LOOPS))
        return {"text": f"A language model built on one `nn.LSTM` writes {steps} new ids after a prompt of {prompt} "
                        f"ids, greedily. The loop {GENERATION_LOOPS[loop].format(s=steps)}. Counting one for every "
                        "time step the LSTM reads, over all of the model's calls together, how many steps does it "
                        "read?",
                "given": {"prompt": prompt, "steps": steps, "loop": loop}}

    @template("cell_recurrence", "hard", "float", "04_cell", "reasoning", POOL)
    def cell_recurrence(d):
        f, i, g, c0, k = entry(d, TABLES["cell_recurrence"], 5)
        return {"text": f"An LSTM unit's weights are all zero, so its gates are the same at every step whatever the "
                        f"input: input gate i = {tenths(i)}, forget gate f = {tenths(f)}, cell candidate g = "
                        f"{tenths(g)}. Its cell state starts at c_0 = {tenths(c0)}. What is its cell state after "
                        f"{k} steps, c_{k}? Give a float, to 3 decimals.",
                "given": {"f": f / 10, "i": i / 10, "g": g / 10, "c0": c0 / 10, "steps": k}, "decimals": 3}

    GRU_UNPACK = [("raises", "It raises a ValueError: `h_n` can't be split into exactly two names."),
                  ("split", "It runs: `h_n` and `c_n` get the first and the second row of the GRU's final state, "
                            "each (N, H)."),
                  ("cell", "It runs: `c_n` is the GRU's cell state, of the same shape as its `h_n`, as with an LSTM."),
                  ("type", "It raises a TypeError: a GRU returns one tensor, which can't be unpacked.")]

    @template("gru_unpack", "hard", "choice", "07_gradients", "reasoning", POOL)
    def gru_unpack(d):
        rows_two = d.flag()
        layers, both = d.pick([(2, False), (1, True)] if rows_two else [(1, False), (3, False), (2, True),
                                                                         (3, True)])
        h_in, h, steps, batch = d.between(2, 20), d.between(2, 24), d.between(3, 12), d.between(3, 10)
        if len_({h_in, h, steps, batch}) < 4:
            return None
        args = f"{h_in}, {h}" + (f", num_layers={layers}" if layers > 1 else "") + (", bidirectional=True" if both
                                                                                      else "")
        text = ("Someone used to LSTMs writes, for a GRU:\n\n```python\n"
                f"gru = nn.GRU({args})\n"
                f"output, (h_n, c_n) = gru(x)   # x: ({steps}, {batch}, {h_in})\n```\n\nWhat happens?")
        return dict_(choices(d, text, GRU_UNPACK),
                     given={"input_size": h_in, "hidden_size": h, "num_layers": layers, "bidirectional": both,
                            "steps": steps, "batch": batch})

    # --- the course test's cells --------------------------------------------------------------------------

    class NoStudentId(AssertionError):
        """The test has no student id, so none of its questions exists: not the answer's fault."""

        def _render_traceback_(self):
            return [f"\x1b[0;31mNoStudentId\x1b[0m: {self}"]

    def set_salt(salt):
        state["salt"] = salt

    def grade_as(student):
        """The grader's id for this submission: it wins over the notebook's own (None: no grader's id)."""
        state["grading"] = None if student is None else str_(student)

    def student():
        return state["grading"] if state["grading"] is not None else state["typed"]

    def start_test(student_id):
        """The notebook's id cell: check it, note it, and say which id the questions are for."""
        if not isinstance_(student_id, str_) or not student_id.strip() or student_id.strip() == "your id here":
            hub = os.environ.get("JUPYTERHUB_USER")  # a suggestion only: the id is always the one typed
            hint = f" (JupyterHub knows you as {hub!r}: if that is your student id, type it.)" if hub else ""
            fail("Type your student id above, as a string such as \"s1234567\", then run this cell again." + hint)
        state["typed"] = student_id.strip()
        if state["grading"] is not None and state["grading"] != state["typed"]:
            print_(f"Note: this notebook says student_id = {state['typed']!r}, but it was submitted by "
                   f"{state['grading']!r}: it is graded as the test of {state['grading']!r}.")
        print_(f"Questions for {student()!r}.")

    def test_set():
        """{qid: template} of this student's test."""
        if student() is None:
            fail("Run the cell with your student id first: your questions are made from it.")
        if state["salt"] is None:
            fail("The course test's settings cell has not run: run the notebook from the top.")
        return api["draw_set"](POOL, student(), state["salt"], api["REASONING"])

    def graded_question(qid):
        """This student's question qid, rendered: its text and what it gives, never its answer."""
        return api["question"](test_set()[qid], student(), qid, state["salt"])

    def show_question(qid):
        from IPython.display import Markdown, display
        q = graded_question(qid)
        display(Markdown(api["question_markdown"](q)))

    def check_form(answer, qid):
        """The course test's visible check: the answer has the right form; whether it is right is told after grading."""
        q = graded_question(qid.rsplit(".", 1)[-1])
        data = describe(answer)
        kind = q["kind"]
        if kind in ("float", "floats"):
            message = api["number_form"](kind, data, q.get("count", 1))
        elif data["kind"] != kind:
            message = api["wrong_kind"](kind, data, LETTERS if kind == "choice" else None)
        elif kind == "choice" and data["value"] not in q["options"]:
            message = f"'{data['value']}' is not one of this question's options: choose A, B, C or D."
        else:
            message = None
        if message is not None:
            fail(message)
        if state["grading"] is None:  # graded feedback shows the verdict alone
            print_(f"Answer recorded: {api['show'](data)}. It is graded after you hand in the test.")

    def expect_generated(qid, answer, key):
        """The course test's hidden test: the student's question, solved by the key it is given, judges the answer."""
        if student() is None:
            raise NoStudentId("No student id: the notebook gives none and no submitter was given, and every question "
                              "is made from the student's id, so this one could not be graded.")
        message = graded_verdict(qid.rsplit(".", 1)[-1], answer, key)
        key = None  # noqa: F841 - nothing of the key stays in a frame that a failure's traceback keeps
        if message is not None:
            fail(message)

    def graded_verdict(number, answer, key):
        q = graded_question(number)
        solved = None
        try:
            solved = run_key(key, q)
            message = api["judge_question"](solved, answer)
            if state["record"]:
                state["item"] = item_of(q, answer)
            return message
        finally:
            solved = None  # noqa: F841
            api["forget_key"]()

    def run_key(key, q):
        """The key's solution of q: the key's source runs in a scope of its own, dropped at once (hidden_key.py)."""
        with api["key_scope"](key) as scope:
            return scope["solve"](q)

    def item_of(q, answer=None):
        """Which template a question came from and which option the answer chose, as plain data."""
        return {"template": q["template"], "difficulty": q["difficulty"], "option": api["chosen_option"](q, answer),
                "options": [c[0] for c in q.get("choices", [])]}

    def record_items(on=True):
        """The grader's judge records each judged question's template and chosen option (take_item)."""
        state["record"], state["item"] = bool(on), None

    def take_item():
        item, state["item"] = state["item"], None
        return item

    api["key_frames"].update(("expect_generated", "graded_verdict", "run_key"))
    api.update({"set_salt": set_salt, "grade_as": grade_as, "start_test": start_test, "test_student": student,
                "test_set": test_set, "graded_question": graded_question, "show_question": show_question,
                "check_form": check_form, "expect_generated": expect_generated, "record_items": record_items,
                "take_item": take_item, "question_item": lambda qid: item_of(graded_question(qid)),
                "vetted_tables": TABLES, "vetted_digits": DIGITS})


_install_graded_pool(_course_answers)
del _install_graded_pool
grade_as, start_test, show_question = (_course_answers[k] for k in ("grade_as", "start_test", "show_question"))
check_form, expect_generated = _course_answers["check_form"], _course_answers["expect_generated"]
