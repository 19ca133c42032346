"""W3 (LeNet-5): chainrule, compiled chainrule and the hand-written NumPy LeNet compute the same
losses (so the benchmark compares like with like), and they equal PyTorch's and JAX's when
installed. No timing here."""

import numpy as np
import pytest
from bench import lenet
from bench.peers import chainrule_peer, compiled_peer, numpy_peer

from tests.perf.test_bench_peers import losses

DATA = lenet.w3_data(8)


def test_w3_chainrule_matches_the_hand_written_numpy_lenet():
    np.testing.assert_allclose(losses(chainrule_peer.w3, DATA, 6),
                               losses(numpy_peer.w3, DATA, 6), rtol=1e-5)


def test_w3_compiled_equals_eager_bit_for_bit():
    np.testing.assert_array_equal(losses(compiled_peer.w3, DATA, 6),
                                  losses(chainrule_peer.w3, DATA, 6))


@pytest.mark.parametrize("peer", ["torch", "jax"])
def test_w3_matches_pytorch_and_jax(peer):
    pytest.importorskip(peer)
    import importlib

    module = importlib.import_module(f"bench.peers.{peer}_peer")
    np.testing.assert_allclose(losses(module.w3, DATA, 6), losses(chainrule_peer.w3, DATA, 6),
                               rtol=1e-5)


def test_the_lenet_has_torchs_shapes_and_the_shared_weights_load():
    import chainrule as cr

    model = lenet.lenet(cr.nn)
    shapes = [tuple(p.shape) for p in model.parameters()]
    assert shapes == [w.shape for w in lenet.initial_weights()]
    assert model(cr.tensor(DATA[0])).shape == (8, 10)
