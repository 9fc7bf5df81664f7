"""Cells that drive the Parsons board, the review widget and the explorer as a learner would, appended to their
notebooks and run in the notebook's kernel: test_standalone.py runs them under Colab's ipywidgets
7.7.1 (the modes' own tests drive the same widgets under ipywidgets 8). Each prints one JSON line."""

PARSONS = r'''
import json as _json, ipywidgets as _widgets
_program = ["lstm = nn.LSTM(input_size=3, hidden_size=5, batch_first=True)",
            "x = torch.randn(2, 7, 3)  # (batch, steps, features)",
            "output, (h_n, c_n) = lstm(x)",
            "last = output[:, -1, :]",
            'print("output:", tuple(output.shape))',
            'print("last step:", tuple(last.shape))']
_shown = parsons_problems()[1][1]
_target = [_shown.index(t) + 1 for t in _program]
_board = parsons_widget(1)
_board.check.click()
assert "Not yet." in _board.feedback.value, _board.feedback.value
for _pos, _number in enumerate(_target):  # select each line, move it up into place
    _board.select.value = _number
    while _board.numbers.index(_number) > _pos:
        _board.up.click()
assert _board.numbers == _target
_board.check.click()
assert "Correct!" in _board.feedback.value, _board.feedback.value
print("WIDGET-DRIVER " + _json.dumps({"ipywidgets": _widgets.__version__, "parsons": "correct"}))
'''

REVIEW = r'''
import datetime as _dt, json as _json, ipywidgets as _widgets
_r = Review(today=lambda: _dt.date(2026, 3, 2), new_per_day=3)
_r.next()
_r._buttons["good"].click()  # before the answer is shown: refused
assert "Show the answer first" in _r._message.value
for _rating in ("again", "good", "easy", "good"):
    _r._show.click()
    assert _r._back.value
    _r._buttons[_rating].click()
assert "reviewed today: 4" in _r._status_line.value, _r._status_line.value
_state = _r.state()
print("WIDGET-DRIVER " + _json.dumps({"ipywidgets": _widgets.__version__, "review": _r._status_line.value,
                                      "state_bytes": len(_state)}))
'''

EXPLORER = r'''
import json as _json, ipywidgets as _widgets
_lab = explore(view="states", num_layers=2, bidirectional=True)
_seen = {_lab.text}
for _name, _control in _lab.controls.items():  # every control, moved once, as a learner would
    if isinstance(_control, _widgets.Checkbox):
        _control.value = not _control.value
    elif isinstance(_control, (_widgets.IntSlider, _widgets.FloatSlider)):
        _control.value = _control.max if _control.value != _control.max else _control.min
    _seen.add(_lab.text)
assert len(_seen) >= len(_lab.controls) - 1, len(_seen)  # nearly every move changed what is shown
print("WIDGET-DRIVER " + _json.dumps({"ipywidgets": _widgets.__version__, "explorer": len(_seen)}))
'''
