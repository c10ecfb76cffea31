"""Run directories: where a stage writes, and how a killed run resumes as if it had never stopped.
Machinery, not algorithm: a student may skip this file.

  RunDir      refuses to clobber a finished run or share a directory with a live one, keeps
              metrics.jsonl and resume.pt safe, resumes only with the same flags
  sub_stage   one stage of a multi-stage script (train_r1.py, distill.py) in its own RunDir,
              reused when finished with the same flags
  write_data  a stage's SFT set and filter counts, for a reader to inspect
  read_jsonl  a metrics log, tolerating a torn last line
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from r1mini.checkpoint import CheckpointError, atomic_torch_save, rng_state, save_checkpoint, set_rng_state


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
        threads = state.get("threads", torch.get_num_threads())
        if threads != torch.get_num_threads():  # allowed, but then "as if never stopped" holds only up to rounding
            print(f"[{self.dir.name}] note: the run was on {threads} thread(s), now {torch.get_num_threads()}; on some "
                  "CPUs they round differently, so the result equals an uninterrupted run's only up to rounding")
        return step, state["extra"]

    def save_resume(self, model, optimizer, step: int, extra: dict | None = None) -> None:
        atomic_torch_save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
                           "rng": rng_state(), "threads": torch.get_num_threads(),
                           "extra": {**(extra or {}), "flags": self.flags}},
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
            print(f"[rundir] dropped a torn last line of {path} (the run was killed while writing it)")
    return records

