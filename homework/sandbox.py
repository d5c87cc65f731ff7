"""Run one student notebook isolated from everything else, with bubblewrap (``bwrap``).

Used by :class:`autograding.SandboxedExecute` (the Execute step of ``nbgrader autograde``);
this file is also the program that runs *inside* the sandbox (``python sandbox.py`` there).

Two nested sandboxes, both made by ``bwrap`` (Debian package ``bubblewrap``)::

    nbgrader autograde (the grader: trusted, sees homework/)
    └─ outer sandbox: the nbclient runner (this file), as an unprivileged user
       └─ inner sandbox: the IPython kernel that runs the student's code

* **User.** Started as root, the sandbox runs as a dedicated system user
  (``course-sandbox-<slot>``, created with ``useradd`` on first use; one per parallel job, so
  that the process limit of one submission does not count the processes of another). Started
  as an ordinary user, it runs as that user, inside a user namespace.
* **Files.** The sandbox sees the system (``/usr``, a few files of ``/etc``), the Python
  environment and the ``course_lib`` package, all read-only. It does not see the course
  directory (``homework/``: sources, releases, the gradebook, other students' submissions, the
  configuration), the repository (tests, ``.git``), ``/root`` or any home directory. Writable:
  a private copy of the submission's folder (``/sandbox/work``, in memory, size-limited), a
  private ``/tmp`` and the folder ``$COURSE_GRADER_OUT`` (``/sandbox/out``) through which the
  probes hand plain ``.npy`` arrays back; nothing is written to the host except what the
  runner hands back (the executed notebook and those arrays, both size-limited).
* **Processes.** Each sandbox has its own pid namespace: the kernel cannot see, signal or
  ptrace the runner, and the runner cannot see the grader. When the runner finishes, or is
  killed because the notebook ran past its time, the namespaces go away and every process in
  them is killed (``--die-with-parent``, pid namespace teardown): nothing a submission starts
  survives its grading.
* **Network.** None: a network namespace with only the loopback interface (the runner talks
  to the kernel over it).
* **Limits**, per process: memory (``RLIMIT_DATA``), CPU time, file size, number of processes
  (per sandbox user), no core dumps; per notebook: wall-clock time.

:func:`ensure_bwrap` installs bubblewrap with ``apt-get`` when it is missing and we are root
(``python3 tasks.py test`` calls it; ``python homework/sandbox.py --install`` does the same).
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

HERE = Path(__file__).resolve().parent
USER_PREFIX = "course-sandbox-"
OUT_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
# What the runner hands back to the grader (anything more is dropped and logged)
MAX_OUT_FILES = 500
MAX_OUT_BYTES = 64 << 20
MAX_OUTPUT_CHARS = 1 << 20          # one output of one cell (text is cut, bigger data dropped)
MAX_NOTEBOOK_CHARS = 32 << 20       # all outputs of the notebook
TMP_MB = 256                        # each private /tmp (in memory)


class SandboxError(RuntimeError):
    """The sandbox cannot be set up on this machine (no bwrap, no user namespaces, ...)."""


# =============================================================================== set-up (host)

def ensure_bwrap() -> str:
    """Return the path of ``bwrap``; install Debian's ``bubblewrap`` with apt-get when it is
    missing and we are root (CI machines start without it). Idempotent."""
    found = shutil.which("bwrap")
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt and hasattr(os, "geteuid") and os.geteuid() == 0:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        print("+ apt-get install bubblewrap (the homework grader's sandbox needs it)", flush=True)
        subprocess.run([apt, "update", "-qq"], check=True, env=env)
        subprocess.run([apt, "install", "-y", "-qq", "bubblewrap"], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        found = shutil.which("bwrap")
        if found:
            return found
    raise SandboxError(
        "The homework grader runs every submission in a bubblewrap sandbox and 'bwrap' was not "
        "found. On Debian/Ubuntu run 'sudo apt-get install -y bubblewrap'.")


def ensure_user(slot: int = 0) -> tuple[int, int] | None:
    """As root: the (uid, gid) of the sandbox user of this parallel slot, created with
    ``useradd --system`` (no home, no login shell) when missing. Not root: None (the sandbox
    runs as the current user, in a user namespace)."""
    if os.geteuid() != 0:
        return None
    import pwd

    if not isinstance(slot, int) or not 0 <= slot < 1000:
        raise ValueError(f"Invalid slot: {slot!r} (expected an int in [0, 1000))")
    name = f"{USER_PREFIX}{slot}"
    for attempt in range(2):
        try:
            entry = pwd.getpwnam(name)
            return entry.pw_uid, entry.pw_gid
        except KeyError:
            if attempt:
                break
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        # exit status 9: created meanwhile by a parallel job; fine
        result = subprocess.run([useradd, "--system", "--user-group", "--no-create-home",
                                 "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
                                 "--comment", "course homework sandbox", name],
                                capture_output=True, text=True)
        if result.returncode not in (0, 9):
            raise SandboxError(f"useradd {name} failed: {result.stderr.strip()}")
    raise SandboxError(f"the sandbox user {name} could not be created")


def _python_paths() -> list[Path]:
    """Read-only paths the sandbox needs for Python: the environment and course_lib."""
    import importlib.util

    paths = [Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()]
    spec = importlib.util.find_spec("course_lib")
    if spec is not None and spec.origin:
        paths.append(Path(spec.origin).resolve().parent)
    out = []
    for p in paths:
        if p == Path("/usr") or any(p == q or q in p.parents for q in out):
            continue
        out.append(p)
    return out


_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "alternatives", "passwd",
        "group", "nsswitch.conf", "hosts", "fonts", "mime.types", "matplotlibrc")


def outer_argv(bwrap: str, box: Path, *, work_mb: int, out_mb: int,
               staged: bool) -> tuple[list[str], list[tuple[Path, Path]]]:
    """The bwrap command line of the outer sandbox (the runner's), and the bind mounts to stage.

    The Python environment, course_lib and this file are bound read-only. With ``staged``
    (root), each is first bind-mounted, in a private mount namespace of the launching process,
    onto a mount point in ``box/mnt`` (see :func:`_launch_as`), so the sandbox user needs no
    right to the folders above them (a Python installed under /root, a course directory only
    the instructor can read)."""
    stage: list[tuple[Path, Path]] = []

    def bind(path: Path, dest: str) -> list[str]:
        if not staged:
            return ["--ro-bind", str(path), dest]
        point = box / "mnt" / str(len(stage))
        if path.is_dir():
            point.mkdir(parents=True)
        else:
            point.parent.mkdir(parents=True, exist_ok=True)
            point.touch()
        stage.append((path, point))
        return ["--ro-bind", str(point), dest]

    argv = [bwrap, "--unshare-all", "--die-with-parent", "--new-session",
            "--ro-bind", "/usr", "/usr"]
    for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / top
        if path.is_symlink():
            argv += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            argv += ["--ro-bind", str(path), str(path)]
    for name in _ETC:
        argv += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    argv += ["--ro-bind-try", "/sys/devices/system/cpu", "/sys/devices/system/cpu",
             "--proc", "/proc", "--dev", "/dev", "--size", str(TMP_MB << 20), "--tmpfs", "/tmp"]
    for p in _python_paths():
        argv += bind(p, str(p))
    argv += ["--ro-bind", str(box / "input"), "/sandbox/input",
             "--bind", str(box / "result"), "/sandbox/result",
             "--size", str(work_mb << 20), "--tmpfs", "/sandbox/work",
             "--size", str(out_mb << 20), "--tmpfs", "/sandbox/out",
             "--size", str(1 << 20), "--tmpfs", "/sandbox/conn",
             *bind(Path(__file__).resolve(), "/sandbox/runner.py"),
             "--chdir", "/sandbox/work", "--clearenv"]
    env = {"PATH": f"{Path(sys.prefix) / 'bin'}:/usr/local/bin:/usr/bin:/bin",
           "HOME": "/sandbox/work", "LANG": "C.UTF-8", "TMPDIR": "/tmp",
           "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/matplotlib",
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
           "COURSE_GRADER_OUT": "/sandbox/out", "JUPYTER_PATH": "/tmp/jupyter",
           "JUPYTER_RUNTIME_DIR": "/sandbox/conn", "JUPYTER_CONFIG_DIR": "/tmp/jupyter-config",
           "JUPYTER_DATA_DIR": "/tmp/jupyter-data", "IPYTHONDIR": "/tmp/ipython",
           "JUPYTER_PLATFORM_DIRS": "1"}
    for key, value in env.items():
        argv += ["--setenv", key, value]
    argv += ["--", str(Path(sys.prefix) / "bin" / "python"), "-I", "/sandbox/runner.py"]
    return argv, stage


def inner_argv() -> list[str]:
    """The bwrap command line of the inner sandbox (the kernel's), run inside the outer one.

    Its private ``/tmp`` would hide a Python environment or a course checkout that lives
    under ``/tmp`` (a CI clone, a test's copy): those are bound again, read-only, on top."""
    again: list[str] = []
    for path in _python_paths():
        if Path("/tmp") in path.parents:
            again += ["--ro-bind", str(path), str(path)]
    return ["bwrap", "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--disable-userns", "--die-with-parent",
            "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev",
            "--size", str(TMP_MB << 20), "--tmpfs", "/tmp", *again,
            "--tmpfs", "/sandbox/input", "--tmpfs", "/sandbox/result",
            "--bind", "/sandbox/work", "/sandbox/work", "--bind", "/sandbox/out", "/sandbox/out",
            "--chdir", "/sandbox/work", "--"]


def _count_tasks(uid: int) -> int:
    """Threads (tasks) the user ``uid`` runs now: RLIMIT_NPROC counts them all."""
    total = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        uids = re.search(r"^Uid:\s+(\d+)", text, re.M)
        threads = re.search(r"^Threads:\s+(\d+)", text, re.M)
        if uids and int(uids.group(1)) == uid and threads:
            total += int(threads.group(1))
    return total


def _set_limits(limits: dict) -> None:  # runs in the child, before exec (no imports here)
    for name, value in limits.items():
        which = getattr(resource, name)
        soft, hard = value if isinstance(value, tuple) else (value, value)
        try:
            resource.setrlimit(which, (soft, hard))
        except (ValueError, OSError):  # a lower hard limit is already in place: keep it
            pass


_CLONE_NEWNS, _MS_BIND, _MS_REC, _MS_PRIVATE = 0x00020000, 4096, 16384, 1 << 18


def _launch_as(uid: int, gid: int, stage: list, limits: dict, libc) -> None:
    """preexec_fn as root: a private mount namespace with the staged bind mounts, then the
    sandbox user's identity and the limits. Runs between fork and exec: no imports."""
    if libc.unshare(_CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS) failed")
    if libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None) != 0:
        raise OSError(ctypes.get_errno(), "making the mounts private failed")
    for source, point in stage:
        if libc.mount(bytes(source), bytes(point), None, _MS_BIND | _MS_REC, None) != 0:
            raise OSError(ctypes.get_errno(), f"bind mount of {source} failed")
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    _set_limits(limits)


class Sandbox:
    """One sandboxed run of one notebook; a context manager that owns a temporary folder::

        with Sandbox(slot=0) as box:
            executed, info = box.run(nb, files_from=folder, timeout=30, ...)
            box.outdir        # the files the probes wrote to $COURSE_GRADER_OUT
    """

    def __init__(self, slot: int = 0, *, memory_mb: int = 4096, work_mb: int = 512,
                 out_mb: int = 128, nproc: int = 512, file_mb: int = 256, log=None):
        self.bwrap = ensure_bwrap()
        self.ids = ensure_user(slot)
        self.memory_mb, self.work_mb, self.out_mb = memory_mb, work_mb, out_mb
        self.nproc, self.file_mb = nproc, file_mb
        self.log = log
        self.path: Path | None = None

    def __enter__(self):
        self.path = Path(tempfile.mkdtemp(prefix="course-sandbox-"))
        self.path.chmod(0o711)
        (self.path / "input").mkdir(mode=0o755)
        (self.path / "result").mkdir(mode=0o700)
        if self.ids:
            os.chown(self.path / "result", *self.ids)
        return self

    def __exit__(self, *exc):
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
        return False

    @property
    def outdir(self) -> Path:
        return self.path / "result" / "out"

    def run(self, nb, *, files_from: Path | None = None, timeout: int = 30,
            startup_timeout: int = 60, iopub_timeout: int = 10, notebook_timeout: int = 240,
            error_on_timeout: dict | None = None, extra_arguments=()) -> tuple[dict | None, dict]:
        """Execute ``nb`` (a notebook as a dict) in the sandbox. Returns (executed notebook as
        a dict, or None if the runner gave nothing back; info with 'seconds', 'log',
        'restarts', 'returncode', 'killed')."""
        assert self.path is not None, "use Sandbox as a context manager"
        files = self.path / "input" / "files"
        files.mkdir()
        if files_from is not None:           # the submission's other files (data, images)
            for item in Path(files_from).iterdir():
                if item.is_file() and not item.is_symlink() and item.suffix != ".ipynb":
                    shutil.copy2(item, files / item.name)
        job = {"notebook": nb, "timeout": timeout, "startup_timeout": startup_timeout,
               "iopub_timeout": iopub_timeout, "notebook_timeout": notebook_timeout,
               "error_on_timeout": error_on_timeout, "extra_arguments": list(extra_arguments)}
        (self.path / "input" / "job.json").write_text(json.dumps(job))
        for p in (self.path / "input").rglob("*"):
            p.chmod(0o755 if p.is_dir() else 0o644)
        cpu = max(60, 2 * (notebook_timeout or 600))
        limits = {"RLIMIT_DATA": self.memory_mb << 20 if self.memory_mb else -1,
                  "RLIMIT_CPU": (cpu, cpu + 5), "RLIMIT_FSIZE": self.file_mb << 20,
                  "RLIMIT_CORE": 0}
        uid = self.ids[0] if self.ids else os.getuid()
        # RLIMIT_NPROC counts every task of the (sandbox) user on the machine
        limits["RLIMIT_NPROC"] = self.nproc + (0 if self.ids else _count_tasks(uid))
        argv, stage = outer_argv(self.bwrap, self.path, work_mb=self.work_mb,
                                 out_mb=self.out_mb, staged=bool(self.ids))
        if self.ids:
            libc = ctypes.CDLL(None, use_errno=True)
            preexec = partial(_launch_as, *self.ids, stage, limits, libc)
        else:
            preexec = partial(_set_limits, limits)
        wall = (notebook_timeout or 600) + startup_timeout + 30
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=preexec)
        killed = False
        try:
            output, _ = proc.communicate(timeout=wall)
        except subprocess.TimeoutExpired:
            killed = True
            _killpg(proc)
            output, _ = proc.communicate()
        finally:
            _killpg(proc)                    # whatever is left of the process group
        info = {"seconds": time.monotonic() - started, "returncode": proc.returncode,
                "killed": killed, "runner_output": output.decode(errors="replace")[-4000:],
                "log": [], "restarts": 0}
        result = self.path / "result" / "result.json"
        try:
            if result.is_symlink() or result.stat().st_size > MAX_NOTEBOOK_CHARS * 2:
                raise ValueError("result too large")
            data = json.loads(result.read_text())
            executed = data["notebook"]
            info["log"] = [str(x)[:500] for x in data.get("log", [])][:200]
            info["restarts"] = int(data.get("restarts", 0))
        except (OSError, ValueError, KeyError, TypeError):
            executed = None
        self.outdir.mkdir(exist_ok=True)
        return executed, info


def _killpg(proc) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


# ============================================================================ the runner (inside)

def _runner_main() -> int:
    """Inside the outer sandbox: execute /sandbox/input/job.json's notebook with nbclient,
    kernel in the inner sandbox; write /sandbox/result/result.json and out/."""
    import copy

    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from nbformat import NotebookNode

    import tempfile as _tempfile

    # jupyter_client writes the kernel's connection file with mkstemp: into the folder the
    # kernel's sandbox can read (read-only), not into the runner's private /tmp
    os.environ["TMPDIR"] = "/sandbox/conn"
    _tempfile.tempdir = None
    job = json.loads(Path("/sandbox/input/job.json").read_text())
    for item in Path("/sandbox/input/files").iterdir():
        shutil.copy2(item, Path("/sandbox/work") / item.name)
    spec = Path("/tmp/jupyter/kernels/course-sandboxed")
    spec.mkdir(parents=True)
    argv = inner_argv() + [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                           "--HistoryManager.hist_file=:memory:",
                           # the parent poller would take bwrap (pid 1) for init: off
                           "--IPKernelApp.parent_handle=0", *job["extra_arguments"]]
    (spec / "kernel.json").write_text(json.dumps({
        "argv": argv, "display_name": "Python 3 (sandboxed)", "language": "python",
        "env": {"TMPDIR": "/tmp"},
        "interrupt_mode": "message"}))   # a signal would reach bwrap, not the kernel
    log: list[str] = []
    nb = nbformat.reads(json.dumps(job["notebook"]), as_version=4)
    notebook_timeout = job["notebook_timeout"]
    started = time.monotonic()
    error_on_timeout = job["error_on_timeout"] or {
        "ename": "CellTimeoutError", "evalue": "",
        "traceback": ["\x1b[0;31mCellTimeoutError\x1b[0m: No reply from kernel before timeout"]}

    def error(ename: str, evalue: str) -> NotebookNode:
        return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                            traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"])

    def remaining() -> float | None:
        return None if not notebook_timeout else notebook_timeout - (time.monotonic() - started)

    def on_cell_executed(cell, cell_index, execute_reply):   # as nbgrader's Execute does
        content = execute_reply["content"]
        if content["status"] == "error" and not any(
                o.output_type == "error" and o.get("ename") == content.get("ename")
                for o in cell.outputs):
            cell.outputs.append(NotebookNode(
                output_type="error", ename=content.get("ename", "Error"),
                evalue=content.get("evalue", ""), traceback=content.get("traceback") or [
                    "ERROR: An error occurred while showtraceback was disabled"]))

    class Client(NotebookClient):
        def _get_timeout(self, cell):
            timeout = super()._get_timeout(cell)
            left = remaining()
            if left is None:
                return timeout
            left = max(1, int(left + 0.999))
            return left if timeout is None else min(timeout, left)

    client = Client(nb, kernel_name="course-sandboxed", timeout=job["timeout"],
                    startup_timeout=job["startup_timeout"], iopub_timeout=job["iopub_timeout"],
                    interrupt_on_timeout=True, allow_errors=True, raise_on_iopub_timeout=True,
                    error_on_timeout=error_on_timeout, record_timing=False,
                    shutdown_kernel="immediate", on_cell_executed=on_cell_executed,
                    resources={"metadata": {"path": "/sandbox/work"}})
    completed: list[int] = []
    restarts = 0

    def new_kernel():
        try:
            client._cleanup_kernel()
        except Exception as err:  # noqa: BLE001 - a dead kernel may fail to clean up
            log.append(f"cleaning up the old kernel failed: {err}")
        client.km = client.create_kernel_manager()
        client.start_new_kernel()
        client.start_new_kernel_client()

    def restart_and_replay():
        nonlocal restarts
        restarts += 1
        new_kernel()
        for index in list(completed):
            replay = copy.deepcopy(nb.cells[index])
            try:
                client.execute_cell(replay, index, store_history=True)
            except (DeadKernelError, CellTimeoutError):
                log.append(f"re-running cell {index} failed; continuing in a fresh kernel")
                new_kernel()
                return

    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            left = remaining()
            if left is not None and left <= 0:
                cell.outputs = [error(
                    "NotebookTimeoutError",
                    f"not run: grading stopped because this notebook used up its time limit "
                    f"of {notebook_timeout} s")]
                continue
            try:
                client.execute_cell(cell, index, store_history=True)
            except DeadKernelError:
                log.append(f"kernel died in cell {index}; restarting it")
                cell.outputs.append(error(
                    "DeadKernelError",
                    "the kernel died while running this cell (it crashed, exited or was "
                    "killed); grading continued in a new kernel in which the cells before "
                    "this one were run again"))
                restart_and_replay()
            except CellTimeoutError:
                log.append(f"cell {index} timed out and could not be interrupted; restarting")
                cell.outputs.append(error(
                    "CellTimeoutError",
                    f"this cell did not finish within the time limit ({client._get_timeout(cell)}"
                    " s or the notebook's remaining time) and did not stop when interrupted; "
                    "grading continued in a new kernel in which the cells before this one "
                    "were run again"))
                restart_and_replay()
            else:
                if not any(o.get("output_type") == "error"
                           and o.get("ename") in ("CellTimeoutError", "KeyboardInterrupt")
                           for o in cell.outputs):
                    completed.append(index)
    _cap_outputs(nb, log)
    out = Path("/sandbox/result/out")
    out.mkdir()
    total = count = 0
    for item in sorted(Path("/sandbox/out").iterdir()):
        if not OUT_NAME.match(item.name) or item.is_symlink() or not item.is_file():
            log.append(f"$COURSE_GRADER_OUT: {item.name!r} ignored (not a plain file / bad name)")
            continue
        size = item.stat().st_size
        if count >= MAX_OUT_FILES or total + size > MAX_OUT_BYTES:
            log.append(f"$COURSE_GRADER_OUT: {item.name!r} dropped (too many or too large)")
            continue
        shutil.copyfile(item, out / item.name, follow_symlinks=False)
        total, count = total + size, count + 1
    tmp = Path("/sandbox/result/result.json.tmp")
    tmp.write_text(json.dumps({"notebook": nb, "log": log, "restarts": restarts,
                               "seconds": time.monotonic() - started}))
    tmp.rename("/sandbox/result/result.json")
    return 0


def _cap_outputs(nb, log: list) -> None:
    """Outputs of a student's cells are bounded: text cut, large data dropped."""
    budget = MAX_NOTEBOOK_CHARS
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                text = out.get("text", "")
                if len(text) > min(MAX_OUTPUT_CHARS, budget):
                    out["text"] = text[:min(MAX_OUTPUT_CHARS, budget)] + "\n[output cut]\n"
                    log.append(f"cell {index}: stream output cut")
                budget -= len(out["text"])
            elif "data" in out:
                for mime in list(out["data"]):
                    size = len(json.dumps(out["data"][mime]))
                    if size > min(MAX_OUTPUT_CHARS * 4, budget):
                        out["data"].pop(mime)
                        log.append(f"cell {index}: {mime} output dropped ({size} characters)")
                    else:
                        budget -= size
                if not out["data"]:
                    out["data"]["text/plain"] = "[output too large: dropped]"
            elif out.get("output_type") == "error":
                out["traceback"] = [str(t)[:20000] for t in out.get("traceback", [])[:200]]
                out["evalue"] = str(out.get("evalue", ""))[:20000]
                budget -= sum(len(t) for t in out["traceback"])


if __name__ == "__main__":
    if sys.argv[1:] == ["--install"]:
        print(ensure_bwrap())
        sys.exit(0)
    # jsonschema (imported by nbformat) would import rfc3987_syntax, which builds a grammar at
    # import time (1-2 s of CPU); nothing here validates URIs: skip it
    sys.modules.setdefault("rfc3987_syntax", None)
    sys.exit(_runner_main())
