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


def w3(x, y):
    """LeNet-5 (bench/lenet.py): lax convolutions and reduce_window max pools, SGD with momentum,
    the whole step one jitted call."""
    import jax
    import jax.numpy as jnp

    from bench import lenet

    lr, mu = lenet.SGD_MOMENTUM["lr"], lenet.SGD_MOMENTUM["momentum"]

    def conv(h, W, b, pad):
        h = jax.lax.conv_general_dilated(h, W, (1, 1), [(pad, pad), (pad, pad)],
                                         dimension_numbers=("NCHW", "OIHW", "NCHW"))
        return h + b[None, :, None, None]

    def pool(h):
        return jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2),
                                     "VALID")

    def loss_fn(params, x, y):
        W1, b1, W2, b2, W3, b3, W4, b4, W5, b5 = params
        h = pool(jnp.maximum(conv(x, W1, b1, 2), 0))
        h = pool(jnp.maximum(conv(h, W2, b2, 0), 0)).reshape(len(x), -1)
        h = jnp.maximum(h @ W3.T + b3, 0)
        h = jnp.maximum(h @ W4.T + b4, 0)
        logp = jax.nn.log_softmax(h @ W5.T + b5, axis=-1)
        return -logp[jnp.arange(len(y)), y].mean()

    @jax.jit
    def update(params, velocity, x, y):
        loss, g = jax.value_and_grad(loss_fn)(params, x, y)
        velocity = [mu * v + gi for v, gi in zip(velocity, g)]  # torch's SGD momentum
        return [p - lr * v for p, v in zip(params, velocity)], velocity, loss

    state = [[jnp.asarray(w) for w in lenet.initial_weights()], None]
    state[1] = [jnp.zeros_like(p) for p in state[0]]
    x, y = jnp.asarray(x), jnp.asarray(y)
    last = [None]

    def step():
        state[0], state[1], loss = update(state[0], state[1], x, y)
        last[0] = loss.block_until_ready()

    return step, lambda: float(last[0])
