"""Evaluations kept on disk, keyed by the checkpoint's content and the evaluation's settings, so a
rerun or a resumed run never evaluates the same model twice; the missing ones run side by side.
Machinery, not algorithm: a student may skip this file."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch

from r1mini.checkpoint import load_checkpoint
from r1mini.evaluate import evaluate_model, is_current
from r1mini.parallel import side_by_side


def file_fingerprint(path) -> str:
    """The first 16 hex digits of a file's sha256: names a checkpoint by its content, not its path."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def _evaluation_cache(checkpoint, tasks, settings: dict, cache_dir) -> tuple[Path, dict, dict | None]:
    """(cache file, what it must have measured, its result if it did). A result cached by an older
    version (before results kept their questions, or read the reasoning) is stale: evaluated again,
    it gives the same numbers (on the same machine and thread count) plus what the report needs;
    reused, the report would lack them."""
    wanted = {"tasks": list(tasks), **settings}
    path = Path(cache_dir) / f"{file_fingerprint(checkpoint)}.json"
    cached = json.loads(path.read_text()) if path.exists() else {}
    fresh = cached.get("wanted") == wanted and is_current(cached["result"])
    return path, wanted, cached["result"] if fresh else None


def cached_evaluation(checkpoint, tasks, settings: dict, cache_dir, device) -> dict:
    """evaluate_model's result for a checkpoint, kept in cache_dir under the checkpoint's content
    hash and the settings: a rerun (or a resumed run) does not evaluate the same model twice."""
    path, wanted, result = _evaluation_cache(checkpoint, tasks, settings, cache_dir)
    if result is not None:
        return result
    model, tokenizer, _ = load_checkpoint(checkpoint, device)
    result = evaluate_model(model, tokenizer, tasks, **settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    # Where it ran, for the record only: one thread and two can round differently on some CPUs, so a
    # rerun elsewhere may differ in the last digits; the key stays the model and the settings.
    ran_on = {"device": str(device), "threads": torch.get_num_threads()}
    tmp.write_text(json.dumps({"checkpoint": str(checkpoint), "wanted": wanted, "ran_on": ran_on, "result": result}))
    os.replace(tmp, path)
    return result


def cached_evaluations(checkpoints: dict, tasks, settings: dict, cache_dir, device, tag: str) -> dict:
    """cached_evaluation of each named checkpoint; those not in the cache are evaluated side by side,
    as many at once as there are threads (an evaluation is sampling, which a second thread speeds
    only ~1.4x: two on two cores finish ~1.5x sooner than one after the other)."""
    results = {name: _evaluation_cache(path, tasks, settings, cache_dir)[2] for name, path in checkpoints.items()}
    missing = [name for name, result in results.items() if result is None]
    if missing:
        print(f"[{tag}] evaluating {', '.join(missing)}")
    results.update(zip(missing, side_by_side([(cached_evaluation, (checkpoints[name], tasks, settings, cache_dir, device))
                                              for name in missing], device, max_workers=torch.get_num_threads())))
    return results

