"""bench/distributed.py's variants train the same W1 (its timings compare like with like).

No timing here, and no MPI: one process runs the 1-process job's variants for one block.
"""

import json

from bench import distributed as bench

import chainrule.distributed as dist


def test_the_one_process_job_times_every_variant(tmp_path):
    out = tmp_path / "result.json"
    try:
        bench.worker("1p t1", steps=2, blocks=1, out=str(out))
    finally:
        dist.destroy_process_group()
    got = json.loads(out.read_text())
    assert sorted(got["rates"]) == sorted(s["name"] for s in bench.JOBS["1p t1"][2])
    assert all(len(r) == 1 and r[0] > 0 for r in got["rates"].values())
    assert got["buckets"] == {"b512 DDP bookkeeping": 1}  # 0.94 MB of gradients, a 25 MB cap
    assert got["allreduce_ms"] == []


def test_ddp_variants_start_from_the_plain_models_weights_and_agree_with_it():
    from bench.workloads import w1_data

    import chainrule as cr

    dist.init_process_group()
    try:
        x, y = w1_data(8)
        plain = bench._variant({"name": "plain"}, cr.tensor(x), y)
        ddp = bench._variant({"name": "ddp", "ddp": 0.25}, cr.tensor(x), y)
        losses = [[float(v[0]().item()) for _ in range(3)] for v in (plain, ddp)]
    finally:
        dist.destroy_process_group()
    assert losses[0] == losses[1]  # a world of one, grad_weight 1: DDP changes nothing
