"""One definition of the L-BFGS two-loop recursion and of what BFGS and L-BFGS share.

* ``two_loop_recursion`` equals the literal vector loops of N&W Algorithm 7.4 (NumPy, 1e-12)
  and ``LBFGSMemory`` is that function on the last m pairs;
* on torch tensors it reproduces ``torch.optim.LBFGS`` bit for bit: the direction ``d``, the
  ``al`` and ``H_diag`` torch keeps in its state (float64 and float32, history wrapped);
* ``initial_scaling`` (gamma) and ``curvature_condition`` (the skip test) are the ones both
  ``BFGSDirection`` and ``LBFGSDirection`` use.
"""

import numpy as np
import pytest
import torch

from course_lib.second_order import (
    CURVATURE_TOL,
    BFGSDirection,
    LBFGSDirection,
    curvature_condition,
    initial_scaling,
    two_loop_recursion,
)
from course_lib.second_order.quasi_newton import LBFGSMemory


def literal_two_loop(g, S, Y, gamma):
    """N&W Algorithm 7.4 written with vector operations only (the reference)."""
    q = np.array(g, dtype=float)
    rho = [1 / (y @ s) for s, y in zip(S, Y)]
    alpha = [0.0] * len(S)
    for i in reversed(range(len(S))):
        alpha[i] = rho[i] * (S[i] @ q)
        q = q - alpha[i] * Y[i]
    r = gamma * q
    for i in range(len(S)):
        beta = rho[i] * (Y[i] @ r)
        r = r + (alpha[i] - beta) * S[i]
    return r


def _pairs(m, n=20, seed=0):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((n, n))
    A = M @ M.T + n * np.eye(n)
    S = [rng.standard_normal(n) for _ in range(m)]
    return S, [A @ s for s in S], rng.standard_normal(n)


