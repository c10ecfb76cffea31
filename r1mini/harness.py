"""The harness: everything a run needs that is not the algorithm. A student can skip this file.

  command lines   ArgumentParser (one-line errors), int_range / float_range flag types, and
                  parse_grpo_args: every RL stage's flags, checked before any file is touched
  run directory   RunDir: refuses to clobber a finished run or share a directory with a live
                  one, keeps metrics.jsonl and resume.pt safe, resumes only with the same flags
  training odds   make_optimizer, set_lr, check_finite (the NaN guard), Timer, side_by_side
                  (independent jobs at once, one process and one thread each)
  reports         rollout_stats (what practitioners watch during RL), report_card, plot_run
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import torch

from r1mini.checkpoint import CheckpointError, atomic_torch_save, rng_state, set_rng_state
from r1mini.config import pick_device

# ---------------------------------------------------------------- command lines


class ArgumentParser(argparse.ArgumentParser):
    """argparse with the one-line error every r1mini command prints (exit 2), defaults in --help."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, formatter_class=argparse.ArgumentDefaultsHelpFormatter, **kwargs)

    def error(self, message):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def int_range(low: int, high: int = 2 ** 31 - 1):
    """A flag type: an integer in [low, high]."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be in [{low}, {high}], got {value}")
        return value
    return parse


def float_range(low: float, high: float = math.inf, low_open: bool = False):
    """A flag type: a finite number in [low, high] (or (low, high] with low_open)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value) or value < low or (low_open and value == low) or value > high:
            bounds = f"{'(' if low_open else '['}{low:g}, {high:g}]"
            raise argparse.ArgumentTypeError(f"must be a finite number in {bounds}, got {text}")
        return value
    return parse


SEED = int_range(0, 2 ** 32 - 1)


def fail(message: str) -> int:
    """Print a one-line error for the user and return the exit code 2."""
    print(f"error: {message}", file=sys.stderr)
    return 2


# ---------------------------------------------------------------- run directory


