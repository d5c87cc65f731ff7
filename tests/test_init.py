"""course_lib.nn.init: sample statistics against the variance formulas and against torch.nn.init's
samples; gains against torch.nn.init.calculate_gain; ERRATA 7 and 25."""

import math

import numpy as np
import pytest
import torch
from scipy.stats import kurtosis

from course_lib.nn import init

M, N = 400, 2500  # fan_in, fan_out: 1e6 draws; m != n so fan_in and fan_out modes differ
# Relative standard error of a sample variance from 1e6 draws: sqrt((kurtosis - 1) / n) =
# 0.0009 (uniform) and 0.0014 (normal). Tolerances: 1 % against the formula (>= 7 standard
# errors), 2 % between our sample and torch's (difference of two estimates, >= 10 s.e.).
VAR_TOL, TORCH_TOL = 0.01, 0.02

# name, our function, variance formula, uniform bound (None: normal), torch initializer
CASES = [
    ("uniform_fan_in", lambda m, n, r: init.uniform_fan_in(m, n, r), 1 / (3 * M), 1 / math.sqrt(M),
     lambda t: torch.nn.init.kaiming_uniform_(t, a=math.sqrt(5))),  # nn.Linear's default
    ("glorot_uniform", lambda m, n, r: init.glorot_uniform(m, n, r), 2 / (M + N),
     math.sqrt(6 / (M + N)), lambda t: torch.nn.init.xavier_uniform_(t)),
    ("glorot_uniform_tanh", lambda m, n, r: init.glorot_uniform(m, n, r, gain=5 / 3),
     (5 / 3) ** 2 * 2 / (M + N), 5 / 3 * math.sqrt(6 / (M + N)),
     lambda t: torch.nn.init.xavier_uniform_(t, gain=5 / 3)),
    ("glorot_normal", lambda m, n, r: init.glorot_normal(m, n, r), 2 / (M + N), None,
     lambda t: torch.nn.init.xavier_normal_(t)),
    ("he_uniform", lambda m, n, r: init.he_uniform(m, n, r), 2 / M, math.sqrt(6 / M),
     lambda t: torch.nn.init.kaiming_uniform_(t, nonlinearity="relu")),
    ("he_uniform_fan_out_leaky", lambda m, n, r: init.he_uniform(
        m, n, r, mode="fan_out", nonlinearity="leaky_relu", a=0.2),
     2 / (1 + 0.04) / N, math.sqrt(3 * 2 / (1 + 0.04) / N),
     lambda t: torch.nn.init.kaiming_uniform_(t, a=0.2, mode="fan_out")),
    ("he_normal", lambda m, n, r: init.he_normal(m, n, r), 2 / M, None,
     lambda t: torch.nn.init.kaiming_normal_(t, nonlinearity="relu")),
    ("he_normal_fan_out_tanh", lambda m, n, r: init.he_normal(
        m, n, r, mode="fan_out", nonlinearity="tanh"), (5 / 3) ** 2 / N, None,
     lambda t: torch.nn.init.kaiming_normal_(t, mode="fan_out", nonlinearity="tanh")),
]


@pytest.mark.parametrize("name, ours, var, bound, theirs", CASES, ids=[c[0] for c in CASES])
def test_variance_and_bound_match_formula_and_torch(name, ours, var, bound, theirs):
    W = ours(M, N, np.random.default_rng(0))
    assert W.shape == (M, N) and W.dtype == np.float64
    T = theirs(torch.empty(N, M)).numpy()  # torch's weight layout is (fan_out, fan_in)
    assert W.var() == pytest.approx(var, rel=VAR_TOL)
    assert T.var() == pytest.approx(var, rel=VAR_TOL)
    assert W.var() == pytest.approx(T.var(), rel=TORCH_TOL)
    assert abs(W.mean()) < 5 * math.sqrt(var / W.size)
    if bound is not None:  # uniform: same support as torch's (1e6 draws reach the edge)
        for sample in (W, T):
            assert np.abs(sample).max() <= bound
            assert np.abs(sample).max() >= bound * (1 - 1e-4)
            assert kurtosis(sample.ravel(), fisher=False) == pytest.approx(1.8, abs=0.01)
    else:  # normal, not truncated: kurtosis 3 (standard error 0.005)
        for sample in (W, T):
            assert kurtosis(sample.ravel(), fisher=False) == pytest.approx(3.0, abs=0.03)


