"""Start worker processes on this machine, run module-level functions in them, gather results.

A :class:`WorkerPool` starts ``world_size`` Python processes on localhost, each joined to one
``torch.distributed`` process group (``gloo`` by default, so it runs on any CPU), and keeps them
alive until it is closed, so that several experiments share one start-up (importing torch in
every process is the slow part). ``pool.run(fn, *args)`` runs ``fn(*args)`` in every process
and returns the list of the ranks' return values::

    from course_lib.distributed import WorkerPool, workers

    with WorkerPool(4) as pool:
        times = pool.run(workers.allreduce_times, [1024], world=4)   # one result per rank

:func:`launch` is the one-shot form (start, run one function, shut down).

Rules of the game:

* ``fn`` is a module-level function of an importable module (spawned processes import it by
  name; a function defined in a notebook cannot be sent), or a ``"module:qualname"`` string.
  Its arguments and its return value must be picklable.
* Inside ``fn`` the process group is initialized: ``torch.distributed.get_rank()`` and
  ``get_world_size()`` work; every process runs single-threaded (``torch.set_num_threads(1)``)
  unless ``threads`` says otherwise.
* The rendezvous goes through a ``TCPStore`` that the parent opens on a free port (chosen by
  the operating system, so two pools never collide), which also carries the tasks and results.
* If a worker raises, :class:`WorkerError` names the rank and carries its traceback; if one
  dies without a word, the tail of its stderr; if a task runs past ``timeout``, ``TimeoutError``.
  In every failure case all workers are killed before the exception reaches the caller (a
  failed collective leaves the group unusable), and the pool is closed. Workers also exit by
  themselves when the parent process goes away.
"""

from __future__ import annotations

import datetime
import importlib
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["WorkerPool", "WorkerError", "launch", "function_name"]

_STOP = "__stop__"
#: Modules every worker imports before it reports ready (the chapter's workers need them).
PRELOAD = ("torch.nn.parallel", "torch.distributed.optim", "course_lib.optim",
           "course_lib.distributed.workers")
# what every worker process runs (``python -c``): join the group, then serve tasks
_WORKER = ("import sys; from course_lib.distributed.launch import worker_main; "
           "worker_main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]))")


class WorkerError(RuntimeError):
    """A worker process raised or died; ``rank`` and ``details`` (its traceback) say where."""

    def __init__(self, rank: int, details: str, what: str = "raised"):
        self.rank = rank
        self.details = details
        super().__init__(f"worker rank {rank} {what}:\n{details.rstrip()}")


def function_name(fn: Callable | str) -> str:
    """``"module:qualname"`` of a module-level function (what the workers import).

    Raises ``TypeError`` for something that is not a function and ``ValueError`` for a function
    the workers could not import (defined in ``__main__``, in a notebook or inside another
    function).
    """
    module: str | None
    qualname: str | None
    if isinstance(fn, str):
        module, sep, qualname = fn.partition(":")
        if not sep or not module or not qualname:
            raise ValueError(f"Invalid fn: {fn!r} (expected 'module:qualname')")
        return fn
    if not callable(fn):
        raise TypeError(f"fn must be a function or a 'module:qualname' string, got "
                        f"{type(fn).__name__}")
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None)
    if not module or not qualname or module == "__main__" or "<locals>" in qualname:
        raise ValueError(f"Invalid fn: {fn!r} (expected a function defined at the top level of "
                         "an importable module: worker processes import it by name, so a "
                         "function defined in a notebook or inside a function cannot be sent)")
    return f"{module}:{qualname}"


def _resolve(name: str) -> Callable:
    module, _, qualname = name.partition(":")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _kill_all(procs: Sequence[subprocess.Popen]) -> None:
    """SIGKILL every worker's process group (a worker's own children included) and reap."""
    for proc in procs:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:    # pragma: no cover - a process in D state
            pass