class RunDir:
    """A stage's output directory: model.pt, metrics.jsonl, resume.pt, report.md, a lock.

    Used as `with RunDir(out_dir, flags, overwrite) as run:`. Before anything is written it refuses
    a directory that holds a finished run (unless `overwrite`) or that a live process is using.
    `resume()` either continues from resume.pt — only if the run's flags are unchanged — or starts
    a fresh metrics log; `finish()` drops resume.pt once every artifact is written."""

    def __init__(self, out_dir, flags: dict, overwrite: bool = False, inputs=()):
        self.dir, self.overwrite = Path(out_dir), overwrite
        self.flags = run_flags(flags)
        self.metrics, self.resume_path, self.model = (self.dir / n for n in ("metrics.jsonl", "resume.pt", "model.pt"))
        self.lock = self.dir / ".lock"
        for path in inputs:
            if Path(path).resolve() == self.model.resolve():
                raise CheckpointError(f"{path} is both this stage's input and its output; choose another --out-dir")
        if self.model.exists() and not self.resume_path.exists() and not overwrite:
            raise CheckpointError(f"{self.dir} holds a finished run; pass --overwrite to replace it, "
                                  "or choose another --out-dir")

    def __enter__(self):
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            owner = self.lock.read_text().strip() if self.lock.exists() else ""
            if owner.isdigit() and int(owner) != os.getpid() and _alive(int(owner)):
                raise CheckpointError(f"{self.dir} is in use by a running process (pid {owner}); wait for it "
                                      "or choose another --out-dir")
            self.lock.write_text(str(os.getpid()))
            if self.overwrite:  # start afresh: an unfinished run's resume file goes too
                self.resume_path.unlink(missing_ok=True)
        except OSError as error:
            raise CheckpointError(f"cannot write to {self.dir}: {error.strerror}") from None
        return self

    def __exit__(self, *exc):
        self.lock.unlink(missing_ok=True)

    def resume(self, model, optimizer) -> tuple[int, dict]:
        """(step, extra) from resume.pt, restoring model, optimizer and RNGs; (0, {}) and a fresh
        metrics log when there is none."""
        if not self.resume_path.exists():
            self.metrics.unlink(missing_ok=True)
            return 0, {}
        try:
            state = torch.load(self.resume_path, map_location="cpu", weights_only=True)
            saved = state["extra"].pop("flags", {})
        except Exception as error:  # an atomic save never leaves a torn file; a copied one might
            raise CheckpointError(f"{self.resume_path} is not a readable resume file ({type(error).__name__}); "
                                  "delete it to start the stage afresh") from None
        changed = [f"--{k.replace('_', '-')} was {saved[k]!r}, now {v!r}" for k, v in self.flags.items()
                   if k in saved and saved[k] != v]
        if changed:
            raise CheckpointError(f"{self.resume_path} belongs to a run with other flags ({'; '.join(changed)}); "
                                  "rerun with the same flags to resume, or --overwrite to start afresh")
        try:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError) as error:
            raise CheckpointError(f"{self.resume_path} does not fit this model ({type(error).__name__}); "
                                  "delete it or use --overwrite to start afresh") from None
        set_rng_state(state["rng"])
        step = state["step"]
        self.rewrite_metrics([r for r in read_jsonl(self.metrics) if r.get("step", 0) <= step])
        print(f"[{self.dir.name}] resuming from step {step} ({self.resume_path})")
        return step, state["extra"]

    def save_resume(self, model, optimizer, step: int, extra: dict | None = None) -> None:
        atomic_torch_save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
                           "rng": rng_state(), "extra": {**(extra or {}), "flags": self.flags}},
                          self.resume_path)

    def log(self, record: dict) -> None:
        with open(self.metrics, "a") as f:
            f.write(json.dumps(record) + "\n")

    def rewrite_metrics(self, records: list[dict]) -> None:
        tmp = self.metrics.with_name(self.metrics.name + ".tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in records))
        os.replace(tmp, self.metrics)  # a kill or full disk mid-write leaves the old log whole

    def finish(self) -> None:
        """Call after the model, report and every other artifact are written."""
        self.resume_path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_flags(flags: dict) -> dict:
    """The flags that define a run (not where or how it runs), as values a weights_only load can read
    back (tuples become lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in flags.items()
            if k not in ("device", "overwrite", "resume_every")}


def sub_stage(directory, flags: dict, overwrite: bool, build, tag: str) -> Path:
    """One stage of a multi-stage script, in its own RunDir: `build(stage)` returns the model to save
    as directory/model.pt (or None for a stage whose product is files). A stage finished earlier with
    the same flags is reused, with other flags refused; a killed one resumes from its resume file.
    flags.json is written last: it marks the stage finished. Flags it holds beyond `flags` are not
    compared: a stage depends on what `flags` names. Returns directory/model.pt."""
    from r1mini.checkpoint import save_checkpoint
    directory = Path(directory)
    flags_file = directory / "flags.json"
    if flags_file.exists() and not (directory / "resume.pt").exists() and not overwrite:
        saved, wanted = json.loads(flags_file.read_text()), run_flags(flags)
        changed = sorted(k for k in wanted if saved.get(k) != wanted[k])
        if changed:
            raise CheckpointError(f"{directory} was built with other flags or inputs ({', '.join('--' + k.replace('_', '-') for k in changed)}); "
                                  "pass --overwrite to rebuild it, or choose another --out-dir")
        print(f"[{tag}] {directory.name}: finished earlier, reused ({directory})")
        return directory / "model.pt"
    with RunDir(directory, flags, overwrite) as stage:
        flags_file.unlink(missing_ok=True)  # (an overwritten stage is unfinished until flags.json is back)
        model = build(stage)
        if model is not None:
            save_checkpoint(stage.model, model, {"stage": directory.name, "seed": flags.get("seed")})
        flags_file.write_text(json.dumps(stage.flags))
        stage.finish()
    return stage.model


def write_data(directory, name: str, pairs, counts: dict, tag: str) -> None:
    """A stage's SFT set (name_data.jsonl, for reading) and what each filter removed (name_counts.json,
    and printed)."""
    directory = Path(directory)
    with open(directory / f"{name}_data.jsonl", "w", encoding="utf-8") as f:
        for problem, completion in pairs:
            f.write(json.dumps({"question": problem.question, "answer": problem.answer, "completion": completion},
                               ensure_ascii=False) + "\n")
    (directory / f"{name}_counts.json").write_text(json.dumps(counts, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"[{tag}] {name}: " + ", ".join(f"{k} {v}" for k, v in counts.items() if not isinstance(v, (dict, list))))


def read_jsonl(path) -> list[dict]:
    """The records of a metrics log; a torn last line (a run killed mid-write) is dropped."""
    path = Path(path)
    if not path.exists():
        return []
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    records = []
    for number, line in enumerate(lines, 1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if number < len(lines):
                raise CheckpointError(f"{path}:{number} is not valid JSON; the log is damaged") from None
            print(f"[harness] dropped a torn last line of {path} (the run was killed while writing it)")
    return records


# ---------------------------------------------------------------- training odds and ends


def make_optimizer(model, lr: float, weight_decay: float, betas=(0.9, 0.95)) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (not on norms, biases or embeddings' 1-d params).
    foreach: one call per update op for all tensors instead of a Python loop over them (the default
    on CUDA, not on a CPU): the same arithmetic, so the same bits, and a 6% faster pretraining step
    on the cpu preset's 105 tensors (2 threads)."""
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=betas, foreach=True)


def set_lr(optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


class NonFiniteLossError(RuntimeError):
    pass


def check_finite(loss: torch.Tensor, step: int, hint: str = "lower the learning rate") -> None:
    """Stop at once on a NaN/inf loss instead of silently training garbage."""
    if not torch.isfinite(loss):
        raise NonFiniteLossError(f"loss is {loss.item()} at step {step}; stopping ({hint}). The last resume "
                                 "file is kept; start again with a fixed setting (--overwrite or a new --out-dir).")


class Timer:
    """`with timer("sample"): ...` adds the block's wall time to timer.times["time_sample"]."""

    def __init__(self):
        self.times: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str):
        start = time.perf_counter()
        yield
        key = f"time_{name}"
        self.times[key] = self.times.get(key, 0.0) + time.perf_counter() - start


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


