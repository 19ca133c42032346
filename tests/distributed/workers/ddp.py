"""DistributedDataParallel on every rank; each rank writes what it saw to OUT/rank-<r>.json.

    python -m chainrule.distributed.launch --nproc 3 ddp.py OUT
"""

import json
import sys

import numpy as np

import chainrule as cr
import chainrule.distributed as dist
import chainrule.nn.functional as F
from chainrule.train.parallel import rows_of

dist.init_process_group("mpi", timeout=30)
rank, world = dist.get_rank(), dist.get_world_size()
got = {}
rng = np.random.default_rng(0)  # the same data on every rank
X = rng.standard_normal((10, 6)).astype(np.float32)
y = rng.integers(0, 4, 10)


def mlp():
    return cr.nn.Sequential(cr.nn.Linear(6, 32), cr.nn.Tanh(), cr.nn.Linear(32, 16),
                            cr.nn.Tanh(), cr.nn.Linear(16, 4))


cr.manual_seed(100 + rank)  # every rank starts from other weights: DDP gives them rank 0's
model = mlp()
got["own_init"] = float(model[0].weight.numpy().sum())
ddp = dist.DistributedDataParallel(model, bucket_cap_mb=0.002)  # ~2 KB: several buckets
got["buckets"] = ddp._reducer.buckets
got["synced_init"] = float(model[0].weight.numpy().sum())
reference = mlp()
reference.load_state_dict(model.state_dict())

# when each bucket was launched: how many gradients had arrived by then
reducer = ddp._reducer
arrived_at_launch = []
launch = reducer._launch
reducer._launch = lambda b: (arrived_at_launch.append(sum(reducer.seen)), launch(b))
got["deliveries"] = len(list(model.parameters()))

# an uneven slice of the batch, weighted by its share: the full batch's mean gradient
lo, hi = rows_of(len(X), rank, world)
ddp.grad_weight = (hi - lo) / len(X)
F.cross_entropy(ddp(cr.tensor(X[lo:hi])), cr.tensor(y[lo:hi])).backward()
F.cross_entropy(reference(cr.tensor(X)), cr.tensor(y)).backward()
got["arrived_at_launch"] = list(arrived_at_launch)
got["grad_error"] = max(float(np.abs(p.grad.numpy() - q.grad.numpy()).max())
                        for p, q in zip(model.parameters(), reference.parameters()))
got["grad_scale"] = max(float(np.abs(q.grad.numpy()).max()) for q in reference.parameters())

# the second step runs on buckets re-cut in the first step's arrival order
got["rebuilt_buckets"] = ddp._reducer.buckets
arrived_at_launch.clear()
for p in model.parameters():
    p.grad = None
F.cross_entropy(ddp(cr.tensor(X[lo:hi])), cr.tensor(y[lo:hi])).backward()
got["rebuilt_arrived_at_launch"] = list(arrived_at_launch)
got["rebuilt_grad_error"] = max(float(np.abs(p.grad.numpy() - q.grad.numpy()).max())
                                for p, q in zip(model.parameters(), reference.parameters()))

# no_sync: accumulate a first micro-batch locally, reduce the sum with the second
for p in list(model.parameters()) + list(reference.parameters()):
    p.grad = None
ddp.grad_weight = None  # the average over processes, as in PyTorch
halves = [X[:5], X[5:]], [y[:5], y[5:]]
with ddp.no_sync():
    F.cross_entropy(ddp(cr.tensor(halves[0][0] + rank)), cr.tensor(halves[1][0])).backward()
got["no_sync_local_first_grad"] = float(model[0].bias.grad.numpy()[0])
F.cross_entropy(ddp(cr.tensor(halves[0][1] + rank)), cr.tensor(halves[1][1])).backward()
for r in range(world):  # what the average over ranks of the accumulated gradient must be
    for xs, ys in zip(*halves):
        F.cross_entropy(reference(cr.tensor(xs + r)), cr.tensor(ys)).backward()
got["no_sync_error"] = max(float(np.abs(p.grad.numpy() - q.grad.numpy() / world).max())
                           for p, q in zip(model.parameters(), reference.parameters()))

# batch norm: normalizes by each rank's own batch; running statistics follow rank 0's
cr.manual_seed(7)
bn_model = cr.nn.Sequential(cr.nn.Linear(6, 3), cr.nn.BatchNorm1d(3))
bn_ddp = dist.DistributedDataParallel(bn_model)
seen = []
bn_model[1].register_forward_pre_hook(
    lambda m, args: seen.append(m.running_mean.numpy().copy()))
bn_ddp(cr.tensor(X + rank)).sum().backward()
got["running_mean_after_own_batch"] = bn_model[1].running_mean.tolist()
bn_ddp(cr.tensor(X)).sum().backward()
got["running_mean_seen_by_second_forward"] = seen[1].tolist()

with open(f"{sys.argv[1]}/rank-{rank}.json", "w") as f:
    json.dump(got, f)
