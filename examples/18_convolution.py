"""Convolution, shown: a conv is a matrix multiply (im2col / Toeplitz), its receptive field grows
with depth, its gradient is again a convolution, and on digits a CNN beats an MLP with the same
parameter budget; the learned filters plotted."""

import os

import numpy as np

import chainrule as cr
import chainrule.nn.functional as F

quick = bool(os.environ.get("CHAINRULE_QUICK"))
out = "runs/examples/18_convolution"
os.makedirs(out, exist_ok=True)
np.set_printoptions(precision=3, suppress=True)

# ---- 1. a convolution is a matrix multiply ---------------------------------------------------
x = cr.arange(1.0, 10.0).reshape(1, 1, 3, 3)             # a 3x3 image: 1..9
W = cr.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])              # one 2x2 filter
cols = F.unfold(x, 2)                                     # im2col: each column one 2x2 patch
print("im2col columns (C kh kw = 4 rows, one column per output pixel):")
print(cols[0].numpy())
by_gemm = (W.reshape(1, -1) @ cols).reshape(1, 1, 2, 2)   # filter row times columns
print("W as a row @ columns =", by_gemm.numpy().ravel(), " F.conv2d =",
      F.conv2d(x, W).numpy().ravel())
# the same map as one matrix on the flattened image: the Jacobian of conv2d (a Toeplitz-like
# matrix with the filter's entries on shifted rows)
T = cr.jacobian(lambda v: F.conv2d(v.reshape(1, 1, 3, 3), W).reshape(-1))(x.reshape(-1))
print("Toeplitz matrix T (4 outputs x 9 pixels):")
print(T.numpy())
assert np.array_equal((T @ x.reshape(-1)).numpy(), F.conv2d(x, W).numpy().ravel())
print("T @ x.flatten() equals F.conv2d(x, W): True")

# ---- 2. the receptive field grows with depth -------------------------------------------------
cr.manual_seed(0)
layers = [cr.nn.Conv2d(1, 1, 3), cr.nn.Conv2d(1, 1, 3), cr.nn.AvgPool2d(2), cr.nn.Conv2d(1, 1, 3)]
image = cr.randn(1, 1, 21, 21, requires_grad=True)
fields, h = [], image
for layer in layers:
    h = layer(h)
    centre = h[0, 0, h.shape[2] // 2, h.shape[3] // 2]
    (g,) = cr.autograd.grad(centre, [image], retain_graph=True)
    rows = np.flatnonzero(np.abs(g.numpy()[0, 0]).sum(1))
    fields.append(int(rows[-1] - rows[0] + 1))
print("receptive field of one output pixel after conv3, conv3, avgpool2, conv3:",
      ", ".join(map(str, fields)), "(r += (k - 1) * jump; the pool doubles the jump)")

# ---- 3. the gradient of a convolution is a convolution ---------------------------------------
cr.set_default_dtype(np.float64)
rng = np.random.default_rng(0)
x = cr.tensor(rng.standard_normal((2, 3, 7, 6)), requires_grad=True)
W = cr.tensor(rng.standard_normal((4, 3, 3, 2)), requires_grad=True)
y = F.conv2d(x, W, padding=1)
g = cr.tensor(rng.standard_normal(y.shape))
gx, gW = cr.autograd.grad((y * g).sum(), [x, W])
# dL/dx: the upstream gradient convolved with the flipped filter (a "full" convolution), i.e.
# conv_transpose2d; dL/dW: the input correlated with the upstream gradient, summed over the batch
flipped = W[:, :, ::-1, ::-1].transpose(0, 1)  # W rotated by 180 degrees, in <-> out
gx_conv = F.conv2d(g, flipped, padding=(W.shape[2] - 2, W.shape[3] - 2))
gW_conv = F.conv2d(x.transpose(0, 1), g.transpose(0, 1), padding=1).transpose(0, 1)
err_x = float(np.abs(gx.numpy() - gx_conv.numpy()).max())
err_W = float(np.abs(gW.numpy() - gW_conv.numpy()).max())
print(f"dL/dx = conv2d(g, flipped W): max difference {err_x:.1e};  "
      f"dL/dW = conv2d(x, g): max difference {err_W:.1e}")
checked = cr.gradcheck(lambda x, W: F.conv2d(x, W, padding=1), [x, W])
print(f"finite differences agree (gradcheck, float64): {checked}")
cr.set_default_dtype(np.float32)

# ---- 4. MLP vs CNN with the same parameter budget on digits ----------------------------------
X, y = cr.data.load_digits()
X_train, X_test, y_train, y_test = cr.data.train_test_split(X, y, test_size=0.3, stratify=y,
                                                            seed=0)
X_train, mean, std = cr.data.standardize(X_train)
X_test, _, _ = cr.data.standardize(X_test, mean, std)


def cnn():
    return cr.nn.Sequential(cr.nn.Unflatten(1, (1, 8, 8)), cr.nn.Conv2d(1, 8, 3, padding=1),
                            cr.nn.ReLU(), cr.nn.MaxPool2d(2), cr.nn.Conv2d(8, 16, 3, padding=1),
                            cr.nn.ReLU(), cr.nn.MaxPool2d(2), cr.nn.Flatten(),
                            cr.nn.Linear(64, 10))


def mlp(budget):
    width = (budget - 10) // (64 + 1 + 10)  # 64 -> width -> 10 has 75 width + 10 parameters
    return cr.nn.Sequential(cr.nn.Linear(64, width), cr.nn.ReLU(), cr.nn.Linear(width, 10))


def size(model):
    return sum(p.size for p in model.parameters())


epochs = 2 if quick else 15
results = {}
for name, build in (("CNN", cnn), ("MLP", lambda: mlp(size(cnn())))):
    cr.manual_seed(0)
    model = build()
    opt = cr.optim.Adam(model.parameters(), lr=1e-2)
    history = cr.train.fit(model, F.cross_entropy, opt, (X_train, y_train), epochs=epochs,
                           batch_size=32, val_data=(X_test, y_test), metrics=["accuracy"],
                           seed=0, progress=False)
    accuracy = cr.train.accuracy_score(y_test, cr.train.predict(model, X_test))
    results[name] = (model, size(model), accuracy, history)
print(f"{'model':<6}{'parameters':>12}{'test accuracy':>16}")
for name, (_, params, accuracy, _) in results.items():
    print(f"{name:<6}{params:>12}{accuracy:>16.4f}")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402

fig = Figure(figsize=(6, 3.5), layout="constrained")
ax = fig.subplots()
for name, (_, params, _, history) in results.items():
    ax.plot(history.epoch, history.history["val_accuracy"], label=f"{name} ({params} params)")
ax.set_xlabel("epoch")
ax.set_ylabel("test accuracy")
ax.legend()
fig.savefig(f"{out}/mlp_vs_cnn.png")

# ---- 5. the learned filters --------------------------------------------------------------------
from chainrule.report import filters  # noqa: E402

with open(f"{out}/filters.png", "wb") as f:
    f.write(filters.filters(results["CNN"][0][1].weight.numpy()[:, 0]))
print(f"wrote {out}/mlp_vs_cnn.png and {out}/filters.png")