@pytest.mark.parametrize("m", [1, 3, 8])
def test_two_loop_equals_literal_loops_and_memory(m):
    S, Y, g = _pairs(m, seed=m)
    gamma = (S[-1] @ Y[-1]) / (Y[-1] @ Y[-1])
    ref = literal_two_loop(g, S, Y, gamma)
    # the same operations in another association: agreement to rounding
    np.testing.assert_allclose(two_loop_recursion(g, S, Y), ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(two_loop_recursion(g, np.array(S), np.array(Y), gamma),
                               ref, rtol=1e-12, atol=1e-14)
    mem = LBFGSMemory(m)
    for s, y in zip(S, Y):
        mem.push(s, y)
    np.testing.assert_array_equal(mem.apply(g), two_loop_recursion(g, S, Y))
    assert mem.gamma == initial_scaling(S[-1], Y[-1])


def test_two_loop_buffers_alpha_rho_and_overwrite():
    S, Y, g = _pairs(4)
    al = [None] * 6                      # torch keeps history_size entries
    rho = [1.0 / y.dot(s) for s, y in zip(S, Y)]
    g_copy = g.copy()
    r = two_loop_recursion(g, S, Y, rho=rho, alpha=al)
    np.testing.assert_array_equal(g, g_copy)              # g untouched by default
    np.testing.assert_array_equal(r, two_loop_recursion(g, S, Y))
    q = g.copy()
    for i in reversed(range(4)):
        assert al[i] == S[i].dot(q) * rho[i]               # the alpha_i of the first loop
        q -= al[i] * Y[i]
    assert al[4:] == [None, None]
    buffer = g.copy()
    np.testing.assert_array_equal(two_loop_recursion(buffer, S, Y, overwrite_g=True), r)
    assert not np.array_equal(buffer, g)                  # used as the buffer q


def test_two_loop_without_pairs_and_bad_input():
    g = np.arange(3.0)
    np.testing.assert_array_equal(two_loop_recursion(g, [], []), g)
    np.testing.assert_array_equal(two_loop_recursion(g, [], [], gamma=2.0), 2 * g)
    assert two_loop_recursion(g, [], []) is not g
    with pytest.raises(ValueError, match="differ in length"):
        two_loop_recursion(g, [g], [])
    with pytest.raises(ValueError, match=r"^Invalid rho: 2 values for 1 pairs$"):
        two_loop_recursion(g, [g], [g], rho=[1.0, 1.0])
    with pytest.raises(ValueError, match=r"^Invalid alpha: a list of length 0 for 1 pairs$"):
        two_loop_recursion(g, [g], [g], alpha=[])
    with pytest.raises(ValueError, match=r"^Invalid g: shape \(1, 3\) \(expected a vector\)$"):
        two_loop_recursion(g[None], [g], [g])


def _torch_lbfgs_state(dtype, history_size=5, max_iter=25, n=10):
    """torch.optim.LBFGS on the chained Rosenbrock function; its state after one step()."""
    x = torch.full((n,), -1.2, dtype=dtype)
    x[1::2] = 1.0
    x.requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1, history_size=history_size, max_iter=max_iter,
                            tolerance_grad=0.0, tolerance_change=0.0)

    def closure():
        opt.zero_grad()
        loss = (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return opt.state[x]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_two_loop_on_tensors_is_torch_lbfgs_bit_for_bit(dtype):
    state = _torch_lbfgs_state(dtype)
    assert len(state["old_dirs"]) == 5 and state["n_iter"] == 25   # the history has wrapped
    al = [None] * 5
    d = two_loop_recursion(state["prev_flat_grad"].neg(), state["old_stps"],
                           state["old_dirs"], state["H_diag"], rho=state["ro"], alpha=al,
                           overwrite_g=True)
    assert d.dtype == dtype and torch.equal(d, state["d"])
    assert all(torch.equal(a, b) for a, b in zip(al, state["al"]))
    # gamma of the newest pair is torch's H_diag, and the default gamma and rho are torch's
    assert torch.equal(initial_scaling(state["old_stps"][-1], state["old_dirs"][-1]),
                       state["H_diag"])
    d_default = two_loop_recursion(state["prev_flat_grad"], state["old_stps"],
                                   state["old_dirs"])
    assert torch.equal(d_default.neg(), state["d"])
    # the NumPy path agrees to rounding (it does not fuse the multiply-adds)
    if dtype == torch.float64:
        r = two_loop_recursion(state["prev_flat_grad"].numpy(),
                               [s.numpy() for s in state["old_stps"]],
                               [y.numpy() for y in state["old_dirs"]])
        np.testing.assert_allclose(-r, state["d"].numpy(), rtol=1e-10, atol=1e-14)


def test_curvature_condition_forms():
    assert curvature_condition(2e-10) and not curvature_condition(1e-10)   # torch: ys > 1e-10
    assert CURVATURE_TOL == 1e-10
    assert curvature_condition(torch.tensor(1e-9, dtype=torch.float64)) is True
    # relative form: y^T s > tol ||y|| ||s||, independent of the scale of s and y
    assert not curvature_condition(1e-12, 1.0, 1.0) and curvature_condition(1e-12, 1e-8, 1e-8)
    assert curvature_condition(0.5, 4.0, 1.0, tol=0.2) and not curvature_condition(
        0.5, 4.0, 1.0, tol=0.25)
    with pytest.raises(TypeError, match="both yy and ss"):
        curvature_condition(1.0, 1.0)


@pytest.mark.parametrize("strategy", [BFGSDirection(2), LBFGSDirection(m=3)])
def test_bfgs_and_lbfgs_share_the_skip_test_and_gamma(strategy):
    g0 = np.array([1.0, 0.0])
    p = np.array([-1.0, 0.0])
    strategy.update(1.0, p, g0, np.array([1.0, 5.0]))     # y ⟂ s: y^T s = 0, skipped
    assert strategy.extras()["nskipped"] == 1
    strategy.update(0.5, p, g0, np.array([0.25, 0.0]))    # s = (-0.5, 0), y = (-0.75, 0)
    assert strategy.extras()["nskipped"] == 1
    gamma = initial_scaling(np.array([-0.5, 0.0]), np.array([-0.75, 0.0]))
    assert gamma == pytest.approx(2 / 3, rel=1e-15)
    # the first direction after the update: H = gamma I, updated with (s, y) -> H e1 = s/y
    np.testing.assert_allclose(strategy.direction(None, 0.0, np.array([1.0, 1.0])),
                               [-2 / 3, -2 / 3], rtol=1e-15)
