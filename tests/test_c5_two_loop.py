"""One definition of the L-BFGS two-loop recursion: the literal vector loops of N&W
Algorithm 7.4, the precomputed-inner-product path and LBFGSMemory all agree."""

import numpy as np
import pytest

from course_lib.second_order import two_loop_recursion
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


@pytest.mark.parametrize("m", [1, 3, 8])
def test_two_loop_equals_literal_loops_and_precomputed(m):
    rng = np.random.default_rng(m)
    n = 20
    M = rng.standard_normal((n, n))
    A = M @ M.T + n * np.eye(n)
    S = [rng.standard_normal(n) for _ in range(m)]
    Y = [A @ s for s in S]
    g = rng.standard_normal(n)
    gamma = (S[-1] @ Y[-1]) / (Y[-1] @ Y[-1])
    ref = literal_two_loop(g, S, Y, gamma)
    np.testing.assert_allclose(two_loop_recursion(g, S, Y), ref, rtol=1e-12, atol=1e-14)
    SY = np.array(S) @ np.array(Y).T
    rho = [1 / SY[i, i] for i in range(m)]
    np.testing.assert_allclose(two_loop_recursion(g, np.array(S), np.array(Y), gamma,
                                                  inner=(SY, rho)), ref, rtol=1e-12,
                               atol=1e-14)
    mem = LBFGSMemory(m)
    for s, y in zip(S, Y):
        mem.push(s, y)
    np.testing.assert_allclose(mem.apply(g), ref, rtol=1e-12, atol=1e-14)


def test_two_loop_without_pairs_and_length_mismatch():
    g = np.arange(3.0)
    np.testing.assert_array_equal(two_loop_recursion(g, [], []), g)
    np.testing.assert_array_equal(two_loop_recursion(g, [], [], gamma=2.0), 2 * g)
    with pytest.raises(ValueError, match="differ in length"):
        two_loop_recursion(g, [g], [])
