"""parallel.side_by_side: jobs in one-thread processes, their results in order, and no job outliving
its parent, however the parent is stopped (Ctrl-C, SIGTERM, SIGHUP, even SIGKILL)."""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from r1mini import parallel

ROOT = Path(__file__).resolve().parents[1]
posix_only = pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX signals")


def test_side_by_side_runs_jobs_in_one_thread_processes_in_order_and_passes_errors_on():
    torch.set_num_threads(2)   # (conftest runs the tests on one thread, where jobs run in this process)
    try:
        results = parallel.side_by_side([(os.getpid, ()), (torch.get_num_threads, ())], "cpu")
        with pytest.raises(ValueError, match="invalid literal"):
            parallel.side_by_side([(int, ("12",)), (int, ("x",))], "cpu")
    finally:
        torch.set_num_threads(1)
    assert results[0] != os.getpid() and results[1] == 1
    assert parallel.side_by_side([(os.getpid, ()), (pow, (3, 2))], "cpu") == [os.getpid(), 9]   # one thread here: in process


# Two jobs that never end, side by side (two threads: side_by_side uses processes); each writes its pid.
ENDLESS_JOBS = textwrap.dedent("""
    import os, sys, time
    import torch
    from r1mini.parallel import side_by_side

    def endless(pid_file):
        open(pid_file + ".tmp", "w").write(str(os.getpid()))
        os.replace(pid_file + ".tmp", pid_file)
        while True:
            time.sleep(0.1)

    if __name__ == "__main__":
        torch.set_num_threads(2)
        side_by_side([(endless, (os.path.join(sys.argv[1], f"job{i}.pid"),)) for i in range(2)], "cpu")
""")


def running(pid: int) -> bool:
    """Whether a process runs (a zombie, dead but not yet reaped by its new parent, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:  # no /proc (macOS): ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def worker_pids(directory: Path, count: int, parent: subprocess.Popen, stderr: Path) -> list[int]:
    """The pids the jobs wrote, once all have started (the parent must still be running)."""
    files = [directory / f"job{i}.pid" for i in range(count)]
    started = wait_until(lambda: all(f.exists() for f in files) or parent.poll() is not None, 60)
    assert started and parent.poll() is None, f"the jobs did not start: {stderr.read_text()}"
    return [int(f.read_text()) for f in files]


@posix_only
@pytest.mark.parametrize("stop", ["SIGTERM", "SIGHUP", "SIGKILL"])
def test_no_job_outlives_its_parent_however_the_parent_is_stopped(tmp_path, stop):
    """SIGTERM and SIGHUP (what `timeout`, a scheduler or a closed terminal send) stop the parent as
    Ctrl-C does: every job stops, one line says so, the exit code is the shell's 128 + signal. After
    SIGKILL, which no handler sees, the jobs notice that their parent is gone and stop."""
    script = tmp_path / "endless_jobs.py"
    script.write_text(ENDLESS_JOBS)
    stderr = tmp_path / "stderr.txt"   # (a file, not a pipe: a surviving job would hold a pipe open)
    with open(stderr, "w") as err_file:
        parent = subprocess.Popen([sys.executable, str(script), str(tmp_path)], cwd=ROOT, stderr=err_file,
                                  env={**os.environ, "PYTHONPATH": str(ROOT)})
    workers = []
    try:
        workers = worker_pids(tmp_path, 2, parent, stderr)
        parent.send_signal(getattr(signal, stop))
        parent.wait(timeout=20)
        assert wait_until(lambda: not any(running(pid) for pid in workers), 5), \
            f"jobs still running 5 s after the parent ended: {[pid for pid in workers if running(pid)]}"
        if stop != "SIGKILL":
            err = stderr.read_text()
            assert parent.returncode == 128 + getattr(signal, stop)
            assert len(err.strip().splitlines()) == 1 and err.strip().startswith(f"error: stopped by {stop}"), err
    finally:  # leave nothing running, whatever failed
        for pid in [parent.pid] + workers:
            if running(pid):
                os.kill(pid, signal.SIGKILL)
