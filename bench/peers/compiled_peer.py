"""chainrule with cr.compile: the chainrule peer's steps, unchanged, traced and then replayed.

A replay does not run the step's Python, so the result is read from what the step returns
(its loss, or the Hessian-vector product) rather than from what it stored on the side.
"""

import numpy as np

from bench.peers import chainrule_peer

NAME = "compiled"


def version():
    return chainrule_peer.version()


def _read(value):
    if isinstance(value, tuple):  # W4: H v, one tensor per parameter
        return np.concatenate([h.numpy().ravel() for h in value])
    return value.item()


def _compiled(factory):
    def build(x, y):
        import chainrule as cr

        compiled = cr.compile(factory(x, y)[0])
        last = [None]

        def step():
            last[0] = compiled()

        return step, lambda: _read(last[0])

    return build


w1 = _compiled(chainrule_peer.w1)
w2 = _compiled(chainrule_peer.w2)
w4 = _compiled(chainrule_peer.w4)
w3 = _compiled(chainrule_peer.w3)
w7 = _compiled(chainrule_peer.w7)
