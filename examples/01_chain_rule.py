"""Seed 002, "Running the Numbers": the chain rule on L = (x*w1 + b1)*w2 + b2, by hand and autodiff.

x = 2, b1 = 1, b2 = 0.5, w1 = 0.5, w2 = 1.5; the target is 5, the error E = (L - 5)^2 / 2.
The seed nudges the weights by w <- w + a * dL/dw to move L towards the target (a step uphill
on L). Training proper descends the error instead, w <- w - a * dE/dw with
dE/dw = (L - 5) dL/dw; both are run below, and what each does to E is computed.
"""

import numpy as np

import chainrule as cr

cr.set_default_dtype(np.float64)


def forward(w1, w2, x=2.0, b1=1.0, b2=0.5):
    w1 = cr.tensor(w1, requires_grad=True)
    w2 = cr.tensor(w2, requires_grad=True)
    z = x * w1 + b1  # inner function f(x, w1)
    L = z * w2 + b2  # outer function g(z, w2)
    return L, z, w1, w2


L, z, w1, w2 = forward(0.5, 1.5)
E = 0.5 * (L - 5) ** 2
print(f"forward:  z = x*w1 + b1 = {z.item():g},  L = z*w2 + b2 = {L.item():g},  "
      f"E = (L - 5)^2 / 2 = {E.item():g}")
L.backward()
print("by hand:  dL/dw1 = dL/dz * dz/dw1 = w2 * x = 1.5 * 2 = 3.0;   dL/dw2 = z = 2.0")
print(f"autodiff: dL/dw1 = {w1.grad.item():g},  dL/dw2 = {w2.grad.item():g}")

for a in (0.2, 0.1):
    new_w1 = w1.item() + a * w1.grad.item()
    new_w2 = w2.item() + a * w2.grad.item()
    L_new, *_ = forward(new_w1, new_w2)
    print(f"step a = {a}: w1 = {new_w1:.4g}, w2 = {new_w2:.4g}, L = {L_new.item():.4g} "
          f"(error {abs(L_new.item() - 5):.2f}, was {abs(L.item() - 5):.2f})")

print()
print("descent on the error E: w <- w - a * dE/dw, with dE/dw = (L - 5) * dL/dw")
L, z, w1, w2 = forward(0.5, 1.5)
E = 0.5 * (L - 5) ** 2
E.backward()
print(f"autodiff: dE/dw1 = {L.item() - 5:g} * 3 = {w1.grad.item():g},  "
      f"dE/dw2 = {L.item() - 5:g} * 2 = {w2.grad.item():g}")
for a in (0.2, 0.1):
    new_w1 = w1.item() - a * w1.grad.item()
    new_w2 = w2.item() - a * w2.grad.item()
    L_new, *_ = forward(new_w1, new_w2)
    E_new = 0.5 * (L_new.item() - 5) ** 2
    verdict = "it overshoots the target: E grew" if E_new > E.item() else "E fell"
    print(f"step a = {a}: w1 = {new_w1:.4g}, w2 = {new_w2:.4g}, L = {L_new.item():.4g}, "
          f"E = {E.item():.4g} -> {E_new:.3g} ({verdict})")
