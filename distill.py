"""Distillation: R1's reasoning taught to a small dense model (DeepSeek-R1 v1 §2.4, §4.1; v2 Table 16).

R1 wrote ~800k verified answers; small *pretrained* dense models fine-tuned on them with plain SFT
(no RL, no teacher logits) beat the same models trained with large-scale RL (Qwen2.5-32B: RL 47.0
vs distilled 72.6 AIME pass@1). The lesson: reasoning patterns that a big model's RL found transfer
to a small model better than the small model can find them itself. Here, side by side on one
pretrained student (a dense transformer with under a quarter of the teacher's active parameters):

  teacher data            sample the teacher on training questions (both languages, every training
                          level), keep verified-right, complete, language-consistent answers, dedupe
  arm sft  (the paper)    completion-only SFT of the student base on that data
  arm rl   (the paper's   R1-Zero's recipe — train_zero.py's GRPO, rewards and settings, the lr
           comparison)    tuned for the student on the validation split — on the student base
  arm onpolicy (beyond)   on-policy distillation: the student samples, the teacher scores every
                          token, the loss is the per-token reverse KL (r1mini/distillation.py)
  arm sft_onpolicy        on-policy distillation as its authors use it (Thinking Machines, 2025): from
                          the SFT arm's student, which already answers in the teacher's form
  arm sft_more            the same added minutes spent on SFT instead: the SFT arm with
                          --more-sft-steps more steps (one longer run), sft_onpolicy's comparison

    python distill.py                                  # needs runs/r1: python train_r1.py
    python distill.py --teacher runs/zero/model.pt     # distil R1-Zero instead
    python distill.py --arms sft,rl                    # a subset of the arms
    python distill.py --arms sft,sft_onpolicy,sft_more # SFT then on-policy, against more SFT

Outputs in runs/distill/: teacher_data/ (teacher_data.jsonl, teacher_counts.json); sft/, rl/,
onpolicy/ (each: model.pt, metrics.jsonl, report.md, curves.png); evals/ (evaluations, cached by
checkpoint); eval.json and report.md (the paper's table). On a CPU the arms train side by side, one
process and one thread each, and so do the evaluations (parallel.side_by_side): sooner, and the
same models as one after the other up to floating-point rounding (on some CPUs one thread and two
round differently). The student base is built once into
runs/student_base/. A killed run resumes inside the stage it was in; finished stages are reused.
"""
from __future__ import annotations

import argparse
import copy
import json
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

from r1mini.checkpoint import CheckpointError, load_checkpoint, read_checkpoint
from r1mini.config import PRESETS, pick_device
from r1mini.corpus import render_prompt
from r1mini.curriculum import Curriculum
from r1mini.distillation import OnPolicyConfig, train_on_policy
from r1mini.eval_cache import cached_evaluations, file_fingerprint
from r1mini.evaluate import add_eval_args, measures_the_same, protocol
from r1mini.flags import (ArgumentParser, add_stage_args, check_sequence_budget, fail, float_range, int_range,
                          parse_tasks)
from r1mini.grpo import GRPOConfig
from r1mini.parallel import side_by_side
from r1mini.pretrain import build_base
from r1mini.r1_data import filter_answers, sample_answers, training_problems
from r1mini.report import distill_table, plot_run
from r1mini.rewards import r1_zero_rewards
from r1mini.rl_loop import train_grpo
from r1mini.rundir import RunDir, read_jsonl, sub_stage, write_data
from r1mini.sft import finetune
from r1mini.tokenizer import get_tokenizer
from r1mini.train_utils import NonFiniteLossError

ARM_NAMES = {"rl": "student + RL", "sft": "student + distillation", "onpolicy": "student + on-policy distillation",
             "sft_more": "student + longer distillation", "sft_onpolicy": "student + distillation + on-policy"}
# The flags each stage depends on: changing --rl-steps redoes the RL arm only.
TEACHER_FLAGS = ("teacher", "tasks", "seed", "max_new_tokens", "teacher_prompts", "teacher_samples",
                 "teacher_temperature", "teacher_keep")
