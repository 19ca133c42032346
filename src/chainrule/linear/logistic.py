"""Logistic regression: a hyperplane's signed distance, squashed by sigmoid (2 classes) or
softmax (K classes) into probabilities, fitted by minimising the cross-entropy.

The derivatives come from chainrule's autodiff: the objective below is written once with
chainrule ops, and cr.optimize.minimize (L-BFGS or Newton) differentiates it.
"""

import math
import warnings

import numpy as np
import scipy.special
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

import chainrule as cr
from chainrule.linear._base import check_number, check_option, check_sample_weight

EPS = np.finfo(np.float64).eps


class _Objective:
    """mean_s(loss) + lam/2 ||W||^2 as a chainrule function of the flat parameter vector theta.

    theta = [W (p x kw, row-major), b (kb)]. Binary: one column, loss_i = softplus(z_i) - t_i z_i
    = -log sigmoid(+-z_i). K classes: loss_i = logsumexp(z_i) - z_{i, y_i} = -log softmax(z_i)_y.
    Softmax is unchanged by adding the same number to every class's score, so the K intercepts
    (and, without a penalty, the K weight columns) are identified only up to a common shift: the
    last class's are fixed at 0 here (E = [I | 0] pads them back) and everything is centred
    afterwards, scikit-learn's convention (its iterates keep sum_k b_k = 0).
    """

    def __init__(self, X, y_index, n_classes, sample_weight, lam, fit_intercept, free_columns):
        n, p = X.shape
        self.X, self.p, self.K = X, p, n_classes
        self.binary = n_classes == 2
        self.kw = 1 if self.binary else (n_classes if free_columns else n_classes - 1)
        self.kb = 0 if not fit_intercept else (1 if self.binary else n_classes - 1)
        self.size = p * self.kw + self.kb
        self.weights = sample_weight / sample_weight.sum()  # mean over (weighted) samples
        self.lam = lam
        self.E = np.eye(n_classes - 1, n_classes)
        if self.binary:
            self.t = (y_index == 1).astype(np.float64)
        else:
            self.Y = np.eye(n_classes)[y_index]  # one-hot targets
        self.penalized = np.zeros(self.size, dtype=bool)
        self.penalized[: p * self.kw] = lam > 0

    def __call__(self, theta):
        return self.loss(theta) + (0.5 * self.lam) * (theta[: self.p * self.kw] ** 2).sum()

    def loss(self, theta):
        """The weighted mean of -log p(y_i | x_i) (a scalar Tensor)."""
        W = theta[: self.p * self.kw].reshape(self.p, self.kw)
        if not self.binary and self.kw < self.K:
            W = W @ self.E
        Z = self.X @ W
        if self.kb:
            b = theta[self.p * self.kw:]
            Z = Z + (b if self.binary else b @ self.E)
        if self.binary:
            z = Z.reshape(-1)
            losses = cr.softplus(z) - self.t * z
        else:
            losses = Z.logsumexp(axis=1) - (Z * self.Y).sum(axis=1)
        return (losses * self.weights).sum()

    def unpack(self, theta):
        """(coef (k, p), intercept (k,)), centred over classes for K > 2."""
        W = theta[: self.p * self.kw].reshape(self.p, self.kw)
        b = theta[self.p * self.kw:] if self.kb else np.zeros(0)
        if self.binary:
            return W.T.copy(), (b.copy() if self.kb else np.zeros(1))
        if self.kw < self.K:
            W = np.hstack([W, np.zeros((self.p, 1))])
            W = W - W.mean(axis=1, keepdims=True)
        b = np.append(b, 0.0) if self.kb else np.zeros(self.K)
        return W.T.copy(), b - b.mean()


def _smooth_minimize(fun, x0, solver, tol, max_iter):
    # Only the gradient decides (ftol = 0 stops L-BFGS only when f stops decreasing at all).
    # scikit-learn's L-BFGS also stops once f's relative decrease is < 64 eps, which on
    # ill-conditioned data leaves ~1e-6 relative error in coef_ at any tol.
    options = {"gtol": tol, "maxiter": max_iter}
    if solver == "lbfgs":
        options["ftol"] = 0.0
    return cr.optimize.minimize(fun, x0, method=solver, options=options)


def _prox_l1(v, step, objective):
    """argmin_u lam step ||u_pen||_1 + 1/2 ||u - v||^2: soft-threshold the penalised entries."""
    out = v.copy()
    pen = objective.penalized
    out[pen] = np.sign(v[pen]) * np.maximum(np.abs(v[pen]) - objective.lam * step, 0.0) + 0.0
    return out