def test_errata_25_glorot_variance_and_the_misplaced_root():
    """m = 256, n = 128, ~1e6 draws: Var = 2/(m+n) = 5.208e-3 (2 %). 003's bound sqrt(6)/(m+n)
    would give 2/(m+n)^2 = 1.356e-5, (m+n) = 384 times too small."""
    m, n = 256, 128
    rng = np.random.default_rng(7)
    W = np.stack([init.glorot_uniform(m, n, rng) for _ in range(31)])  # 1,015,808 draws
    assert 2 / (m + n) == pytest.approx(5.208e-3, rel=1e-3)
    assert W.var() == pytest.approx(2 / (m + n), rel=0.02)
    wrong_bound = math.sqrt(6) / (m + n)
    assert wrong_bound**2 / 3 == pytest.approx(2 / (m + n) ** 2, rel=1e-12)
    assert 2 / (m + n) ** 2 == pytest.approx(1.356e-5, rel=1e-3)
    assert np.abs(W).max() == pytest.approx(math.sqrt(6 / (m + n)), rel=1e-4)


def test_errata_25_uniform_fan_in_std_is_one_over_root_3m():
    W = init.uniform_fan_in(M, N, 25)
    assert W.std() == pytest.approx(1 / math.sqrt(3 * M), rel=VAR_TOL / 2)
    assert W.std() * math.sqrt(M) == pytest.approx(1 / math.sqrt(3), rel=VAR_TOL / 2)  # not 1
    lin = torch.nn.Linear(M, N)  # torch's default weights: the same distribution
    assert lin.weight.detach().std().item() == pytest.approx(W.std(), rel=TORCH_TOL / 2)


@pytest.mark.parametrize("nonlinearity, param", [
    ("linear", None), ("conv1d", None), ("conv2d", None), ("conv3d", None),
    ("conv_transpose1d", None), ("conv_transpose2d", None), ("conv_transpose3d", None),
    ("sigmoid", None), ("tanh", None), ("relu", None), ("selu", None),
    ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", 1), ("leaky_relu", 0),
])
def test_gains_match_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param), rel=1e-15)


@pytest.mark.parametrize("initializer, expected_ratio", [
    (init.he_normal, 1.0), (init.glorot_uniform, 0.5), (init.uniform_fan_in, 1 / 6)])
def test_second_moment_through_a_deep_relu_network(initializer, expected_ratio):
    """Per ReLU layer of width m the pre-activation second moment is multiplied by
    m Var(W) / 2: He 1, Glorot (m = n) 1/2, U(+-1/sqrt m) 1/6. Geometric mean over 9 layers,
    width 400, batch 400; over 20 seeds it stays within 6 % of the formula (tol 10 %)."""
    rng = np.random.default_rng(0)
    z = rng.standard_normal((400, 400)) @ initializer(400, 400, rng)
    first = np.mean(z**2)
    for _ in range(9):
        z = np.maximum(z, 0) @ initializer(400, 400, rng)
    assert (np.mean(z**2) / first) ** (1 / 9) == pytest.approx(expected_ratio, rel=0.10)


def test_sparse_has_k_nonzero_inputs_per_unit():
    m, n, k = 1000, 5000, 15
    W = init.sparse(m, n, np.random.default_rng(1), k=k, std=0.5)
    assert W.shape == (m, n)
    assert np.all(np.count_nonzero(W, axis=0) == k)  # every unit: exactly k inputs
    nonzero = W[W != 0]  # 75,000 values: s.e. of their variance 0.5 %
    assert nonzero.var() == pytest.approx(0.25, rel=0.03)
    assert W.var() == pytest.approx(k * 0.25 / m, rel=0.03)
    rows_used = np.count_nonzero(W, axis=1)
    assert rows_used.min() < rows_used.max()  # inputs are chosen at random per unit
    assert np.count_nonzero(init.sparse(4, 3, 0, k=4)) == 12  # k = fan_in: dense


