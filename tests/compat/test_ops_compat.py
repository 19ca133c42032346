"""The torch-compatibility ops outside the op table: integer and boolean results (nonzero,
unique, bincount, histc, searchsorted, bucketize, isclose) against NumPy, random draws
(distributions, generators, reproducibility), devices, and the errors for bad input."""

import numpy as np
import pytest

import chainrule as cr


def test_integer_results_match_numpy():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, 20)
    t = cr.tensor(x)
    np.testing.assert_array_equal(cr.nonzero(t > 2).numpy(), np.argwhere(x > 2))
    u, inv, cnt = cr.unique(t, return_inverse=True, return_counts=True)
    wu, winv, wcnt = np.unique(x, return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(u.numpy(), wu)
    np.testing.assert_array_equal(inv.numpy(), winv)
    np.testing.assert_array_equal(cnt.numpy(), wcnt)
    np.testing.assert_array_equal(cr.bincount(t, minlength=7).numpy(), np.bincount(x, None, 7))
    w = rng.random(20)
    np.testing.assert_allclose(cr.bincount(t, cr.tensor(w)).numpy(), np.bincount(x, w))
    v = rng.random(30)
    np.testing.assert_array_equal(cr.histc(cr.tensor(v), bins=5, min=0, max=1).numpy(),
                                  np.histogram(v, 5, (0, 1))[0])
    edges = np.sort(rng.random(6))
    np.testing.assert_array_equal(cr.searchsorted(cr.tensor(edges), cr.tensor(v)).numpy(),
                                  np.searchsorted(edges, v))
    np.testing.assert_array_equal(cr.bucketize(cr.tensor(v), cr.tensor(edges), right=True)
                                  .numpy(), np.searchsorted(edges, v, side="right"))
    np.testing.assert_array_equal(cr.isclose(cr.tensor(v), cr.tensor(v + 1e-9)).numpy(),
                                  np.isclose(v, v + 1e-9))


def test_unique_along_a_dim_and_rows_of_searchsorted():
    x = np.array([[1, 2], [0, 5], [1, 2]])
    np.testing.assert_array_equal(cr.unique(cr.tensor(x), dim=0).numpy(), np.unique(x, axis=0))
    seq = np.array([[1.0, 2.0, 3.0], [0.0, 10.0, 20.0]])
    vals = np.array([[2.5], [15.0]])
    np.testing.assert_array_equal(cr.searchsorted(cr.tensor(seq), cr.tensor(vals)).numpy(),
                                  [[2], [2]])


def test_generators_are_independent_and_reproducible():
    g1 = cr.Generator().manual_seed(3)
    g2 = cr.Generator().manual_seed(3)
    cr.manual_seed(0)
    a = cr.randn(4, generator=g1)
    cr.randn(100)  # draws from the default generator do not move g1 or g2
    b = cr.randn(4, generator=g2)
    assert cr.equal(a, b) and g1.initial_seed() == 3
    state = g1.get_state()
    c = cr.randint(0, 100, (5,), generator=g1)
    g1.set_state(state)
    assert cr.equal(c, cr.randint(0, 100, (5,), generator=g1))
    assert cr.manual_seed(5) is cr.default_generator and cr.initial_seed() == 5
    s = cr.get_rng_state()
    x = cr.rand(3)
    cr.set_rng_state(s)
    assert cr.equal(x, cr.rand(3))


def test_random_distributions_have_their_moments():
    cr.manual_seed(0)
    n = cr.normal(2.0, 0.5, size=(20000,))
    assert abs(n.mean().item() - 2.0) < 0.02 and abs(n.std().item() - 0.5) < 0.02
    b = cr.bernoulli(cr.full((20000,), 0.3))
    assert abs(b.mean().item() - 0.3) < 0.02 and b.dtype == cr.float32
    m = cr.multinomial(cr.tensor([1.0, 3.0]), 20000, replacement=True)
    assert abs(m.float().mean().item() - 0.75) < 0.02 and m.dtype == cr.long
    w = cr.multinomial(cr.tensor([[5.0, 1.0, 0.0, 2.0]] * 50), 3)
    assert all(sorted(r) == [0, 1, 3] for r in w.tolist())  # without replacement: distinct
    p = cr.randperm(50)
    assert sorted(p.tolist()) == list(range(50))
    e = cr.empty(20000).exponential_(2.0)
    assert abs(e.mean().item() - 0.5) < 0.02
    r = cr.randint(-3, 3, (2000,))
    assert r.min().item() == -3 and r.max().item() == 2
    assert cr.poisson(cr.full((20000,), 4.0)).mean().item() == pytest.approx(4.0, abs=0.1)


def test_random_bad_input_is_named():
    with pytest.raises(ValueError, match="randint: high"):
        cr.randint(5, 5, (2,))
    with pytest.raises(TypeError, match="randint: needs high and size"):
        cr.randint(5)
    with pytest.raises(ValueError, match="bernoulli: probabilities"):
        cr.bernoulli(cr.tensor([1.5]))
    with pytest.raises(ValueError, match="multinomial: cannot draw 3 samples without"):
        cr.multinomial(cr.tensor([1.0, 0.0, 1.0]), 3)
    with pytest.raises(TypeError, match="normal: give size="):
        cr.normal(0.0, 1.0)
    with pytest.raises(TypeError, match="generator must be a chainrule.Generator"):
        cr.randint(0, 2, (2,), generator=np.random.default_rng(0))


def test_cuda_without_a_gpu_is_refused_with_a_clear_error():
    assert cr.device("cpu") == "cpu" and str(cr.device("cpu")) == "cpu"
    assert cr.zeros(2, device="cpu").shape == (2,) and not cr.cuda.is_available()
    for call in (lambda: cr.zeros(2, device="cuda"), lambda: cr.ones(2).to("cuda:0"),
                 lambda: cr.ones(2).cuda(), lambda: cr.nn.Linear(2, 2).to("cuda")):
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            call()
    with pytest.raises(ValueError, match="unknown device 'mps'"):
        cr.device("mps")
    with pytest.raises(ValueError, match="Generator: a Generator's stream is the host's"):
        cr.Generator("cuda")


def test_indexing_errors_name_the_op_and_the_shapes():
    x = cr.zeros(3, 4)
    with pytest.raises(IndexError, match=r"gather: index values must lie in \[-4, 4\)"):
        x.gather(1, cr.tensor([[4]]))
    with pytest.raises(ValueError, match="gather: index must have as many dims as input"):
        x.gather(1, cr.tensor([1]))
    with pytest.raises(TypeError, match="gather: index must be an integer tensor"):
        x.gather(1, cr.tensor([[1.0]]))
    with pytest.raises(ValueError, match=r"scatter_add: index shape \(4, 1\) is larger"):
        x.scatter_add(1, cr.zeros(4, 1, dtype=cr.long), cr.ones(4, 1))
    with pytest.raises(TypeError, match="masked_fill: mask must be a bool tensor"):
        x.masked_fill(cr.ones(3, 4), 0.0)
    with pytest.raises(TypeError, match="index_select: index must be a 1-D integer tensor"):
        x.index_select(0, cr.tensor([[0]]))
    with pytest.raises(ValueError, match="topk: k=5 is out of range for dim -1 of length 4"):
        x.topk(5)
    with pytest.raises(ValueError, match=r"mm: mat2 must be 2-D; got shape \(4,\)"):
        x.mm(cr.zeros(4))
    with pytest.raises(ValueError, match="dot: needs two 1-D tensors of equal length"):
        cr.dot(cr.zeros(3), cr.zeros(4))
    with pytest.raises(ValueError, match="t: expects a tensor of at most 2 dims"):
        cr.zeros(2, 2, 2).t()
    with pytest.raises(TypeError, match="scatter: give src"):
        x.scatter(1, cr.zeros(3, 1, dtype=cr.long))
    with pytest.raises(RuntimeError, match="masked_fill_: in-place operation on a leaf"):
        cr.zeros(2, requires_grad=True).masked_fill_(cr.tensor([True, False]), 1.0)


def test_in_place_forms_write_through_views_and_stamp_versions():
    x = cr.zeros(2, 3)
    row = x[0]
    row.scatter_(0, cr.tensor([2]), 5.0)
    assert x.tolist() == [[0.0, 0.0, 5.0], [0.0, 0.0, 0.0]]
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    with cr.no_grad():
        w.mul_(2).exp_()
    with pytest.raises(RuntimeError):
        y.backward()  # w changed after it was recorded


def test_linear_refuses_mixed_dtypes_as_torch():
    layer = cr.nn.Linear(2, 1)
    with pytest.raises(TypeError, match="linear: input dtype float64 differs from weight dtype "
                                        "float32"):
        layer(cr.ones(1, 2, dtype=cr.float64))
    with pytest.raises(TypeError, match="linear: input dtype int64"):
        layer(cr.tensor([[1, 2]]))
    assert layer.double()(cr.ones(1, 2, dtype=cr.float64)).dtype == cr.float64


def test_integer_float_promotion_follows_torch():
    i, f = cr.tensor([1, 2]), cr.tensor([0.5, 1.5])
    assert (i + f).dtype == cr.float32 and (f * i).dtype == cr.float32
    assert (i / i).dtype == cr.float32 and (cr.tensor([True]) + f).dtype == cr.float32
    assert (i + f.double()).dtype == cr.float64
    with cr.no_grad():
        w = cr.tensor([1.0, 2.0], requires_grad=True)
    (w * cr.tensor([3, 4])).sum().backward()
    assert w.grad.tolist() == [3.0, 4.0] and w.grad.dtype == cr.float32


def test_utils_data_is_cr_data_and_autograd_variable():
    from chainrule.utils.data import DataLoader, random_split

    assert DataLoader is cr.data.DataLoader and random_split is cr.data.random_split
    assert cr.utils.data.TensorDataset is cr.data.TensorDataset
    v = cr.autograd.Variable(cr.ones(2), requires_grad=True)
    assert v.requires_grad and v.is_leaf


def test_random_split_rejects_lengths_that_do_not_add_up():
    with pytest.raises(ValueError, match=r"random_split: sum of input lengths \(5\) does not "
                                         r"equal the length of the input dataset \(6\)"):
        cr.data.random_split(list(range(6)), [2, 3])
    parts = cr.data.random_split(list(range(10)), [0.33, 0.33, 0.34])
    assert [len(p) for p in parts] == [4, 3, 3]  # torch's remainder rule
    assert sorted(i for p in parts for i in p) == list(range(10))
