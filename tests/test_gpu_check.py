"""bench/gpu_check.py's dry run on the fake device: the device check runs in one go, without
bugs, before a GPU is lent to it."""

import json

from bench import gpu_check


def test_the_device_check_dry_run_on_the_fake_device(tmp_path, monkeypatch):
    monkeypatch.setenv("OUT", str(tmp_path))
    rc = gpu_check.main(["--device", "fake", "--batches", "32", "--steps", "2", "--repeats",
                         "1", "--agree-steps", "3", "--agree-batch", "16", "--tests",
                         "tests/test_devices.py::test_device_names_parse_and_compare_as_torch"])
    summary = json.loads((tmp_path / "gpu_check.json").read_text())
    assert rc == 0 and summary["ok"], summary
    assert summary["agreement"]["losses_vs_cpu"] <= 1e-6
    assert summary["agreement"]["weights_vs_cpu"] <= 1e-6
    assert set(summary["steps_per_second"]["32"]) >= {"eager", "compiled"}
    compiled = summary["costs"]["compiled"]
    assert compiled["h2d"] == 0 and compiled["reads"] == 1 and compiled["launches"] > 0
    assert summary["tests"]["rc"] == 0 and summary["tests"]["tests"] == 1


def test_cuda_absent_is_reported_not_raised(tmp_path, monkeypatch):
    monkeypatch.setenv("OUT", str(tmp_path))
    rc = gpu_check.main(["--device", "cuda", "--tests"])
    summary = json.loads((tmp_path / "gpu_check.json").read_text())
    assert rc == 1 and "CUDA is not available" in summary["error"]