def test_torch_sparse_zeroes_a_fraction_of_each_input_not_of_each_unit():
    """torch.nn.init.sparse_ zeroes ceil(sparsity * fan_out) entries of every *column* of its
    (fan_out, fan_in) weight -- of every input's outgoing weights -- so the number of inputs
    per unit varies, unlike Martens' scheme (course_lib.nn.init.sparse)."""
    T = torch.nn.init.sparse_(torch.empty(300, 50), sparsity=0.9).numpy()
    zeros_per_input = np.sum(T == 0, axis=0)
    assert np.all(zeros_per_input == math.ceil(0.9 * 300))
    inputs_per_unit = np.count_nonzero(T, axis=1)
    assert inputs_per_unit.min() < inputs_per_unit.max()
    assert T[T != 0].std() == pytest.approx(0.01, rel=0.1)  # 1500 values, s.e. ~2 %


def test_reproducible_and_dtype():
    a = init.glorot_normal(5, 3, np.random.default_rng(4))
    b = init.glorot_normal(5, 3, 4)  # an int seed is accepted
    assert np.array_equal(a, b)
    rng = np.random.default_rng(4)
    assert not np.array_equal(init.he_uniform(5, 3, rng), init.he_uniform(5, 3, rng))
    assert init.he_uniform(5, 3, 0, dtype=np.float32).dtype == np.float32
    assert init.xavier_uniform is init.glorot_uniform and init.kaiming_normal is init.he_normal


@pytest.mark.parametrize("make, message", [
    (lambda: init.glorot_uniform(0, 3, 0), r"fan_in must be a positive integer, got 0"),
    (lambda: init.he_normal(3, 2.5, 0), r"fan_out must be a positive integer, got 2\.5"),
    (lambda: init.uniform_fan_in(True, 3, 0), r"fan_in must be a positive integer, got True"),
    (lambda: init.he_uniform(3, 3, 0, mode="fan_avg"),
     r"Mode fan_avg not supported, please use one of fan_in, fan_out"),
    (lambda: init.he_normal(3, 3, 0, nonlinearity="swish"), r"Unsupported nonlinearity swish"),
    (lambda: init.calculate_gain("leaky_relu", True), r"negative_slope True not a valid number"),
    (lambda: init.sparse(10, 3, 0, k=11),
     r"k must be an integer with 1 <= k <= fan_in = 10, got 11"),
    (lambda: init.sparse(10, 3, 0, k=0), r"k must be an integer with 1 <= k <= fan_in = 10, got 0"),
    (lambda: init.sparse(10, 3, 0, k=5, std=-1.0), r"std must be non-negative, got -1\.0"),
])
def test_bad_arguments_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("nonlinearity, param", [("swish", None), ("leaky_relu", True)])
def test_torch_words_gain_errors_the_same_way(nonlinearity, param):
    with pytest.raises(ValueError) as theirs:
        torch.nn.init.calculate_gain(nonlinearity, param)
    with pytest.raises(ValueError, match=f"^{str(theirs.value)}$"):
        init.calculate_gain(nonlinearity, param)


# ---- orthogonal, LSUV, Fixup ----------------------------------------------------------------

@pytest.mark.parametrize("shape", [(5, 8), (8, 5), (6, 6)])
def test_orthogonal_recipe_reproduces_torch_orthogonal_exactly(shape):
    # torch.nn.init.orthogonal_ draws a (rows, cols) normal matrix and orthogonalizes it;
    # from the same normal draw our recipe gives the same matrix to rounding
    torch.manual_seed(3)
    A = torch.empty(*shape, dtype=torch.float64).normal_(0, 1).numpy()
    torch.manual_seed(3)
    T = torch.nn.init.orthogonal_(torch.empty(*shape, dtype=torch.float64), gain=1.3).numpy()
    assert np.abs(init.orthogonal_from_gaussian(A, gain=1.3) - T).max() < 1e-13