def _fista(objective, theta, tol, max_iter):
    """Proximal gradient with Nesterov momentum, backtracking on L and adaptive restart.

    theta <- prox(z - grad f(z) / L), f the smooth mean loss. Stops when the gradient mapping
    L ||z - theta_new||_inf (the proximal analogue of ||grad||_inf) is <= tol. Returns
    (theta, steps).
    """
    value_and_grad = cr.value_and_grad(objective.loss)

    def f(x):
        with cr.no_grad():
            return objective.loss(cr.tensor(x)).item()

    L, t, z = 1.0, 1.0, theta.copy()
    for step in range(1, max_iter + 1):
        fz, gz = value_and_grad(z)
        fz, gz = fz.item(), gz.numpy()
        L *= 0.8  # let the step grow again where the loss is flatter (it usually is, later)
        while True:  # backtrack until the quadratic model at z majorises f
            new = _prox_l1(z - gz / L, 1.0 / L, objective)
            d = new - z
            if f(new) <= fz + gz @ d + 0.5 * L * (d @ d) + 1e-13 * abs(fz) or L > 1e16:
                break
            L *= 2.0
        if L * np.max(np.abs(d)) <= tol:
            return new, step
        t_new = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
        if (z - new) @ (new - theta) > 0:  # momentum points uphill: restart
            t_new, z = 1.0, new.copy()
        else:
            z = new + ((t - 1.0) / t_new) * (new - theta)
        theta, t = new, t_new
    return theta, max_iter


def _fit_l1(objective, solver, tol, max_iter):
    """min f(theta) + lam ||W||_1: FISTA finds the support and signs, then `solver` finishes on it.

    On the set A of non-zero weights with signs s, lam ||W||_1 = lam s . W_A is linear, so the
    problem is smooth there and Newton / L-BFGS converge to machine precision in a few steps.
    The result is accepted only if it satisfies the optimality (KKT) conditions of the full
    problem: signs unchanged on A, and |df/dw_j| <= lam (+ tol) for every w_j = 0. Otherwise
    FISTA continues from that result (entries that changed sign set to 0), with a tolerance
    100 times tighter (1e-3, 1e-5, ...).
    Returns (theta, iterations, converged).
    """
    theta = np.zeros(objective.size)
    total = 0
    grad = cr.grad(objective.loss)
    for k in range(6):
        theta, steps = _fista(objective, theta, max(1e-3 * 100.0**-k, 1e-13), max_iter)
        total += steps
        pen = objective.penalized
        active = ~pen | (theta != 0)
        if not active.any():  # every weight 0 and no intercept: only the KKT check is left
            if np.all(np.abs(grad(theta).numpy()) <= objective.lam + tol):
                return theta, total, True
            continue
        select = np.eye(objective.size)[active]  # theta = u @ select embeds the free entries
        linear = (np.sign(theta) * pen)[active] * objective.lam

        def restricted(u, select=select, linear=linear):
            return objective.loss(u @ select) + (u * linear).sum()

        res = _smooth_minimize(restricted, theta[active], solver, tol, max_iter)
        total += res.nit
        candidate = res.x @ select
        g = grad(candidate).numpy()
        flipped = pen & active & (np.sign(candidate) != np.sign(theta))
        zeros_ok = np.all(np.abs(g[pen & ~active]) <= objective.lam + tol)
        if res.success and not flipped.any() and zeros_ok:
            return candidate, total, True
        theta = np.where(flipped, 0.0, candidate)  # the nearest point with the signs kept
    return theta, total, False