# ---------------------------------------------------------------- reports


def rollout_stats(sampled, used, eot_id: int) -> dict:
    """Diagnostics of one GRPO step's rollouts: `sampled` are all groups drawn, `used` the ones the
    update learns from (dynamic sampling keeps the groups whose rewards differ)."""
    completions = [c for g in sampled for c in g.completions]
    lengths = torch.tensor([len(c) for c in completions], dtype=torch.float)
    totals = torch.cat([g.total_reward for g in sampled])
    stats = {"reward": float(totals.mean()), "reward_std": float(totals.std()),
             "frac_reward_zero_std": sum(not g.informative for g in sampled) / len(sampled),
             # groups no answer of which was right: RL gets no signal from them (distill.py reports it)
             "frac_groups_never_right": sum(not any(g.rewards.get("accuracy", [1])) for g in sampled) / len(sampled),
             "groups_sampled": len(sampled), "groups_used": len(used),
             "response_length": float(lengths.mean()), "response_length_max": float(lengths.max()),
             "truncation_rate": sum(not c or c[-1] != eot_id for c in completions) / len(completions)}
    for name in dict.fromkeys(name for g in sampled for name in g.rewards):  # R1 gives trivial questions no language term
        having = [g for g in sampled if name in g.rewards]
        stats[f"reward_{name}"] = sum(sum(g.rewards[name]) for g in having) / sum(len(g.completions) for g in having)
    return stats


def window_mean(rows: list[dict], key: str) -> float:
    """Mean of `key` over the rows that have it (a step that made no update logs no KL)."""
    values = [r[key] for r in rows if key in r]
    return sum(values) / len(values) if values else float("nan")


