"""The `chainrule train` command: the default run, datasets, CSV, resume, and bad input."""

import json
import os
import pathlib
import subprocess
import sys
import time

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")
pytest.importorskip("safetensors")

OUTPUTS = {"model.safetensors", "history.json", "report.html"}


def _run(capsys, *args):
    code = main(["train", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _history(out_dir):
    return json.loads((pathlib.Path(out_dir) / "history.json").read_text())


def test_default_command_trains_digits_to_97_percent(tmp_path):
    """Acceptance 1: the README's main command, as installed (the console script)."""
    script = pathlib.Path(sys.executable).parent / "chainrule"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "chainrule.cli"]
    start = time.perf_counter()
    run = subprocess.run([*cmd, "train"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    seconds = time.perf_counter() - start
    assert run.returncode == 0, run.stderr[-3000:]
    out_dir = tmp_path / "runs" / "train"
    assert OUTPUTS <= set(os.listdir(out_dir))
    record = _history(out_dir)
    assert record["config"]["dataset"] == "digits" and record["config"]["val_size"] == 0.1
    assert record["splits"] == {"train": 1293, "validation": 144, "test": 360}
    assert record["final_metrics"]["test_accuracy"] >= 0.97
    val_accuracy = record["history"]["history"]["val_accuracy"]
    assert len(val_accuracy) == 40 and all(round(a * 144, 6).is_integer() for a in val_accuracy)
    assert seconds < 120
    assert run.stdout.count("\nepoch ") >= 39 and "final: test_accuracy" in run.stdout
    assert "split: 1293 train, 144 validation (scored every epoch), 360 test rows" in run.stdout
    assert "monitor, step" not in run.stdout and "Warning" not in run.stderr  # healthy: silent
    assert not [f for f in _history(out_dir)["findings"] if f["severity"] != "info"]
    state = cr.train.load(out_dir / "model.safetensors")
    assert sorted(state) == ["0.bias", "0.weight", "2.bias", "2.weight", "4.bias", "4.weight"]


def test_spirals_reach_95_percent_and_the_report_shows_the_boundary(tmp_path, capsys):
    """Acceptance 2 (first half)."""
    code, out, err = _run(capsys, "--dataset", "spirals", "--out", str(tmp_path))
    assert code == 0, err
    assert _history(tmp_path)["final_metrics"]["test_accuracy"] >= 0.95
    report = (tmp_path / "report.html").read_text()
    assert "<h2>Decision boundary</h2>" in report and "<h2>Gradient flow</h2>" in report


def _moons_csv(path, bad_cell=None):
    X, y = cr.data.make_moons(200, noise=0.1, seed=0)
    lines = ["x1,x2,label"] + [f"{a:.5f},{b:.5f},{c}" for (a, b), c in zip(X, y)]
    if bad_cell is not None:
        row, col, text = bad_cell  # row counts the header as row 1
        cells = lines[row - 1].split(",")
        cells[col - 1] = text
        lines[row - 1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    return path


def test_csv_dataset_with_target_column(tmp_path, capsys):
    csv = _moons_csv(tmp_path / "moons.csv")
    out_dir = tmp_path / "out"
    code, out, err = _run(capsys, "--dataset", f"csv:{csv}", "--target", "label",
                          "--hidden", "32,32", "--epochs", "30", "--lr", "0.01",
                          "--out", str(out_dir))
    assert code == 0, err
    record = _history(out_dir)
    assert record["task"] == "classification" and record["classes"] == ["0", "1"]
    assert record["final_metrics"]["test_accuracy"] >= 0.9
    assert OUTPUTS <= set(os.listdir(out_dir))


def test_csv_regression_target(tmp_path, capsys):
    X, y = cr.data.make_function_1d("sin", 120, random=True, seed=0)
    csv = tmp_path / "sin.csv"
    csv.write_text("x,y\n" + "".join(f"{a:.6f},{b:.6f}\n" for a, b in zip(X[:, 0], y[:, 0])))
    code, out, err = _run(capsys, "--dataset", f"csv:{csv}", "--activation", "tanh",
                          "--hidden", "32", "--epochs", "40", "--lr", "0.01",
                          "--out", str(tmp_path / "out"))
    assert code == 0, err
    record = _history(tmp_path / "out")
    assert record["task"] == "regression" and record["final_metrics"]["test_r2"] > 0.9


def test_bad_csv_exits_2_naming_file_row_and_column_and_writes_nothing(tmp_path, capsys):
    """Acceptance 2 (second half)."""
    csv = _moons_csv(tmp_path / "bad.csv", bad_cell=(7, 2, "oops"))
    out_dir = tmp_path / "out"
    code, out, err = _run(capsys, "--dataset", f"csv:{csv}", "--out", str(out_dir))
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert str(csv) in err and "row 7" in err and "column 2 ('x2')" in err and "'oops'" in err
    assert not out_dir.exists() and out == ""


@pytest.mark.parametrize("args, message", [
    (["--lr", "-1"], "--lr must be positive; got -1"),
    (["--lr", "abc"], "--lr must be a float; got 'abc'"),
    (["--hidden", "64,0"], "--hidden widths must be positive"),
    (["--hidden", "6x4"], "--hidden must be comma-separated"),
    (["--epochs", "0"], "--epochs must be positive"),
    (["--seed", "-3"], "--seed must be a non-negative integer"),
    (["--dataset", "mnist"], "--dataset must be one of digits"),
    (["--activation", "swish"], "invalid choice: 'swish'"),
    (["--optimizer", "lion"], "invalid choice: 'lion'"),
    (["--target", "y"], "--target applies only to --dataset csv:PATH"),
    (["--dataset", "csv:/nonexistent/x.csv"], "no such file: /nonexistent/x.csv"),
    (["--resume", "/nonexistent/ck.safetensors"], "no such checkpoint"),
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["--val-size", "1"], "--val-size must be a fraction in [0, 1) (0: no validation set); "
                          "got '1'"),
    (["--val-size", "-0.1"], "--val-size must be a fraction in [0, 1)"),
    (["--dataset", "iris", "--val-size", "0.99"],
     "--val-size 0.99 leaves 1 of the 120 training rows to train on"),
])
def test_bad_arguments_exit_2_with_one_line_and_no_output(tmp_path, capsys, args, message):
    out_dir = tmp_path / "out"
    code, out, err = _run(capsys, *args, "--out", str(out_dir))
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and message in err, err
    assert not out_dir.exists()


def test_no_command_is_a_usage_error(capsys):
    assert main([]) == 2
    assert "a command is required" in capsys.readouterr().err


def test_resume_continues_exactly_like_the_uninterrupted_run(tmp_path, capsys):
    common = ["--dataset", "xor", "--hidden", "8", "--batch-size", "64", "--seed", "3"]
    full, part = tmp_path / "full", tmp_path / "part"
    assert _run(capsys, *common, "--epochs", "6", "--out", str(full))[0] == 0
    assert _run(capsys, *common, "--epochs", "3", "--out", str(part))[0] == 0
    ck = str(part / "checkpoint.safetensors")
    code, out, err = _run(capsys, "--resume", ck, "--epochs", "6", "--out", str(part))
    assert code == 0, err
    a = cr.train.load(full / "model.safetensors")
    b = cr.train.load(part / "model.safetensors")
    assert all(np.array_equal(a[k].data, b[k].data) for k in a)
    ha, hb = _history(full)["history"]["history"], _history(part)["history"]["history"]
    assert ha["loss"] == hb["loss"] and ha["val_accuracy"] == hb["val_accuracy"]
    # options that would change the run must match the checkpoint's
    code, out, err = _run(capsys, "--resume", ck, "--hidden", "16", "--out", str(part))
    assert code == 2 and "trained with --hidden 8; got 16" in err
    code, out, err = _run(capsys, "--resume", ck, "--epochs", "2", "--out", str(part))
    assert code == 2 and "less than the 6 epochs" in err


def test_compiled_and_eager_runs_write_the_same_model(tmp_path, capsys):
    common = ["--dataset", "moons", "--hidden", "16,16", "--activation", "tanh", "--epochs",
              "3", "--seed", "1"]
    runs = {}
    for flag in ("--compile", "--no-compile"):
        out = tmp_path / flag.strip("-")
        code, _, err = _run(capsys, *common, flag, "--out", str(out))
        assert code == 0, err
        runs[flag] = (cr.train.load(out / "model.safetensors"), _history(out))
    (a, ha), (b, hb) = runs.values()
    assert all(np.array_equal(a[k].data, b[k].data) for k in a)
    assert ha["history"]["history"]["loss"] == hb["history"]["history"]["loss"]
    assert ha["config"]["compile"] is True and hb["config"]["compile"] is False


def test_ctrl_c_stops_cleanly_and_still_writes_the_outputs(tmp_path):
    import signal

    out_dir = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "chainrule.cli", "train", "--dataset", "xor",
                             "--hidden", "8", "--epochs", "100000", "--out", str(out_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:
            if line.startswith("epoch") and "/100000" in line and " 3/" in line:
                break
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr[-2000:]
    record = _history(out_dir)
    assert "interrupted (Ctrl-C)" in record["history"]["stop_reason"]
    assert len(record["history"]["epoch"]) >= 3
    assert OUTPUTS <= set(os.listdir(out_dir))
    assert not [p for p in os.listdir(out_dir) if p.endswith(".tmp")]
    cr.train.load(out_dir / "checkpoint.safetensors")  # the last checkpoint is intact


def test_monitor_warns_once_per_problem_and_the_report_has_the_diagnosis(tmp_path, capsys):
    out_dir = tmp_path / "lr200"
    code, out, err = _run(capsys, "--lr", "200", "--epochs", "3", "--out", str(out_dir))
    assert code == 0, err
    lines = [line for line in out.splitlines() if line.startswith("monitor, step")]
    assert lines[0].startswith("monitor, step 1: [error] learning_rate_too_high")
    problems = [line.split("] ")[1].split(":")[0] for line in lines]
    assert len(problems) == len(set(problems))  # each (code, where) once
    record = _history(out_dir)
    during = [f for f in record["findings"] if f["step"] is not None]
    after = [f for f in record["findings"] if f["step"] is None]
    assert len(during) == len(lines)
    assert {"learning_rate_too_high", "dead_units"} <= {f["code"] for f in after}
    report = (out_dir / "report.html").read_text()
    assert "<h2>Diagnosis</h2>" in report and "learning_rate_too_high" in report
    code, out, err = _run(capsys, "--lr", "200", "--epochs", "1", "--no-monitor", "--out",
                          str(tmp_path / "quiet"))
    assert code == 0 and "monitor, step" not in out


def test_diagnose_command_on_a_checkpoint_and_on_a_model_file(tmp_path, capsys):
    good, bad = tmp_path / "good", tmp_path / "bad"
    assert _run(capsys, "--epochs", "3", "--out", str(good))[0] == 0
    assert _run(capsys, "--epochs", "3", "--lr", "200", "--out", str(bad))[0] == 0
    code = main(["diagnose", str(bad / "checkpoint.safetensors"), "--steps", "5",
                 "--markdown", str(tmp_path / "bad.md")])
    out = capsys.readouterr().out
    assert code == 1  # an error finding
    assert "on digits (1293 training, 144 validation rows), adam lr=200, 5 steps" in out
    assert "[error] learning_rate_too_high" in out and "after 123 optimizer steps" in out
    assert "| error | `learning_rate_too_high` |" in (tmp_path / "bad.md").read_text()
    code = main(["diagnose", str(good / "model.safetensors"), "--steps", "0"])
    out = capsys.readouterr().out
    assert code == 0 and "0 errors, 0 warnings" in out
    code = main(["diagnose", str(good / "model.safetensors"), "--dataset", "iris"])
    err = capsys.readouterr().err
    assert code == 2 and "does not fit iris" in err and len(err.strip().splitlines()) == 1
    code = main(["diagnose", str(tmp_path / "nothing.safetensors")])
    assert code == 2 and "chainrule diagnose: error:" in capsys.readouterr().err


def test_importing_the_workflow_modules_pulls_in_no_optional_dependency():
    code = ("import sys, chainrule, chainrule.data, chainrule.train, chainrule.report, "
            "chainrule.cli; heavy = ('sklearn', 'matplotlib', 'tqdm', 'safetensors', 'scipy', "
            "'torch'); print([m for m in sys.modules if m.split('.')[0] in heavy])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def _config(*args):
    from chainrule.cli import build_parser, resolve_config

    return resolve_config(build_parser().parse_args(["train", *args]))[0]


def test_data_is_split_three_ways_stratified_and_standardised_by_the_training_rows():
    from chainrule.cli import load_data

    ds, train, val, test, prep = load_data(_config())  # digits: 0.2 test, 0.1 of the rest val
    assert (len(train[0]), len(val[0]), len(test[0])) == (1293, 144, 360)
    mean, std = np.array(prep["x_mean"]), np.array(prep["x_std"])
    rows = np.concatenate([train[0], val[0], test[0]]) * std + mean  # digits' pixels: 0..16
    assert np.array_equal(np.sort(np.rint(rows), axis=0), np.sort(ds.X, axis=0))
    parts = np.concatenate([train[1], val[1], test[1]])
    assert np.array_equal(np.sort(parts), np.sort(ds.y))  # every row in exactly one part
    share = np.bincount(ds.y) / len(ds.y)
    assert np.all(np.abs(np.bincount(val[1], minlength=10) - 144 * share) < 1)  # stratified
    assert np.allclose(train[0].mean(axis=0), 0, atol=1e-6)  # statistics of the train rows
    assert not np.allclose(val[0].mean(axis=0), 0, atol=1e-3)
    again = load_data(_config())
    assert np.array_equal(again[2][0], val[0])  # seeded
    assert not np.array_equal(load_data(_config("--seed", "1"))[2][0], val[0])
    assert load_data(_config("--val-size", "0"))[2] is None


def test_validation_is_scored_every_epoch_and_the_test_set_once(tmp_path, capsys):
    from chainrule.cli import build_model, load_data

    code, out, err = _run(capsys, "--dataset", "wine", "--epochs", "4", "--out", str(tmp_path))
    assert code == 0, err
    record = _history(tmp_path)
    assert record["splits"] == {"train": 127, "validation": 15, "test": 36}
    hist = record["history"]["history"]
    assert set(hist) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr", "time"}
    assert len(hist["val_accuracy"]) == 4 and not any(k.startswith("test") for k in hist)
    _, _, val, test, _ = load_data(record["config"])
    model = build_model(record["config"], val[0].shape[1], 3)
    model.load_state_dict(cr.train.load(tmp_path / "model.safetensors"))
    import chainrule.nn.functional as F

    scores = cr.train.evaluate(model, F.cross_entropy, val, metrics=["accuracy"])
    assert hist["val_accuracy"][-1] == scores["accuracy"]
    assert hist["val_loss"][-1] == pytest.approx(scores["loss"], rel=1e-6)
    outputs = cr.train.predict(model, test[0])
    assert record["final_metrics"]["test_accuracy"] == cr.train.accuracy_score(test[1], outputs)
    assert out.count("final: test_accuracy") == 1 and out.count("test_accuracy") == 1
    report = (tmp_path / "report.html").read_text()
    assert "validation_rows" in report and "test_rows" in report


def test_val_size_0_trains_on_every_non_test_row_without_validation(tmp_path, capsys):
    code, out, err = _run(capsys, "--dataset", "wine", "--epochs", "2", "--val-size", "0",
                          "--out", str(tmp_path))
    assert code == 0, err
    record = _history(tmp_path)
    assert record["splits"] == {"train": 142, "validation": 0, "test": 36}
    assert not [k for k in record["history"]["history"] if k.startswith("val_")]


@pytest.fixture(scope="module")
def xor_checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("xor")
    assert main(["train", "--dataset", "xor", "--hidden", "8", "--epochs", "1",
                 "--out", str(out)]) == 0
    return out / "checkpoint.safetensors"


def _forged_checkpoint(tmp_path, source, **cli):
    ck = cr.train.load(source)
    for k, v in cli.items():
        if v is None:
            del ck["extra"]["cli"][k]
        else:
            ck["extra"]["cli"][k] = v
    path = tmp_path / "forged.safetensors"
    cr.train.save(ck, path)
    return path


@pytest.mark.parametrize("cli, message", [
    ({"activation": "swish"}, "invalid option: --activation must be one of elu, gelu, "
                              "leaky_relu, relu, sigmoid, silu, tanh; got 'swish'"),
    ({"optimizer": "lion"}, "invalid option: --optimizer must be one of adagrad, adam, adamw, "
                            "rmsprop, sgd; got 'lion'"),
    ({"lr": True}, "invalid option: --lr must be a float; got 'True'"),
    ({"hidden": "8,x"}, "invalid option: --hidden must be comma-separated layer widths"),
    ({"compile": "yes"}, "invalid option: --compile must be true or false; got 'yes'"),
    ({"hidden": [16]}, "the checkpoint's weights do not fit the model its options describe: "
                       "load_state_dict: error(s) loading into Sequential: size mismatch"),
])
def test_forged_resume_options_give_one_clear_line(tmp_path, capsys, xor_checkpoint, cli,
                                                   message):
    path = _forged_checkpoint(tmp_path, xor_checkpoint, **cli)
    code, out, err = _run(capsys, "--resume", str(path), "--epochs", "2",
                          "--out", str(tmp_path / "out"))
    assert code == 2 and len(err.strip().splitlines()) == 1 and message in err, err
    assert not (tmp_path / "out").exists()


def test_a_checkpoint_from_before_val_size_resumes_without_a_validation_set(tmp_path, capsys):
    common = ["--dataset", "xor", "--hidden", "8", "--batch-size", "64", "--val-size", "0"]
    full, part = tmp_path / "full", tmp_path / "part"
    assert _run(capsys, *common, "--epochs", "2", "--out", str(full))[0] == 0
    assert _run(capsys, *common, "--epochs", "1", "--out", str(part))[0] == 0
    ck = cr.train.load(part / "checkpoint.safetensors")
    del ck["extra"]["cli"]["val_size"]  # as written before the option existed
    cr.train.save(ck, part / "old.safetensors")
    code, out, err = _run(capsys, "--resume", str(part / "old.safetensors"), "--epochs", "2",
                          "--out", str(part))
    assert code == 0, err
    a, b = (cr.train.load(d / "model.safetensors") for d in (full, part))
    assert all(np.array_equal(a[k].data, b[k].data) for k in a)
    assert _history(part)["config"]["val_size"] == 0.0


def test_a_full_disk_gives_one_line_exit_1_and_keeps_the_last_checkpoint(tmp_path, capsys,
                                                                        monkeypatch):
    import errno

    from chainrule.train import checkpoint

    saves = []

    def write(fd, data):  # the epoch-1 checkpoint is written, then the disk is full
        if saves:
            raise OSError(errno.ENOSPC, "No space left on device")
        saves.append(len(data))
        return os.write(fd, data)

    monkeypatch.setattr(checkpoint, "_write", write)
    code, out, err = _run(capsys, "--dataset", "xor", "--hidden", "8", "--epochs", "5",
                          "--out", str(tmp_path))
    path = tmp_path / "checkpoint.safetensors"
    assert code == 1 and err.strip().splitlines() == [
        f"chainrule train: error: save: cannot write {path}: No space left on device"]
    assert os.listdir(tmp_path) == ["checkpoint.safetensors"]  # nothing half-written
    assert cr.train.load(path)["epoch"] == 1
