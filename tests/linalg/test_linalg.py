"""cr.linalg beyond the op table: torch's return types and argument rules, second order (the
Hessian of log det, Newton on a function of eigenvalues), and the documented edge cases: singular
matrices, repeated eigen/singular values, the non-differentiable parts of complete
decompositions, complex inputs."""

import numpy as np
import pytest

import chainrule as cr

L = cr.linalg


def _t(a, grad=True):
    return cr.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def _well(rng, *shape):
    n = shape[-1]
    return rng.uniform(-1, 1, shape) * 0.3 + 1.5 * np.eye(n)


# ---- names, return types, batching -----------------------------------------------------------
def test_named_tuples_have_torchs_names_and_fields():
    rng = np.random.default_rng(0)
    A = _t(_well(rng, 3, 3))
    S = A @ A.mT
    assert type(L.eigh(S)).__name__ == "linalg_eigh"
    assert L.eigh(S)._fields == ("eigenvalues", "eigenvectors")
    assert L.svd(A)._fields == ("U", "S", "Vh") and type(L.svd(A)).__name__ == "linalg_svd"
    assert L.qr(A)._fields == ("Q", "R") and L.slogdet(A)._fields == ("sign", "logabsdet")
    assert L.lstsq(A, A)._fields == ("solution", "residuals", "rank", "singular_values")
    assert cr.slogdet(A)._fields == ("sign", "logabsdet")


def test_svd_defaults_to_full_matrices_and_qr_modes_have_torchs_shapes():
    A = _t(np.random.default_rng(1).standard_normal((2, 5, 3)))
    U, S, Vh = L.svd(A)
    assert (U.shape, S.shape, Vh.shape) == ((2, 5, 5), (2, 3), (2, 3, 3))
    U, S, Vh = L.svd(A, full_matrices=False)
    assert U.shape == (2, 5, 3)
    assert [t.shape for t in L.qr(A)] == [(2, 5, 3), (2, 3, 3)]
    assert [t.shape for t in L.qr(A, mode="complete")] == [(2, 5, 5), (2, 5, 3)]
    Q, R = L.qr(A, mode="r")
    assert Q.shape == (0,) and R.shape == (2, 3, 3)


def test_tensor_methods_and_top_level_names_exist_where_torch_has_them():
    A = _t(_well(np.random.default_rng(2), 3, 3))
    np.testing.assert_allclose(A.det().item(), np.linalg.det(A.numpy()))
    np.testing.assert_allclose(A.inverse().numpy(), np.linalg.inv(A.numpy()))
    np.testing.assert_allclose(A.trace().item(), np.trace(A.numpy()))
    np.testing.assert_allclose(cr.logdet(A).item(), np.linalg.slogdet(A.numpy())[1])
    np.testing.assert_allclose(A.matrix_power(3).numpy(), np.linalg.matrix_power(A.numpy(), 3))
    assert L.matrix_power(A, 0).tolist() == np.eye(3).tolist()
    assert cr.linalg.matmul is cr.matmul


def test_solve_follows_torchs_vector_rule_and_broadcasts_batches():
    rng = np.random.default_rng(3)
    A = _t(_well(rng, 2, 3, 3))
    b = _t(rng.standard_normal((2, 3)))  # A.shape[:-1]: a batch of vectors
    x = L.solve(A, b)
    assert x.shape == (2, 3)
    np.testing.assert_allclose((A @ x.unsqueeze(-1)).squeeze(-1).numpy(), b.numpy(), atol=1e-12)
    B = _t(rng.standard_normal((3, 4)))  # one matrix for the whole batch
    assert L.solve(A, B).shape == (2, 3, 4)


def test_lstsq_matches_numpy_and_returns_torchs_extras():
    rng = np.random.default_rng(4)
    A, B = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    sol, res, rank, sv = L.lstsq(_t(A), _t(B), driver="gelsd")
    x, r, k, s = np.linalg.lstsq(A, B, rcond=None)
    np.testing.assert_allclose(sol.numpy(), x, atol=1e-12)
    np.testing.assert_allclose(res.numpy(), r, rtol=1e-10)
    assert rank.item() == k == 3
    np.testing.assert_allclose(sv.numpy(), s, rtol=1e-12)
    default = L.lstsq(_t(A), _t(B))  # torch's default driver 'gelsy': no residuals, no values
    assert default.residuals.shape == (0,) and default.singular_values.shape == (0,)
    assert default.rank.item() == 3
    with pytest.raises(ValueError, match="driver must be one of"):
        L.lstsq(_t(A), _t(B), driver="magic")


