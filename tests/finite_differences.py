"""Central finite differences: the independent reference the objectives' derivatives are
tested against (written here, apart from course_lib, so the check does not test itself)."""

import numpy as np

H = 1e-6  # central-difference step
TOL = 1e-6  # relative error of central differences at this step


def central_difference(f, x, h=H):
    """Jacobian of ``f`` at ``x`` by central differences; column ``i`` is d f / d x_i."""
    x = np.asarray(x, dtype=float)
    out = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        out.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * h))
    return np.array(out).T


def rel_err(a, b):
    """Relative error of two arrays, with a floor that keeps zero gradients comparable."""
    return np.linalg.norm(a - b) / max(np.linalg.norm(a), np.linalg.norm(b), 1e-8)
