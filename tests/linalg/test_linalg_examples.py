"""The numbers examples/16_linear_algebra.py and examples/17_low_rank.py print, checked (the
smoke run itself is tests/test_examples.py's; each script runs once per session)."""

import re

import numpy as np

from tests.test_examples import _run, _script

NUM = r"([-+0-9.e]+)"


def test_linear_algebra_example_numbers(tmp_path_factory):
    out, cwd = _run(_script("16_linear_algebra.py"), tmp_path_factory)
    text = out.stdout
    rows = re.findall(rf"max \|eigenvalue\| = {NUM}: \|\|x_(\d+)\|\| / \|\|x_0\|\| = {NUM} <= "
                      rf"rho\^\d+ = {NUM}; growth per layer over the last 10: {NUM}", text)
    assert len(rows) == 3, text
    for rho, layers, ratio, bound, per_layer in rows:
        rho, ratio, bound, per_layer = map(float, (rho, ratio, bound, per_layer))
        assert ratio <= bound * (1 + 1e-3)  # ||W^L x|| <= rho^L ||x|| for a symmetric W
        assert abs(per_layer - rho) < 0.01  # the top eigenvalue takes over
        assert abs(bound - rho ** int(layers)) <= 1e-3 * bound
    ratios = [float(r[2]) for r in rows]
    assert ratios[0] < 0.05 and ratios[2] > 5  # vanishing below 1, exploding above

    s = list(map(float, re.search(rf"singular values {NUM}, {NUM};", text).groups()))
    np.testing.assert_allclose(s, np.linalg.svd([[2.0, 1.0], [0.5, 1.5]], compute_uv=False),
                               atol=1e-4)
    longest, shortest, err = map(float, re.search(
        rf"longest radius {NUM}, shortest {NUM}; max \|U S Vh x - M x\| = {NUM}", text).groups())
    assert abs(longest - s[0]) < 1e-3 and abs(shortest - s[1]) < 1e-3 and err < 1e-12

    conds = re.findall(rf"cond\(X\) = {NUM}, cond\(X\^T X\) = {NUM} \(= cond\(X\)\^2\); relative "
                       rf"change of w / relative change of b: {NUM} \(y moved at random\), {NUM} ",
                       text)
    assert len(conds) == 2
    for cx, cxx, random, worst in (map(float, c) for c in conds):
        assert abs(cxx - cx ** 2) <= 2e-3 * cxx
        assert random <= cxx and worst <= cxx * (1 + 1e-6)
    (_, _, _, worst_well), (_, cxx_bad, _, worst_bad) = (map(float, c) for c in conds)
    assert worst_well < 10 and cxx_bad > 1e5 and worst_bad > 1e4 * worst_well

    diff = float(re.search(rf"central differences: max \|difference\| = {NUM}", text).group(1))
    assert diff < 1e-6
    for name in ("16_eigenvalues_growth.png", "16_svd_circle.png", "16_condition_number.png"):
        assert (cwd / "runs" / "examples" / name).stat().st_size > 10_000


def test_low_rank_example_numbers(tmp_path_factory):
    out, cwd = _run(_script("17_low_rank.py"), tmp_path_factory)
    text = out.stdout
    full_acc, full_params = re.search(rf"test accuracy {NUM}, (\d+) parameters", text).groups()
    full_acc, full_params = float(full_acc), int(full_params)
    assert full_params == 64 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10 and full_acc > 0.9
    curve = {int(r): (float(a), int(p)) for r, a, p in re.findall(
        rf"rank +(\d+): test accuracy {NUM}, (\d+) parameters", text)}
    assert sorted(curve) == [1, 2, 4, 8, 16, 32, 64]
    for r, (_, params) in curve.items():  # U_r diag(s_r) (m x r) and Vh_r (r x n) per layer
        assert params == sum(min(r, k) * (m + n) + m for m, n, k in
                             [(128, 64, 64), (64, 128, 64), (10, 64, 10)])
    assert curve[64][0] == full_acc  # full rank: the same weights, the same predictions
    assert curve[1][0] < full_acc - 0.3 and curve[16][0] > curve[1][0]
    before, after, r0, trainable = re.search(
        rf"test accuracy {NUM} -> {NUM} after fine-tuning A @ B \(rank (\d+)\) only: (\d+) "
        "trainable parameters", text).groups()
    before, after, r0, trainable = float(before), float(after), int(r0), int(trainable)
    assert before == curve[r0][0] and after > before + 0.1
    assert trainable == r0 * ((128 + 64) + (64 + 128) + (10 + 64))
    for name in ("17_rank_vs_accuracy.png", "17_lora_loss.png"):
        assert (cwd / "runs" / "examples" / name).stat().st_size > 10_000
