"""examples/19_sequences.py at its quick size (seeded) prints the numbers it claims: the RNN's
gradient at t = 0 at least 100x below the LSTM's, losses that decrease on the memory task, the
LSTM's gates recomputed by hand equal to the layer's output; and it saves its plots."""

import re

import pytest

from tests.test_examples import _run, _script

pytest.importorskip("matplotlib")


def test_sequences_example_prints_its_numbers(tmp_path_factory):
    out, cwd = _run(_script("19_sequences.py"), tmp_path_factory)
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout
    norms = {m.group(1).strip(): float(m.group(2)) for m in
             re.finditer(r"^  (RNN \(tanh\)|LSTM)\s+t = 99: .* t = 0: (\S+)$", text, re.M)}
    assert set(norms) == {"RNN (tanh)", "LSTM"}, text
    assert norms["RNN (tanh)"] * 100 <= norms["LSTM"]
    ratio = float(re.search(r"the RNN's gradient is (\S+) times smaller", text).group(1))
    assert ratio == pytest.approx(norms["LSTM"] / norms["RNN (tanh)"], rel=0.01)
    rows = re.findall(r"^\s+(\d+)\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+) -> ([0-9.]+); ([0-9.]+) "
                      r"-> ([0-9.]+)$", text, re.M)
    assert [int(r[0]) for r in rows] == [5, 10], text
    for _, acc_rnn, acc_lstm, r0, r1, l0, l1 in rows:
        assert float(r1) < float(r0) and float(l1) < float(l0)  # both models' losses decrease
        assert 0 <= float(acc_rnn) <= 1 and 0 <= float(acc_lstm) <= 1
    diff = float(re.search(r"max \|h - layer output\| = (\S+)", text).group(1))
    assert diff < 1e-5  # the gates by hand give the layer's output (float32)
    for png in ("bptt_gradients.png", "memory_accuracy.png", "lstm_gates.png"):
        assert (cwd / "runs/examples/19_sequences" / png).read_bytes()[:4] == b"\x89PNG"