class WorkerPool:
    """``world_size`` worker processes joined in one process group, kept for several runs.

    Parameters: ``world_size`` (>= 1), ``backend`` (``"gloo"``; ``"nccl"`` needs one GPU per
    process), ``timeout`` (seconds a task may take before every worker is killed), ``start_timeout``
    (the same for starting the workers: each imports torch), ``preload`` (modules each
    worker imports while starting),
    ``threads`` (intra-op threads per worker, 1 by default: p processes share the machine's
    cores), ``env`` (extra environment variables for the workers).
    """

    def __init__(self, world_size: int, *, backend: str = "gloo", timeout: float = 120.0,
                 threads: int = 1, env: dict | None = None, start_timeout: float = 180.0,
                 preload: Sequence[str] = PRELOAD):
        if isinstance(world_size, bool) or not isinstance(world_size, int):
            raise TypeError(f"world_size must be an int, got {type(world_size).__name__}")
        if world_size < 1:
            raise ValueError(f"Invalid world_size: {world_size!r} (expected an integer >= 1)")
        if backend not in ("gloo", "nccl"):
            raise ValueError(f"Invalid backend: {backend!r} (expected 'gloo' or 'nccl')")
        for name, value in (("timeout", timeout), ("start_timeout", start_timeout)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"Invalid {name}: {value!r} (expected a positive number)")
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ValueError(f"Invalid threads: {threads!r} (expected an integer >= 1)")
        import torch.distributed as dist

        self.world_size = world_size
        self.backend = backend
        self.timeout = float(timeout)
        self._tasks = 0
        self._closed = False
        self._dir = tempfile.TemporaryDirectory(prefix="course_workers_")
        self._store = dist.TCPStore("127.0.0.1", 0, is_master=True, wait_for_workers=False,
                                    timeout=datetime.timedelta(seconds=timeout))
        self.port = self._store.port
        child_env = dict(os.environ)
        child_env.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(self.port),
                          "WORLD_SIZE": str(world_size), "OMP_NUM_THREADS": str(threads),
                          "MKL_NUM_THREADS": str(threads),
                          "OPENBLAS_NUM_THREADS": str(threads)})
        child_env["COURSE_WORKER_PRELOAD"] = ",".join(preload)
        child_env.update(env or {})
        # the workers import course_lib from where this process imported it
        root = str(Path(__file__).resolve().parents[2])
        child_env["PYTHONPATH"] = os.pathsep.join(
            [root] + [p for p in child_env.get("PYTHONPATH", "").split(os.pathsep) if p])
        self._procs: list[subprocess.Popen] = []
        self._logs = []
        try:
            for rank in range(world_size):
                log = open(Path(self._dir.name) / f"rank{rank}.log", "w+b")
                self._logs.append(log)
                child_env.update({"RANK": str(rank), "LOCAL_RANK": str(rank)})
                self._procs.append(subprocess.Popen(
                    [sys.executable, "-c", _WORKER, backend,
                     str(threads), str(max(timeout, start_timeout)), str(os.getpid())],
                    env=dict(child_env), stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT, start_new_session=True))
            self._finalizer = weakref.finalize(self, _kill_all, list(self._procs))
            self._wait([f"ready/{r}" for r in range(world_size)], "start",
                       timeout=start_timeout)
        except BaseException:
            self._abort()
            raise

    # ----------------------------------------------------------------- running
    def run(self, fn: Callable | str, *args: Any, **kwargs: Any) -> list:
        """Run ``fn(*args, **kwargs)`` on every rank; the list of the ranks' return values."""
        if self._closed:
            raise RuntimeError("this WorkerPool is closed (a worker failed or close() was called)")
        name = function_name(fn)
        task = self._tasks
        self._tasks += 1
        try:
            payload = pickle.dumps((name, args, kwargs))
        except Exception as exc:
            raise TypeError(f"the arguments of {name} must be picklable: {exc}") from None
        self._store.set(f"task/{task}", payload)  # type: ignore[arg-type]  # takes bytes (stub: str)
        keys = [f"result/{task}/{r}" for r in range(self.world_size)]
        try:
            self._wait(keys, name, task=task)
            return [pickle.loads(self._store.get(k)) for k in keys]
        except BaseException:
            self._abort()
            raise

    def _wait(self, keys: list[str], what: str, task: int | None = None,
              timeout: float | None = None) -> None:
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        pause = 0.001
        while not self._store.check(keys):
            if task is not None:
                for rank in range(self.world_size):
                    if self._store.check([f"error/{task}/{rank}"]):
                        details = self._store.get(f"error/{task}/{rank}").decode()
                        raise WorkerError(rank, details, f"raised in {what}")
            for rank, proc in enumerate(self._procs):
                if proc.poll() is not None:
                    if task is not None and self._store.check([f"error/{task}/{rank}"]):
                        continue                       # reported above on the next pass
                    raise WorkerError(rank, self._tail(rank),
                                      f"died (exit code {proc.returncode}) during {what}")
            if time.monotonic() > deadline:
                late = [r for r in range(self.world_size) if not self._store.check([keys[r]])]
                raise TimeoutError(f"{what} did not finish within {timeout:g} s on "
                                   f"rank(s) {late}; all workers were stopped")
            time.sleep(pause)
            pause = min(2 * pause, 0.02)

    def _tail(self, rank: int, chars: int = 4000) -> str:
        log = self._logs[rank]
        log.flush()
        log.seek(0)
        text = log.read().decode(errors="replace")
        return text[-chars:] or "(no output)"

    # ---------------------------------------------------------------- shutdown
    def close(self) -> None:
        """Ask the workers to leave the group and exit; kill those that do not within 10 s."""
        if self._closed:
            return
        self._closed = True
        try:
            self._store.set(f"task/{self._tasks}", _STOP.encode())  # type: ignore[arg-type]  # takes bytes (stub: str)
            deadline = time.monotonic() + 10
            for proc in self._procs:
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass
        finally:
            self._abort()

    def _abort(self) -> None:
        self._closed = True
        _kill_all(self._procs)
        for log in self._logs:
            log.close()
        self._dir.cleanup()

    @property
    def pids(self) -> list[int]:
        """The workers' process ids."""
        return [p.pid for p in self._procs]

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "running"
        return f"WorkerPool(world_size={self.world_size}, backend={self.backend!r}, {state})"