def test_lstsq_of_a_rank_deficient_matrix_is_the_minimum_norm_solution():
    A = np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]])
    b = np.array([1.0, 2.0, 2.0])
    out = L.lstsq(_t(A), _t(b))
    np.testing.assert_allclose(out.solution.numpy(), np.linalg.lstsq(A, b, rcond=None)[0],
                               atol=1e-12)
    assert out.rank.item() == 1


def test_matrix_rank_counts_singular_values_above_the_tolerance():
    A = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])
    r = L.matrix_rank(_t(A))
    assert r.item() == 2 and r.dtype == np.int64 and not r.requires_grad
    assert L.matrix_rank(_t(A), atol=1.0).item() == 1  # (singular values 8.4, 0.92, 0)
    assert L.matrix_rank(_t(A @ A.T), hermitian=True).item() == 2


def test_a_gradient_reaching_one_piece_of_a_concatenation_along_a_negative_dim():
    # (Split's vjp once built the missing piece's zeros with the wrong shape for dim=-1)
    a, b = _t(np.ones((2, 2))), _t(np.ones((2, 3)))
    y = cr.concatenate([a, b], -1)
    pieces = y.split([2, 3], -1)
    g = cr.autograd.grad(pieces[1].sum(), [y], create_graph=True)[0]
    assert g.tolist() == [[0, 0, 1, 1, 1]] * 2


def test_norms_match_numpy_and_the_2_norm_has_zero_gradient_at_zero():
    rng = np.random.default_rng(5)
    A = rng.standard_normal((4, 3))
    for ord in ("fro", "nuc", 2, -2, 1, -1, np.inf, -np.inf):
        np.testing.assert_allclose(L.matrix_norm(_t(A), ord).item(), np.linalg.norm(A, ord),
                                   rtol=1e-12)
        np.testing.assert_allclose(L.norm(_t(A), ord).item(), np.linalg.norm(A, ord), rtol=1e-12)
    np.testing.assert_allclose(L.cond(_t(A)).item(), np.linalg.cond(A), rtol=1e-12)
    x = _t(np.zeros(3))
    L.vector_norm(x).backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]  # torch's subgradient, not 0/0
    with pytest.raises(ValueError, match="linalg.norm: with ord=2 and dim=None the input must "
                                         "be 1-D or 2-D"):
        L.norm(_t(np.ones((2, 2, 2))), 2)


# ---- second order ----------------------------------------------------------------------------
def test_the_hessian_of_log_det_is_minus_the_kronecker_of_the_inverse():
    rng = np.random.default_rng(6)
    A = _well(rng, 3, 3)
    H = cr.hessian(lambda X: L.logdet(X))(_t(A, grad=False)).numpy().reshape(9, 9)
    Ainv = np.linalg.inv(A)
    # d^2 log det / dA_ij dA_kl = -(A^-1)_jk (A^-1)_li
    want = -np.einsum("jk,li->ijkl", Ainv, Ainv).reshape(9, 9)
    np.testing.assert_allclose(H, want, atol=1e-10)


def test_newton_on_a_function_of_eigenvalues_converges_quadratically():
    # find the diagonal x for which C + diag(x) has eigenvalues 1, 2, 3, 4
    rng = np.random.default_rng(7)
    C = rng.standard_normal((4, 4)) * 0.3
    C = cr.tensor((C + C.T) / 2)
    target = cr.tensor([1.0, 2.0, 3.0, 4.0], dtype=cr.float64)

    def f(x):
        lam = L.eigvalsh(C + x.unsqueeze(-1) * cr.eye(4, dtype=cr.float64))
        return ((lam - target) ** 2).sum()

    x = cr.tensor([1.2, 1.8, 3.1, 3.9], dtype=cr.float64)
    values = []
    for _ in range(6):
        g, H = cr.grad(f)(x).numpy(), cr.hessian(f)(x).numpy()
        x = cr.tensor(x.numpy() - np.linalg.solve(H, g))
        values.append(f(x).item())
    assert values[-1] < 1e-20
    assert values[2] < 1e-4 * values[1] ** 1.5 or values[2] < 1e-24  # quadratic, not linear


