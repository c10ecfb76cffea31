"""Independent jobs at once, in parallel processes with one thread each (distill.py's three arms,
the final evaluations of several checkpoints). Machinery, not algorithm: a student may skip this file."""
from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, wait

import torch
from tqdm import tqdm

# What `timeout`, a job scheduler or a closed terminal sends; Ctrl-C (SIGINT) reaches every process already.
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def side_by_side(jobs: list[tuple], device, max_workers: int | None = None) -> list:
    """Run independent jobs, each (function, args), at once: one process and one thread each; their
    results in order. The models here are small enough that a second thread helps them little (a
    student's GRPO step is no faster on two threads than on one; an evaluation ~1.4x), so two jobs
    on two cores finish ~1.4-1.5x sooner side by side than one after the other.

    The results equal an in-process run's up to floating-point rounding: on some CPUs one thread and
    two give the same bits, on others not (the math libraries pick kernels by instruction set and
    thread count), so nothing may rely on bit-identity across thread counts. On a GPU, with one job,
    or with one thread to spare, the jobs run one after the other in this process.

    Stopping: Ctrl-C, SIGTERM or SIGHUP to this process stops every job at once (the resume files
    they wrote stay, so a rerun resumes); SIGTERM and SIGHUP end it with a one-line message. A job
    whose parent dies, even by SIGKILL, stops within a second."""
    if len(jobs) < 2 or torch.device(device).type != "cpu" or torch.get_num_threads() < 2:
        return [function(*args) for function, args in jobs]
    # "spawn": a forked child of a process that has run OpenMP threads can hang.
    pool = ProcessPoolExecutor(max_workers=max_workers or len(jobs), mp_context=multiprocessing.get_context("spawn"),
                               initializer=_start_worker, initargs=(os.getpid(),))
    with _stop_signals_exit():
        try:
            futures = [pool.submit(_one_thread_job, i, function, args) for i, (function, args) in enumerate(jobs)]
            wait(futures)  # every job ends, even after another one failed: what it did is not lost
        except BaseException:  # Ctrl-C, SIGTERM, SIGHUP: stop every job now
            # Left alone, the workers would train on, re-parented to init, holding their run
            # directories' locks: a rerun would be refused until they end.
            _stop_workers(pool)
            raise
        finally:
            pool.shutdown(cancel_futures=True)
    return [future.result() for future in futures]  # (the first failed job's error is raised here)


def _one_thread_job(position: int, function, args: tuple):
    torch.set_num_threads(1)
    os.environ["TQDM_POSITION"] = str(position)  # each job's progress bars on their own line
    return function(*args)


def _start_worker(parent_pid: int) -> None:
    """In each worker, before its first job. tqdm guards its bars with a lock shared across
    processes by default: a semaphore, here shared with no one, that a stopped worker would leave
    for multiprocessing to clean up, with a warning at exit. A thread lock is all a worker needs."""
    tqdm.set_lock(threading.RLock())
    _watch_parent(parent_pid)


def _watch_parent(parent_pid: int) -> None:
    """End this process when its parent is gone (even killed with SIGKILL, which no handler sees):
    nobody is left to take its result, and it would keep the cores busy for nothing."""
    def watch():
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)  # resume files are written atomically: dying between two writes loses nothing
    threading.Thread(target=watch, daemon=True).start()


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    # (The pool keeps its processes private: Python 3.14 adds pool.terminate_workers() for this.)
    processes = list((pool._processes or {}).values())
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=10)


class _stop_signals_exit:
    """While the jobs run, SIGTERM and SIGHUP end this process as Ctrl-C would (the exception
    unwinds: workers stopped, run-directory locks released), with a one-line message and the
    shell's exit code for a signal (128 + its number). The old handlers come back afterwards."""

    def __enter__(self):
        self.old = {}
        if threading.current_thread() is threading.main_thread():  # (only the main thread may set handlers)
            self.old = {sig: signal.signal(sig, self.exit) for sig in STOP_SIGNALS}

    def __exit__(self, *exc):
        for sig, handler in self.old.items():
            signal.signal(sig, handler)

    @staticmethod
    def exit(signum, frame):
        for sig in STOP_SIGNALS:  # a second signal (a scheduler insisting) must not cut the cleanup short
            signal.signal(sig, signal.SIG_IGN)
        print(f"\nerror: stopped by {signal.Signals(signum).name}, and so was every job running side by side "
              "(a rerun of the same command resumes from their resume files)", file=sys.stderr, flush=True)
        raise SystemExit(128 + signum)