class LogisticRegression(ClassifierMixin, BaseEstimator):
    """Logistic regression, binary (sigmoid) or multinomial (softmax); scikit-learn's objective

        C sum_i s_i loss_i + penalty(W),   loss_i = -log p(y_i | x_i),
        p(y | x) = sigmoid(x . w + b) for 2 classes, softmax(x W^T + b)_y for K > 2,
        penalty: 'l2' -> 1/2 ||W||_F^2, 'l1' -> ||W||_1, None -> 0 (C is then ignored),

    with sample weights s_i (1 by default); the intercepts b are not penalised. It is minimised
    divided by C sum_i s_i (the same minimiser), so tol means what it does in scikit-learn: the
    largest |gradient| of mean loss + penalty / (C n) at which the solver stops.

    solver: 'lbfgs' (default) or 'newton' (exact Hessian, damped), both cr.optimize.minimize
    with derivatives by autodiff. penalty='l1' is not differentiable at 0: proximal gradient
    (FISTA, soft-thresholding) finds the non-zero weights and their signs; `solver` then
    minimises the now-smooth objective on them, and the result is checked against the
    optimality conditions of the full problem (see _fit_l1). max_iter bounds each solver's
    iterations.

    Fitted attributes: classes_, coef_ ((1, n_features) for 2 classes, else
    (n_classes, n_features)), intercept_ ((1,) or (n_classes,)), n_iter_ ((1,)),
    n_features_in_. For K > 2 the intercepts sum to 0 (and, without a penalty, so does each
    column of coef_): softmax cannot see a shift common to all classes.

        >>> import numpy as np, chainrule as cr
        >>> X = np.array([[-2.0], [-1.0], [1.0], [2.0]]); y = np.array([0, 1, 0, 1])
        >>> clf = cr.linear.LogisticRegression(C=1.0).fit(X, y)
        >>> clf.predict_proba([[0.0]]).round(6).tolist()
        [[0.5, 0.5]]
    """

    def __init__(self, penalty="l2", *, C=1.0, fit_intercept=True, solver="lbfgs", tol=1e-4,
                 max_iter=100):
        self.penalty = penalty
        self.C = C
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter

    def fit(self, X, y, sample_weight=None):
        """Fit coef_ and intercept_; returns self."""
        owner = type(self).__name__
        check_option(owner, "penalty", self.penalty, ("l2", "l1", None))
        check_number(owner, "C", self.C, low=0, low_open=True)
        check_option(owner, "solver", self.solver, ("lbfgs", "newton"))
        check_number(owner, "tol", self.tol, low=0)
        check_number(owner, "max_iter", self.max_iter, low=1, integer=True)
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, y_index = np.unique(y, return_inverse=True)
        if self.classes_.size < 2:
            raise ValueError(f"{owner} needs samples of at least 2 classes in the data, but the "
                             f"data contains only one class: {self.classes_.tolist()[0]!r}")
        sw = check_sample_weight(owner, sample_weight, X.shape[0])
        sw = np.ones(X.shape[0]) if sw is None else sw
        penalized = self.penalty is not None and math.isfinite(self.C)
        lam = 1.0 / (self.C * sw.sum()) if penalized else 0.0
        objective = _Objective(X, y_index, self.classes_.size, sw, lam, self.fit_intercept,
                               free_columns=penalized)
        if penalized and self.penalty == "l1":
            theta, nit, converged = _fit_l1(objective, self.solver, self.tol, self.max_iter)
            message = "the proximal-gradient phase did not reach the optimality conditions"
        else:
            res = _smooth_minimize(objective, np.zeros(objective.size), self.solver, self.tol,
                                   self.max_iter)
            theta, nit, converged, message = res.x, res.nit, res.success, res.message
        if not converged:
            reason = message.rstrip(".")
            warnings.warn(f"{owner}: {self.solver} failed to converge (max_iter={self.max_iter},"
                          f" tol={self.tol}): {reason}. Increase max_iter or scale the data "
                          "(e.g. StandardScaler)", ConvergenceWarning, stacklevel=2)
        self.coef_, self.intercept_ = objective.unpack(np.asarray(theta, dtype=np.float64))
        self.n_iter_ = np.array([nit], dtype=np.int32)
        return self

    def decision_function(self, X):
        """Scores x . w_k + b_k: shape (n_samples,) for 2 classes (> 0 means classes_[1]), else
        (n_samples, n_classes)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        scores = X @ self.coef_.T + self.intercept_
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict(self, X):
        """The most probable class of each sample."""
        scores = self.decision_function(X)
        index = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[index]

    def predict_proba(self, X):
        """p(class | x), shape (n_samples, n_classes): [1 - sigmoid(z), sigmoid(z)] or softmax."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            p = scipy.special.expit(scores)
            return np.column_stack([1.0 - p, p])
        return scipy.special.softmax(scores, axis=1)

    def predict_log_proba(self, X):
        """log p(class | x), computed stably (log-sigmoid / log-softmax of the scores)."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return np.column_stack([-np.logaddexp(0, scores), -np.logaddexp(0, -scores)])
        return scipy.special.log_softmax(scores, axis=1)