def report_card(title: str, evals: dict[str, dict], metrics: list[dict], settings: str, rl_keys=()) -> str:
    """Markdown: one column per evaluated model, then (first → last tenth of the steps) the RL
    quantities in `rl_keys`, then each model's per-level table."""
    from r1mini.evaluate import format_table
    names = list(evals)
    lines = [f"# {title}", "", f"Command: `python {' '.join(Path(a).name if i == 0 else a for i, a in enumerate(sys.argv))}`",
             "", settings, "", "| metric | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    cell = (lambda v: "–" if v is None else f"{v:.3f}")  # noqa: E731
    for key in ("pass@1", "cons@k", "pass@k", "mean_length", "reasoned_rate", "reasoned_accuracy", "direct_accuracy",
                "reflection_rate", "mixing_rate", "language_consistency", "format_rate"):
        lines.append(f"| {key} (in-distribution) | " + " | ".join(cell(evals[n]["overall"][key]) for n in names) + " |")
    for key in ("pass@1", "cons@k", "reasoned_rate"):
        lines.append(f"| {key} (harder than training) | " + " | ".join(cell(evals[n]["hard"][key]) for n in names) + " |")
    for lang in evals[names[0]]["by_language"]:  # the reasoning's language against the question's
        for key in ("pass@1", "language_consistency", "own_language_rate", "mixing_rate"):
            lines.append(f"| {key} (asked in {lang}) | " + " | ".join(cell(evals[n]["by_language"][lang][key])
                                                                     for n in names) + " |")
    steps = [m for m in metrics if "reward" in m]
    if steps and rl_keys:
        tenth = max(1, len(steps) // 10)
        lines += ["", "During RL (mean of the first → last tenth of steps, on the training rollouts):", "",
                  "| quantity | start | end |", "|---|---|---|"]
        lines += [f"| {key} | {window_mean(steps[:tenth], key):.3f} | {window_mean(steps[-tenth:], key):.3f} |"
                  for key in rl_keys if any(key in r for r in steps)]
    for name in names:
        lines += ["", f"## {name}, per level", "", format_table(evals[name])]
    return "\n".join(lines) + "\n"


def stage_table(evals: dict[str, dict], data_counts: dict[str, dict], settings: str) -> str:
    """Markdown for train_r1.py: the paper's Dev1/Dev2/Dev3 table at toy scale (one column per stage),
    what each data filter removed, then each stage's per-level table."""
    from r1mini.evaluate import format_table
    names = list(evals)
    cell = (lambda v: "–" if v is None else f"{v:.3f}")  # noqa: E731
    rows = [("pass@1 (in-distribution)", "overall", "pass@1"), ("cons@k (in-distribution)", "overall", "cons@k"),
            ("pass@1 (harder than training)", "hard", "pass@1"), ("mean length (in-distribution)", "overall", "mean_length"),
            *[(f"reasoning entirely in the question's language (asked in {lang}; answers that think)", ("by_language", lang), "own_language_rate")
              for lang in evals[names[0]]["by_language"]],
            ("language-mixing rate", "overall", "mixing_rate"), ("reflection-phrase rate", "overall", "reflection_rate"),
            ("readable format: summary present (non-trivial questions)", "nontrivial", "summary_rate"),
            ("trivial questions: pass@1", "trivial", "pass@1"), ("trivial questions: mean length", "trivial", "mean_length")]
    lines = [f"# R1 stage table", "", f"Command: `python {' '.join(Path(a).name if i == 0 else a for i, a in enumerate(sys.argv))}`",
             "", settings, "", "| metric | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for title, where, key in rows:
        pick = (lambda e: e[where[0]][where[1]]) if isinstance(where, tuple) else (lambda e: e[where])
        lines.append(f"| {title} | " + " | ".join(cell(pick(evals[n])[key]) for n in names) + " |")
    for name, counts in data_counts.items():
        lines += ["", f"**{name} data**: " + ", ".join(f"{k}: {v}" for k, v in counts.items())]
    for name in names:
        lines += ["", f"## {name}, per level", "", format_table(evals[name])]
    return "\n".join(lines) + "\n"


def file_fingerprint(path) -> str:
    """The first 16 hex digits of a file's sha256: names a checkpoint by its content, not its path."""
    import hashlib
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def _evaluation_cache(checkpoint, tasks, settings: dict, cache_dir) -> tuple[Path, dict, dict | None]:
    """(cache file, what it must have measured, its result if it did)."""
    wanted = {"tasks": list(tasks), **settings}
    path = Path(cache_dir) / f"{file_fingerprint(checkpoint)}.json"
    cached = json.loads(path.read_text()) if path.exists() else {}
    return path, wanted, cached["result"] if cached.get("wanted") == wanted else None


def cached_evaluation(checkpoint, tasks, settings: dict, cache_dir, device) -> dict:
    """evaluate_model's result for a checkpoint, kept in cache_dir under the checkpoint's content
    hash and the settings: a rerun (or a resumed run) does not evaluate the same model twice."""
    from r1mini.checkpoint import load_checkpoint
    from r1mini.evaluate import evaluate_model
    path, wanted, result = _evaluation_cache(checkpoint, tasks, settings, cache_dir)
    if result is not None:
        return result
    model, tokenizer, _ = load_checkpoint(checkpoint, device)
    result = evaluate_model(model, tokenizer, tasks, **settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"checkpoint": str(checkpoint), "wanted": wanted, "result": result}))
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


def earlier_zero_evals(zero, base, tasks, settings: dict) -> dict:
    """train_zero.py's evaluations of the base and R1-Zero (the eval.json beside `zero`), if they are
    of these checkpoints, tasks and settings: then evaluating again would only repeat them."""
    from r1mini.checkpoint import read_checkpoint
    from r1mini.evaluate import measures_the_same
    path, names = Path(zero).parent / "eval.json", ("base", "R1-Zero")
    if not path.exists():
        return {}
    evals = json.loads(path.read_text())
    same = all(measures_the_same(evals.get(name, {}), tasks, **settings) for name in names)
    same_models = Path(read_checkpoint(zero)["meta"].get("base", "")).resolve() == Path(base).resolve()
    # an eval.json written before the stage table existed lacks its rows: evaluate again then
    complete = same and all({"trivial", "nontrivial"} <= set(evals[name]) for name in names)
    if not (same and same_models and complete):
        return {}
    print(f"[r1] base and R1-Zero: evaluations reused from {path}")
    return {name: evals[name] for name in names}


def earlier_teacher_eval(teacher, tasks, settings: dict) -> dict | None:
    """The teacher's evaluation from the eval.json that train_r1.py (or train_zero.py) wrote beside
    it, if it measured the same thing (it was written with the checkpoint, so it is of that model)."""
    from r1mini.checkpoint import read_checkpoint
    from r1mini.evaluate import measures_the_same
    path, stage = Path(teacher).parent / "eval.json", read_checkpoint(teacher)["meta"].get("stage")
    entry = json.loads(path.read_text()).get({"r1": "R1", "zero": "R1-Zero"}.get(stage, "")) if path.exists() else None
    return entry if entry and measures_the_same(entry, tasks, **settings) else None


def arm_compute(metrics_path, group_size: int) -> dict:
    """A training run's student compute, summed from its metrics.jsonl (so a resumed run counts
    once): steps, tokens the student sampled, completion tokens it was trained on, minutes. SFT logs
    target_tokens and seconds; GRPO its groups, lengths and timers; on-policy distillation its own."""
    records = [r for r in read_jsonl(metrics_path) if "step" in r]
    total = lambda key: sum(r.get(key, 0) for r in records)  # noqa: E731
    sampled = total("tokens_sampled") or sum(r.get("groups_sampled", 0) * group_size * r.get("response_length", 0)
                                             for r in records)
    seconds = total("seconds") or total("time_sample") + total("time_reference") + total("time_update")
    trained = total("tokens_trained") or total("target_tokens")
    reference = trained if "time_reference" in (records[-1] if records else {}) else 0  # GRPO's KL: one more forward
    # Arithmetic in forward-token units: a sampled token costs one forward, a trained one forward +
    # backward (about 3). Sampling is slow per token (one token at a time), so minutes and
    # arithmetic rank the arms differently; the report gives both.
    return {"steps": max((r["step"] for r in records), default=0), "tokens sampled": round(sampled),
            "tokens trained": round(trained), "forward-token units": round(sampled + reference + 3 * trained),
            "minutes": round(seconds / 60, 2)}


def distill_table(evals: dict, params: dict, compute: dict, teacher_counts: dict | None, settings: str,
                  rl_metrics: dict) -> str:
    """Markdown for distill.py: the paper's distillation table at toy scale (one column per model),
    the teacher data's counts, what RL on the student saw, then each model's per-level table."""
    from r1mini.evaluate import format_table
    names = list(evals)
    cell = (lambda v: "–" if v is None else f"{v:.3f}")  # noqa: E731
    lines = [f"# Distillation table", "", f"Command: `python {' '.join(Path(a).name if i == 0 else a for i, a in enumerate(sys.argv))}`",
             "", settings, "", "| | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|",
             "| parameters (total / active) | " + " | ".join(f"{params[n][0] / 1e6:.3f}M / {params[n][1] / 1e6:.3f}M"
                                                           for n in names) + " |"]
    rows = [("pass@1 (in-distribution)", "overall", "pass@1"), ("cons@k (in-distribution)", "overall", "cons@k"),
            ("pass@1 (harder than training)", "hard", "pass@1"), ("language consistency", "overall", "language_consistency"),
            ("reasoning entirely in the question's language", "overall", "own_language_rate"),
            ("mean length (in-distribution)", "overall", "mean_length")]
    for title, where, key in rows:
        lines.append(f"| {title} | " + " | ".join(cell((evals[n][where] or {}).get(key)) for n in names) + " |")
    for key in ("steps", "tokens sampled", "tokens trained", "forward-token units", "minutes"):
        lines.append(f"| student training: {key} | " + " | ".join(str(compute[n][key]) if n in compute else "–"
                                                                   for n in names) + " |")
    if teacher_counts:
        lines += ["", "**Teacher data**: " + ", ".join(f"{k}: {v}" for k, v in teacher_counts.items())]
    for name, path in rl_metrics.items():
        steps = [r for r in read_jsonl(path) if "frac_groups_never_right" in r]
        if steps:  # RL learns nothing from a group none of whose answers was right
            tenth = max(1, len(steps) // 10)
            pass_rate = steps[-1].get("curriculum", {})
            lines += ["", f"**{name}**: share of sampled groups with no right answer (no reward, no signal) "
                          f"{window_mean(steps[:tenth], 'frac_groups_never_right'):.2f} in the first tenth of steps → "
                          f"{window_mean(steps[-tenth:], 'frac_groups_never_right'):.2f} in the last; "
                          "the curriculum's pass rate per level at the end: "
                          + ", ".join(f"{k} {v:.2f}" for k, v in sorted(pass_rate.items()))]
    for name in names:
        lines += ["", f"## {name}, per level", "", format_table(evals[name])]
    return "\n".join(lines) + "\n"


PANELS = [("reward_accuracy", "train accuracy (rollouts)"), ("eval_pass@1", "held-out pass@1"),
          ("response_length", "mean response length (tokens)"), ("eval_reasoned_rate", "held-out share reasoned"),
          ("eval_reflection_rate", "held-out reflection rate"), ("eval_mixing_rate", "held-out language mixing"),
          ("kl", "KL to reference"), ("groups_sampled", "groups sampled per step"),
          ("expert_load_max_over_mean", "expert load max/mean"), ("loss", "loss")]


def plot_run(metrics_path, out_dir, name: str = "curves.png") -> Path | None:
    """Learning curves from a metrics.jsonl, if matplotlib is installed (it is optional)."""
    try:
        import matplotlib
    except ImportError:
        print("[harness] matplotlib not installed: no plots (pip install matplotlib)")
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    records = read_jsonl(metrics_path)
    panels = [(key, title) for key, title in PANELS if any(key in r for r in records)]
    if not panels:
        return None
    rows = (len(panels) + 2) // 3
    fig, axes = plt.subplots(rows, 3, figsize=(12.6, 3 * rows), squeeze=False)
    for ax, (key, title) in zip(axes.flat, panels):
        points = [(r["step"], r[key]) for r in records if r.get(key) is not None]
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="." if len(points) < 30 else None)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.tight_layout()
    path = Path(out_dir) / name
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


# ---------------------------------------------------------------- the RL stages' command line


def add_grpo_args(p: ArgumentParser) -> None:
    """The flags of GRPOConfig (and of the RL loop), shared by every RL stage's command line."""
    from r1mini.grpo import AGGREGATIONS, ZERO_STD_GROUPS, GRPOConfig
    d = GRPOConfig()
    add = p.add_argument
    add("--prompts-per-step", type=int_range(1, 4096), default=d.prompts_per_step)
    add("--group-size", type=int_range(2, 1024), default=d.group_size, help="G: samples per prompt")
    add("--lr", type=float_range(0, 1, low_open=True), default=d.lr, help="learning rate of the RL updates")
    add("--kl-coef", type=float_range(0, 100), default=d.kl_coef, help="beta: weight of KL to the reference")
    add("--clip-eps", type=float_range(0, 1, low_open=True), default=d.clip_eps)
    add("--clip-eps-high", type=float_range(0, 100, low_open=True), help="upper clip (DAPO clip-higher); default = --clip-eps")
    add("--updates-per-batch", type=int_range(1, 64), default=d.updates_per_batch, help="mu: gradient steps per rollout")
    add("--max-new-tokens", type=int_range(1), default=d.max_new_tokens)
    add("--temperature", type=float_range(0.01, 100), default=d.temperature, help="rollout temperature")
    add("--loss-agg", choices=AGGREGATIONS, default=d.aggregation, help="seq_mean (GRPO), token_mean (DAPO), constant (Dr. GRPO)")
    add("--no-std-norm", action="store_true", help="advantages without std division (Dr. GRPO)")
    add("--zero-std-groups", choices=ZERO_STD_GROUPS, default=d.zero_std_groups,
        help="groups whose rewards are all equal: resample (DAPO dynamic sampling), drop, or keep")
    add("--max-sampling-rounds", type=int_range(1, 64), default=d.max_sampling_rounds,
        help="resample: at most this many rounds of sampling per step, and prompts_per_step x (2 rounds - 1) prompts")
    add("--no-curriculum", action="store_true", help="sample task levels uniformly")
    add("--ref-reset-every", type=int_range(0), default=0, help="reset the reference to the policy every N steps (0 = never)")
    add("--resume-every", type=int_range(1), default=10, help="write a resume file every N steps")


def grpo_config(args):
    """The GRPOConfig that the flags of `add_grpo_args` describe."""
    from r1mini.grpo import GRPOConfig
    return GRPOConfig(prompts_per_step=args.prompts_per_step, group_size=args.group_size, lr=args.lr,
                      kl_coef=args.kl_coef, clip_eps=args.clip_eps, clip_eps_high=args.clip_eps_high,
                      updates_per_batch=args.updates_per_batch, max_new_tokens=args.max_new_tokens,
                      temperature=args.temperature, aggregation=args.loss_agg, normalize_std=not args.no_std_norm,
                      zero_std_groups=args.zero_std_groups, max_sampling_rounds=args.max_sampling_rounds)


def parse_grpo_args(description: str, out_dir: str, argv=None):
    """Every knob of train_zero.py, validated before anything touches a directory (exit 2 on error)."""
    from r1mini.config import PRESETS
    from r1mini.tasks import TASK_NAMES
    p = ArgumentParser(description=description)
    add = p.add_argument
    add("--base", default="runs/base/model.pt", help="base checkpoint (built if missing)")
    add("--out-dir", default=out_dir)
    add("--overwrite", action="store_true", help="replace a finished run in --out-dir")
    add("--preset", choices=sorted(PRESETS), help="model size if the base must be built")
    add("--base-steps", type=int_range(1), help="pretraining steps if the base must be built")
    add("--device", default="auto", help="auto, cpu, cuda or mps")
    add("--seed", type=SEED, default=0)
    add("--steps", type=int_range(1), default=150, help="GRPO steps")
    add("--tasks", default=",".join(TASK_NAMES), help="comma-separated tasks to train on")
    add("--language-reward", action="store_true",
        help="add R1's language-consistency reward (an ablation: R1-Zero itself has none)")
    add_grpo_args(p)
    add("--eval-every", type=int_range(0), default=25, help="held-out evaluation every N steps (0 = only at the end)")
    add("--eval-problems", type=int_range(1, 1000), default=20, help="held-out problems per task-level in the final evaluation")
    add("--eval-k", type=int_range(1, 256), default=8, help="samples per held-out problem")
    args = p.parse_args(argv)
    try:
        args.tasks = parse_tasks(args.tasks)
        args.device = pick_device(args.device)
        check_sequence_budget(args)
    except (ValueError, CheckpointError) as error:
        p.error(str(error))
    return args


def add_stage_args(p: ArgumentParser, out_dir: str) -> None:
    """Where a multi-stage script writes and what it runs on (train_r1.py, distill.py)."""
    from r1mini.tasks import TASK_NAMES
    p.add_argument("--out-dir", default=out_dir)
    p.add_argument("--overwrite", action="store_true", help="rebuild every stage in --out-dir")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    p.add_argument("--seed", type=SEED, default=0)
    p.add_argument("--tasks", default=",".join(TASK_NAMES), help="comma-separated tasks")


def add_eval_args(p: ArgumentParser) -> None:
    """The final held-out evaluation's size (train_r1.py, distill.py)."""
    g = p.add_argument_group("evaluation")
    g.add_argument("--eval-problems", type=int_range(1, 1000), default=20, help="held-out problems per task-level")
    g.add_argument("--eval-k", type=int_range(1, 256), default=8, help="samples per held-out problem")


def parse_r1_args(argv=None):
    """Every knob of train_r1.py, validated before anything touches a directory (exit 2 on error)."""
    p = ArgumentParser(description="R1: cold start, reasoning RL with a language reward, rejection sampling + SFT, "
                                   "all-scenario RL (DeepSeek-R1 §2.3).")
    add = p.add_argument
    add("--zero", default="runs/zero/model.pt", help="the R1-Zero checkpoint (python train_zero.py)")
    add("--base", default="runs/base/model.pt", help="the base checkpoint both SFT stages start from")
    add_stage_args(p, "runs/r1")
    g = p.add_argument_group("1. cold start (Dev1)")
    g.add_argument("--cold-start-prompts", type=int_range(1, 100_000), default=3072, help="training questions R1-Zero answers")
    g.add_argument("--cold-start-samples", type=int_range(1, 64), default=2, help="R1-Zero samples per question")
    g.add_argument("--cold-start-temperature", type=float_range(0.01, 100), default=1.0, help="R1 samples R1-Zero at T = 1")
    g.add_argument("--cold-start-steps", type=int_range(1), default=400, help="SFT steps of the base on the cold-start data")
    g.add_argument("--sft-lr", type=float_range(0, 1, low_open=True), default=1e-3, help="peak lr of both SFT stages")
    g.add_argument("--sft-batch-size", type=int_range(1, 4096), default=32)
    g = p.add_argument_group("2. reasoning RL (Dev2) and 4. all-scenario RL (R1): GRPO")
    g.add_argument("--reasoning-steps", type=int_range(1), default=40, help="GRPO steps from Dev1")
    g.add_argument("--final-steps", type=int_range(1), default=40, help="GRPO steps from Dev3")
    g.add_argument("--helpful-share", type=float_range(0, 1), default=0.25,
                   help="the helpfulness rule is on for this last share of the final steps (R1 v2: the last 400 of 1,700)")
    g.add_argument("--no-language-reward", action="store_true", help="ablation: RL without the language-consistency reward")
    add_grpo_args(g)
    # A readable answer adds a self-check and a summary (~25 tokens). RL from an SFT'd model takes a
    # lower lr than R1-Zero's from the base (the paper: 3e-6 for R1's RL): at 3e-4 the sharp SFT policy
    # drifted and final RL cost 6.7 points of pass@1 (Dev3 0.843 -> 0.776); at 5e-5 both stages add (README, "R1").
    p.set_defaults(max_new_tokens=192, lr=5e-5)
    g = p.add_argument_group("3. rejection sampling + SFT (Dev3)")
    # Many questions, few samples each: one answer is kept per question, and Dev3 needs about as many
    # distinct reasoning answers as the cold start had (~2,700). With 1,024 x 4 it got ~970 and lost
    # 3-6 points on the worked levels in two seeds; with 3,072 x 2 (~2,770) under one (README, "R1").
    g.add_argument("--rejection-prompts", type=int_range(1, 100_000), default=3072, help="training questions Dev2 answers")
    g.add_argument("--rejection-samples", type=int_range(1, 64), default=2, help="Dev2 samples per question")
    g.add_argument("--rejection-keep", type=int_range(1, 64), default=1, help="at most this many kept answers per question")
    # Off by default: it drops most long-sum answers (Dev2's checks there are mostly garbled) and cost
    # R1 2.6-2.8 points of pass@1 for 4-9 more points of sound self-checks (README, "R1").
    g.add_argument("--sound-checks", action="store_true",
                   help="also require a self-check of one of the problem's own steps, one conclusion and a summary "
                        "stating the answer, and a stop (r1_data.concludes_soundly)")
    g.add_argument("--non-reasoning-share", type=float_range(0, 0.9), default=0.25,
                   help="share of the SFT set that is trivial questions answered directly (paper: 200k of 800k)")
    g.add_argument("--rejection-steps", type=int_range(1), default=500,
                   help="SFT steps of the base on the kept data (the paper: 2 epochs of 800k; a few epochs here)")
    add_eval_args(p)
    args = p.parse_args(argv)
    try:
        args.tasks = parse_tasks(args.tasks)
        args.device = pick_device(args.device)
        for flag, path in (("--zero", args.zero), ("--base", args.base)):
            if not Path(path).exists():
                raise ValueError(f"{flag} {path} does not exist; run `python train_zero.py` first "
                                 "(it builds the base too)")
        check_sequence_budget(args)
    except (ValueError, CheckpointError) as error:
        p.error(str(error))
    return args


DISTILL_ARMS = ("sft", "rl", "onpolicy")


def parse_distill_args(argv=None):
    """Every knob of distill.py, validated before anything touches a directory (exit 2 on error)."""
    from r1mini.config import PRESETS
    p = ArgumentParser(description="Distillation: a small dense student learns from R1's verified answers (SFT), "
                                   "side by side with RL and on-policy distillation on the same student.")
    add = p.add_argument
    add("--teacher", default="runs/r1/model.pt", help="the teacher checkpoint (python train_r1.py), e.g. runs/zero/model.pt")
    add("--student-base", default="runs/student_base/model.pt", help="the pretrained student (built here if missing)")
    add("--student-preset", default="student", choices=sorted(PRESETS), help="the student's size if it must be built")
    add("--student-base-steps", type=int_range(1), help="pretraining steps if the student must be built (default: the preset's)")
    add_stage_args(p, "runs/distill")
    add("--arms", default=",".join(DISTILL_ARMS), help=f"comma-separated, any of {','.join(DISTILL_ARMS)}")
    add("--resume-every", type=int_range(1), default=10, help="write a resume file every N steps (RL arms)")
    add("--max-new-tokens", type=int_range(1), default=192, help="answer budget for the teacher's and the on-policy samples")
    g = p.add_argument_group("teacher data")
    # One sample on each of 4,096 questions, not two on 2,048: the same sampling time, and since one answer
    # is kept per question, about twice the distinct answers (0.874 against 0.814 pass@1; README, "Distillation").
    g.add_argument("--teacher-prompts", type=int_range(1, 100_000), default=4096, help="training questions the teacher answers")
    g.add_argument("--teacher-samples", type=int_range(1, 64), default=1, help="teacher samples per question")
    g.add_argument("--teacher-temperature", type=float_range(0.01, 100), default=0.6, help="the paper's sampling temperature")
    g.add_argument("--teacher-keep", type=int_range(1, 64), default=1, help="at most this many distinct kept answers per question")
    g = p.add_argument_group("arm sft: distillation, the paper's (SFT of the student base on the teacher data)")
    # The small student learns in steps, not tokens: the same 2.1M answer tokens as 3,200 steps of 8 rows
    # reach 0.814 pass@1 where 800 steps of 32 reach 0.677 (16 x 1,600: 0.750), for ~20% more minutes;
    # 4,400 steps reach 0.885 where 3,200 reach 0.844 (4,800: 0.874; results/distill_sft_probes.md).
    g.add_argument("--sft-steps", type=int_range(1), default=4400)
    g.add_argument("--sft-lr", type=float_range(0, 1, low_open=True), default=1e-3, help="(5e-4 and 2e-3 did worse at batch 8)")
    g.add_argument("--sft-batch-size", type=int_range(1, 4096), default=8)
    g = p.add_argument_group("arm rl: R1-Zero's recipe on the student (train_zero.py's GRPO settings)")
    # Side by side (distill.py on a CPU), 90 RL steps took as long as 3,200 SFT steps (4.06 and 4.13 min);
    # 125 took 6.01 min against 4,400's 5.81 (seed 0) but 5.36 against 5.48 (seed 1): hence 135.
    g.add_argument("--rl-steps", type=int_range(1), default=135, help="(135 take a little longer than the SFT arm's 4,400)")
    g = p.add_argument_group("arm onpolicy: on-policy distillation (student samples, per-token reverse KL to the teacher)")
    g.add_argument("--onpolicy-steps", type=int_range(1), default=100, help="(about the SFT arm's minutes)")
    g.add_argument("--onpolicy-prompts", type=int_range(1, 4096), default=64, help="student answers per step")
    g.add_argument("--onpolicy-lr", type=float_range(0, 1, low_open=True), default=5e-4,
                   help="(3e-3 collapsed the student in a trial run)")
    add_eval_args(p)
    args = p.parse_args(argv)
    try:
        args.tasks = parse_tasks(args.tasks)
        args.arms = tuple(dict.fromkeys(a.strip() for a in args.arms.split(",") if a.strip()))
        unknown = [a for a in args.arms if a not in DISTILL_ARMS]
        if unknown or not args.arms:
            raise ValueError(f"--arms takes a comma-separated subset of {','.join(DISTILL_ARMS)}, got {unknown or 'none'}")
        args.device = pick_device(args.device)
        if not Path(args.teacher).exists():
            raise ValueError(f"--teacher {args.teacher} does not exist; run `python train_r1.py` first, "
                             "or pass --teacher runs/zero/model.pt to distil R1-Zero")
        check_sequence_budget(argparse.Namespace(**vars(args), base=args.student_base, preset=args.student_preset))
    except (ValueError, CheckpointError) as error:
        p.error(str(error))
    return args


def parse_tasks(text: str) -> tuple[str, ...]:
    from r1mini.tasks import check_task_level
    tasks = tuple(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    if not tasks:
        raise ValueError(f"--tasks needs at least one task name, got {text!r}")
    for task in tasks:
        check_task_level(task)
    return tasks


EVAL_EXTRA_TOKENS = 32  # evaluation gives answers a little more room than training rollouts


def check_sequence_budget(args) -> None:
    """Longest prompt + --max-new-tokens (+ the evaluation's extra room) must fit the model."""
    from r1mini.checkpoint import read_checkpoint
    from r1mini.config import PRESETS, default_preset
    from r1mini.corpus import render_prompt
    from r1mini.tasks import HARD_LEVELS, TRAIN_LEVELS, generate_problem
    from r1mini.tokenizer import get_tokenizer
    if Path(args.base).exists():
        max_len = read_checkpoint(args.base)["config"]["max_seq_len"]
    else:
        max_len = PRESETS[args.preset or default_preset(args.device)].max_seq_len
    rng, encode = random.Random(0), get_tokenizer().encode  # questions of a level differ little in length
    prompt = max(len(encode(render_prompt(generate_problem(rng, task, level, split).question)))
                 for task in args.tasks for level in TRAIN_LEVELS[task] + HARD_LEVELS[task]
                 for split in ("train", "test") for _ in range(32))
    if prompt + args.max_new_tokens + EVAL_EXTRA_TOKENS > max_len:
        raise ValueError(f"--max-new-tokens {args.max_new_tokens} is too large: the longest prompt ({prompt} tokens) "
                         f"+ it + {EVAL_EXTRA_TOKENS} for evaluation must fit the model's {max_len} tokens")
