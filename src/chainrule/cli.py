"""The `chainrule` command: `chainrule train` trains an MLP, writes weights, history and a report.

    chainrule train                                  # MLP on digits, >= 97% test accuracy
    chainrule train --model cnn                      # a LeNet-style CNN on digits, >= 98%
    chainrule train --dataset spirals --hidden 64,64 --epochs 100
    chainrule train --dataset csv:data.csv --target label --out runs/mine
    chainrule train --resume runs/train/checkpoint.safetensors --epochs 80
    chainrule diagnose runs/train/checkpoint.safetensors --steps 20
    chainrule train --nproc 2                        # data-parallel, 2 processes (MPI)

The data is split three ways (seeded, stratified for classification): --test-size of it is
the test set, scored once after training; --val-size of the rest is the validation set, scored
every epoch; the model trains on what remains.

Outputs in --out DIR: model.safetensors (the state_dict), history.json, report.html, and
checkpoint.safetensors (the full training state, for --resume). Training is watched by the
TrainingMonitor (--no-monitor turns it off), which prints each problem it finds once. Bad
arguments or data give a one-line error and exit status 2 before anything is written; a failed
write (a full disk) gives a one-line error and exit status 1, and every file already written
stays whole.
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np

ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "gelu": "GELU",
               "leaky_relu": "LeakyReLU", "elu": "ELU", "silu": "SiLU"}
OPTIMIZERS = {"adam": ("Adam", 1e-3, {}), "adamw": ("AdamW", 1e-3, {}),
              "sgd": ("SGD", 0.05, {"momentum": 0.9}), "rmsprop": ("RMSprop", 1e-3, {}),
              "adagrad": ("Adagrad", 0.05, {})}
MODELS = ("mlp", "cnn")
DATASETS = ("digits", "iris", "breast_cancer", "wine", "xor", "moons", "circles", "spirals")
DEFAULTS = {"dataset": "digits", "target": None, "hidden": [128, 64], "activation": "relu",
            "optimizer": "adam", "lr": None, "epochs": None, "batch_size": 32, "seed": 0,
            "test_size": 0.2, "val_size": 0.1, "compile": True, "model": "mlp"}
RESUMABLE = ("epochs", "compile")  # options that may differ from the checkpoint's on resume
LEGACY = {"val_size": 0.0}  # an option's value in checkpoints from before the option existed
LEGACY["model"] = "mlp"
MAX_CLASSES = 50  # a CSV target with more distinct whole numbers is treated as regression


class UsageError(Exception):
    """Bad arguments or data: reported as one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{self.prog}: error: {message}")


def _positive(kind, name):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a {kind.__name__}; "
                                             f"got {text!r}") from None
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(f"{name} must be positive; got {text}")
        return value
    return parse


def _seed(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"--seed must be a non-negative integer; got {text!r}")
    return value


def _hidden(text):
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()] if text.strip() else []
    except ValueError:
        raise argparse.ArgumentTypeError(f"--hidden must be comma-separated layer widths such "
                                         f"as 64,64; got {text!r}") from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"--hidden widths must be positive; got {text!r}")
    return sizes


def _dataset(text):
    if text in DATASETS or (text.startswith("csv:") and len(text) > 4):
        return text
    raise argparse.ArgumentTypeError(f"--dataset must be one of {', '.join(DATASETS)} or "
                                     f"csv:PATH; got {text!r}")


def _test_size(text):
    value = _positive(float, "--test-size")(text)
    if not value < 1:
        raise argparse.ArgumentTypeError(f"--test-size must be a fraction in (0, 1); got {text}")
    return value


def _val_size(text):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"--val-size must be a fraction in [0, 1) (0: no "
                                         f"validation set); got {text!r}")
    return value


