"""DistributedSampler (PyTorch's semantics) and DataLoader(sampler=...)."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.distributed as dist
from chainrule.data import DataLoader, DistributedSampler


@pytest.mark.parametrize("n, replicas, drop_last", [(10, 3, False), (10, 3, True), (11, 4, False),
                                                    (2, 3, False), (12, 4, True)])
def test_shards_are_disjoint_equally_long_and_cover_the_epoch(n, replicas, drop_last):
    shards = [list(DistributedSampler(range(n), replicas, r, seed=5, drop_last=drop_last))
              for r in range(replicas)]
    lengths = {len(s) for s in shards}
    assert len(lengths) == 1
    assert lengths.pop() == len(DistributedSampler(range(n), replicas, 0, drop_last=drop_last))
    rows = sorted(sum(shards, []))
    if drop_last:
        assert len(set(rows)) == len(rows) == n - n % replicas
    else:
        assert set(rows) == set(range(n))  # every row, the first ones again as padding
        assert len(rows) == -(-n // replicas) * replicas


def test_the_same_on_every_process_and_new_each_epoch():
    a = DistributedSampler(range(100), 2, 0, seed=3)
    b = DistributedSampler(range(100), 2, 1, seed=3)
    first = list(a)
    assert sorted(first + list(b)) == list(range(100))
    assert list(a) == first  # the same epoch, the same order
    a.set_epoch(1)
    assert list(a) != first
    b.set_epoch(1)
    assert sorted(list(a) + list(b)) == list(range(100))


def test_without_shuffle_matches_pytorch():
    torch_data = pytest.importorskip("torch.utils.data")
    for n in (7, 10, 2):
        for replicas in (1, 2, 3, 4):
            for drop_last in (False, True):
                for r in range(replicas):
                    ours = DistributedSampler(range(n), replicas, r, shuffle=False,
                                              drop_last=drop_last)
                    theirs = torch_data.DistributedSampler(range(n), replicas, r, shuffle=False,
                                                           drop_last=drop_last)
                    assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_defaults_come_from_the_process_group():
    with pytest.raises(RuntimeError, match="process group's, which is not initialized"):
        DistributedSampler(range(4))
    dist.init_process_group()
    try:
        s = DistributedSampler(range(4), shuffle=False)
        assert (s.num_replicas, s.rank, list(s)) == (1, 0, [0, 1, 2, 3])
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize("kwargs, message", [
    ({"num_replicas": 2, "rank": 2}, r"rank must be in \[0, num_replicas - 1\]; got rank=2"),
    ({"num_replicas": 0, "rank": 0}, "rank must be in"),
    ({"num_replicas": 2, "rank": -1}, "rank must be a non-negative integer; got -1"),
    ({"num_replicas": 2, "rank": 0, "seed": 1.5}, "seed must be a non-negative integer"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DistributedSampler(range(4), **kwargs)


def test_dataloader_batches_the_samplers_rows_in_its_order():
    X = np.arange(10.0)[:, None]
    sampler = DistributedSampler(range(10), 3, 1, shuffle=False)
    loader = DataLoader((X, np.arange(10)), batch_size=3, sampler=sampler)
    assert len(loader) == 2
    assert [y.tolist() for _, y in loader] == [[1, 4, 7], [0]]
    assert [i.tolist() for i in loader.index_batches()] == [[1, 4, 7], [0]]
    x, y = loader.fetch(np.array([2, 5]))
    assert x.tolist() == [[2.0], [5.0]] and isinstance(x, cr.Tensor)


def test_dataloader_sampler_errors():
    with pytest.raises(ValueError, match="sampler and shuffle=True are mutually exclusive"):
        DataLoader(range(3), sampler=DistributedSampler(range(3), 1, 0), shuffle=True)
    with pytest.raises(TypeError, match="sampler must define __iter__ and __len__; got int"):
        DataLoader(range(3), sampler=3)


def test_docstring_example():
    import doctest

    from chainrule.data import sampler

    failures, tried = doctest.testmod(sampler)
    assert failures == 0 and tried > 0