STAGE_FLAGS = {"teacher_data": TEACHER_FLAGS,
               "sft": ("student_base", *TEACHER_FLAGS, "sft_steps", "sft_lr", "sft_batch_size"),
               "rl": ("student_base", "tasks", "seed", "rl_steps", "rl_lr"),
               "onpolicy": ("student_base", "teacher", "tasks", "seed", "max_new_tokens", "onpolicy_steps",
                            "onpolicy_prompts", "onpolicy_lr")}
STAGE_FLAGS["sft_onpolicy"] = (*STAGE_FLAGS["sft"], *STAGE_FLAGS["onpolicy"][2:])  # the SFT arm's, then on-policy's
STAGE_FLAGS["sft_more"] = (*STAGE_FLAGS["sft"], "more_sft_steps")


DISTILL_ARMS = ("sft", "rl", "onpolicy", "sft_onpolicy", "sft_more")
DEFAULT_ARMS = ("sft", "rl", "onpolicy")   # the paper's two and on-policy from the base


def parse_args(argv=None):
    """Every knob of distill.py, validated before anything touches a directory (exit 2 on error)."""
    p = ArgumentParser(description="Distillation: a small dense student learns from R1's verified answers (SFT), "
                                   "side by side with RL and on-policy distillation on the same student.")
    add = p.add_argument
    add("--teacher", default="runs/r1/model.pt", help="the teacher checkpoint (python train_r1.py), e.g. runs/zero/model.pt")
    add("--student-base", default="runs/student_base/model.pt", help="the pretrained student (built here if missing)")
    add("--student-preset", default="student", choices=sorted(PRESETS), help="the student's size if it must be built")
    add("--student-base-steps", type=int_range(1), help="pretraining steps if the student must be built (default: the preset's)")
    add_stage_args(p, "runs/distill")
    add("--arms", default=",".join(DEFAULT_ARMS), help=f"comma-separated, any of {','.join(DISTILL_ARMS)}")
    add("--resume-every", type=int_range(1), default=10, help="write a resume file every N steps (RL arms)")
    add("--max-new-tokens", type=int_range(1), default=192, help="answer budget for the teacher's and the on-policy samples")
    g = p.add_argument_group("teacher data")
    # One sample on each of 4,096 questions, not two on 2,048: one answer is kept per question (docs/design.md).
    g.add_argument("--teacher-prompts", type=int_range(1, 100_000), default=4096, help="training questions the teacher answers")
    g.add_argument("--teacher-samples", type=int_range(1, 64), default=1, help="teacher samples per question")
    g.add_argument("--teacher-temperature", type=float_range(0.01, 100), default=0.6, help="the paper's sampling temperature")
    g.add_argument("--teacher-keep", type=int_range(1, 64), default=1, help="at most this many distinct kept answers per question")
    g = p.add_argument_group("arm sft: distillation, the paper's (SFT of the student base on the teacher data)")
    # The small student learns in optimizer steps more than in tokens: many small batches (docs/design.md).
    # 5,600 on the validation split: +0.070 [+0.03, +0.11] over 4,400 (docs/design.md).
    g.add_argument("--sft-steps", type=int_range(1), default=5600, help="SFT steps of the student")
    g.add_argument("--sft-lr", type=float_range(0, 1, low_open=True), default=1e-3, help="peak learning rate")
    g.add_argument("--sft-batch-size", type=int_range(1, 4096), default=8, help="answers per step")
    g = p.add_argument_group("arm rl: R1-Zero's recipe on the student (train_zero.py's GRPO settings, its lr tuned)")
    # The RL arm gets the SFT arm's minutes; its lr was chosen on the validation split, 1e-4 against
    # R1-Zero's 3e-4, 1e-3 and 3e-5 (docs/design.md). Twice the steps added +0.011 there.
    g.add_argument("--rl-steps", type=int_range(1), default=170, help="GRPO steps of the student")
    g.add_argument("--rl-lr", type=float_range(0, 1, low_open=True), default=1e-4,
                   help="its learning rate (train_zero.py's R1-Zero uses 3e-4)")
    g = p.add_argument_group("arm onpolicy: on-policy distillation (student samples, per-token reverse KL to the teacher)")
    g.add_argument("--onpolicy-steps", type=int_range(1), default=100, help="on-policy distillation steps")
    g.add_argument("--onpolicy-prompts", type=int_range(1, 4096), default=64, help="student answers per step")
    g.add_argument("--onpolicy-lr", type=float_range(0, 1, low_open=True), default=5e-4,
                   help="(much larger collapses the student: docs/design.md)")
    g = p.add_argument_group("arms sft_onpolicy (the SFT arm, then --onpolicy-steps of on-policy distillation) "
                             "and sft_more (its comparison: SFT for --sft-steps + --more-sft-steps)")
    # On seed 0 of experiments/seeds.py, 100 on-policy steps took 3.3 min and 4,400 SFT steps 6.0 min,
    # side by side: 2,400 more SFT steps is about the same added time. The report shows both minutes.
    g.add_argument("--more-sft-steps", type=int_range(1), default=2400, help="arm sft_more's steps beyond --sft-steps")
    add_eval_args(p)
    args = p.parse_args(argv)
    try:
        args.tasks = parse_tasks(args.tasks)
        args.arms = tuple(dict.fromkeys(a.strip() for a in args.arms.split(",") if a.strip()))
        unknown = [a for a in args.arms if a not in DISTILL_ARMS]
        if unknown or not args.arms:
            raise ValueError(f"--arms takes a comma-separated subset of {','.join(DISTILL_ARMS)}, got {unknown or 'none'}")
        if "sft_onpolicy" in args.arms and "sft" not in args.arms:
            raise ValueError("--arms sft_onpolicy continues the sft arm's student: add sft to --arms")
        args.device = pick_device(args.device)
        if not Path(args.teacher).exists():
            raise ValueError(f"--teacher {args.teacher} does not exist; run `python train_r1.py` first, "
                             "or pass --teacher runs/zero/model.pt to distil R1-Zero")
        check_sequence_budget(argparse.Namespace(**vars(args), base=args.student_base, preset=args.student_preset))
    except (ValueError, CheckpointError) as error:
        p.error(str(error))
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    t0 = time.perf_counter()
    try:
        with RunDir(args.out_dir, vars(args), args.overwrite, inputs=[args.teacher, args.student_base]) as run:
            student_base = pretrained_student(args)
            if {"sft", "sft_more"} & set(args.arms):
                teacher_data(args, run.dir)
            # The arms are independent: they train side by side, one process and one thread each
            # (parallel.side_by_side: ~1.4x sooner on 2 cores; the same models as one after the other up
            # to floating-point rounding, where one thread and two round differently).
            arm_jobs = {"rl": rl_on_student, "sft": distil_by_sft, "onpolicy": on_policy_distillation,
                        "sft_more": longer_sft}
            arms = [arm for arm in ARM_NAMES if arm in args.arms and arm in arm_jobs]   # the paper's column order
            trained = dict(zip(arms, side_by_side([(arm_jobs[arm], (args, student_base, run.dir)) for arm in arms],
                                                  args.device)))
            if "sft_onpolicy" in args.arms:  # it starts where the SFT arm ended
                trained["sft_onpolicy"] = on_policy_distillation(args, trained["sft"], run.dir, "sft_onpolicy")
            models = {"teacher": Path(args.teacher), "student base": student_base,
                      **{ARM_NAMES[arm]: trained[arm] for arm in ARM_NAMES if arm in trained}}
            final_report(args, models, run)
            run.finish()
    except (CheckpointError, NonFiniteLossError) as error:  # one line, not a traceback; resume files stay
        return fail(str(error))
    print(f"[distill] total {(time.perf_counter() - t0) / 60:.1f} min")
    return 0


