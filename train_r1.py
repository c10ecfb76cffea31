"""R1: four stages that keep R1-Zero's reasoning and fix its defects (DeepSeek-R1 v1 §2.3; v2 Fig. 2).

R1-Zero reasons well but writes for nobody: it mixes languages, has no summary, and works every
question out at length, even 3+4. R1 repairs that in four stages, each measured against the last:

  1. cold start → Dev1        sample R1-Zero (T = 1), keep answers whose final answer is right and
                              that read cleanly, rewrite R1-Zero's own steps into the question's
                              language with a self-check and a summary, SFT the *base* on them
  2. reasoning RL → Dev2      GRPO from Dev1: accuracy + format + language consistency
  3. rejection sampling → Dev3  sample Dev2, keep right, complete, readable, language-consistent
                              answers (--sound-checks: and a self-check of their own steps); add trivial
                              questions, each worked out in one short step of Dev2's own (a fact
                              recalled the way it was learned, inside a column step); SFT the *base* again
  4. all-scenario RL → R1     GRPO from Dev3 over every training level; on trivial questions a
                              "right and brief" rule, switched on only for the last part

Both RL stages use a sixth of R1-Zero's learning rate (5e-5; the paper: 3e-6): SFT leaves a sharp
policy, and R1-Zero's step size knocked it off its solutions (docs/design.md, "R1").

    python train_r1.py          # needs runs/zero and runs/base: python train_zero.py
    python train_r1.py --help   # every knob

Outputs in runs/r1/: dev1/, dev2/, dev3/ (model.pt, metrics.jsonl, and the stage's data or filter
counts), model.pt (R1), evals/ (each stage's evaluation, cached by checkpoint; two at a time side by
side), eval.json, report.md (the stage table). A killed run resumes inside the stage it was in; a
finished stage is reused while the flags it reads (STAGE_FLAGS) are unchanged.
"""
from __future__ import annotations

import copy
import functools
import json
import random
import sys
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import torch

from r1mini import r1_data, rundir
from r1mini.checkpoint import CheckpointError, load_checkpoint, read_checkpoint, save_checkpoint
from r1mini.config import pick_device
from r1mini.curriculum import Curriculum
from r1mini.eval_cache import cached_evaluations, file_fingerprint
from r1mini.evaluate import add_eval_args, measures_the_same, protocol
from r1mini.flags import (ArgumentParser, add_grpo_args, add_stage_args, check_sequence_budget, fail, float_range,
                          grpo_config, int_range, parse_tasks)
from r1mini.r1_data import (adaptive_trivial_example, cold_start_example, deduplicate, direct_answers_right,
                            encode_examples, filter_answers, helpfulness_rule, non_reasoning_example, one_step_example,
                            r1_rewards)
from r1mini.report import plot_run, stage_table
from r1mini.rl_loop import train_grpo
from r1mini.rundir import RunDir
from r1mini.sft import finetune
from r1mini.tasks import TRAIN_LEVELS, TRIVIAL_LEVEL
from r1mini.train_utils import NonFiniteLossError


def parse_args(argv=None):
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
    # lower lr than R1-Zero's from the base (the paper: 3e-6 for R1's RL; why 5e-5 here: docs/design.md).
    p.set_defaults(max_new_tokens=192, lr=5e-5)
    g = p.add_argument_group("3. rejection sampling + SFT (Dev3)")
    # Many questions, few samples each: one answer is kept per question, and Dev3 needs about as many
    # distinct reasoning answers as the cold start had (docs/design.md).
    g.add_argument("--rejection-prompts", type=int_range(1, 100_000), default=3072, help="training questions Dev2 answers")
    g.add_argument("--rejection-samples", type=int_range(1, 64), default=2, help="Dev2 samples per question")
    g.add_argument("--rejection-keep", type=int_range(1, 64), default=1, help="at most this many kept answers per question")
    # Off by default: at this scale it costs accuracy for sounder self-checks (docs/design.md).
    g.add_argument("--sound-checks", action="store_true",
                   help="also require a self-check of one of the problem's own steps, one conclusion and a summary "
                        "stating the answer, and a stop (r1_data.concludes_soundly)")
    g.add_argument("--non-reasoning-share", type=float_range(0, 0.9), default=0.25,
                   help="share of the SFT set that is trivial questions, the non-reasoning data (paper: 200k of 800k)")
    # Chosen on the validation split (docs/design.md): "adaptive" is the shortest but R1 then answers
    # held-out facts directly and misses them; "step" is as accurate as R1-Zero and a fifth shorter.
    g.add_argument("--trivial-form", choices=("step", "adaptive"), default="step",
                   help="step: every trivial question worked out in one short sentence, Dev2's own column step "
                        "without its carry clause; adaptive: directly where Dev2 knows the fact "
                        "(--direct-probe-samples), else Dev2's own worked answer")
    g.add_argument("--direct-probe-samples", type=int_range(0, 64), default=4,
                   help="--trivial-form adaptive: a trivial question is answered directly only if Dev2 gets all of "
                        "this many direct answers right (at T = 1), else worked out; 0: every one directly")
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


