"""W3 by hand in NumPy: LeNet-5 with im2col GEMMs in CNHW layout (channels first, then the
batch: a convolution is one (O, K) @ (K, N H W) GEMM whose output is already the next layer's
layout), every buffer preallocated, backprop written out, SGD with momentum on flat buffers.
The reference chainrule's W3 is measured against."""

import numpy as np
from numpy.lib.stride_tricks import as_strided

from bench.lenet import SGD_MOMENTUM, initial_weights

f32 = np.float32


def _flat(arrays):
    sizes = [a.size for a in arrays]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    buf = np.zeros(offsets[-1], f32)
    views = [buf[a:b].reshape(x.shape) for a, b, x in zip(offsets[:-1], offsets[1:], arrays)]
    for v, x in zip(views, arrays):
        v[...] = x
    return buf, views


def _windows(xp, k, out):
    """(C, kh, kw, N, Ho, Wo) view of a CNHW image: xp[c, n, h + i, w + j] (stride 1)."""
    sc, sn, sh, sw = xp.strides
    c, n = xp.shape[:2]
    return as_strided(xp, (c, k, k, n, out, out), (sc, sh, sw, sn, sh, sw), writeable=False)


class _Conv:
    """A stride-1 k x k convolution on CNHW input: im2col into a preallocated (K, N Ho Wo)
    buffer, one GEMM forward, two GEMMs and a col2im (k^2 strided adds) backward."""

    def __init__(self, W, b, gW, gb, n, size, pad):
        self.W2, self.b, self.gW2, self.gb = W.reshape(len(W), -1), b, gW.reshape(len(W), -1), gb
        o, c, k, _ = W.shape
        self.k, self.pad, self.out = k, pad, size + 2 * pad - k + 1
        self.xp = np.zeros((c, n, size + 2 * pad, size + 2 * pad), f32)
        self.cols = np.empty((c * k * k, n * self.out * self.out), f32)
        self.y = np.empty((o, n * self.out * self.out), f32)
        self.gcols = np.empty_like(self.cols)
        self.gxp = np.zeros_like(self.xp)
        self.gW2t = np.empty((c * k * k, o), f32)

    def forward(self, x):
        p, s = self.pad, x.shape[2]
        if p:
            self.xp[:, :, p:p + s, p:p + s] = x
        xp = self.xp if p else x
        c, n = xp.shape[:2]
        np.copyto(self.cols.reshape(c, self.k, self.k, n, self.out, self.out),
                  _windows(xp, self.k, self.out))
        np.matmul(self.W2, self.cols, out=self.y)
        self.y += self.b[:, None]
        return self.y

    def backward(self, gy, need_input=True):
        np.matmul(self.cols, gy.T, out=self.gW2t)  # (K, O): BLAS's better orientation here
        np.copyto(self.gW2, self.gW2t.T)
        np.sum(gy, axis=1, out=self.gb)
        if not need_input:
            return None
        np.matmul(self.W2.T, gy, out=self.gcols)
        c, n = self.xp.shape[:2]
        g = self.gcols.reshape(c, self.k, self.k, n, self.out, self.out)
        self.gxp[...] = 0
        for i in range(self.k):
            for j in range(self.k):
                self.gxp[:, :, i:i + self.out, j:j + self.out] += g[:, i, j]
        p, s = self.pad, self.gxp.shape[2] - 2 * self.pad
        return self.gxp[:, :, p:p + s, p:p + s]


