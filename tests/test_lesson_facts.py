"""Facts about torch's wording that lesson prose mentions.

The notebooks assert only an error's type (Colab runs a newer torch, whose wording may change), so
the parts of the messages their prose points at are asserted here, for the pinned torch.
"""
import warnings

import pytest
import torch
from torch import nn


def message(fn):
    with pytest.raises(Exception) as info:
        fn()
    return type(info.value).__name__, str(info.value)


def test_missing_hidden_size_names_the_argument():
    kind, text = message(lambda: nn.LSTM(10))
    assert kind == "TypeError" and "hidden_size" in text


def test_wrong_feature_size_names_input_size():
    kind, text = message(lambda: nn.LSTM(10, 20)(torch.randn(5, 3, 8)))
    assert kind == "RuntimeError" and "input_size" in text and "10" in text and "8" in text


def test_proj_size_error_names_the_rule():
    kind, text = message(lambda: nn.LSTM(10, 20, proj_size=20))
    assert kind == "ValueError" and "proj_size" in text and "hidden_size" in text


def test_dropout_with_one_layer_warns_naming_num_layers():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nn.LSTM(10, 20, dropout=0.5)
    assert caught[0].category is UserWarning and "num_layers" in str(caught[0].message)


def test_state_errors_say_what_was_expected():
    lstm, x = nn.LSTM(10, 20, num_layers=2), torch.randn(5, 3, 10)
    kind, text = message(lambda: lstm(x, (torch.zeros(3, 20), torch.zeros(3, 20))))
    assert kind == "RuntimeError" and "3-D" in text
    kind, text = message(lambda: lstm(x, (torch.zeros(1, 3, 20), torch.zeros(1, 3, 20))))
    assert kind == "RuntimeError" and "hidden[0]" in text and "(2, 3, 20)" in text


def test_proj_c0_sized_by_proj_size_is_rejected_as_hidden_1():
    lstm, x = nn.LSTM(10, 20, proj_size=5), torch.randn(5, 3, 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kind, text = message(lambda: lstm(x, (torch.zeros(1, 3, 5), torch.zeros(1, 3, 5))))
    assert kind == "RuntimeError" and "hidden[1]" in text


def test_unsorted_lengths_error_names_enforce_sorted_and_onnx():
    from torch.nn.utils.rnn import pack_padded_sequence
    kind, text = message(lambda: pack_padded_sequence(torch.zeros(3, 5, 2), [2, 5, 3], batch_first=True))
    assert kind == "RuntimeError" and "enforce_sorted" in text and "ONNX" in text


def test_retain_graph_after_a_step_fails_in_place_and_without_detach_a_second_time():
    lstm = nn.LSTM(2, 3, batch_first=True)
    opt = torch.optim.SGD(lstm.parameters(), lr=0.1)
    x = torch.randn(1, 4, 2)
    for retain, words in ((False, "backward through the graph a second time"), (True, "modified by an inplace operation")):
        state = None

        def chunks():
            nonlocal state
            for chunk in x.split(2, dim=1):
                out, state = lstm(chunk, state)
                opt.zero_grad()
                out.sum().backward(retain_graph=retain)
                opt.step()
        kind, text = message(chunks)
        assert kind == "RuntimeError" and words in text


def test_int64_ids_error_suggests_both_fixes_and_module_to_int_refuses():
    kind, text = message(lambda: nn.LSTM(1, 4)(torch.zeros(3, 2, 1, dtype=torch.int64)))
    assert kind == "ValueError" and "input.to(torch.float32)" in text and "model.to(torch.int64)" in text
    kind, text = message(lambda: nn.LSTM(1, 4).to(torch.int64))
    assert kind == "TypeError" and "floating point" in text


def test_sequential_lstm_linear_fails_on_the_tuple():
    kind, text = message(lambda: nn.Sequential(nn.LSTM(2, 3), nn.Linear(3, 1))(torch.zeros(4, 1, 2)))
    assert kind == "TypeError" and "tuple" in text


def test_the_rows_of_h_n_that_feedback_names_are_those_rows():
    """Lesson 06's feedback (course/keys/06_model.py) names layers and directions of h_n: each is checked
    here on a 2-layer bidirectional LSTM, against each layer run alone and against output."""
    from course.build import checks_source

    from course import keys

    ns = {"__name__": "__main__"}
    exec(compile(checks_source(["sequence_classifier"]), "checks", "exec"), ns)
    keys.install(ns["_course_answers"], [keys.text(keys.HERE / "06_model.py")])  # the mistakes are the key's
    reference = ns["_course_answers"]["references"]["sequence_classifier"]
    bottom = next(text for text, variant in reference["mistakes"] if variant.__name__ == "bottom_layer")
    assert "h_n[0] (and, with two directions, h_n[1], the bottom layer's backward state)" in bottom
    assert "The top layer's state is h_n[-1]; with two directions its forward state is h_n[-2] and its backward " \
           "state h_n[-1]" in bottom
    assert "h_n[-2], the top layer's backward" not in bottom  # the old, wrong sentence is gone

    torch.manual_seed(0)
    H = 4
    lstm = nn.LSTM(3, H, num_layers=2, bidirectional=True, batch_first=True)
    x = torch.randn(5, 6, 3)
    with torch.no_grad():
        output, (h_n, _) = lstm(x)
        layer0 = nn.LSTM(3, H, bidirectional=True, batch_first=True)
        layer0.load_state_dict({k: v for k, v in lstm.state_dict().items() if "_l0" in k})
        _, (h_0, _) = layer0(x)
    assert torch.allclose(h_n[0], h_0[0], atol=1e-6) and torch.allclose(h_n[1], h_0[1], atol=1e-6)  # bottom: fwd, bwd
    assert torch.allclose(h_n[-2], output[:, -1, :H]) and torch.allclose(h_n[-1], output[:, 0, H:])  # top: fwd, bwd
    assert not torch.allclose(h_n[-2], output[:, 0, H:])  # h_n[-2] is not a backward state


def test_the_options_of_lesson_03s_exercise_5_are_what_their_hints_say():
    """03 Exercise 5's layer (two layers, batch first): only output[:, -1] equals h_n[-1]; output[-1] is the last
    sequence, c_n[-1] the top layer's cell state and h_n[0] the bottom layer's state, each a different tensor."""
    torch.manual_seed(0)
    lstm = nn.LSTM(8, 16, num_layers=2, batch_first=True)
    x = torch.randn(4, 7, 8)
    with torch.no_grad():
        output, (h_n, c_n) = lstm(x)
    assert torch.equal(output[:, -1], h_n[-1])                                            # B
    assert output[-1].shape == (7, 16) and output[-1].shape != h_n[-1].shape             # A: one sequence's steps
    assert c_n[-1].shape == h_n[-1].shape and not torch.allclose(c_n[-1], h_n[-1])        # C: same shape, another tensor
    assert (h_n[-1].abs() <= torch.tanh(c_n[-1]).abs()).all()                            # h = o * tanh(c), 0 < o < 1
    assert not torch.allclose(h_n[0], h_n[-1])                                            # D: the bottom layer
