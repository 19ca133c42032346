"""Seed 002 explained by chainrule itself: every local derivative, upstream gradient and product.

Part 1 is the seed's "Running the Numbers" (z = x*w1 + b1, L = z*w2 + b2 at x = 2, w1 = 0.5,
w2 = 1.5): cr.inspect.explain_step prints the derivation dL/dw1 = dL/dz · dz/dw1 = w2 · x =
1.5 × 2.0 = 3.0, then the seed's update w <- w + lr dL/dw for lr = 0.2 and 0.1 with the new
outputs 6.58 and 4.92. Then the same for training's own step, descent on the error
E = (L - 5)^2 / 2: dE/dw1 = -4.5, and what lr = 0.2 and 0.1 do to E. Part 2 is the seed's
two-layer scalar sigmoid network, where the chain
dC/dw1 = dC/da2 · da2/dz2 · dz2/da1 · da1/dz1 · dz1/dw1 is the backpropagated error delta_1 x.
The computational graph is written as Graphviz DOT (and SVG when Graphviz is installed).
"""

import pathlib

import chainrule as cr

OUT = pathlib.Path("runs/examples")
OUT.mkdir(parents=True, exist_ok=True)

print("=" * 30, "Part 1: seed 002, Running the Numbers", "=" * 30)
x, b1, b2 = cr.tensor(2.0), cr.tensor(1.0), cr.tensor(0.5)
w1 = cr.tensor(0.5, requires_grad=True)
w2 = cr.tensor(1.5, requires_grad=True)
z = x * w1 + b1  # inner function f(x, w1)
L = z * w2 + b2  # outer function g(z, w2)
# the seed raises L towards the target 5, so it steps uphill: maximize=True
print(cr.inspect.explain_step(L, lr=(0.2, 0.1), maximize=True))

print()
print("=" * 30, "Part 1b: descent on the error E = (L - 5)^2 / 2", "=" * 30)
E = 0.5 * (L - 5) ** 2
w1.grad = w2.grad = None
print(cr.inspect.explain_step(E, lr=(0.2, 0.1)))

dot = cr.inspect.to_dot(L)
(OUT / "02_backprop_graph.dot").write_text(dot)
print(f"graph: {OUT / '02_backprop_graph.dot'}", end="")
if cr.inspect.dot_available():
    print(f", {cr.inspect.render_dot(dot, OUT / '02_backprop_graph.svg')}")
else:
    print(" (install Graphviz to render it as SVG)")

print()
print("=" * 30, "Part 2: a two-layer scalar sigmoid network", "=" * 30)
x, y = cr.tensor(1.0), cr.tensor(1.0)
w1, b1 = cr.tensor(0.5, requires_grad=True), cr.tensor(0.1, requires_grad=True)
w2, b2 = cr.tensor(-0.3, requires_grad=True), cr.tensor(0.2, requires_grad=True)
z1 = w1 * x + b1
a1 = cr.sigmoid(z1)
z2 = w2 * a1 + b2
a2 = cr.sigmoid(z2)
C = 0.5 * (y - a2) ** 2
print(cr.inspect.explain(C))

# the seed's error terms, by hand: delta_2 = -(y - a2) s'(z2), delta_1 = delta_2 w2 s'(z1)
s = lambda t: t.item() * (1 - t.item())
delta2 = -(y.item() - a2.item()) * s(a2)
delta1 = delta2 * w2.item() * s(a1)
C.backward()
print(f"by the seed's formulas: dC/dw2 = delta_2 a1 = {delta2 * a1.item():.6g}, "
      f"dC/dw1 = delta_1 x = {delta1 * x.item():.6g}")
print(f"by backward():          dC/dw2 = {w2.grad.item():.6g}, dC/dw1 = {w1.grad.item():.6g}")
