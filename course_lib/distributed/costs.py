r"""Cost models of data-parallel training: communication, noise scale, time to a result.

* Ring all-reduce of :math:`N` bytes over :math:`p` workers: a reduce-scatter and an all-gather,
  each of :math:`p-1` steps in which every worker sends a :math:`1/p` chunk, so every worker
  sends :math:`2(p-1)N/p` bytes in :math:`2(p-1)` messages:
  :math:`T(N, p) = 2(p-1)\,\alpha + 2\frac{p-1}{p}\frac{N}{\beta}` (latency :math:`\alpha`,
  bandwidth :math:`\beta` in bytes per second).
* Gradient noise scale (McCandlish et al., 2018): with :math:`G` the full gradient and
  :math:`\Sigma` the covariance of one example's gradient,
  :math:`B_\text{noise} = \operatorname{tr}\Sigma / |G|^2`; the steps and examples to a given
  result follow :math:`S = S_\min (1 + B_\text{noise}/B)` and
  :math:`E = E_\min (1 + B/B_\text{noise})`, :math:`E_\min = S_\min B_\text{noise}`.
* :func:`scaling` combines them: time per step, per epoch and to the result for ``p`` workers.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ring_allreduce_bytes", "ring_allreduce_time", "fit_allreduce", "noise_scale",
           "steps_to_result", "examples_to_result", "scaling"]


def _check_p(p):
    p = np.asarray(p)
    if np.any(p < 1):
        raise ValueError(f"Invalid p: {p!r} (expected integers >= 1)")
    return p


def ring_allreduce_bytes(n_bytes, p):
    """Bytes each worker sends in a ring all-reduce of ``n_bytes``: ``2 (p - 1) / p * n_bytes``."""
    p = _check_p(p)
    return 2.0 * (p - 1) / p * np.asarray(n_bytes, dtype=float)


def ring_allreduce_time(n_bytes, p, latency: float, bandwidth: float):
    """Seconds of a ring all-reduce: ``2 (p - 1) latency + 2 (p - 1) / p * n_bytes / bandwidth``."""
    p = _check_p(p)
    return 2.0 * (p - 1) * latency + ring_allreduce_bytes(n_bytes, p) / bandwidth


def fit_allreduce(n_bytes, seconds, p) -> tuple[float, float]:
    """``(latency, bandwidth)`` of the ring model fitted to measured times (least squares on the
    relative error, so small and large messages count alike). ``n_bytes``, ``seconds`` and ``p``
    are arrays of the same length (``p`` may be one number)."""
    n_bytes = np.asarray(n_bytes, dtype=float)
    seconds = np.asarray(seconds, dtype=float)
    p = np.broadcast_to(_check_p(p), n_bytes.shape)
    if np.any(p < 2):
        raise ValueError("Invalid p: an all-reduce over one worker costs nothing (expected p >= 2)")
    A = np.stack([2.0 * (p - 1), ring_allreduce_bytes(n_bytes, p)], axis=1) / seconds[:, None]
    (latency, inverse_bandwidth), *_ = np.linalg.lstsq(A, np.ones_like(seconds), rcond=None)
    return float(latency), float(1.0 / inverse_bandwidth)


def noise_scale(per_example_grads) -> float:
    """The simple noise scale ``tr(Sigma) / |G|^2`` of per-example gradients (rows), with
    ``G`` their mean and ``Sigma`` their covariance (divided by the number of rows)."""
    g = np.asarray(per_example_grads, dtype=float)
    if g.ndim != 2 or len(g) < 2:
        raise ValueError(f"Invalid per_example_grads: shape {g.shape} (expected (n >= 2, d))")
    mean = g.mean(axis=0)
    trace = ((g - mean) ** 2).sum(axis=1).mean()
    return float(trace / (mean @ mean))


def steps_to_result(batch_size, s_min: float, b_noise: float):
    """``S_min (1 + B_noise / B)``: the steps to a given result at batch size ``B``."""
    return s_min * (1.0 + b_noise / np.asarray(batch_size, dtype=float))


def examples_to_result(batch_size, s_min: float, b_noise: float):
    """``B * S(B) = E_min (1 + B / B_noise)`` with ``E_min = S_min B_noise``."""
    return np.asarray(batch_size, dtype=float) * steps_to_result(batch_size, s_min, b_noise)


def scaling(p, *, per_worker_batch: int, seconds_per_example: float, gradient_bytes: float,
            latency: float, bandwidth: float, s_min: float, b_noise: float,
            n_examples: int, overlap: float = 0.0) -> dict:
    """Time per step, per epoch and to the result for ``p`` workers of ``per_worker_batch``
    examples each (global batch ``B = p b``): compute ``b * seconds_per_example``, then a ring
    all-reduce of the gradient, of which a fraction ``overlap`` hides behind the backward pass.
    Steps to the result from :func:`steps_to_result`."""
    p = _check_p(np.asarray(p, dtype=float))
    if not 0 <= overlap <= 1:
        raise ValueError(f"Invalid overlap: {overlap!r} (expected a number in [0, 1])")
    compute = per_worker_batch * seconds_per_example
    comm = ring_allreduce_time(gradient_bytes, p, latency, bandwidth)
    hidden = np.minimum(overlap * comm, compute)
    step = compute + comm - hidden
    batch = p * per_worker_batch
    steps = steps_to_result(batch, s_min, b_noise)
    return {"p": p, "batch": batch, "compute": compute + 0 * p, "communication": comm,
            "step": step, "epoch": step * n_examples / batch, "steps": steps,
            "time": steps * step}