# ---------------------------------------------------------------- the student, the data, the three arms

def pretrained_student(args) -> Path:
    """The paper's students are pretrained bases: ours learns the same corpus as the teacher's base
    (built once, then reused). It must be dense and at most a quarter of the teacher's active size."""
    path = Path(args.student_base)
    if not path.exists():
        print(f"[distill] no student base at {path}: pretraining it ({args.student_preset} preset)")
        build_base(path.parent, args.student_preset, args.device, args.student_base_steps, args.seed,
                   evaluate=False)  # (final_report evaluates it with the others)
    student, teacher = load_checkpoint(path)[0], load_checkpoint(args.teacher)[0]
    if student.cfg.is_moe:
        raise CheckpointError(f"the student {path} is a MoE model; distillation's student is dense (--student-preset student)")
    if 4 * student.num_params(active_only=True) > teacher.num_params(active_only=True):
        raise CheckpointError(f"the student has {student.num_params(True):,} active parameters, more than a quarter "
                              f"of the teacher's {teacher.num_params(True):,}")
    return path


def teacher_data(args, out_dir: Path) -> None:
    """The teacher's verified answers, in out_dir/teacher_data/: R1's rejection-sampling filter
    (right, complete, not repetitive, all in the question's language), distinct answers only."""
    directory = out_dir / "teacher_data"

    def build(stage: RunDir):
        teacher, tokenizer, _ = load_checkpoint(args.teacher, args.device)
        problems = training_problems(args.seed, args.tasks, args.teacher_prompts, "distill")
        t0 = time.perf_counter()
        answers = sample_answers(teacher, tokenizer, problems, args.teacher_samples, args.teacher_temperature,
                                 args.max_new_tokens, args.seed)
        minutes = (time.perf_counter() - t0) / 60
        # R1's filter, but a summary is not required: R1-Zero (--teacher runs/zero/model.pt) writes none
        kept, counts = filter_answers(answers, per_question=args.teacher_keep, summary=False)
        write_data(stage.dir, "teacher", kept, {**counts, "teacher sampling minutes": round(minutes, 2)}, "distill")
        if not kept:
            raise CheckpointError(f"the teacher {args.teacher} gave no verified answer; train it longer or pick another")
    sub_stage(directory, stage_flags(args, "teacher_data"), args.overwrite, build, "distill")


