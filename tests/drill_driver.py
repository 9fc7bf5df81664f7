"""A cell that drives notebooks/practice.ipynb's drill as a learner would, appended to the notebook
and run in its kernel: under the project's ipywidgets 8 (test_drill.py) and Colab's 7.7.1
(test_standalone.py). It types into the answer box, clicks every button, climbs and drops a level,
checks that one answer counts once (Enter, then the check button; a second try), and saves and
loads progress through a fake Drive folder; it prints one JSON line of what it saw.
"""

DRIVER = r'''
import json as _json, os as _os, tempfile as _tempfile
import ipywidgets as _widgets

def _typed(q, value):
    if q["kind"] == "lstm":
        return "nn.LSTM(" + ", ".join(f"{k}={v!r}" for k, v in value.items()) + ")"
    if q["kind"] == "float":
        return f"{value:.{q['decimals']}f}"
    if q["kind"] == "floats":
        return "(" + ", ".join(f"{v:.{q['decimals']}f}" for v in value) + ")"
    return str(value)

def _feedback_log(d):
    seen, original = [], d._feedback
    def record(text):
        seen.append(text)
        return original(text)
    d._feedback = record
    return seen

_report = {"ipywidgets": _widgets.__version__}
# The notebook's own placeholder cells, run from the top, acted on nothing.
assert "answered: 0" in drill._status_line.value and not drill.history, drill._status_line.value
_d = Drill("easy", learner="driver")
_seen = _feedback_log(_d)
_d._next.click()
_q = _d.question
assert _q is not None and _q["difficulty"] == "easy" and _q["pool"] == "practice"
assert "[easy, question 1]" in _d._text.value and "`" not in _d._text.value  # Markdown rendered, not shown raw
_d._show.click()
assert "Answer first" in _seen[-1], _seen[-1]
assert _d.answer(None).startswith("Type your answer") and not _d.history  # the placeholder counts nothing

# A named mistake typed into the box (its value changes, as on Enter): the hint, no points.
_mistake, _hint = _q["mistakes"][0]
_d._box.value = _typed(_q, _mistake)
assert _hint.replace("`", "") in _seen[-1] and _d.streak == 0 and len(_d.history) == 1, (_seen[-1], _hint)
# The check button on the same text: the same feedback, counted once.
_d._check.click()
assert _seen[-1] == _seen[-2] and len(_d.history) == 1 and _d.misses == 1, (_seen[-2:], _d.history)
# A second try, right this time: feedback only; the first answer counted.
_d.answer(_typed(_q, _q["answer"]))
assert _seen[-1].startswith("Right!") and "first answer" in _seen[-1] and len(_d.history) == 1 and _d.streak == 0
_d._show.click()
_report["show_me"] = _seen[-1]
assert ("h_n:" in _seen[-1] and "parameters in all:" in _seen[-1]) if "show" in _q else _seen[-1] == _q["worked"]
_report["mistake_feedback"] = _seen[-4]

# Something that is not an answer: what to type, and no attempt counted.
_d._next.click()
_d._box.value = "banana"
assert _seen[-1].startswith("Type ") and len(_d.history) == 1, _seen[-1]
_d.answer(_typed(_d.question, _d.question["mistakes"][0][0]))  # wrong: the streak starts from here
assert len(_d.history) == 2 and _d.streak == 0

# Three right in a row, through the box, the check button and the text API: up to medium.
for _way in ("box", "button", "api"):
    _d._next.click()
    _q = _d.question
    if _way == "box":
        _d._box.value = _typed(_q, _q["answer"])
    elif _way == "button":  # text left in the box (the observer off, as if not yet submitted), then "check"
        _d._box.unobserve(_d._typed, names="value")
        _d._box.value = _typed(_q, _q["answer"])
        _d._box.observe(_d._typed, names="value")
        _d._check.click()
        _d._check.click()  # twice: still one answer
    else:
        _d.answer(_q["answer"] if _q["kind"] != "lstm" else nn.LSTM(**_q["answer"]))
    assert _seen[-1].startswith("Right"), (_way, _seen[-1])
assert _d.level == "medium" and _d.streak == 3 and _d.best == 3, (_d.level, _d.streak)
assert "level: medium" in _d._status_line.value and "streak: 3" in _d._status_line.value
assert "answered: 5" in _d._status_line.value, _d._status_line.value

# Two wrong in a row: back to easy.
for _ in range(2):
    _d._next.click()
    _q = _d.question
    assert _q["difficulty"] == "medium"
    _d.answer(_typed(_q, _q["mistakes"][0][0]))
assert _d.level == "easy" and _d.streak == 0, _d.level
_summary = _d.summary()
assert "7 answered" in _summary and "easy: 3/5 right" in _summary and "medium: 0/2 right" in _summary, _summary
_report["summary"] = _summary

# Saving: always a string; a JSON file too when Drive is mounted (here a fake mount folder).
_drive = _tempfile.mkdtemp(prefix="fake-drive-")
_state = _d.state()
_fresh = Drill("hard")
_fresh.restore(_state)
assert (_fresh.level, _fresh.streak, _fresh.best, len(_fresh.history)) == ("easy", 0, 3, 7)
try:
    _fresh.restore("not a state")
    raise SystemExit("a bad state string was accepted")
except ValueError as _err:
    assert "save_progress()" in str(_err)

assert save_progress(folder=_drive) is None  # it prints the line; nothing to echo
_saved = _json.load(open(_os.path.join(_drive, "lstm-course-practice.json")))
_text = _saved["state"]
assert "answered" in _saved["summary"]
assert load_progress(_text) is None
load_progress(folder=_drive)
try:
    load_progress(folder=_tempfile.mkdtemp())
    raise SystemExit("loading from an empty Drive folder did not say so")
except FileNotFoundError as _err:
    assert "mount Drive" in str(_err)
_report["saved_bytes"] = len(_text)
print("DRILL-DRIVER " + _json.dumps(_report))
'''
