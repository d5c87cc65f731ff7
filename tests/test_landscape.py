"""course_lib.viz.landscape: filter-normalized directions and loss-surface slices (Li et al.
2018).

* every filter (output row) of a direction has the norm of the same filter of the weights, and
  equals the Gaussian draw rescaled filter by filter, computed here by hand; 1-D parameters
  (biases, normalization) get a zero direction; a zero filter gets a zero direction;
* the surface has shape (len(betas), len(alphas)), equals the model's own loss at the origin
  and the loss of explicitly perturbed weights elsewhere; the model is left as it was.
Everything runs in float64, so the agreements are to rounding (tolerances written below).
"""

import copy
import math

import numpy as np
import pytest
import torch
from torch import nn

from course_lib.viz.landscape import filter_normalized_direction, loss_surface


def _model():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(),
                          nn.Linear(3 * 4 * 4, 5), nn.ReLU(), nn.Linear(5, 4)).double()
    with torch.no_grad():
        model[0].weight[1].zero_()            # a dead filter
        model[1].running_mean.uniform_(-0.5, 0.5)
        model[1].running_var.uniform_(0.5, 2.0)
    return model


@pytest.fixture
def data():
    gen = torch.Generator().manual_seed(1)
    X = torch.randn(16, 2, 6, 6, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 4, (16,), generator=gen)
    return X, y


def test_filter_normalization_matches_a_hand_computation():
    model = _model()
    d = filter_normalized_direction(model, torch.Generator().manual_seed(7))
    assert list(d) == [name for name, _ in model.named_parameters()]
    # the same Gaussian draws, in the same order (only for parameters with >= 2 dimensions)
    gen = torch.Generator().manual_seed(7)
    for name, p in model.named_parameters():
        assert d[name].shape == p.shape and d[name].dtype == p.dtype
        if p.dim() <= 1:
            assert torch.count_nonzero(d[name]) == 0, name      # biases and BN: not perturbed
            continue
        raw = torch.randn(p.shape, generator=gen, dtype=p.dtype)
        for i in range(p.shape[0]):                              # filter by filter
            theta_i = p.detach()[i].reshape(-1).tolist()
            raw_i = raw[i].reshape(-1).tolist()
            scale = (math.sqrt(sum(t * t for t in theta_i))
                     / math.sqrt(sum(r * r for r in raw_i)))
            expected = [r * scale for r in raw_i]
            got = d[name][i].reshape(-1).tolist()
            np.testing.assert_allclose(got, expected, rtol=1e-13, atol=0)
            # the defining property: the filter's norm is the weights' filter norm
            assert math.isclose(math.sqrt(sum(g * g for g in got)),
                                math.sqrt(sum(t * t for t in theta_i)),
                                rel_tol=1e-13, abs_tol=0)
    assert torch.count_nonzero(d["0.weight"][1]) == 0                # the dead filter stays dead
    assert torch.count_nonzero(d["0.weight"][0]) == d["0.weight"][0].numel()


def test_directions_from_one_generator_differ_and_reproduce():
    model = _model()
    gen = torch.Generator().manual_seed(3)
    d1, d2 = (filter_normalized_direction(model, gen) for _ in range(2))
    assert not torch.equal(d1["4.weight"], d2["4.weight"])
    again = filter_normalized_direction(model, torch.Generator().manual_seed(3))
    assert all(torch.equal(again[k], d1[k]) for k in d1)


def test_surface_shape_origin_and_an_explicit_point(data):
    X, y = data
    model = _model()
    model.train()
    before = copy.deepcopy(model.state_dict())
    loss_fn = nn.CrossEntropyLoss()
    d1 = filter_normalized_direction(model, torch.Generator().manual_seed(11))
    d2 = filter_normalized_direction(model, torch.Generator().manual_seed(12))
    alphas, betas = np.linspace(-1.0, 1.0, 5), np.array([-0.5, 0.0, 0.25])
    Z = loss_surface(model, loss_fn, X, y, d1, d2, alphas, betas)
    assert Z.shape == (3, 5) and Z.dtype == np.float64 and np.all(np.isfinite(Z))
    # the model is left as it was: training mode, parameters and buffers
    assert model.training
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    # at the origin (alpha = beta = 0) the surface is the model's own loss (evaluation mode)
    model.eval()
    with torch.no_grad():
        own = float(loss_fn(model(X), y))
    assert math.isclose(Z[1, 2], own, rel_tol=1e-12, abs_tol=0)
    # row i follows betas, column j follows alphas: theta + alpha_j d1 + beta_i d2
    shifted = copy.deepcopy(model)
    with torch.no_grad():
        for name, p in shifted.named_parameters():
            p.add_(float(alphas[4]) * d1[name] + float(betas[0]) * d2[name])
        far = float(loss_fn(shifted(X), y))
    assert math.isclose(Z[0, 4], far, rel_tol=1e-12, abs_tol=0)
    assert not math.isclose(far, own, rel_tol=1e-3)        # the slice is not flat
