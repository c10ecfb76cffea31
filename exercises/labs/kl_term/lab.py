"""Lab 1, the KL term: what does β·KL(π_θ‖π_ref) in the GRPO objective actually hold back?

Two arms train the same tiny policy on the same toy reward, one with β = 0 and one with β = 0.5,
and the check compares how far each policy ends up from the reference. Where the KL is measured:
r1mini skips the reference model's forward pass when β = 0 (nothing in the loss needs it), so the
loop then logs kl = 0. This lab therefore wraps the step and, after each update, measures the same
k3 estimator (grpo.grpo_loss's) on the step's own answers, for both arms alike: `kl_to_ref`.

    python -m exercises.labs.kl_term                       # train both arms, check, print
    python -m exercises.labs.kl_term --check-only          # check logs already in --out-dir
"""
from __future__ import annotations

from pathlib import Path

import torch

from exercises.labs.common import mean_of, report, run_toy_arm, step_records, toy_lab_main
from r1mini import grpo_fast
from r1mini.grpo import completion_batch, completion_logprobs
from r1mini.tokenizer import get_tokenizer

STEPS = 20
BETAS = {"beta0": 0.0, "beta0.5": 0.5}
LAST = 10          # the check averages the last 10 steps: the KL has had time to grow by then
MIN_RATIO = 3.0    # calibrated on seeds 0, 1, 2: see README.md (lowest measured ratio 6.3)


def kl_to_ref(policy, ref_model, groups, temperature: float) -> float:
    """Token mean of the k3 estimate of KL(π_θ‖π_ref) over the completions in `groups`, with π at the
    rollout temperature, exactly as grpo_loss computes it (but never skipped)."""
    tok = get_tokenizer()
    inputs, targets, mask = completion_batch([g.prompt for g in groups for _ in g.completions],
                                             [c for g in groups for c in g.completions], tok.pad_id, "cpu")
    with torch.no_grad():
        log_ratio = (completion_logprobs(ref_model, inputs, targets, temperature)
                     - completion_logprobs(policy, inputs, targets, temperature))
        k3 = torch.exp(log_ratio) - log_ratio - 1
    return float((k3 * mask).sum() / mask.sum())


def measuring_step(*args, **kwargs):
    """grpo_fast.fast_grpo_step, then the KL of the updated policy to the reference on its answers."""
    stats, sampled = grpo_fast.fast_grpo_step(*args, **kwargs)
    policy, ref_model, cfg = args[0], args[1], args[5]
    stats["kl_to_ref"] = kl_to_ref(policy, ref_model, sampled, cfg.temperature)
    return stats, sampled


def kl_of(metrics_path, last: int = LAST) -> float:
    """The mean KL to the reference over the last steps of a run: `kl_to_ref` when this lab wrote
    the log, else the loop's own `kl` (which reads 0 for a β = 0 run of train_zero.py)."""
    records = step_records(metrics_path)
    key = "kl_to_ref" if "kl_to_ref" in records[-1] else "kl"
    return mean_of(records, key, last)


def check(no_penalty_metrics, penalty_metrics, min_ratio: float = MIN_RATIO) -> tuple[bool, str]:
    """PASS when the run without the KL penalty ends at least `min_ratio` times farther from the
    reference (mean KL over the last steps) than the run with β = 0.5."""
    free, held = kl_of(no_penalty_metrics), kl_of(penalty_metrics)
    if free == 0.0:
        return False, ("the beta 0 run logged KL 0 on every step: r1mini skips the reference pass at beta 0; "
                       "run it through this lab, which measures kl_to_ref")
    ratio = free / max(held, 1e-12)
    verdict = "≥" if ratio >= min_ratio else "<"
    return ratio >= min_ratio, (f"KL(beta 0) / KL(beta 0.5) over the last {LAST} steps = {free:.4f} / {held:.4f} "
                                f"= {ratio:.1f} {verdict} {min_ratio}")


def run(out_dir, seed: int = 0, steps: int = STEPS) -> dict[str, Path]:
    return {name: run_toy_arm(Path(out_dir) / name, seed, steps, step_fn=measuring_step, kl_coef=beta)
            for name, beta in BETAS.items()}


def summary(arms: dict[str, Path]) -> tuple[bool, str, str]:
    passed, message = check(arms["beta0"], arms["beta0.5"])
    rows = []
    for name, path in arms.items():
        records = step_records(path)
        rows.append([name, BETAS[name], mean_of(records, "reward", 5), mean_of(records, "kl_to_ref", LAST),
                     max(r["kl_to_ref"] for r in records)])
    text = report("Lab 1: the KL term", rows, ["arm", "beta", "reward (last 5)", f"KL to ref (last {LAST})",
                                              "KL max"], passed, message)
    return passed, message, text


def main(argv=None) -> int:
    return toy_lab_main(argv, "kl_term", "Lab 1: the KL term (beta 0 vs 0.5) on the tiny model, toy reward.", BETAS,
                        run, lambda arms, args: summary(arms), STEPS)
