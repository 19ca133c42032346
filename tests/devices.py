"""The `device` fixture: the core/ops/nn/optim tests run on every device in
CHAINRULE_TEST_DEVICES (default "cpu,fake"; add "cuda" on a machine with a GPU).

On a device other than the CPU the test's factories and Tensor(...) build on that device
(cr.set_default_device), and reads of values at the test's edge (t.numpy(), np.asarray(t))
copy to the host, so the tests compare with NumPy unchanged. A test that cannot run on a device
is listed in CPU_ONLY with its reason: it is skipped there with that reason, never silently.
"""

import os
import pathlib

import pytest

import chainrule as cr
from chainrule import _device
from chainrule.core import backend

DEVICES = [d.strip() for d in os.environ.get("CHAINRULE_TEST_DEVICES", "cpu,fake").split(",")
           if d.strip()]

# test function -> why it runs on the CPU only (its subject is the CPU itself)
CPU_ONLY = {
    "test_repr_shows_values_and_creating_op": "the CPU's repr; a device's repr is tested in "
                                              "tests/test_devices.py",
    "test_a_numpy_view_of_an_argument_is_refused": "NumPy views of host arrays",
    "test_sgd_on_a_read_only_parameter_says_what_to_do": "read-only host arrays (np.broadcast_to, "
                                                         "memory maps; device arrays have none)",
    "test_step_updates_in_place_and_old_graphs_refuse_to_backprop": "t.numpy() is the tensor's "
                                                                    "own memory on the CPU only",
}


def _excluded():
    """node id -> where it fails on the fake device (tests/device_exclusions.txt): ops not yet
    ported to the inputs' namespace."""
    path = pathlib.Path(__file__).with_name("device_exclusions.txt")
    out = {}
    if path.exists() and os.environ.get("CHAINRULE_DEVICE_EXCLUSIONS", "1") != "0":
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                node, _, why = line.partition("  # ")
                out[node.strip()] = why.strip()
    return out


EXCLUDED = _excluded()


def _cpu_only_reason(node, name):
    reason = CPU_ONLY.get(node.name.split("[")[0])
    if reason is not None:
        return reason
    key = node.nodeid.replace(f"[{name}", "[fake", 1)  # (listed once, for every device)
    if key in EXCLUDED:
        return "not yet on devices: fails at " + EXCLUDED[key]
    return None


@pytest.fixture(params=DEVICES, autouse=True)
def device(request):
    """The device this run of the test computes on (the factories' default)."""
    name = request.param
    if name == "cpu":
        yield cr.device("cpu")
        return
    reason = _cpu_only_reason(request.node, name)
    if reason is not None:
        pytest.skip(f"cpu only: {reason}")
    if name == "cuda" and not cr.cuda.is_available():
        pytest.skip("CHAINRULE_TEST_DEVICES asks for cuda, but CUDA is not available")
    dev = cr.device(name)
    b = _device.backend(dev)
    b.lenient = True
    cr.set_default_device(dev)
    try:
        yield dev
    finally:
        cr.set_default_device(None)
        b.lenient = False
        backend.PENDING.clear()
