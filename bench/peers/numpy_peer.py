"""Hand-written NumPy: manual backprop, every buffer preallocated, flat Adam buffers. The ceiling.

Each factory returns (step, loss) where step() runs one training step (or one Hessian-vector
product) and loss() reads the loss of the last step as a float.
"""

import numpy as np

from bench.workloads import ADAM, SGD_LR, W1_SIZES, W2_SIZES, initial_weights, w4_vector

NAME = "numpy"
f32 = np.float32


def version():
    return np.__version__


def p_shapes(sizes):
    """Zero arrays shaped like the parameters of a network with these layer sizes."""
    return [np.zeros_like(a) for a in initial_weights(sizes)]


def _flat(arrays):
    """One flat float32 buffer holding `arrays`, and a view into it shaped like each."""
    sizes = [a.size for a in arrays]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    buf = np.zeros(offsets[-1], f32)
    views = [buf[a:b].reshape(x.shape) for a, b, x in zip(offsets[:-1], offsets[1:], arrays)]
    for v, x in zip(views, arrays):
        v[...] = x
    return buf, views


class _Adam:
    """Adam over flat buffers: a dozen in-place passes, no temporaries (as cr.optim.Adam's)."""

    def __init__(self, p):
        self.p, self.t = p, 0
        self.m, self.v, self.u = (np.zeros_like(p) for _ in range(3))

    def step(self, g):
        lr, (b1, b2), eps = ADAM["lr"], ADAM["betas"], ADAM["eps"]
        self.t += 1
        bc1, bc2_sqrt = 1.0 - b1 ** self.t, (1.0 - b2 ** self.t) ** 0.5
        m, v, u = self.m, self.v, self.u
        np.subtract(g, m, out=u)
        u *= 1.0 - b1
        m += u
        v *= b2
        np.multiply(g, g, out=u)
        u *= 1.0 - b2
        v += u
        np.sqrt(v, out=u)
        u += eps * bc2_sqrt
        np.divide(m, u, out=u)
        u *= -lr * bc2_sqrt / bc1
        self.p += u


def w1(x, y):
    """784-256-128-10 ReLU MLP, softmax cross-entropy, Adam; forward and backward by hand."""
    n = len(y)
    p, (W1, b1, W2, b2, W3, b3) = _flat(initial_weights(W1_SIZES))
    g, (gW1, gb1, gW2, gb2, gW3, gb3) = _flat(p_shapes(W1_SIZES))
    adam = _Adam(p)
    z1, z2 = np.empty((n, W1_SIZES[1]), f32), np.empty((n, W1_SIZES[2]), f32)
    h1, h2 = np.empty_like(z1), np.empty_like(z2)
    z3, e = np.empty((n, W1_SIZES[3]), f32), np.empty((n, W1_SIZES[3]), f32)
    mx, s = np.empty((n, 1), f32), np.empty((n, 1), f32)
    rows = np.arange(n)

    def step():
        # forward: z = x W^T + b (transposed views, no copies), relu, max-shifted softmax
        np.matmul(x, W1.T, out=z1)
        np.add(z1, b1, out=z1)
        np.maximum(z1, 0, out=h1)
        np.matmul(h1, W2.T, out=z2)
        np.add(z2, b2, out=z2)
        np.maximum(z2, 0, out=h2)
        np.matmul(h2, W3.T, out=z3)
        np.add(z3, b3, out=z3)
        np.max(z3, axis=1, keepdims=True, out=mx)
        np.subtract(z3, mx, out=e)
        np.exp(e, out=e)
        np.sum(e, axis=1, keepdims=True, out=s)
        # backward: dL/dz3 = (softmax - onehot) / n
        np.divide(e, s, out=e)
        e[rows, y] -= 1.0
        np.multiply(e, 1.0 / n, out=e)
        np.matmul(e.T, h2, out=gW3)
        np.sum(e, axis=0, out=gb3)
        np.matmul(e, W3, out=h2)  # dL/dh2 overwrites h2 (no longer needed)
        h2[z2 <= 0] = 0.0
        np.matmul(h2.T, h1, out=gW2)
        np.sum(h2, axis=0, out=gb2)
        np.matmul(h2, W2, out=h1)
        h1[z1 <= 0] = 0.0
        np.matmul(h1.T, x, out=gW1)
        np.sum(h1, axis=0, out=gb1)
        adam.step(g)

    def loss():  # from the buffers the step left intact: log sum e^(z - max) - (z_y - max)
        return float(np.mean(np.log(s[:, 0]) - (z3[rows, y] - mx[:, 0])))

    return step, loss


