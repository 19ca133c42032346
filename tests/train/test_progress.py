"""Progress: one clean line per epoch off a terminal, a tqdm bar on one, nothing when disabled."""

import io
import sys

import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.train.progress import Progress, format_logs


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _train(progress, epochs=3):
    cr.manual_seed(0)
    X, y = cr.data.make_xor(64, seed=0)
    model = cr.nn.Sequential(cr.nn.Linear(2, 8), cr.nn.Tanh(), cr.nn.Linear(8, 2))
    opt = cr.optim.Adam(model.parameters(), lr=0.05)
    return cr.train.fit(model, F.cross_entropy, opt, (X, y), epochs=epochs, batch_size=16,
                        metrics=["accuracy"], seed=0, progress=progress)


def test_one_line_per_epoch_when_not_a_terminal(capsys):
    _train(True)
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 3 and "\r" not in out and err == ""
    assert lines[0].startswith("epoch 1/3  loss ") and "accuracy" in lines[0]
    assert lines[0].rstrip().endswith("s") and "lr 0.05" in lines[0]


def test_silent_when_disabled(capsys):
    _train(False)
    assert capsys.readouterr() == ("", "")


def test_tqdm_bar_on_a_terminal(monkeypatch):
    pytest.importorskip("tqdm")
    out, err = _Terminal(), _Terminal()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    assert Progress(3, 4).mode == "bar"
    _train(True)
    assert out.getvalue().count("epoch ") == 3  # the summary lines stay
    assert "batch" in err.getvalue()  # the bar was drawn on stderr


def test_format_logs():
    text = format_logs({"loss": 0.123456, "accuracy": 0.5, "lr": 0.001, "time": 0.25})
    assert text == "loss 0.1235  accuracy 0.5000  lr 0.001  0.25s"
