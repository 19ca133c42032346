"""JAX with jit (CPU): the whole step (loss, gradient, optimizer update) is one compiled call.

Skipped when jax is not installed. Adam is written out (no optax), with the same formula as
torch.optim.Adam.
"""

import os

import numpy as np

from bench.workloads import ADAM, SGD_LR, W1_SIZES, W2_SIZES, initial_weights, w4_vector

NAME = "jax"


def version():
    import jax

    return jax.__version__


def configure(threads):
    """One core when pinned. XLA's CPU thread pool ignores the old threading flags, so the
    process is confined to one CPU instead (the flags are set too, for older jaxlibs)."""
    if threads == 1:
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                                   " --xla_cpu_multi_thread_eigen=false"
                                   " intra_op_parallelism_threads=1").strip()
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def _forward(params, x, activation):
    import jax.numpy as jnp

    h = x
    n = len(params) // 2
    for i in range(n):
        W, b = params[2 * i], params[2 * i + 1]
        h = h @ W.T + b
        if activation == "relu" and i < n - 1:
            h = jnp.maximum(h, 0)
        elif activation == "sigmoid":
            h = 1 / (1 + jnp.exp(-h))
    return h


def _cross_entropy(params, x, y):
    import jax

    logp = jax.nn.log_softmax(_forward(params, x, "relu"), axis=-1)
    return -logp[np.arange(len(y)), y].mean()


def w1(x, y):
    import jax
    import jax.numpy as jnp

    lr, (b1, b2), eps = ADAM["lr"], ADAM["betas"], ADAM["eps"]

    @jax.jit
    def update(params, m, v, t, x, y):
        loss, g = jax.value_and_grad(_cross_entropy)(params, x, y)
        t = t + 1
        m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g)]
        v = [b2 * vi + (1 - b2) * gi * gi for vi, gi in zip(v, g)]
        bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
        params = [p - lr * (mi / bc1) / (jnp.sqrt(vi / bc2) + eps)
                  for p, mi, vi in zip(params, m, v)]
        return params, m, v, t, loss

    state = [[jnp.asarray(w) for w in initial_weights(W1_SIZES)], None, None, jnp.float32(0)]
    state[1] = [jnp.zeros_like(p) for p in state[0]]
    state[2] = [jnp.zeros_like(p) for p in state[0]]
    x, y = jnp.asarray(x), jnp.asarray(y)
    last = [None]

    def step():
        *new, loss = update(*state, x, y)
        state[:] = new
        last[0] = loss.block_until_ready()

    return step, lambda: float(last[0])


def w2(x, y):
    import jax
    import jax.numpy as jnp

    def mse(params, x, y):
        d = _forward(params, x, "sigmoid") - y
        return (d * d).mean()

    @jax.jit
    def update(params, x, y):
        loss, g = jax.value_and_grad(mse)(params, x, y)
        return [p - SGD_LR * gi for p, gi in zip(params, g)], loss

    params = [[jnp.asarray(w) for w in initial_weights(W2_SIZES)]]
    x, y = jnp.asarray(x), jnp.asarray(y)
    last = [None]

    def step():
        params[0], loss = update(params[0], x, y)
        last[0] = loss.block_until_ready()

    return step, lambda: float(last[0])


def w4(x, y):
    import jax
    import jax.numpy as jnp

    params = [jnp.asarray(w) for w in initial_weights(W1_SIZES)]
    v = [jnp.asarray(a) for a in w4_vector()]
    x, y = jnp.asarray(x), jnp.asarray(y)

    @jax.jit
    def hvp(params, v, x, y):  # forward-over-reverse, as jax's docs recommend
        return jax.jvp(lambda p: jax.grad(_cross_entropy)(p, x, y), (params,), (v,))[1]

    last = [None]

    def step():
        last[0] = jax.block_until_ready(hvp(params, v, x, y))

    return step, lambda: np.concatenate([np.asarray(h).ravel() for h in last[0]])