def main(argv=None) -> int:
    args = parse_args(argv)
    t0 = time.perf_counter()
    try:
        with RunDir(args.out_dir, vars(args), args.overwrite, inputs=[args.zero, args.base]) as run:
            models = {"base": args.base, "R1-Zero": args.zero}
            models["Dev1"] = cold_start(args, run)
            models["Dev2"] = reasoning_rl(args, models["Dev1"], run)
            models["Dev3"] = rejection_sampling_sft(args, models["Dev2"], run)
            final_rl(args, models["Dev3"], run)
            models["R1"] = run.model
            final_report(args, models, run)
            run.finish()
    except (CheckpointError, NonFiniteLossError) as error:  # one line, not a traceback; resume files stay
        return fail(str(error))
    print(f"[r1] total {(time.perf_counter() - t0) / 60:.1f} min")
    return 0


# ---------------------------------------------------------------- the four stages, in the paper's order

def cold_start(args, run: RunDir) -> Path:
    """Stage 1: R1-Zero's verified, readable answers, rewritten, teach the base the readable format."""
    def build(stage: RunDir):
        zero, tokenizer, _ = load_checkpoint(args.zero, args.device)
        problems = training_problems(args, args.cold_start_prompts, "cold", include_trivial=False)
        answers = sample_answers(zero, tokenizer, problems, args.cold_start_samples, args.cold_start_temperature, args)
        rng, kept, reasons = random.Random(args.seed), [], Counter()
        for problem, completion in answers:
            rewritten, reason = cold_start_example(problem, completion, rng)
            reasons[reason] += 1
            if rewritten:
                kept.append((problem, rewritten))
        kept = deduplicate(kept, per_question=1)  # many distinct questions: a small model memorises repeats
        write_data(stage, "cold_start", kept, {"R1-Zero answers": len(answers), **reasons, "kept after dedup": len(kept)})
        if not kept:
            raise CheckpointError("R1-Zero gave no verified, readable answer to rewrite; train it longer")
        return sft_from_base(args, stage, encode_examples(tokenizer, kept), args.cold_start_steps, "cold-start SFT")
    return sub_stage(args, run, "dev1", build)


def reasoning_rl(args, dev1: Path, run: RunDir) -> Path:
    """Stage 2: GRPO from Dev1 with accuracy + format + language consistency, reasoning questions."""
    reward = functools.partial(r1_rewards, language=not args.no_language_reward)  # the ablation drops only that term
    return sub_stage(args, run, "dev2", lambda stage: rl(args, dev1, stage, args.reasoning_steps, lambda step: reward,
                                                         include_trivial=False, desc="reasoning RL"))


def rejection_sampling_sft(args, dev2: Path, run: RunDir) -> Path:
    """Stage 3: Dev2's best answers plus non-reasoning data; SFT the base on them."""
    def build(stage: RunDir):
        policy, tokenizer, _ = load_checkpoint(dev2, args.device)
        problems = training_problems(args, args.rejection_prompts, "rejection", include_trivial=False)
        answers = sample_answers(policy, tokenizer, problems, args.rejection_samples, args.temperature, args)
        kept, counts = filter_answers(answers, per_question=args.rejection_keep, sound_checks=args.sound_checks)
        # Non-reasoning data (the paper: ~200k of 800k): trivial questions, in the --trivial-form.
        n_trivial = round(len(kept) * args.non_reasoning_share / (1 - args.non_reasoning_share))
        trivial, kinds = trivial_examples(args, policy, tokenizer, training_problems(args, n_trivial, "trivial", only_trivial=True))
        write_data(stage, "rejection", kept + trivial, {**counts, "non-reasoning examples": len(trivial),
                                                        **{f"non-reasoning: {k}": v for k, v in sorted(kinds.items())}})
        if not kept:
            raise CheckpointError("Dev2 gave no answer that passes rejection sampling; train it longer")
        data = encode_examples(tokenizer, kept + trivial)
        print(f"[r1] rejection-sampling SFT: {len(data)} examples, {args.rejection_steps} steps "
              f"({args.rejection_steps * args.sft_batch_size / len(data):.1f} epochs)")
        return sft_from_base(args, stage, data, args.rejection_steps, "rejection-sampling SFT")
    return sub_stage(args, run, "dev3", build)