def teacher_examples(out_dir: Path) -> list[tuple[list[int], list[int]]]:
    """The teacher data as SFT examples: (prompt ids, completion ids)."""
    tokenizer = get_tokenizer()
    rows = [json.loads(line) for line in open(out_dir / "teacher_data" / "teacher_data.jsonl", encoding="utf-8")]
    return [(tokenizer.encode(render_prompt(r["question"])), tokenizer.encode(r["completion"])) for r in rows]


def distil_by_sft(args, student_base: Path, out_dir: Path) -> Path:
    """Arm sft, the paper's distillation: plain SFT of the student base on the teacher's answers
    (completion tokens only, the end-of-text token included), cosine decay to 1/10."""
    data = teacher_examples(out_dir)  # (built by teacher_data before the arms start)

    def build(stage: RunDir):
        print(f"[distill] SFT on {len(data)} teacher answers, {args.sft_steps} steps "
              f"({args.sft_steps * args.sft_batch_size / len(data):.1f} epochs)")
        student = finetune(student_base, data, args.sft_steps, args.sft_batch_size, args.sft_lr, args.device, stage,
                           args.seed, "distillation SFT", resume_every=args.resume_every * 10)
        plot_run(stage.metrics, stage.dir)
        return student
    return sub_stage(out_dir / "sft", stage_flags(args, "sft"), args.overwrite, build, "distill")


def longer_sft(args, student_base: Path, out_dir: Path) -> Path:
    """Arm sft_more: the SFT arm's recipe for --sft-steps + --more-sft-steps steps (one run, one
    schedule): what sft_onpolicy's added minutes buy when spent on more SFT."""
    data = teacher_examples(out_dir)

    def build(stage: RunDir):
        steps = args.sft_steps + args.more_sft_steps
        return finetune(student_base, data, steps, args.sft_batch_size, args.sft_lr, args.device, stage,
                        args.seed, "longer distillation SFT", resume_every=args.resume_every * 10)
    return sub_stage(out_dir / "sft_more", stage_flags(args, "sft_more"), args.overwrite, build, "distill")


def rl_on_student(args, student_base: Path, out_dir: Path) -> Path:
    """Arm rl, the paper's comparison: R1-Zero's recipe on the student — GRPO from the student base
    with accuracy + format rewards, train_zero.py's settings, the base frozen as the reference."""
    def build(stage: RunDir):
        policy, tokenizer, _ = load_checkpoint(student_base, args.device)
        ref_model = copy.deepcopy(policy).eval().requires_grad_(False)
        torch.manual_seed(args.seed)
        train_grpo(policy, ref_model, tokenizer, replace(GRPOConfig(), lr=args.rl_lr), stage, args.rl_steps, Curriculum(args.tasks),
                   random.Random(args.seed), lambda step: r1_zero_rewards, args.device, "RL on the student",
                   resume_every=args.resume_every)
        plot_run(stage.metrics, stage.dir)
        return policy
    return sub_stage(out_dir / "rl", stage_flags(args, "rl"), args.overwrite, build, "distill")


