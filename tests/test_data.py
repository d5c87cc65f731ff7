"""course_lib.objectives.data: the digits split (disjoint, complete, seeded, standardized with
training statistics only), Split.as_tensors, one_hot against torch, and minibatches (each
index once per epoch, batch sizes, drop_last, seeding; the one shuffle that FiniteSum's
"shuffle" oracle and nn.fit use)."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from course_lib.objectives.data import Split, load_digits_split, minibatches, one_hot
from course_lib.objectives.finite_sum import LeastSquares


@pytest.fixture(scope="module")
def raw():
    digits = load_digits()
    return digits.data.astype(np.float64), digits.target


def rows_in(X_part, X_all):
    """Index of every row of X_part in X_all (rows of the digits are not all distinct, so
    match on the unstandardized data through a dict of row -> list of indices)."""
    table = {}
    for i, row in enumerate(X_all):
        table.setdefault(row.tobytes(), []).append(i)
    return [table[row.tobytes()] for row in X_part]


def test_split_is_disjoint_complete_and_sized(raw):
    X, y = raw
    s = load_digits_split(seed=3, standardize=False)
    assert (len(s.X_train), len(s.X_val), len(s.X_test)) == (1079, 359, 359)
    assert s.n_classes == 10 and s.X_train.dtype == np.float64 and s.y_train.dtype == np.int64
    # the three parts together are the data set, each example once (as a multiset of rows)
    parts = np.concatenate([s.X_train, s.X_val, s.X_test])
    key = lambda A: sorted(r.tobytes() for r in A)  # noqa: E731
    assert key(parts) == key(X)
    labels = np.concatenate([s.y_train, s.y_val, s.y_test])
    assert np.array_equal(np.bincount(labels, minlength=10), np.bincount(y, minlength=10))
    # every row keeps its own label
    for Xp, yp in ((s.X_val, s.y_val), (s.X_test, s.y_test)):
        for row_label, candidates in zip(yp, rows_in(Xp, X)):
            assert row_label in y[candidates]


def test_split_is_seeded():
    a, b, c = (load_digits_split(seed=k) for k in (0, 0, 1))
    assert all(np.array_equal(u, v) for u, v in zip(vars(a).values(), vars(b).values())
               if isinstance(u, np.ndarray))
    assert not np.array_equal(a.y_train, c.y_train)


def test_standardization_uses_the_training_statistics_only():
    raw_split, s = load_digits_split(seed=2, standardize=False), load_digits_split(seed=2)
    mean, std = raw_split.X_train.mean(axis=0), raw_split.X_train.std(axis=0)
    constant = std == 0
    assert constant.any()  # some border pixels are 0 in every training image
    np.testing.assert_allclose(s.X_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(s.X_train.std(axis=0)[~constant], 1, rtol=1e-12)
    # validation and test are mapped with the same affine map, not their own statistics
    safe = np.where(constant, 1.0, std)
    np.testing.assert_allclose(s.X_val, (raw_split.X_val - mean) / safe, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(s.X_test, (raw_split.X_test - mean) / safe, rtol=1e-12,
                               atol=1e-12)
    assert np.abs(s.X_val.mean(axis=0)).max() > 1e-3


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"val_fraction": 0.0}, r"Invalid val_fraction: 0\.0"),
    ({"test_fraction": 1.0}, r"Invalid test_fraction: 1\.0"),
    ({"val_fraction": 0.5, "test_fraction": 0.5}, r"leaves no training data"),
])
def test_split_rejects_bad_fractions(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_digits_split(**kwargs)


def test_as_tensors():
    s = load_digits_split(seed=0)
    t = s.as_tensors()
    assert isinstance(t, Split) and t.n_classes == 10
    assert t.X_train.dtype == torch.float32 and t.y_val.dtype == torch.int64
    assert torch.equal(t.y_test, torch.as_tensor(s.y_test))
    assert s.as_tensors(torch.float64).X_val.numpy().tobytes() == s.X_val.tobytes()


def test_one_hot_matches_torch():
    y = np.array([2, 0, 1, 2, 4])
    expected = torch.nn.functional.one_hot(torch.as_tensor(y), 5).numpy().astype(np.float64)
    assert np.array_equal(one_hot(y, 5), expected)
    with pytest.raises(ValueError, match=r"Class values must be in \[0, 3\)"):
        one_hot(y, 3)
    with pytest.raises(ValueError, match="1-D integer label array"):
        one_hot(np.array([0.0, 1.0]), 2)


# ---------------------------------------------------------------- minibatches

@pytest.mark.parametrize(("n", "batch_size"), [(10, 3), (12, 4), (5, 5), (7, 10), (1, 1)])
def test_minibatches_cover_each_index_once_per_epoch(n, batch_size):
    gen = np.random.default_rng(0)
    for _ in range(5):  # five epochs, each a fresh permutation
        batches = list(minibatches(n, batch_size, gen))
        assert np.array_equal(np.sort(np.concatenate(batches)), np.arange(n))
        sizes = [len(b) for b in batches]
        assert sizes == [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size
                                                             else [])


def test_minibatches_drop_last_and_reshuffle():
    gen = np.random.default_rng(1)
    batches = list(minibatches(10, 3, gen, drop_last=True))
    assert [len(b) for b in batches] == [3, 3, 3]
    assert len(np.unique(np.concatenate(batches))) == 9
    first, second = (np.concatenate(list(minibatches(50, 7, gen))) for _ in range(2))
    assert not np.array_equal(first, second)  # a new order every epoch


def test_minibatches_are_seeded_and_draw_one_permutation_per_epoch():
    a = [b.tolist() for b in minibatches(20, 6, np.random.default_rng(4))]
    b = [b.tolist() for b in minibatches(20, 6, np.random.default_rng(4))]
    assert a == b
    gen, ref = np.random.default_rng(9), np.random.default_rng(9)
    list(minibatches(20, 6, gen))
    ref.permutation(20)
    assert gen.random() == ref.random()  # the epoch consumed exactly one permutation


def test_finite_sum_shuffle_oracle_uses_the_same_minibatches():
    """Wiring: the "shuffle" oracle's batches are minibatches' batches, epoch after epoch."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((10, 2)), rng.standard_normal(10)
    problem = LeastSquares(X, y)
    oracle = problem.minibatch_oracle(4, np.random.default_rng(5), sampling="shuffle")
    gen = np.random.default_rng(5)
    expected = [idx for _ in range(3) for idx in minibatches(10, 4, gen)]
    w = np.array([0.3, -0.2])
    for idx in expected:
        np.testing.assert_array_equal(oracle(w), problem.minibatch_grad(w, idx))


@pytest.mark.parametrize(("args", "error", "message"), [
    ((5, 0, np.random.default_rng(0)), ValueError, r"Invalid batch_size: 0"),
    ((5, 2.0, np.random.default_rng(0)), TypeError, r"batch_size must be an integer"),
    ((5, True, np.random.default_rng(0)), TypeError, r"batch_size must be an integer"),
    ((5, 2, 0), TypeError, r"rng must be a numpy.random.Generator, got int"),
])
def test_minibatches_bad_arguments(args, error, message):
    with pytest.raises(error, match=message):
        list(minibatches(*args))