@pytest.mark.parametrize("fn", [
    lambda A: L.det(A), lambda A: L.inv(A), lambda A: L.slogdet(A).logabsdet,
    lambda A: L.solve(A, A.sum(0)), lambda A: L.matrix_exp(0.3 * A),
    lambda A: L.pinv(A), lambda A: L.eigvalsh(A + A.mT), lambda A: L.svdvals(A),
], ids=["det", "inv", "slogdet", "solve", "matrix_exp", "pinv", "eigvalsh", "svdvals"])
def test_third_derivatives_match_finite_differences(fn):
    A = _t(_well(np.random.default_rng(8), 3, 3) + np.diag([0.0, 0.7, 1.5]))
    u = _t(np.random.default_rng(9).standard_normal(3 * 3).reshape(3, 3))

    def second(A):  # a directional second derivative, itself differentiated by gradcheck
        g = cr.autograd.grad((fn(A) ** 2).sum(), A, create_graph=True)[0]
        return cr.autograd.grad((g * u).sum(), A, create_graph=True)[0]

    assert cr.gradcheck(second, [A])


# ---- edge cases ------------------------------------------------------------------------------
SINGULAR = np.array([[1.0, 2.0], [2.0, 4.0]])


@pytest.mark.parametrize("op", ["solve", "inv"])
def test_a_singular_matrix_is_an_error_naming_the_op(op):
    A = _t(SINGULAR)
    with pytest.raises(ValueError, match=rf"linalg.{op}: the matrix is singular; got A of shape "
                                         r"\(2, 2\)"):
        L.solve(A, _t([1.0, 1.0])) if op == "solve" else L.inv(A)


def test_a_singular_matrix_in_a_batch_names_its_batch_index():
    A = np.stack([np.eye(2), np.eye(2), SINGULAR])
    with pytest.raises(ValueError, match=r"linalg.solve: the matrix is singular \(batch index "
                                         r"\(2,\)\); got A of shape \(3, 2, 2\)"):
        L.solve(_t(A), _t(np.ones((3, 2))))
    with pytest.raises(ValueError, match=r"inverse: the matrix is singular \(batch index "
                                         r"\(1, 0\)\)"):
        _t(A[[0, 2]].reshape(2, 1, 2, 2)).inverse()


def test_det_of_a_singular_matrix_is_zero_and_its_gradient_is_a_named_error():
    A = _t(SINGULAR)
    d = L.det(A)
    assert d.item() == 0.0
    with pytest.raises(ValueError, match=r"det \(its gradient at a singular matrix\): the matrix "
                                         "is singular"):
        d.backward()
    assert L.slogdet(A).logabsdet.item() == -np.inf and L.logdet(A).item() == -np.inf
    assert np.isnan(L.logdet(_t(-np.eye(3))).item())  # det < 0: nan, as torch.logdet


def test_repeated_eigenvalues_keep_eigenvalue_gradients_silent_and_correct():
    A = _t(np.diag([1.0, 2.0, 2.0]))
    lam = L.eigvalsh(A)
    (lam * cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64)).sum().backward()
    # d(sum w_i l_i)/dA = U diag(w) U^T, and U = I for this diagonal A
    np.testing.assert_allclose(A.grad.numpy(), np.diag([1.0, 2.0, 3.0]), atol=1e-12)
    A.grad = None
    lam, U = L.eigh(A)
    (lam ** 2).sum().backward()  # U unused: no gradient reaches the eigenvectors
    np.testing.assert_allclose(A.grad.numpy(), 2 * np.diag([1.0, 2.0, 2.0]), atol=1e-12)


def test_repeated_eigenvalues_raise_when_a_gradient_reaches_their_eigenvectors():
    A = _t(np.diag([1.0, 2.0, 2.0]))
    lam, U = L.eigh(A)
    with pytest.raises(ValueError, match=r"linalg.eigh: repeated eigenvalues \(2 and 2, "
                                         r"positions 1 and 2\) make the gradient of the "
                                         "eigenvectors undefined"):
        (U[:, 1] * cr.tensor([0.3, 0.5, 0.7], dtype=cr.float64)).sum().backward()


def test_a_basis_invariant_function_of_repeated_eigenvectors_stays_defined():
    # the projector onto the repeated eigenspace is basis-invariant: no error, right gradient
    A = _t(np.diag([1.0, 2.0, 2.0]) + 0.0)
    lam, U = L.eigh(A)
    P = U[:, 1:] @ U[:, 1:].mT
    (P * cr.tensor(np.diag([0.0, 1.0, 1.0]))).sum().backward()
    assert np.all(np.isfinite(A.grad.numpy()))