def on_policy_distillation(args, start: Path, out_dir: Path, arm: str = "onpolicy") -> Path:
    """Arm onpolicy, beyond the paper: the student answers training questions (every level alike),
    the teacher scores every token, the student follows the per-token reverse KL. From the student
    base (arm onpolicy) or from the SFT arm's student (arm sft_onpolicy, `start` its model)."""
    def build(stage: RunDir):
        student, tokenizer, _ = load_checkpoint(start, args.device)
        teacher = load_checkpoint(args.teacher, args.device)[0]
        cfg = OnPolicyConfig(prompts_per_step=args.onpolicy_prompts, lr=args.onpolicy_lr, max_new_tokens=args.max_new_tokens)
        torch.manual_seed(args.seed)
        train_on_policy(student, teacher, tokenizer, cfg, stage, args.onpolicy_steps,
                        Curriculum(args.tasks, enabled=False).sample, random.Random(args.seed), args.device,
                        resume_every=args.resume_every)
        plot_run(stage.metrics, stage.dir)
        return student
    return sub_stage(out_dir / arm, stage_flags(args, arm), args.overwrite, build, "distill")


# ---------------------------------------------------------------- what the stages share

def stage_flags(args, stage: str) -> dict:
    """The flags a stage depends on; its input checkpoints by content too, so that a retrained
    teacher or student base is not mistaken for the one a finished stage used."""
    flags = {name: getattr(args, name) for name in STAGE_FLAGS[stage]}
    for name in ("teacher", "student_base"):
        if name in flags:
            flags[f"{name}_sha256"] = file_fingerprint(flags[name])
    return flags


def final_report(args, models: dict[str, Path], run: RunDir) -> None:
    """Every model on the same held-out questions (eval.json), each arm's report.md, and the paper's
    table (report.md): parameters, accuracy, language, length, and each arm's student compute."""
    settings = dict(n_problems=args.eval_problems, k=args.eval_k, seed=args.seed, max_new_tokens=args.eval_max_new_tokens,
                    split=args.eval_split)
    teacher_eval = earlier_teacher_eval(args.teacher, args.tasks, settings)
    evals = {"teacher": teacher_eval} if teacher_eval else {}
    evals.update(cached_evaluations({name: path for name, path in models.items() if name not in evals},
                                    args.tasks, settings, run.dir / "evals", args.device, "distill"))
    evals = {name: evals[name] for name in models}
    (run.dir / "eval.json").write_text(json.dumps(evals, indent=1))
    params = {}
    for name, path in models.items():
        model = load_checkpoint(path)[0]
        params[name] = (model.num_params(), model.num_params(active_only=True))
    arms = {ARM_NAMES[arm]: run.dir / arm for arm in ARM_NAMES if arm in args.arms}
    compute = {name: arm_compute(directory / "metrics.jsonl", GRPOConfig().group_size) for name, directory in arms.items()}
    counts_file = run.dir / "teacher_data" / "teacher_counts.json"
    counts = json.loads(counts_file.read_text()) if "sft" in args.arms else None
    settings_line = (f"{protocol(args.eval_problems, args.eval_k, args.eval_split)} Teacher: {args.teacher}; student base: {args.student_base} "
                     f"({read_checkpoint(args.student_base)['meta'].get('preset', '?')} preset).")
    report = distill_table(evals, params, compute, counts, settings_line,
                           {name: directory / "metrics.jsonl" for name, directory in arms.items()})
    (run.dir / "report.md").write_text(report)
    for name, directory in arms.items():  # each arm's own page: its row of the table and its levels
        (directory / "report.md").write_text(distill_table({name: evals[name]}, {name: params[name]},
                                                           {name: compute[name]}, None, settings_line, {}))
    print(report.split("\n## ")[0])
    print(f"[distill] wrote {run.dir / 'report.md'}")


def earlier_teacher_eval(teacher, tasks, settings: dict) -> dict | None:
    """The teacher's evaluation from the eval.json that train_r1.py (or train_zero.py) wrote beside
    it, if it measured the same thing (it was written with the checkpoint, so it is of that model)."""
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


if __name__ == "__main__":
    sys.exit(main())