def build_parser():
    """The argparse parser of `chainrule` and its `train` command."""
    parser = _Parser(prog="chainrule", description="chainrule: neural networks from first "
                     "principles on NumPy.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="command")
    t = sub.add_parser("train", help="train an MLP and write weights, history and an HTML "
                       "report", description="Train an MLP classifier (or regressor, for a "
                       "CSV with a continuous target) and write DIR/model.safetensors, "
                       "DIR/history.json and DIR/report.html.")
    t.add_argument("--dataset", type=_dataset, help=f"one of {', '.join(DATASETS)}, or "
                   "csv:PATH (default: digits)")
    t.add_argument("--target", help="CSV target column, by name or index (default: the last)")
    t.add_argument("--hidden", type=_hidden, help="hidden layer widths (default: 128,64)")
    t.add_argument("--activation", choices=sorted(ACTIVATIONS), help="default: relu")
    t.add_argument("--model", choices=MODELS, help="mlp, or cnn: a LeNet-style convolutional "
                   "network on 8x8 images (--dataset digits; --hidden sets its dense layers) "
                   "(default: mlp)")
    t.add_argument("--optimizer", choices=sorted(OPTIMIZERS), help="default: adam")
    t.add_argument("--lr", type=_positive(float, "--lr"),
                   help="learning rate (default: 1e-3 for adam/adamw/rmsprop, 0.05 otherwise)")
    t.add_argument("--epochs", type=_positive(int, "--epochs"),
                   help="total epochs (default: 40 for digits, 20 for --model cnn, 100 "
                   "otherwise)")
    t.add_argument("--batch-size", type=_positive(int, "--batch-size"), help="default: 32")
    t.add_argument("--seed", type=_seed,
                   help="seed of the split, initialisation and shuffling (default: 0)")
    t.add_argument("--test-size", type=_test_size, help="fraction of the data held out as the "
                   "test set, scored once after training (default: 0.2)")
    t.add_argument("--val-size", type=_val_size, help="fraction of the rest held out as the "
                   "validation set, scored every epoch (default: 0.1; 0: none)")
    t.add_argument("--compile", action=argparse.BooleanOptionalAction,
                   help="trace each training step once and replay it (cr.compile): the same "
                   "numbers, less Python per batch (default: on)")
    t.add_argument("--out", default="runs/train", help="output directory (default: runs/train)")
    t.add_argument("--resume", metavar="CKPT", help="continue from DIR/checkpoint.safetensors "
                   "of an earlier run (with the same options) up to --epochs in total")
    t.add_argument("--monitor", action=argparse.BooleanOptionalAction, default=True,
                   help="watch training for dead units, vanishing or exploding gradients, a "
                   "wrong learning rate, ... and print each problem once (default: on)")
    t.add_argument("--nproc", type=_positive(int, "--nproc"), help="train data-parallel in N "
                   "processes on this machine, an MPI job over shared memory (--batch-size "
                   "stays the global batch; needs chainrule[mpi]; `mpiexec -n N chainrule "
                   "train` runs the same way)")
    _diagnose_parser(sub)
    return parser


def _diagnose_parser(sub):
    d = sub.add_parser("diagnose", help="diagnose a model saved by chainrule train",
                       description="Run cr.inspect.diagnose on a model saved by chainrule "
                       "train: print its findings (errors first) with what to do. Exit status "
                       "1 when a finding is an error, 0 otherwise.")
    d.add_argument("checkpoint", metavar="CKPT", help="DIR/checkpoint.safetensors (the model "
                   "and its optimizer) or DIR/model.safetensors (with DIR/history.json)")
    d.add_argument("--dataset", type=_dataset, help="the data to diagnose on (default: the "
                   "checkpoint's), standardised with the training statistics")
    d.add_argument("--target", help="CSV target column, by name or index")
    d.add_argument("--steps", type=_count("--steps"), default=20,
                   help="training steps taken on a copy to see the loss trajectory (default: 20;"
                   " 0 skips them)")
    d.add_argument("--batch-size", type=_positive(int, "--batch-size"), default=256,
                   help="rows per probe (default: 256)")
    d.add_argument("--markdown", metavar="PATH", help="also write the diagnosis as Markdown")


def _count(name):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = -1
        if value < 0:
            raise argparse.ArgumentTypeError(f"{name} must be a non-negative integer; got "
                                             f"{text!r}")
        return value
    return parse


def _version():
    from chainrule import __version__

    return f"chainrule {__version__}"


def resolve_config(args):
    """The run's configuration: defaults, overridden by a checkpoint, overridden by arguments."""
    given = {k: getattr(args, k) for k in DEFAULTS if getattr(args, k, None) is not None}
    checkpoint = None
    if args.resume is not None:
        from chainrule.train import load

        try:
            checkpoint = load(args.resume)
        except (OSError, ValueError) as e:
            raise UsageError(f"chainrule train: error: --resume: {e}") from None
        cli = (checkpoint.get("extra") or {}).get("cli") if isinstance(checkpoint, dict) else None
        if not isinstance(cli, dict) or not isinstance(checkpoint.get("epoch"), int):
            raise UsageError(f"chainrule train: error: --resume: {args.resume} is not a "
                             "checkpoint written by `chainrule train`")
        config = {**DEFAULTS, **LEGACY, **_checkpoint_options(cli)}
        for k, v in given.items():
            if k not in RESUMABLE and v != config[k]:
                raise UsageError(f"chainrule train: error: --resume: the checkpoint was trained "
                                 f"with --{k.replace('_', '-')} {_show(config[k])}; got "
                                 f"{_show(v)} (omit it to use the checkpoint's)")
        config.update(given)
        if config["epochs"] < checkpoint["epoch"]:
            raise UsageError(f"chainrule train: error: --epochs {config['epochs']} is less than "
                             f"the {checkpoint['epoch']} epochs already in the checkpoint")
    else:
        config = dict(DEFAULTS, **given)
    if config["model"] == "cnn" and config["dataset"] != "digits":
        raise UsageError(f"chainrule train: error: --model cnn needs 8x8 images: --dataset "
                         f"digits; got {config['dataset']}")
    if config["target"] is not None and not config["dataset"].startswith("csv:"):
        raise UsageError("chainrule train: error: --target applies only to --dataset csv:PATH")
    if config["lr"] is None:
        config["lr"] = OPTIMIZERS[config["optimizer"]][1]
    if config["epochs"] is None:
        config["epochs"] = 40 if config["dataset"] == "digits" else 100
        if config["model"] == "cnn":
            config["epochs"] = 20
    return config, checkpoint


def _show(v):
    return ",".join(map(str, v)) if isinstance(v, list) else str(v)


def _choice(choices, option):
    def parse(text):
        if text not in choices:
            raise argparse.ArgumentTypeError(f"{option} must be one of "
                                             f"{', '.join(sorted(choices))}; got {text!r}")
        return text
    return parse


OPTION_TYPES = {"dataset": _dataset, "hidden": _hidden, "lr": _positive(float, "--lr"),
                "activation": _choice(ACTIVATIONS, "--activation"),
                "optimizer": _choice(OPTIMIZERS, "--optimizer"),
                "model": _choice(MODELS, "--model"),
                "epochs": _positive(int, "--epochs"),
                "batch_size": _positive(int, "--batch-size"), "seed": _seed,
                "test_size": _test_size, "val_size": _val_size}


def _checkpoint_options(cli):
    """A checkpoint's recorded options, each checked as it is on the command line."""
    options = dict(cli)
    try:
        for k, v in cli.items():
            if k == "compile" and not isinstance(v, bool):
                raise argparse.ArgumentTypeError(f"--compile must be true or false; got {v!r}")
            if k == "target" and not (v is None or isinstance(v, str)):
                raise argparse.ArgumentTypeError(f"--target must be a column name or index; "
                                                 f"got {v!r}")
            if k in OPTION_TYPES and not (v is None and DEFAULTS[k] is None):
                options[k] = OPTION_TYPES[k](repr(v) if isinstance(v, bool) else _show(v))
    except argparse.ArgumentTypeError as e:
        raise UsageError(f"chainrule train: error: --resume: the checkpoint records an invalid "
                         f"option: {e}") from None
    return options


def load_data(config):
    """Split, standardised arrays and a description of the task (UsageError on bad data)."""
    from chainrule import data

    name = config["dataset"]
    try:
        if name.startswith("csv:"):
            path = name[4:]
            X, y = data.load_csv(path, target=-1 if config["target"] is None
                                 else config["target"])
            if y.dtype.kind == "i" and len(np.unique(y)) <= MAX_CLASSES:
                values, y = np.unique(y, return_inverse=True)
                ds = data.LoadedDataset(name, X, y.astype(np.int64), "classification",
                                        [str(v) for v in values])
            else:
                ds = data.LoadedDataset(name, X, y.astype(np.float32), "regression")
        else:
            ds = data.load_dataset(name, seed=config["seed"])
        if ds.task == "classification" and len(np.unique(ds.y)) < 2:
            raise ValueError(f"{name}: the target has a single class; nothing to learn")
        stratify = ds.y if ds.task == "classification" else None
        X_tr, X_te, y_tr, y_te = data.train_test_split(
            ds.X, ds.y, test_size=config["test_size"], stratify=stratify, seed=config["seed"])
        X_tr, X_va, y_tr, y_va = _validation_split(X_tr, y_tr, ds.task, config)
    except (OSError, ValueError, TypeError, KeyError) as e:
        raise UsageError(f"chainrule train: error: {e}") from None
    X_tr, mean, std = data.standardize(X_tr)  # statistics of the training rows only
    X_te, _, _ = data.standardize(X_te, mean, std)
    X_va = None if X_va is None else data.standardize(X_va, mean, std)[0]
    prep = {"x_mean": mean.tolist(), "x_std": std.tolist()}
    if ds.task == "regression":
        y_mean, y_std = float(y_tr.mean()), float(y_tr.std()) or 1.0
        y_tr = ((y_tr - y_mean) / y_std).astype(np.float32)[:, None]
        y_te = ((y_te - y_mean) / y_std).astype(np.float32)[:, None]
        y_va = None if y_va is None else ((y_va - y_mean) / y_std).astype(np.float32)[:, None]
        prep.update(y_mean=y_mean, y_std=y_std)
    val = None if X_va is None else (X_va, y_va)
    return ds, (X_tr, y_tr), val, (X_te, y_te), prep


def _validation_split(X, y, task, config):
    """(X_train, X_val, y_train, y_val): --val-size of the training rows (None, None at 0)."""
    from chainrule import data

    if config["val_size"] == 0:
        return X, None, y, None
    n_val = math.ceil(config["val_size"] * len(X))
    if n_val >= len(X) - 1:
        raise ValueError(f"--val-size {config['val_size']} leaves {len(X) - n_val} of the "
                         f"{len(X)} training rows to train on; use a smaller fraction")
    return data.train_test_split(X, y, test_size=n_val, seed=config["seed"],
                                 stratify=y if task == "classification" else None)


def build_model(config, n_in, n_out):
    """MLP: Linear -> activation for each hidden width, then a Linear output layer."""
    import chainrule as cr

    if config.get("model") == "cnn":
        return build_cnn(config, n_in, n_out)
    layers, width = [], n_in
    for h in config["hidden"]:
        layers += [cr.nn.Linear(width, h), getattr(cr.nn, ACTIVATIONS[config["activation"]])()]
        width = h
    return cr.nn.Sequential(*layers, cr.nn.Linear(width, n_out))


def build_cnn(config, n_in, n_out):
    """LeNet-style CNN on the (N, 64) digits seen as 1x8x8 images: two 3x3 convolutions (16 and
    32 channels, 'same' padding, each followed by the activation and a 2x2 max pool: 8x8 -> 4x4
    -> 2x2), then the --hidden dense layers and the output layer."""
    import chainrule as cr

    side = math.isqrt(n_in)
    act = getattr(cr.nn, ACTIVATIONS[config["activation"]])
    layers = [cr.nn.Unflatten(1, (1, side, side)),
              cr.nn.Conv2d(1, 16, 3, padding=1), act(), cr.nn.MaxPool2d(2),
              cr.nn.Conv2d(16, 32, 3, padding=1), act(), cr.nn.MaxPool2d(2), cr.nn.Flatten()]
    width = 32 * (side // 4) ** 2
    for h in config["hidden"]:
        layers += [cr.nn.Linear(width, h), act()]
        width = h
    return cr.nn.Sequential(*layers, cr.nn.Linear(width, n_out))


def _one_blas_thread():
    """Pin BLAS to one thread for the rest of the command (threadpoolctl, when installed: it
    comes with scikit-learn). A digits CNN's GEMMs are small (a few hundred thousand
    multiply-adds each, a few hundred per step): handing each to a second thread costs more
    than it saves, and on a busy machine waiting for that thread multiplies the time by 5-20."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(1, "blas")


def cnn_views(model, x):
    """(first conv's filters (C, kh, kw), one input image (H, W), its feature maps (C, H, W)
    after the first convolution and activation) for the report."""
    import chainrule as cr

    with cr.no_grad():
        image = model[0](cr.tensor(x[None]))
        maps = model[2](model[1](image))
    return model[1].weight.numpy()[:, 0], image.numpy()[0, 0], maps.numpy()[0]


def _finite(tree):
    """JSON-safe copy: NaN and infinities become null."""
    if isinstance(tree, dict):
        return {k: _finite(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return [_finite(v) for v in tree]
    if isinstance(tree, (float, np.floating)):
        return float(tree) if math.isfinite(tree) else None
    if isinstance(tree, np.integer):
        return int(tree)
    return tree


def launch_job(args, argv):
    """`--nproc N`: check the arguments and data here, then run this command as N MPI ranks."""
    from chainrule.distributed import launch

    config, _ = resolve_config(args)
    load_data(config)
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise UsageError(f"chainrule train: error: --out {args.out} exists and is not a "
                         "directory")
    if not launch.mpi_available():
        raise UsageError("chainrule train: error: --nproc needs MPI: pip install "
                         "'chainrule[mpi]' (mpi4py, mpich)")
    return launch.launch(args.nproc, ["-m", "chainrule.cli", *argv], prog="chainrule train")


def join_job(args):
    """(rank, world size) of this process: it joins the MPI job that started it, if any."""
    from chainrule import distributed as dist

    if not dist.launched_by_mpi():
        return 0, 1
    if not dist.is_initialized():
        dist.init_process_group()
    size = dist.get_world_size()
    if args.nproc is not None and args.nproc != size:
        raise UsageError(f"chainrule train: error: --nproc {args.nproc} inside an MPI job of "
                         f"{size} processes (under mpiexec, leave --nproc out)")
    return dist.get_rank(), size


def train(args):
    """Run `chainrule train`; returns the exit status."""
    import chainrule as cr
    import chainrule.nn.functional as F
    from chainrule.train.checkpoint import atomic_write

    rank, world_size = join_job(args)
    config, checkpoint = resolve_config(args)
    ds, train_data, val_data, test_data, prep = load_data(config)
    out = os.path.abspath(args.out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise UsageError(f"chainrule train: error: --out {args.out} exists and is not a "
                         "directory")
    classify = ds.task == "classification"
    n_out = len(ds.target_names) if classify else 1
    cr.manual_seed(config["seed"])
    model = build_model(config, train_data[0].shape[1], n_out)
    if checkpoint is not None:
        _check_resumable(checkpoint, model, args.resume)
    name, _, extra = OPTIMIZERS[config["optimizer"]]
    optimizer = getattr(cr.optim, name)(model.parameters(), lr=config["lr"], **extra)
    loss_fn = F.cross_entropy if classify else F.mse_loss
    metrics = ["accuracy"] if classify else ["mae", "r2"]
    recorder = cr.train.GradientFlowRecorder()
    saver = cr.train.ModelCheckpoint(os.path.join(out, "checkpoint.safetensors"),
                                     extra={"cli": config, "preprocessing": prep})
    # every rank runs the monitor's sampled steps (so that the ranks do the same work, step for
    # step); only rank 0 prints
    monitor = cr.train.TrainingMonitor(emit="print" if rank == 0 else lambda finding: None) \
        if getattr(args, "monitor", True) else None
    if rank == 0:
        os.makedirs(out, exist_ok=True)
        print(f"chainrule train: {ds.name} ({ds.task}, {len(ds.X)} samples, {ds.X.shape[1]} "
              f"features) -> {_describe(model, config, train_data[0].shape[1], n_out)}, "
              f"{config['activation']}, {config['optimizer']} lr={config['lr']:g}, "
              f"{config['epochs']} epochs, batch {config['batch_size']}, seed {config['seed']}"
              + (f", {world_size} processes" if world_size > 1 else ""))
        print(f"split: {_rows(train_data)} train, {_rows(val_data)} validation (scored every "
              f"epoch), {_rows(test_data)} test rows (scored once, after training)")
    if config["model"] == "cnn":
        _one_blas_thread()
    start = time.perf_counter()
    history = cr.train.fit(model, loss_fn, optimizer, train_data, epochs=config["epochs"],
                           batch_size=config["batch_size"], val_data=val_data,
                           metrics=metrics,
                           callbacks=[c for c in (recorder, saver, monitor) if c is not None],
                           seed=config["seed"], resume=checkpoint,
                           compile_step=config["compile"], distributed=world_size > 1)
    train_seconds = time.perf_counter() - start
    if rank != 0:  # rank 0 writes the outputs
        return 0
    outputs = cr.train.predict(model, test_data[0])
    y_te = test_data[1]
    if classify:
        final = {"test_accuracy": cr.train.accuracy_score(y_te, outputs),
                 "test_precision_macro": cr.train.precision_score(y_te, outputs),
                 "test_recall_macro": cr.train.recall_score(y_te, outputs),
                 "test_f1_macro": cr.train.f1_score(y_te, outputs)}
        confusion = cr.train.confusion_matrix(y_te, outputs, labels=np.arange(n_out))
    else:
        final = {"test_mse_standardized": cr.train.mean_squared_error(y_te, outputs),
                 "test_mae_standardized": cr.train.mean_absolute_error(y_te, outputs),
                 "test_r2": cr.train.r2_score(y_te, outputs)}
        confusion = None
    epoch_times = [t for t in history["time"] if t is not None] if "time" in history else []
    timing = {"training time (s)": round(train_seconds, 3),
              "epochs trained in this run": len(epoch_times) - (checkpoint or {}).get("epoch", 0),
              "mean epoch time (s)": round(float(np.mean(epoch_times)), 4) if epoch_times
              else None}
    cr.train.save(model.state_dict(), os.path.join(out, "model.safetensors"))
    splits = {"train": _rows(train_data), "validation": _rows(val_data), "test": _rows(test_data)}
    diagnosis = cr.inspect.diagnose(model, loss_fn, train_data, optimizer, val_data=val_data,
                                    seed=config["seed"])
    findings = _findings(monitor, diagnosis)
    record = {"config": config, "task": ds.task, "classes": ds.target_names,
              "preprocessing": prep, "splits": splits, "timing": timing, "final_metrics": final,
              "history": history.to_dict(), "gradient_flow": recorder.records,
              "findings": findings}
    atomic_write(os.path.join(out, "history.json"), json.dumps(_finite(record), indent=1))
    boundary = None
    if classify and ds.X.shape[1] == 2:
        parts = [d for d in (train_data, val_data, test_data) if d is not None]
        X_all = np.concatenate([d[0] for d in parts])
        y_all = np.concatenate([d[1] for d in parts])
        boundary = (lambda G: cr.train.predict(model, G).argmax(axis=1), X_all, y_all)
    report_config = {k: (_show(v) if isinstance(v, list) else v) for k, v in config.items()}
    report_config.update(task=ds.task, samples=len(ds.X), features=ds.X.shape[1],
                         train_rows=splits["train"], validation_rows=splits["validation"],
                         test_rows=splits["test"],
                         parameters=sum(p.numel() for p in model.parameters()))
    cr.report.write_report(
        os.path.join(out, "report.html"), history, title=f"chainrule train: {ds.name}",
        config=report_config, timing=timing, final_metrics=final,
        confusion_matrix=confusion, class_names=ds.target_names or None,
        gradient_flow=recorder.records, spectra=cr.inspect.weight_spectra(model),
        boundary=boundary, findings=findings,
        cnn=cnn_views(model, test_data[0][0]) if config["model"] == "cnn" else None)
    print("final: " + "  ".join(f"{k} {v:.4f}" for k, v in final.items()))
    print(f"wrote {os.path.join(args.out, 'model.safetensors')}, "
          f"{os.path.join(args.out, 'history.json')}, {os.path.join(args.out, 'report.html')}"
          f" ({train_seconds:.1f} s of training)")
    return 0


def _describe(model, config, n_in, n_out):
    if config["model"] == "cnn":
        return (f"CNN 1x8x8 -> conv3x3(16) -> pool -> conv3x3(32) -> pool -> "
                f"{[*config['hidden'], n_out]}")
    return f"MLP {[n_in, *config['hidden'], n_out]}"


def _rows(data):
    return 0 if data is None else len(data[0])


def _check_resumable(checkpoint, model, path):
    """UsageError unless the checkpoint's weights fit the model its options build."""
    try:
        model.load_state_dict(checkpoint["model"])  # fit loads them again, with the rest
    except (KeyError, TypeError, ValueError) as e:
        raise UsageError(f"chainrule train: error: --resume: {path}: the checkpoint's weights "
                         f"do not fit the model its options describe: {e}") from None


def _os_error(e):
    """One line for an OSError: its reason and the file it concerns."""
    reason = e.strerror or str(e)
    return f"{reason}: {e.filename}" if e.filename and str(e.filename) not in reason else reason


def _findings(monitor, diagnosis):
    """The monitor's findings during training, then the final diagnosis's, as dicts."""
    rows = [] if monitor is None else [dict(vars(f), step=step) for step, f in monitor.findings]
    return rows + [dict(vars(f), step=None) for f in diagnosis.findings]


def diagnose(args):
    """Run `chainrule diagnose`; returns the exit status (1 when a finding is an error)."""
    import chainrule as cr
    import chainrule.nn.functional as F
    from chainrule.train import load

    try:
        saved = load(args.checkpoint)
    except (OSError, ValueError) as e:
        raise UsageError(f"chainrule diagnose: error: {e}") from None
    cli = (saved.get("extra") or {}).get("cli") if isinstance(saved.get("extra"), dict) else None
    if isinstance(cli, dict):
        state, optimizer_state = saved["model"], saved["optimizer"]
        prep = saved["extra"].get("preprocessing") or {}
    else:
        record = os.path.join(os.path.dirname(os.path.abspath(args.checkpoint)), "history.json")
        try:
            with open(record) as f:
                meta = json.load(f)
            cli, prep = meta["config"], meta.get("preprocessing") or {}
        except (OSError, ValueError, KeyError):
            raise UsageError(f"chainrule diagnose: error: {args.checkpoint} is neither a "
                             "checkpoint of chainrule train nor a model.safetensors with its "
                             "history.json beside it") from None
        state, optimizer_state = saved, None
    config = dict(DEFAULTS, **cli)
    if args.dataset is not None:
        config.update(dataset=args.dataset, target=args.target)
    ds, train_data, val_data, test_data, own = load_data(config)
    if val_data is None:
        val_data = test_data
    if args.dataset is not None:  # other data: standardise it as the training data was
        train_data, val_data = (_restandardize(d, own, prep) for d in (train_data, val_data))
    classify = ds.task == "classification"
    n_out = len(ds.target_names) if classify else 1
    model = build_model(config, train_data[0].shape[1], n_out)
    try:
        model.load_state_dict(state)
    except ValueError as e:
        raise UsageError(f"chainrule diagnose: error: the checkpoint does not fit "
                         f"{config['dataset']}: {e}") from None
    name, _, extra = OPTIMIZERS[config["optimizer"]]
    optimizer = getattr(cr.optim, name)(model.parameters(), lr=config["lr"], **extra)
    if optimizer_state is not None:
        optimizer.load_state_dict(optimizer_state)
    loss_fn = F.cross_entropy if classify else F.mse_loss
    d = cr.inspect.diagnose(model, loss_fn, train_data, optimizer, steps=args.steps,
                            val_data=val_data, batch_size=args.batch_size, seed=config["seed"])
    print(f"chainrule diagnose: {args.checkpoint} on {ds.name} ({len(train_data[0])} training, "
          f"{len(val_data[0])} validation rows), {config['optimizer']} lr={config['lr']:g}, "
          f"{args.steps} steps on a copy ({d.evidence.seconds:.2f} s)")
    print(d)
    if args.markdown:
        from chainrule.train.checkpoint import atomic_write

        atomic_write(args.markdown, d.to_markdown())
        print(f"wrote {args.markdown}")
    return 1 if d.by_severity("error") else 0


def _restandardize(data, own, prep):
    """Inputs standardised with the training statistics `prep` instead of their own `own`."""
    X, y = data
    if not prep.get("x_mean") or len(prep["x_mean"]) != X.shape[1]:
        return data
    raw = X * np.asarray(own["x_std"], np.float32) + np.asarray(own["x_mean"], np.float32)
    std = np.asarray(prep["x_std"], np.float32)
    return ((raw - np.asarray(prep["x_mean"], np.float32)) / std).astype(np.float32), y


def main(argv=None):
    """Entry point of the `chainrule` command; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            raise UsageError("chainrule: error: a command is required: chainrule train or "
                             "chainrule diagnose (see chainrule --help)")
        if args.command == "diagnose":
            return diagnose(args)
        from chainrule.distributed.group import launched_by_mpi

        if args.nproc is not None and args.nproc > 1 and not launched_by_mpi():
            return launch_job(args, sys.argv[1:] if argv is None else list(argv))
        return train(args)
    except UsageError as e:
        print(str(e), file=sys.stderr)
        return 2
    except OSError as e:  # a full disk, a read-only directory: what was written stays whole
        print(f"chainrule train: error: {_os_error(e)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("chainrule: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
