"""Independent jobs at once, in parallel processes with one thread each (distill.py's three arms,
the final evaluations of several checkpoints). Machinery, not algorithm: a student may skip this file."""
from __future__ import annotations

import os

import torch


def _one_thread_job(position: int, function, args: tuple):
    torch.set_num_threads(1)
    os.environ["TQDM_POSITION"] = str(position)  # each job's progress bars on their own line
    return function(*args)


def side_by_side(jobs: list[tuple], device, max_workers: int | None = None) -> list:
    """Run independent jobs, each (function, args), at once: one process and one thread each; their
    results in order. The models here are small enough that a second thread helps them little (a
    student's GRPO step is no faster on two threads than on one; an evaluation ~1.4x), so two jobs
    on two cores finish ~1.4-1.5x sooner side by side than one after the other. The results are the
    same bits: this project's training and sampling give identical models and samples on one thread
    and on two (checked on every distillation arm and an evaluation). On a GPU, with one job, or
    with one thread to spare, the jobs run one after the other in this process."""
    if len(jobs) < 2 or torch.device(device).type != "cpu" or torch.get_num_threads() < 2:
        return [function(*args) for function, args in jobs]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    # "spawn": a forked child of a process that has run OpenMP threads can hang.
    with ProcessPoolExecutor(max_workers=max_workers or len(jobs),
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(_one_thread_job, i, function, args) for i, (function, args) in enumerate(jobs)]
        return [future.result() for future in futures]