class _ReluPool:
    """ReLU and a 2x2 max pool of stride 2 on CNHW maps, as max then ReLU (they commute):
    three elementwise maxima of strided views. Backward sends each window's gradient to where
    the input equals the window's (positive) maximum: ties among positive floats have
    probability zero, and a window whose maximum is <= 0 gets none (the ReLU's zero slope)."""

    def __init__(self, c, n, size):
        h = size // 2
        self.z = None
        self.y = np.empty((c, n, h, h), f32)
        self.wide = np.empty((c * n * h, 1, size), f32)  # y repeated along the columns
        self.gwide = np.empty_like(self.wide)
        self.hit = np.empty((c * n * h, 2, size), bool)
        self.gx = np.empty((c * n * h, 2, size), f32)

    def forward(self, z):
        c, n, s, _ = z.shape
        self.z = z.reshape(c * n * (s // 2), 2, s)  # row pairs: long contiguous rows
        z6 = z.reshape(c, n, s // 2, 2, s // 2, 2)
        y = self.y
        np.maximum(z6[:, :, :, 0, :, 0], z6[:, :, :, 0, :, 1], out=y)
        np.maximum(y, z6[:, :, :, 1, :, 0], out=y)
        np.maximum(y, z6[:, :, :, 1, :, 1], out=y)
        np.maximum(y, 0, out=y)
        return y

    def backward(self, gy):
        rows = self.wide.shape[0]
        y, gy = self.y.reshape(rows, -1), gy.reshape(rows, -1)
        for b in (0, 1):  # repeat along the columns (two strided copies, long inner loops)
            self.wide[:, 0, b::2] = y
            self.gwide[:, 0, b::2] = gy
        np.equal(self.z, self.wide, out=self.hit)
        np.multiply(self.hit, self.gwide, out=self.gx)
        np.multiply(self.gx, self.wide > 0, out=self.gx)  # no gradient where the max is <= 0
        return self.gx.reshape(self.y.shape[0], -1)


def w3(x, y):
    """LeNet-5, cross-entropy, SGD with momentum; forward and backward by hand."""
    n = len(y)
    p, (W1, b1, W2, b2, W3, b3, W4, b4, W5, b5) = _flat(initial_weights())
    g, (gW1, gb1, gW2, gb2, gW3, gb3, gW4, gb4, gW5, gb5) = _flat(
        [np.zeros_like(a) for a in initial_weights()])
    velocity, update = np.zeros_like(p), np.zeros_like(p)
    lr, momentum = SGD_MOMENTUM["lr"], SGD_MOMENTUM["momentum"]
    x_cnhw = np.ascontiguousarray(x.transpose(1, 0, 2, 3))
    conv1, conv2 = _Conv(W1, b1, gW1, gb1, n, 28, 2), _Conv(W2, b2, gW2, gb2, n, 14, 0)
    pool1, pool2 = _ReluPool(6, n, 28), _ReluPool(16, n, 10)
    flat = np.empty((n, 400), f32)
    z3, z4, z5 = np.empty((n, 120), f32), np.empty((n, 84), f32), np.empty((n, 10), f32)
    e, mx, s = np.empty_like(z5), np.empty((n, 1), f32), np.empty((n, 1), f32)
    g3, g4, gflat = np.empty_like(z3), np.empty_like(z4), np.empty_like(flat)
    gp2 = np.empty((16, n, 5, 5), f32)
    rows = np.arange(n)

    def step():
        h1 = pool1.forward(conv1.forward(x_cnhw).reshape(6, n, 28, 28))
        h2 = pool2.forward(conv2.forward(h1).reshape(16, n, 10, 10))
        np.copyto(flat.reshape(n, 16, 5, 5), h2.transpose(1, 0, 2, 3))  # torch's flatten order
        np.matmul(flat, W3.T, out=z3)
        np.add(z3, b3, out=z3)
        np.maximum(z3, 0, out=z3)
        np.matmul(z3, W4.T, out=z4)
        np.add(z4, b4, out=z4)
        np.maximum(z4, 0, out=z4)
        np.matmul(z4, W5.T, out=z5)
        np.add(z5, b5, out=z5)
        np.max(z5, axis=1, keepdims=True, out=mx)
        np.subtract(z5, mx, out=e)
        np.exp(e, out=e)
        np.sum(e, axis=1, keepdims=True, out=s)
        # backward: dL/dz5 = (softmax - onehot) / n
        np.divide(e, s, out=e)
        e[rows, y] -= 1.0
        np.multiply(e, 1.0 / n, out=e)
        np.matmul(e.T, z4, out=gW5)
        np.sum(e, axis=0, out=gb5)
        np.matmul(e, W5, out=g4)
        np.multiply(g4, z4 > 0, out=g4)
        np.matmul(g4.T, z3, out=gW4)
        np.sum(g4, axis=0, out=gb4)
        np.matmul(g4, W4, out=g3)
        np.multiply(g3, z3 > 0, out=g3)
        np.matmul(g3.T, flat, out=gW3)
        np.sum(g3, axis=0, out=gb3)
        np.matmul(g3, W3, out=gflat)
        np.copyto(gp2, gflat.reshape(n, 16, 5, 5).transpose(1, 0, 2, 3))
        gz2 = pool2.backward(gp2)
        gh1 = conv2.backward(gz2)
        conv1.backward(pool1.backward(gh1), need_input=False)
        # SGD with momentum, torch's form: v = mu v + g; p -= lr v
        np.multiply(velocity, momentum, out=velocity)
        np.add(velocity, g, out=velocity)
        np.multiply(velocity, lr, out=update)
        np.subtract(p, update, out=p)

    def loss():
        return float(np.mean(np.log(s[:, 0]) - (z5[rows, y] - mx[:, 0])))

    return step, loss
