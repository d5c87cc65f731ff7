"""Data-parallel training on ``torch.distributed`` (chapter 11).

* :mod:`.launch` -- :class:`WorkerPool` / :func:`launch`: worker processes on this machine in
  one process group (gloo), module-level functions run on every rank, results gathered;
* :mod:`.workers` -- the chapter's experiments as functions that run inside the group
  (DDP, ZeroRedundancyOptimizer, BatchNorm statistics, all-reduce timings, DDP's bucket
  timeline, PowerSGD, local SGD) and their single-process references;
* :mod:`.costs` -- the ring all-reduce cost model, its fit to measured times, the gradient
  noise scale and the scaling model for p = 1 ... 1024 workers;
* :mod:`.replicas` -- many small networks trained as one batched computation (the batch-size
  and learning-rate experiments), per-example gradients, the LARS trust ratio.
"""

from .launch import WorkerError, WorkerPool, function_name, launch

__all__ = ["WorkerPool", "WorkerError", "launch", "function_name"]
