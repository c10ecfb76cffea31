"""Lab 3, clipping: what does the clip in min(ρA, clip(ρ, 1−ε, 1+ε)A) do once the policy moves?

With one update per batch ρ = π_θ/π_old is exactly 1 and the clip never acts. Here each batch is
used for μ = 4 gradient steps (updates_per_batch), so by the later steps π_θ has moved away from
the policy that sampled the answers. Two arms: ε = 0.2 (the default) and ε = 10 (clipping
effectively off: ρ would have to exceed 11). The check reads the loop's `clip_fraction`: the
share of completion tokens whose objective term the min replaced by the clipped one, in the last
of the μ updates of each step.

    python -m exercises.labs.clipping
    python -m exercises.labs.clipping --check-only --out-dir DIR   # DIR/eps0.2, DIR/eps10 hold metrics.jsonl
"""
from __future__ import annotations

from pathlib import Path

from exercises.labs.common import mean_of, report, run_toy_arm, step_records, toy_lab_main

STEPS = 20
UPDATES_PER_BATCH = 4
ARMS = {"eps0.2": 0.2, "eps10": 10.0}
MIN_CLIPPED = 0.10    # mean clip fraction with ε = 0.2: measured 0.29-0.37 on seeds 0-2
MAX_UNCLIPPED = 0.02  # mean clip fraction with ε = 10: measured at most 0.0032
# The clip is a brake: with ε = 0.2 the policy must end up nearer the reference than with ε = 10.
# Mean KL (the loop's `kl`, β = 0.01), ε = 10 over ε = 0.2: measured 2.3-3.0 on seeds 0-2.
MIN_KL_RATIO = 1.5


def check(clipped_metrics, unclipped_metrics) -> tuple[bool, str]:
    """PASS when the ε = 0.2 run clips at least MIN_CLIPPED of its tokens on average, the ε = 10 run
    at most MAX_UNCLIPPED, and the ε = 10 run drifts at least MIN_KL_RATIO times as far from the
    reference (mean KL). The clip fraction alone is a diagnostic the loss reports about itself; the
    KL says whether the clip acted on the update (a loss that reports clipping but never clips fails)."""
    clipped, unclipped = step_records(clipped_metrics), step_records(unclipped_metrics)
    c, u = mean_of(clipped, "clip_fraction"), mean_of(unclipped, "clip_fraction")
    kl_ratio = mean_of(unclipped, "kl") / max(mean_of(clipped, "kl"), 1e-12)
    passed = c >= MIN_CLIPPED and u <= MAX_UNCLIPPED and kl_ratio >= MIN_KL_RATIO
    return passed, (f"mean clip fraction: eps 0.2 {c:.3f} (need ≥ {MIN_CLIPPED}), eps 10 {u:.4f} (need ≤ {MAX_UNCLIPPED}); "
                    f"mean KL eps 10 / eps 0.2 = {kl_ratio:.2f} (need ≥ {MIN_KL_RATIO})")


def run(out_dir, seed: int = 0, steps: int = STEPS) -> dict[str, Path]:
    return {name: run_toy_arm(Path(out_dir) / name, seed, steps, updates_per_batch=UPDATES_PER_BATCH, clip_eps=eps)
            for name, eps in ARMS.items()}


def summary(arms: dict[str, Path]) -> tuple[bool, str, str]:
    passed, message = check(arms["eps0.2"], arms["eps10"])
    rows = []
    for name, eps in ARMS.items():
        records = step_records(arms[name])
        rows.append([name, eps, mean_of(records, "clip_fraction"), max(r["clip_fraction"] for r in records),
                     mean_of(records, "kl"), mean_of(records, "reward", 5)])
    text = report("Lab 3: clipping", rows, ["arm", "clip_eps", "clip fraction (mean)", "clip fraction (max)",
                                           "KL (mean)", "reward (last 5)"], passed, message)
    return passed, message, text


def main(argv=None) -> int:
    return toy_lab_main(argv, "clipping", "Lab 3: clipping (eps 0.2 vs 10, 4 updates per batch), tiny model, toy reward.",
                        ARMS, run, lambda arms, args: summary(arms), STEPS)