def trivial_examples(args, policy, tokenizer, problems) -> tuple[list, Counter]:
    """The non-reasoning data. --trivial-form step (the default) works every trivial question out in
    one short sentence of Dev2's own (r1_data.one_step_example); adaptive answers directly where all
    of Dev2's --direct-probe-samples direct answers are right, else with a worked answer of Dev2's own
    (r1_data.adaptive_trivial_example); adaptive with --direct-probe-samples 0 answers every one
    directly (the first rule)."""
    def own_worked_answers(asked):  # two of Dev2's sampled answers per question, in the order asked
        answers = [completion for _, completion in sample_answers(policy, tokenizer, asked, 2, args.temperature, args)]
        return [answers[2 * i: 2 * i + 2] for i in range(len(asked))]
    k = args.direct_probe_samples
    if args.trivial_form == "step":
        chosen = [(c, "step" if c else "dropped")
                  for c in (one_step_example(p, answers) for p, answers in zip(problems, own_worked_answers(problems)))]
    elif k == 0:
        chosen = [(non_reasoning_example(p), "direct") for p in problems]
    else:
        right = direct_answers_right(policy, tokenizer, problems, k, 1.0, args.seed)
        unsure = iter(own_worked_answers([p for p, n_right in zip(problems, right) if n_right < k]))
        chosen = [adaptive_trivial_example(p, n_right, k, [] if n_right == k else next(unsure))
                  for p, n_right in zip(problems, right)]
    return [(p, c) for p, (c, _) in zip(problems, chosen) if c], Counter(kind for _, kind in chosen)


def final_rl(args, dev3: Path, run: RunDir) -> None:
    """Stage 4: GRPO from Dev3 over reasoning and trivial questions; the helpfulness rule only at the end."""
    base_reward = functools.partial(r1_rewards, language=not args.no_language_reward)
    switch_on = args.final_steps - round(args.helpful_share * args.final_steps)

    def reward_for_step(step: int):
        if step < switch_on:
            return base_reward
        return lambda completion, problem: {**base_reward(completion, problem), **helpfulness_rule(completion, problem)}
    policy = rl(args, dev3, run, args.final_steps, reward_for_step, include_trivial=True, desc="all-scenario RL")
    save_checkpoint(run.model, policy, {"stage": "r1", "dev3": str(dev3), "grpo": asdict(grpo_config(args)),
                                        "steps": args.final_steps, "seed": args.seed})


# ---------------------------------------------------------------- what the stages share

# The flags each sub-stage depends on, its earlier stages' included. A stage is reused while these
# are unchanged: --final-steps rebuilds none of Dev1 to Dev3, and --no-language-reward starts at Dev2.
# The output directory is not among them, so a stage copied into another --out-dir is reused there.
COLD_START_FLAGS = ("tasks", "seed", "max_new_tokens", "cold_start_prompts", "cold_start_samples",
                    "cold_start_temperature", "cold_start_steps", "sft_lr", "sft_batch_size")
RL_FLAGS = ("prompts_per_step", "group_size", "lr", "kl_coef", "clip_eps", "clip_eps_high", "updates_per_batch",
            "temperature", "loss_agg", "no_std_norm", "zero_std_groups", "max_sampling_rounds", "no_curriculum",
            "ref_reset_every", "no_language_reward")
