"""Seed 000: understand a network "deeply enough to debug a failing model at 2 AM".

Four failures planted on purpose, each diagnosed by cr.inspect.diagnose, which measures the
network on a batch (and a few training steps on a copy) and says what is wrong and what to do:
1. a 20-layer sigmoid MLP: the gradient vanishes on the way back (sigma' <= 1/4 per layer);
2. an 8-layer ReLU MLP with N(0, 3^2) weights: the forward signal and every gradient explode;
3. Adam at lr 1 on raw pixels: most ReLU units die, accuracy falls to chance;
4. a final Softmax before cross_entropy, which applies softmax again.
Then the same checks watch a training run (cr.train.TrainingMonitor), which warns once per
problem. CHAINRULE_QUICK=1 trains for fewer steps.
"""

import os
import warnings

import numpy as np

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

QUICK = os.environ.get("CHAINRULE_QUICK") == "1"
warnings.simplefilter("ignore", RuntimeWarning)  # the broken nets overflow on purpose

X, y = cr.data.load_digits()
X_tr, X_te, y_tr, y_te = cr.data.train_test_split(X.astype(np.float32), y, test_size=0.2,
                                                  stratify=y, seed=0)
Z_tr, mean, std = cr.data.standardize(X_tr)
Z_te, _, _ = cr.data.standardize(X_te, mean, std)


def mlp(widths, activation=nn.ReLU, std=None, seed=0):
    cr.manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(a, b))
        if std is not None:
            nn.init.normal_(layers[-1].weight, 0.0, std)
        if i < len(widths) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


def show(title, d):
    print(f"== {title}")
    for f in d.findings:
        if f.severity != "info":
            print(f"   {f}".replace("\n", "\n   "))
    n = len(d.findings)
    print(f"   ({n} finding{'s' if n != 1 else ''} with infos, diagnosed in "
          f"{d.evidence.seconds * 1e3:.0f} ms)")


show("1. 20-layer sigmoid MLP", cr.inspect.diagnose(
    mlp([64] + [64] * 19 + [10], nn.Sigmoid), F.cross_entropy, (Z_tr, y_tr)))
show("2. 8-layer ReLU MLP, weights N(0, 3^2)", cr.inspect.diagnose(
    mlp([64] + [64] * 7 + [10], std=3.0), F.cross_entropy, (Z_tr, y_tr)))

model = mlp([64, 128, 64, 10])
opt = cr.optim.Adam(model.parameters(), lr=1.0)
h = cr.train.fit(model, F.cross_entropy, opt, (X_tr, y_tr), epochs=2 if QUICK else 3,
                 val_data=(X_te, y_te), metrics=["accuracy"], seed=0, progress=False)
print(f"(Adam at lr 1 on raw pixels: validation accuracy {h['val_accuracy'][-1]:.1%})")
show("3. after training at lr 1 on raw pixels", cr.inspect.diagnose(
    model, F.cross_entropy, (X_tr, y_tr), opt, steps=10, val_data=(X_te, y_te)))
show("4. a final Softmax before cross_entropy", cr.inspect.diagnose(
    nn.Sequential(*mlp([64, 64, 10]), nn.Softmax(dim=-1)), F.cross_entropy, (Z_tr, y_tr)))

healthy = mlp([64, 128, 64, 10])
d = cr.inspect.diagnose(healthy, F.cross_entropy, (Z_tr, y_tr),
                        cr.optim.Adam(healthy.parameters(), lr=1e-3), steps=10,
                        val_data=(Z_te, y_te))
print(f"== the healthy twin (standardised pixels, Adam 1e-3): {d.codes or 'no findings'}")

print("== the training monitor on the lr = 1 run, warning once per problem:")
monitor = cr.train.TrainingMonitor(  # findings[-1] is the one being emitted, with its step
    every=50, emit=lambda f: print(f"   step {monitor.findings[-1][0]}: {str(f).splitlines()[0]}"))
model = mlp([64, 128, 64, 10])
cr.train.fit(model, F.cross_entropy, cr.optim.Adam(model.parameters(), lr=1.0), (X_tr, y_tr),
             epochs=2 if QUICK else 3, seed=0, progress=False, callbacks=[monitor])
print(f"   recorded (infos too): {sorted({f.code for _, f in monitor.findings})}")
