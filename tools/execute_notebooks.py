"""Execute notebooks in parallel into Jupyter Book's execution cache.

    python tools/execute_notebooks.py _build/.jupyter_cache book/a.ipynb book/b.ipynb ...

Jupyter Book (myst-nb, ``execute_notebooks: cache``) executes a notebook only when its cache
holds no run of the same code; it runs them one after another. This fills the same cache
(jupyter-cache) with one worker process per core, the way myst-nb would -- in the notebook's
folder, with the timeout of ``_config.yml`` and without per-cell timing metadata, so that the
cache keys match -- and skips notebooks already cached. A notebook that raises stops the
run: its path, the failing cell and the error are printed, and the exit status is 1.
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _timeout() -> int:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    return int(config.get("execute", {}).get("timeout", 180))


def _execute(path: str, timeout: int) -> tuple[str, str | None, float, str | None]:
    """Run one notebook; return (path, executed notebook JSON or None, seconds, error)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    client = NotebookClient(nb, timeout=timeout, allow_errors=False, record_timing=False,
                            resources={"metadata": {"path": str(Path(path).parent)}})
    try:
        client.execute()
    except CellExecutionError as err:
        return path, None, time.perf_counter() - started, str(err)
    except Exception as err:  # a dead kernel, a timeout: report it like a failing cell
        return path, None, time.perf_counter() - started, f"{type(err).__name__}: {err}"
    return path, nbformat.writes(nb), time.perf_counter() - started, None


def main(argv: list[str]) -> int:
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(argv[0])
    paths = [str(Path(p).resolve()) for p in argv[1:]]
    todo = []
    for path in paths:
        try:
            cache.match_cache_notebook(nbformat.read(path, as_version=4))
            print(f"  cached    {Path(path).relative_to(ROOT)}", flush=True)
        except KeyError:
            todo.append(path)
    workers = max(1, min(len(todo), os.cpu_count() or 1))
    print(f"Executing {len(todo)} notebook(s) with {workers} worker(s) ...", flush=True)
    failures = []
    with ProcessPoolExecutor(workers) as pool:
        futures = [pool.submit(_execute, path, _timeout()) for path in todo]
        for future in as_completed(futures):
            path, text, seconds, error = future.result()
            name = Path(path).relative_to(ROOT)
            if error is None:
                nb = nbformat.reads(text, as_version=4)
                cache.cache_notebook_bundle(CacheBundleIn(nb, path), check_validity=False,
                                            overwrite=True)
                print(f"  {seconds:6.1f} s  {name}", flush=True)
            else:
                print(f"  FAILED    {name} after {seconds:.1f} s", flush=True)
                failures.append((name, error))
    for name, error in failures:
        print("\n" + "=" * 79 + f"\nThe notebook {name} raised while executing:\n{error}")
    if failures:
        print("=" * 79 + "\nThe book was NOT built: fix the notebook(s) above.")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