STAGE_FLAGS = {"dev1": COLD_START_FLAGS,
               "dev2": (*COLD_START_FLAGS, *RL_FLAGS, "reasoning_steps"),
               "dev3": (*COLD_START_FLAGS, *RL_FLAGS, "reasoning_steps", "rejection_prompts", "rejection_samples",
                        "rejection_keep", "sound_checks", "non_reasoning_share", "direct_probe_samples", "trivial_form", "rejection_steps")}


def sub_stage(args, run: RunDir, name: str, build) -> Path:
    """A stage in out_dir/name: reused if it finished earlier with the same flags and inputs (the
    checkpoints by content: a retrained R1-Zero is not the one a finished stage used), resumed if killed."""
    flags = {flag: getattr(args, flag) for flag in STAGE_FLAGS[name]}
    inputs = {"zero_sha256": file_fingerprint(args.zero), "base_sha256": file_fingerprint(args.base)}
    return rundir.sub_stage(run.dir / name, {**flags, **inputs}, args.overwrite, build, "r1")


def training_problems(args, n: int, purpose: str, include_trivial: bool = True, only_trivial: bool = False):
    return r1_data.training_problems(args.seed, args.tasks, n, purpose, include_trivial, only_trivial)


def sample_answers(model, tokenizer, problems, samples: int, temperature: float, args):
    return r1_data.sample_answers(model, tokenizer, problems, samples, temperature, args.max_new_tokens, args.seed)


def write_data(stage: RunDir, name: str, pairs, counts: dict) -> None:
    rundir.write_data(stage.dir, name, pairs, counts, "r1")


def sft_from_base(args, stage: RunDir, data, steps: int, desc: str):
    """Both SFT stages restart from the *base* (R1 v2 B.4: from V3-Base), cosine decay to 1/10."""
    return finetune(args.base, data, steps, args.sft_batch_size, args.sft_lr, args.device, stage, args.seed, desc,
                    resume_every=args.resume_every * 10)


def rl(args, start: Path, stage: RunDir, steps: int, reward_for_step, include_trivial: bool, desc: str):
    """GRPO from `start` with the reference frozen at `start` (both R1 RL stages)."""
    policy, tokenizer, _ = load_checkpoint(start, args.device)
    ref_model = copy.deepcopy(policy).eval().requires_grad_(False)
    levels = None if include_trivial else {t: [lv for lv in TRAIN_LEVELS[t] if lv != TRIVIAL_LEVEL] for t in args.tasks}
    cfg = grpo_config(args)
    curriculum = Curriculum(args.tasks, cfg.group_size, enabled=not args.no_curriculum, levels=levels)
    torch.manual_seed(args.seed)
    train_grpo(policy, ref_model, tokenizer, cfg, stage, steps, curriculum, random.Random(args.seed),
               reward_for_step, args.device, desc, resume_every=args.resume_every, ref_reset_every=args.ref_reset_every)
    plot_run(stage.metrics, stage.dir)
    return policy


def final_report(args, models: dict[str, Path], run: RunDir) -> None:
    """Every stage on the same held-out questions: eval.json and report.md (the stage table). The base
    and R1-Zero rows are taken from train_zero.py's eval.json when it used the same settings."""
    settings = dict(n_problems=args.eval_problems, k=args.eval_k, seed=args.seed,
                    max_new_tokens=args.eval_max_new_tokens, split=args.eval_split)
    evals = earlier_zero_evals(args.zero, args.base, args.tasks, settings)
    evals.update(cached_evaluations({name: path for name, path in models.items() if name not in evals},
                                    args.tasks, settings, run.dir / "evals", args.device, "r1"))
    evals = {name: evals[name] for name in models}
    (run.dir / "eval.json").write_text(json.dumps(evals, indent=1))
    counts = {name: json.loads((run.dir / d / f"{name}_counts.json").read_text())
              for d, name in (("dev1", "cold_start"), ("dev3", "rejection"))}
    report = stage_table(evals, counts, protocol(args.eval_problems, args.eval_k, args.eval_split))
    (run.dir / "report.md").write_text(report)
    print(report.split("\n## ")[0])
    print(f"[r1] wrote {run.model} and {run.dir / 'report.md'}")


def earlier_zero_evals(zero, base, tasks, settings: dict) -> dict:
    """train_zero.py's evaluations of the base and R1-Zero (the eval.json beside `zero`), if they are
    of these checkpoints, tasks and settings: then evaluating again would only repeat them."""
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


if __name__ == "__main__":
    sys.exit(main())