@pytest.mark.parametrize("m, n", [(64, 32), (32, 64), (50, 50)])
def test_orthogonal_has_orthonormal_rows_or_columns(m, n):
    W = init.orthogonal(m, n, np.random.default_rng(0), gain=2.0)
    assert W.shape == (m, n)
    gram = W.T @ W if m >= n else W @ W.T
    assert np.allclose(gram, 4.0 * np.eye(min(m, n)), atol=1e-12)


def test_orthogonal_is_haar_and_norm_preserving():
    # Haar distribution: every entry of an n x n orthogonal matrix has E[W_ij^2] = 1/n, and
    # E[W_11] = 0; 2000 draws of a 4 x 4 matrix (standard error of the mean square 0.0026)
    rng = np.random.default_rng(1)
    draws = np.array([init.orthogonal(4, 4, rng) for _ in range(2000)])
    assert np.allclose((draws**2).mean(axis=0), 0.25, atol=0.02)
    assert abs(draws[:, 0, 0].mean()) < 0.04
    # Haar: the diagonal entries are symmetric about 0 (the sign correction ensures it)
    assert abs(np.mean(draws[:, np.arange(4), np.arange(4)] > 0) - 0.5) < 0.03
    W = init.orthogonal(30, 30, rng)
    x = rng.standard_normal((10, 30))
    assert np.allclose(np.linalg.norm(x @ W, axis=1), np.linalg.norm(x, axis=1), rtol=1e-12)


def test_lsuv_gives_unit_variance_layer_by_layer():
    from course_lib import nn

    rng = np.random.default_rng(2)
    x = rng.standard_normal((500, 20)) * 3.0 + 1.0
    for act in (nn.Tanh, nn.ReLU):
        model = nn.Sequential(nn.Linear(20, 30, rng, init=init.orthogonal), act(),
                              nn.Linear(30, 30, rng, init=init.orthogonal), act(),
                              nn.Linear(30, 5, rng, init=init.orthogonal))
        variances = init.lsuv(model, x, tol=1e-3)
        assert len(variances) == 3 and all(abs(v - 1) <= 1e-3 for v in variances)
        h = x
        for layer in model:
            h = layer(h)
            if isinstance(layer, nn.Linear):
                assert abs(h.var() - 1) <= 1e-3
    # ReLU network without biases: positively homogeneous, one rescaling per layer is exact
    model = nn.Sequential(nn.Linear(20, 30, rng, bias=False), nn.ReLU(),
                          nn.Linear(30, 30, rng, bias=False))
    variances = init.lsuv(model, x, tol=1e-14, max_iter=2)
    assert np.allclose(variances, 1.0, atol=1e-12)


def test_fixup_scale_and_bad_arguments():
    assert init.fixup_scale(16, 2) == pytest.approx(16 ** -0.5, rel=1e-15)
    assert init.fixup_scale(8, 3) == pytest.approx(8 ** -0.25, rel=1e-15)
    with pytest.raises(ValueError, match=r"Invalid layers_per_branch: 1 \(expected"):
        init.fixup_scale(4, 1)
    with pytest.raises(ValueError, match=r"Invalid num_blocks: 0 \(expected"):
        init.fixup_scale(0, 2)
    with pytest.raises(TypeError, match="lsuv expects a course_lib.nn.Sequential"):
        init.lsuv(object(), np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"Invalid tol: -1"):
        init.lsuv(object(), np.zeros((2, 2)), tol=-1)
    with pytest.raises(ValueError, match="Only arrays with 2 dimensions"):
        init.orthogonal_from_gaussian(np.zeros(3))
