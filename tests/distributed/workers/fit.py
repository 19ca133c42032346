"""cr.train.fit on every rank of an MPI job (or in one process, for the reference run).

    mpiexec -n 3 python fit.py OUT [--eager]

Each rank writes OUT/rank-<r>.json: the final parameters, the history, how many checkpoints it
wrote, and a resumed run's distance from the uninterrupted one.
"""

import hashlib
import json
import os
import sys

import numpy as np

import chainrule as cr
import chainrule.distributed as dist
import chainrule.nn.functional as F
from chainrule.train import checkpoint

ROWS, BATCH = 130, 32  # the last batch has 2 rows: with 3 processes one slice is empty


def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((ROWS + 40, 6)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(np.int64) + (X[:, 3] > 1)
    return (X[:ROWS], y[:ROWS]), (X[ROWS:], y[ROWS:])


def train(epochs, compile_step, distributed, callbacks=(), resume=None):
    cr.manual_seed(0)
    model = cr.nn.Sequential(cr.nn.Linear(6, 16), cr.nn.Tanh(), cr.nn.Linear(16, 3))
    opt = cr.optim.Adam(model.parameters(), lr=0.01)
    train_data, val_data = data()
    history = cr.train.fit(model, F.cross_entropy, opt, train_data, epochs=epochs,
                           batch_size=BATCH, val_data=val_data, metrics=["accuracy"], seed=1,
                           progress=False, compile_step=compile_step, distributed=distributed,
                           callbacks=list(callbacks), resume=resume)
    return model, history


def params(model):
    return {k: v.numpy().tolist() for k, v in model.state_dict().items()}


def run(out, compile_step=True, distributed=None):
    """Train, train again interrupted and resumed; returns what rank this writes."""
    rank = dist.get_rank() if dist.is_initialized() else 0
    saves = []
    save = checkpoint.save
    checkpoint.save = lambda obj, path: (saves.append(path), save(obj, path))
    full, history = train(3, compile_step, distributed,
                          [cr.train.ModelCheckpoint(os.path.join(out, "full.safetensors"))])
    part = os.path.join(out, "part.safetensors")
    train(2, compile_step, distributed, [cr.train.ModelCheckpoint(part)])
    if dist.is_initialized():
        dist.barrier()  # rank 0 has written the checkpoint the others read
    checkpoint.save = save
    resumed, resumed_history = train(3, compile_step, distributed, resume=part)
    digest = hashlib.sha256(b"".join(v.numpy().tobytes()
                                     for v in full.state_dict().values())).hexdigest()
    return {"rank": rank, "params": params(full), "digest": digest,
            "history": {k: history[k] for k in ("loss", "accuracy", "val_loss",
                                                "val_accuracy")},
            "saves": len(saves),
            "resume_error": max(float(np.abs(a.numpy() - b.numpy()).max()) for a, b in
                                zip(full.state_dict().values(), resumed.state_dict().values())),
            "resume_history_equal": resumed_history["loss"] == history["loss"]}


if __name__ == "__main__":
    dist.init_process_group("mpi", timeout=60)
    record = run(sys.argv[1], compile_step="--eager" not in sys.argv)
    with open(os.path.join(sys.argv[1], f"rank-{record['rank']}.json"), "w") as f:
        json.dump(record, f)
