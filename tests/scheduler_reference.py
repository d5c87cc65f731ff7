"""torch's learning-rate schedulers as the reference the closed forms are compared with."""

import numpy as np
import torch


def torch_lrs(make, lrs=(0.1,), steps=600):
    """The lr of each param group at each of ``steps`` optimizer steps, shape (steps, groups):
    ``make(optimizer)`` builds the torch scheduler, stepped after every optimizer step. The
    optimizer is SGD with momentum, so schedulers that also cycle the momentum (OneCycleLR,
    CyclicLR) accept it; the momentum does not change the rates."""
    ps = [torch.zeros(1, requires_grad=True) for _ in lrs]
    opt = torch.optim.SGD([dict(params=[p], lr=lr) for p, lr in zip(ps, lrs)], momentum=0.9)
    scheduler = make(opt)
    out = []
    for _ in range(steps):
        out.append([g["lr"] for g in opt.param_groups])
        opt.step()
        scheduler.step()
    return np.array(out, dtype=float)