def test_repeated_singular_values_raise_only_for_singular_vector_gradients():
    A = _t(np.diag([3.0, 3.0, 1.0])[:, :3])
    S = L.svdvals(A)
    S.sum().backward()
    np.testing.assert_allclose(A.grad.numpy(), np.eye(3), atol=1e-12)
    U, S, Vh = L.svd(_t(np.diag([3.0, 3.0, 1.0])), full_matrices=False)
    with pytest.raises(ValueError, match=r"linalg.svd: repeated singular values"):
        U[0, 0].backward()


def test_full_matrices_and_complete_qr_are_differentiable_only_through_the_reduced_part():
    A = _t(np.random.default_rng(10).standard_normal((4, 2)))
    U, S, Vh = L.svd(A)  # full_matrices=True: U is 4 x 4
    with pytest.raises(ValueError, match="linalg.svd: the gradient reached the columns of U or "
                                         "rows of Vh beyond the first min"):
        U[:, 3].sum().backward()
    U, S, Vh = L.svd(A)
    (U[:, :2] ** 2).sum().backward()  # the reduced part: fine
    Q, R = L.qr(A, mode="complete")
    with pytest.raises(ValueError, match=r"linalg.qr: the gradient reached the last 2 columns "
                                         r"of Q \(mode='complete'\)"):
        Q.sum().backward()
    Q, R = L.qr(A, mode="r")
    with pytest.raises(ValueError, match="mode='r' computes no Q, so it is not differentiable"):
        R.sum().backward()


def test_complex_and_integer_inputs_are_refused_with_the_op_named():
    with pytest.raises(TypeError, match="linalg.eigh: complex inputs are not supported"):
        L.eigh(cr.tensor(np.eye(2) * (1 + 1j)))
    with pytest.raises(TypeError, match="linalg.det: expected a floating-point matrix; got "
                                        "dtype int64"):
        L.det(cr.tensor(np.eye(2, dtype=np.int64)))
    with pytest.raises(ValueError, match=r"linalg.inv: expected square matrices; got shape "
                                         r"\(2, 3\)"):
        L.inv(_t(np.ones((2, 3))))
    with pytest.raises(ValueError, match=r"linalg.solve: A is \(2, 2\) but B is \(3,\): B needs "
                                         "2 rows"):
        L.solve(_t(np.eye(2)), _t(np.ones(3)))


def test_float32_stays_float32():
    A = cr.tensor(np.eye(3) * 2 + 0.1, dtype=cr.float32)
    for out in (L.inv(A), L.det(A), L.eigh(A)[1], L.svd(A)[0], L.qr(A)[1], L.pinv(A),
                L.matrix_exp(A), L.norm(A), L.cond(A), L.solve(A, A)):
        assert out.dtype == np.float32


def test_cond_of_a_singular_matrix_is_inf_and_negative_powers_name_the_op():
    A = _t(SINGULAR)
    assert L.cond(A).item() > 1e15  # s_max / s_min, s_min at rounding level (torch's too)
    assert L.cond(_t(np.zeros((2, 2)))).item() != L.cond(_t(np.zeros((2, 2)))).item()  # 0/0
    with pytest.raises(ValueError, match="linalg.matrix_power: the matrix is singular"):
        L.matrix_power(A, -2)
    with pytest.raises(ValueError, match=r"linalg.cond \(p=1\): the matrix is singular"):
        L.cond(A, 1)


def test_outputs_the_caller_dropped_are_recomputed_for_the_backward_pass():
    # eigvalsh / svdvals keep only the values; their vjps need the vectors, computed again
    rng = np.random.default_rng(11)
    M = rng.standard_normal((3, 3))
    A = _t(M + M.T)
    L.eigvalsh(A)[2].backward()
    u = np.linalg.eigh(M + M.T)[1][:, 2]
    np.testing.assert_allclose(A.grad.numpy(), np.outer(u, u), atol=1e-12)
    B = _t(M)
    L.svdvals(B)[0].backward()
    U, _, Vh = np.linalg.svd(M)
    np.testing.assert_allclose(B.grad.numpy(), np.outer(U[:, 0], Vh[0]), atol=1e-12)


def test_cholesky_of_a_matrix_that_is_not_positive_definite_names_the_batch_index():
    A = np.stack([np.eye(2), np.diag([1.0, -1.0])])
    with pytest.raises(ValueError, match=r"linalg.cholesky: the matrix is not positive-definite "
                                         r"\(batch index \(1,\)\); got A of shape \(2, 2, 2\)"):
        L.cholesky(_t(A))
