"""The benchmark's peers compute the same thing (so its timings compare like with like).

No timing here: the suite (python -m bench) checks this again before it times anything.
"""

import numpy as np
import pytest
from bench import workloads
from bench.peers import chainrule_peer, compiled_peer, numpy_peer


def losses(make, data, steps):
    step, loss = make(*data)
    out = []
    for _ in range(steps):
        step()
        out.append(loss())
    return np.array(out)


def test_w1_chainrule_matches_hand_written_numpy():
    data = workloads.w1_data(16)
    np.testing.assert_allclose(losses(chainrule_peer.w1, data, 5),
                               losses(numpy_peer.w1, data, 5), rtol=1e-5)


def test_w2_chainrule_matches_hand_written_numpy():
    data = workloads.w2_data(32)
    np.testing.assert_allclose(losses(chainrule_peer.w2, data, 20),
                               losses(numpy_peer.w2, data, 20), rtol=1e-5)


@pytest.mark.parametrize("workload,batch,steps", [("w1", 16, 5), ("w2", 32, 20)])
def test_compiled_peer_equals_eager_chainrule_bit_for_bit(workload, batch, steps):
    data = getattr(workloads, f"{workload}_data")(batch)
    eager = losses(getattr(chainrule_peer, workload), data, steps)
    np.testing.assert_array_equal(losses(getattr(compiled_peer, workload), data, steps), eager)


def test_w4_hessian_vector_product_matches_the_r_operator():
    data = workloads.w1_data(8)
    results = []
    for make in (chainrule_peer.w4, numpy_peer.w4):
        step, hv = make(*data)
        step()
        results.append(hv())
    scale = np.abs(results[1]).max()
    np.testing.assert_allclose(results[0] / scale, results[1] / scale, atol=1e-5)


def test_w1_matches_pytorch():
    pytest.importorskip("torch")
    from bench.peers import torch_peer

    data = workloads.w1_data(16)
    np.testing.assert_allclose(losses(chainrule_peer.w1, data, 5),
                               losses(torch_peer.w1, data, 5), rtol=1e-5)
