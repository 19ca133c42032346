"""The process group and the collectives in a world of one process (no MPI needed)."""

import datetime
import doctest
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
import chainrule.distributed as dist
from tests.distributed.mpi import environment


def test_a_plain_process_is_a_world_of_one(world_of_one):
    assert dist.is_initialized()
    assert (dist.get_rank(), dist.get_world_size()) == (0, 1)
    dist.barrier()


def test_destroy_then_init_again():
    dist.init_process_group()
    dist.destroy_process_group()
    assert not dist.is_initialized()
    dist.init_process_group(timeout=datetime.timedelta(seconds=3), world_size=1, rank=0)
    dist.destroy_process_group()


def test_init_errors_name_what_was_wrong(world_of_one):
    with pytest.raises(RuntimeError, match="already initialized; call destroy_process_group"):
        dist.init_process_group()


@pytest.mark.parametrize("kwargs, message", [
    ({"backend": "nccl"}, "backend must be 'mpi' .*; got 'nccl'"),
    ({"timeout": 0}, "timeout must be a positive number of seconds .*; got 0"),
    ({"timeout": "1s"}, "timeout must be .*; got '1s'"),
    ({"world_size": 2}, "world_size=2 was asked for, but the MPI launcher made this process "
                        "world_size 1"),
    ({"rank": 1}, "rank=1 was asked for"),
])
def test_bad_init_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        dist.init_process_group(**kwargs)
    assert not dist.is_initialized()


def test_rank_and_size_need_a_group():
    with pytest.raises(RuntimeError, match="get_rank: the default process group is not "
                                           "initialized; call cr.distributed.init_process_group"):
        dist.get_rank()
    with pytest.raises(RuntimeError, match="all_reduce: the default process group"):
        dist.all_reduce(cr.ones(2))


def test_collectives_in_a_world_of_one_are_what_one_process_holds(world_of_one):
    t = cr.tensor([1.0, -2.0])
    for op in dist.ReduceOp:
        dist.all_reduce(t, op=op)
    assert t.tolist() == [1.0, -2.0]
    dist.broadcast(t, src=0)
    parts = [cr.zeros(2)]
    dist.all_gather(parts, t)
    assert parts[0].tolist() == [1.0, -2.0]
    out = cr.zeros(2)
    dist.all_gather_into_tensor(out, t)
    assert out.tolist() == [1.0, -2.0]
    dist.reduce_scatter(out, [cr.tensor([3.0, 4.0])])
    assert out.tolist() == [3.0, 4.0]
    objects = [None]
    dist.all_gather_object(objects, {"a": 1})
    assert objects == [{"a": 1}]
    assert dist.all_gather_rows(np.ones((2, 3))).shape == (2, 3)
    work = dist.all_reduce(t, async_op=True)
    assert work.is_completed() and work.wait() is True


@pytest.mark.parametrize("call, error, message", [
    (lambda: dist.all_reduce(np.ones(2)), TypeError, "all_reduce: tensor must be a cr.Tensor; "
                                                     "got ndarray"),
    (lambda: dist.all_reduce(cr.ones(2), op="sum"), TypeError, "op must be a "
                                                               "cr.distributed.ReduceOp"),
    (lambda: dist.broadcast(cr.ones(2), src=1), ValueError, r"broadcast: src must be a rank in "
                                                            r"\[0, 0\]; got 1"),
    (lambda: dist.all_gather([cr.ones(2), cr.ones(2)], cr.ones(2)), ValueError,
     "all_gather: tensor_list must hold world_size = 1 tensors; got 2"),
    (lambda: dist.all_gather([cr.ones(3)], cr.ones(2)), ValueError,
     r"all_gather: tensor_list\[0\] must have the shape and dtype of the input"),
    (lambda: dist.all_gather_into_tensor(cr.ones(3), cr.ones(2)), ValueError,
     r"output_tensor must have shape \(2,\)"),
    (lambda: dist.all_reduce(cr.ones(2), group="g"), ValueError, "only the default process "
                                                                 "group"),
    (lambda: dist.all_gather_rows(None), ValueError, "no process has rows"),
    (lambda: dist.all_reduce(cr.tensor([1, 2]), op=dist.ReduceOp.AVG), TypeError,
     "all_reduce: ReduceOp.AVG needs a floating-point tensor; got dtype int64"),
    (lambda: dist.all_reduce(cr.tensor([True])), TypeError, "reductions need a "
                                                            "floating-point or integer tensor"),
])
def test_collective_argument_errors(world_of_one, call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_importing_distributed_does_not_import_mpi4py():
    code = ("import sys, chainrule, chainrule.distributed as d, chainrule.train; "
            "d.init_process_group(); print('mpi4py' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=environment(), timeout=60, check=True).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize("module", ["group", "collectives", "ddp"])
def test_docstring_examples(module):
    import importlib

    failures, tried = doctest.testmod(importlib.import_module(f"chainrule.distributed.{module}"))
    assert failures == 0 and tried > 0