def w2(x, y):
    """2-16-1 sigmoid net (sigmoid after both layers), MSE, SGD; backward by hand."""
    n = len(x)
    p, (W1, b1, W2, b2) = _flat(initial_weights(W2_SIZES))
    g, (gW1, gb1, gW2, gb2) = _flat(p_shapes(W2_SIZES))
    h = np.empty((n, W2_SIZES[1]), f32)
    dh, q = np.empty_like(h), np.empty_like(h)
    o = np.empty((n, 1), f32)
    d, r = np.empty_like(o), np.empty_like(o)

    def sigmoid(z):
        """1 / (1 + e^-z) in place (this workload's |z| stays far from float32 overflow)."""
        np.negative(z, out=z)
        np.exp(z, out=z)
        np.add(z, 1.0, out=z)
        np.reciprocal(z, out=z)

    def step():
        np.matmul(x, W1.T, out=h)
        np.add(h, b1, out=h)
        sigmoid(h)
        np.matmul(h, W2.T, out=o)
        np.add(o, b2, out=o)
        sigmoid(o)
        # dL/do = 2 (o - y) / n, times sigmoid' = o (1 - o)
        np.subtract(o, y, out=d)
        np.multiply(d, 2.0 / n, out=d)
        np.multiply(d, o, out=d)
        np.subtract(1.0, o, out=r)
        np.multiply(d, r, out=d)
        np.matmul(d.T, h, out=gW2)
        np.sum(d, axis=0, out=gb2)
        np.multiply(d, W2, out=dh)  # (n, 1) * (1, 16) is d @ W2 for the one output unit
        np.multiply(dh, h, out=dh)
        np.subtract(1.0, h, out=q)
        np.multiply(dh, q, out=dh)
        np.matmul(dh.T, x, out=gW1)
        np.sum(dh, axis=0, out=gb1)
        np.multiply(g, -SGD_LR, out=g)
        np.add(p, g, out=p)

    def loss():
        return float(np.mean((o - y) ** 2))

    return step, loss


def w4(x, y):
    """Hessian-vector product of the W1 loss by Pearlmutter's R-operator, written by hand."""
    n = len(y)
    W1, b1, W2, b2, W3, b3 = initial_weights(W1_SIZES)
    V1, c1, V2, c2, V3, c3 = w4_vector()
    rows = np.arange(n)
    out = [np.empty_like(a) for a in (W1, b1, W2, b2, W3, b3)]

    def step():
        # forward and its directional derivative R{.} along v (relu'' = 0)
        z1 = x @ W1.T + b1
        m1 = z1 > 0
        h1 = z1 * m1
        r1 = (x @ V1.T + c1) * m1
        z2 = h1 @ W2.T + b2
        m2 = z2 > 0
        h2 = z2 * m2
        r2 = (r1 @ W2.T + h1 @ V2.T + c2) * m2
        z3 = h2 @ W3.T + b3
        rz3 = r2 @ W3.T + h2 @ V3.T + c3
        e = np.exp(z3 - z3.max(1, keepdims=True))
        pr = e / e.sum(1, keepdims=True)
        d3 = pr.copy()
        d3[rows, y] -= 1.0
        d3 /= n
        rd3 = pr * (rz3 - (pr * rz3).sum(1, keepdims=True)) / n  # R{softmax} / n
        # backward and its R{.}: H v = R{gradient}
        np.add(rd3.T @ h2, d3.T @ r2, out=out[4])
        np.sum(rd3, 0, out=out[5])
        d2 = (d3 @ W3) * m2
        rd2 = (rd3 @ W3 + d3 @ V3) * m2
        np.add(rd2.T @ h1, d2.T @ r1, out=out[2])
        np.sum(rd2, 0, out=out[3])
        rd1 = (rd2 @ W2 + d2 @ V2) * m1
        np.matmul(rd1.T, x, out=out[0])
        np.sum(rd1, 0, out=out[1])

    return step, lambda: np.concatenate([a.ravel() for a in out])


def w3(x, y):
    """LeNet-5 by hand: im2col GEMMs in CNHW layout, preallocated buffers (bench/lenet_numpy.py)."""
    from bench import lenet_numpy

    return lenet_numpy.w3(x, y)
