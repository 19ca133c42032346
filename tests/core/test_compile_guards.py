"""What a trace may not freeze, each both ways (traced on one kind of value, replayed on the
other): a boolean mask's count, labels equal to ignore_index, the range checks of BCE targets
and embedding indices, and softplus's threshold branch. Each replay equals eager, or fails as
eager fails."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F


def _run_both(fn, calls):
    """[(eager, compiled)] results of fn on each call's arguments (fresh tensors each time)."""
    compiled = cr.compile(fn)
    out = []
    for args in calls:
        eager = fn(*[cr.tensor(a) for a in args])
        replay = compiled(*[cr.tensor(a) for a in args])
        out.append((eager, replay))
    return out, compiled


def _values(t):
    return [np.asarray(v.numpy()) for v in (t if isinstance(t, tuple) else (t,))]


def _assert_all_equal(pairs):
    for eager, replay in pairs:
        for a, b in zip(_values(eager), _values(replay)):
            np.testing.assert_array_equal(a, b)


X = np.array([1.0, 2.0, 3.0, 4.0])
MASKS = {"two": np.array([True, True, False, False]), "one": np.array([False, True, False, False]),
         "three": np.array([True, False, True, True])}


@pytest.mark.parametrize("first, then", [("two", "one"), ("one", "three")])
def test_a_boolean_mask_whose_count_changes_replays_like_eager(first, then):
    calls = [(X, MASKS[first])] * 3 + [(X, MASKS[then])] * 3 + [(X, MASKS[first])]
    pairs, compiled = _run_both(lambda x, m: x[m].mean(), calls)
    _assert_all_equal(pairs)
    assert pairs[3][1].item() == X[MASKS[then]].mean()  # the case that replayed 1.5 for 2.0


@pytest.mark.parametrize("first, then", [("two", "one"), ("three", "two")])
def test_a_boolean_mask_in_a_training_step_retraces_before_any_write(first, then):
    w = cr.tensor([0.5, -1.0, 2.0, 1.5], requires_grad=True)
    compiled = cr.compile(lambda m: ((w[m] * 3).sum().backward(), w.grad.clone())[1])
    for m in [MASKS[first]] * 3 + [MASKS[then]] * 2:
        w.grad = None
        got = compiled(cr.tensor(m)).numpy()
        np.testing.assert_array_equal(got, np.where(m, 3.0, 0.0).astype(np.float32))


def test_a_mask_count_that_changes_after_a_write_is_refused_with_the_reason():
    w = cr.tensor([0.5, -1.0, 2.0, 1.5], requires_grad=True)
    acc = cr.zeros(4)

    def step(m):
        acc.add_(1.0)  # an in-place write first: the call cannot be redone
        return (w[m] * acc[m]).sum()

    compiled = cr.compile(step)
    for _ in range(3):
        with cr.no_grad():
            compiled(cr.tensor(MASKS["two"]))
    with pytest.raises(cr.CompileError, match="depends on the input values.*cannot be redone"):
        with cr.no_grad():
            compiled(cr.tensor(MASKS["one"]))


LOGITS = np.array([[1.0, 2.0, 0.5], [0.3, -1.0, 2.0], [0.0, 0.2, 0.1]], dtype=np.float32)


@pytest.mark.parametrize("first, then", [([0, 2, 1], [0, -100, 1]), ([-100, 2, 1], [0, 2, 1])])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_labels_equal_to_ignore_index_replay_like_eager(first, then, reduction):
    W = cr.tensor(np.eye(3, dtype=np.float32), requires_grad=True)

    def step(x, y):
        loss = F.cross_entropy(x @ W, y, reduction=reduction)
        (g,) = cr.autograd.grad(loss, [W])
        return loss, g

    calls = [(LOGITS, np.array(first))] * 3 + [(LOGITS, np.array(then))] * 2
    pairs, _ = _run_both(step, calls)
    _assert_all_equal(pairs)
    kept = np.array(then) != -100
    logp = LOGITS - np.log(np.exp(LOGITS).sum(1, keepdims=True))
    want = -logp[np.arange(3)[kept], np.array(then)[kept]].sum()
    want = want / kept.sum() if reduction == "mean" else want
    assert pairs[-1][1][0].item() == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize("first, then", [(0.7, 2.0), (2.0, 0.7)])
def test_bce_target_range_is_checked_at_every_replay(first, then):
    def bce(p, y):
        return F.binary_cross_entropy(p, y)

    compiled = cr.compile(bce)
    p = np.array([0.3, 0.6], dtype=np.float32)
    ok, bad = np.array([first, 0.5], np.float32), np.array([then, 0.5], np.float32)
    for y in (ok, ok, ok) if first <= 1 else ():
        compiled(cr.tensor(p), cr.tensor(y))
    target = bad if first <= 1 else ok
    with pytest.raises(ValueError, match="binary_cross_entropy: target must be in \\[0, 1\\]"):
        compiled(cr.tensor(p), cr.tensor(target))  # replayed (or traced) on a target of 2.0
    good = np.array([0.7, 0.5], np.float32)
    for _ in range(3):  # and it still compiles and replays valid targets after that
        np.testing.assert_array_equal(compiled(cr.tensor(p), cr.tensor(good)).numpy(),
                                      bce(cr.tensor(p), cr.tensor(good)).numpy())


@pytest.mark.parametrize("bad_index", [7, -1])
def test_embedding_indices_are_checked_at_every_replay(bad_index):
    emb = cr.nn.Embedding(5, 2)
    compiled = cr.compile(lambda i: emb(i).sum())
    for _ in range(3):
        with cr.no_grad():
            compiled(cr.tensor(np.array([0, 4, 2])))
    with pytest.raises(ValueError, match=f"embedding: index {bad_index} is out of range for 5"):
        with cr.no_grad():
            compiled(cr.tensor(np.array([0, bad_index, 2])))


@pytest.mark.parametrize("first, then", [([1.0, 30.0], [1.0, 2.0]), ([1.0, 2.0], [1.0, 30.0])])
def test_softplus_threshold_branch_is_chosen_at_every_replay(first, then):
    # float64, so that softplus(30) = 30 + 9.4e-14 differs from the threshold branch's 30
    x = [np.array(first)] * 3 + [np.array(then)] * 2
    pairs, _ = _run_both(lambda v: F.softplus(v), [(a,) for a in x])
    _assert_all_equal(pairs)
    got = pairs[-1][1].numpy()
    want = np.where(np.array(then) > 20, np.array(then), np.log1p(np.exp(np.array(then))))
    np.testing.assert_allclose(got, want, rtol=1e-15)  # 2.127 for x = 2, not the frozen 2.0
