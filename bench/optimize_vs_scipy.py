"""cr.optimize vs scipy.optimize on the standard problem set: iterations and evaluations.

    python bench/optimize_vs_scipy.py            # the table in docs/OPTIMIZE.md
    python bench/optimize_vs_scipy.py --markdown

Both sides get the same exact derivatives (chainrule autodiff; SciPy through jac/hess/hessp)
and the same tol (1e-8). Pairs: bfgs/BFGS, lbfgs/L-BFGS-B, cg/CG, newton-cg/Newton-CG (hessp),
newton/trust-exact (hess). gd, momentum and nesterov have no SciPy counterpart; they run with
lr = 1/L, L the largest Hessian eigenvalue at x0 or x* (momentum 0.9), up to 10000 steps.
"ok" means within 1e-4 of a minimizer, or f within 1e-9 of the minimum.
"""

import argparse
import time

import numpy as np
import scipy.optimize as so

import chainrule as cr
from chainrule.optimize.problems import standard_set

PAIRS = [("bfgs", "BFGS"), ("lbfgs", "L-BFGS-B"), ("cg", "CG"), ("newton-cg", "Newton-CG"),
         ("newton", "trust-exact")]
FIRST_ORDER = ["gd", "momentum", "nesterov"]
TOL = 1e-8


def scipy_run(problem, method):
    fun = problem.fun
    kwargs = {}
    if method == "trust-exact":
        kwargs["hess"] = lambda x: cr.hessian(fun)(x).numpy()
    if method == "Newton-CG":
        kwargs["hessp"] = lambda x, p: cr.hvp(fun, x, p).numpy()
    return so.minimize(lambda x: float(fun(x)), problem.x0,
                       jac=lambda x: cr.grad(fun)(x).numpy(), method=method, tol=TOL, **kwargs)


def ok(problem, res):
    return problem.error(res.x) <= 1e-4 or abs(res.fun - problem.fstar) <= 1e-9


def counts(res):
    return f"{res.nit:>5} {res.nfev:>5} {res.get('nhev', '-')!s:>4}"


def largest_curvature(problem):
    L = 0.0
    for x in [problem.x0, *problem.xstar]:
        H = cr.hessian(problem.fun)(np.asarray(x, dtype=np.float64)).numpy()
        L = max(L, float(np.linalg.eigvalsh(H)[-1]))
    return L


def main(markdown=False):
    head = (f"{'problem':<19} {'method':<10} {'nit':>5} {'nfev':>5} {'nhev':>4} {'ok':<3} | "
            f"{'scipy':<11} {'nit':>5} {'nfev':>5} {'nhev':>4} {'ok':<3} | nit/nfev ratio")
    rows = []
    sep = " | " if markdown else "   "
    t0 = time.perf_counter()
    for problem in standard_set():
        for ours_name, scipy_name in PAIRS:
            ours = cr.optimize.minimize(problem.fun, problem.x0, method=ours_name, tol=TOL)
            ref = scipy_run(problem, scipy_name)
            ratio = f"{ours.nit / max(ref.nit, 1):.2f} / {ours.nfev / max(ref.nfev, 1):.2f}"
            rows.append((problem.name, ours_name, counts(ours), "yes" if ok(problem, ours)
                         else "no", scipy_name, counts(ref), "yes" if ok(problem, ref) else "no",
                         ratio))
        lr = 1.0 / largest_curvature(problem)
        for name in FIRST_ORDER:
            res = cr.optimize.minimize(problem.fun, problem.x0, method=name, tol=TOL,
                                       maxiter=10000, options={"lr": lr})
            rows.append((problem.name, name, counts(res), "yes" if ok(problem, res) else "no",
                         "-", "", "", f"lr={lr:.2g}"))
    if markdown:
        print("| problem | method | nit nfev nhev | ok | scipy | nit nfev nhev | ok | ratio |")
        print("|---|---|---|---|---|---|---|---|")
        for r in rows:
            print("| " + sep.join(str(c) for c in r) + " |")
    else:
        print(head)
        print("-" * len(head))
        for p, m, c, o, sm, sc, so_, ratio in rows:
            print(f"{p:<19} {m:<10} {c} {o:<3} | {sm:<11} {sc:>16} {so_:<3} | {ratio}")
    # least squares: y = a exp(-b t) + c, the fit of acceptance 3
    rng = np.random.default_rng(0)
    t = np.linspace(0.0, 4.0, 50)
    y = 2.5 * np.exp(-1.3 * t) + 0.5 + 0.05 * rng.standard_normal(t.size)
    ours = cr.optimize.least_squares(lambda p: p[0] * cr.exp(-p[1] * t) + p[2] - y,
                                     [1.0, 1.0, 0.0], method="lm")
    ref = so.least_squares(lambda p: p[0] * np.exp(-p[1] * t) + p[2] - y, [1.0, 1.0, 0.0],
                           method="lm")
    print(f"\nleast_squares lm, y = a exp(-b t) + c: nfev {ours.nfev} (scipy {ref.nfev}), "
          f"|x - x_scipy|_inf = {np.abs(ours.x - ref.x).max():.1e}, "
          f"cost {ours.cost:.10f} (scipy {ref.cost:.10f})")
    print(f"total time {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    main(parser.parse_args().markdown)