def launch(fn: Callable | str, world_size: int, *args: Any, backend: str = "gloo",
           timeout: float = 120.0, threads: int = 1, start_timeout: float = 180.0,
           preload: Sequence[str] = PRELOAD, **kwargs: Any) -> list:
    """Start ``world_size`` workers, run ``fn(*args, **kwargs)`` on each, shut them down;
    the list of the ranks' return values (see :class:`WorkerPool`)."""
    function_name(fn)
    with WorkerPool(world_size, backend=backend, timeout=timeout, threads=threads,
                    start_timeout=start_timeout, preload=preload) as pool:
        return pool.run(fn, *args, **kwargs)


# ------------------------------------------------------------------ the worker side

def worker_main(backend: str, threads: int, timeout: float, parent: int) -> None:
    """The body of a worker process: join the process group through the parent's store, then
    run the tasks the parent posts until it posts the stop marker or goes away."""
    import torch
    import torch.distributed as dist

    torch.set_num_threads(threads)
    for module in os.environ.get("COURSE_WORKER_PRELOAD", "").split(","):
        if module:                      # imported while the other ranks start, not in a task
            importlib.import_module(module)
    rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    store = dist.TCPStore(os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]),
                          is_master=False, timeout=datetime.timedelta(seconds=timeout))
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]) % torch.cuda.device_count())
    dist.init_process_group(backend, store=dist.PrefixStore("pg", store), rank=rank,
                            world_size=world_size, timeout=datetime.timedelta(seconds=timeout))
    store.set(f"ready/{rank}", b"1")  # type: ignore[arg-type]  # takes bytes (stub: str)
    task = 0
    try:
        while True:
            pause = 0.001
            while not store.check([f"task/{task}"]):
                if os.getppid() != parent:               # the parent is gone: leave
                    return
                time.sleep(pause)
                pause = min(2 * pause, 0.05)
            payload = store.get(f"task/{task}")
            if payload == _STOP.encode():
                return
            try:
                name, args, kwargs = pickle.loads(payload)
                result = pickle.dumps(_resolve(name)(*args, **kwargs))
            except BaseException:
                store.set(f"error/{task}/{rank}", traceback.format_exc().encode())  # type: ignore[arg-type]  # takes bytes (stub: str)
                sys.stderr.write(traceback.format_exc())
                sys.stderr.flush()
                os._exit(1)
            store.set(f"result/{task}/{rank}", result)  # type: ignore[arg-type]  # takes bytes (stub: str)
            task += 1
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
