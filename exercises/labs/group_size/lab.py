"""Lab 2, group size: how many groups carry no signal, and can you predict it from the pass rate?

A group whose G answers all score the same has advantage 0 everywhere: GRPO learns nothing from it.
If each answer is right with probability p, a group is informative with probability
1 − p^G − (1 − p)^G (curriculum.informative_chance; exercise 09). Two arms sample the same number of
answers per step (64), as 32 groups of G = 2 or 8 groups of G = 8, and keep every group
(zero_std_groups="keep", so the loop's `frac_reward_zero_std` is the raw share of all-equal groups).
The check compares that share with the prediction from the step's own pass rate.

    python -m exercises.labs.group_size
    python -m exercises.labs.group_size --check-only --out-dir DIR   # DIR/G2, DIR/G8 hold metrics.jsonl
"""
from __future__ import annotations

import statistics
from pathlib import Path

from exercises.labs.common import chosen_function, report, run_toy_arm, step_records, toy_lab_main
from r1mini.curriculum import informative_chance

STEPS = 20
ANSWERS_PER_STEP = 64
ARMS = {"G2": 2, "G8": 8}
# Only the steps whose pass rate is between these count: at p near 0 or 1 every group is all-equal
# whatever G is, and those steps would say nothing about G.
MIDDLE = (0.1, 0.9)
MIN_MIDDLE_STEPS = 4   # measured 7-10 per arm on seeds 0-2
MIN_GAP = 0.3          # all-equal share, G2 minus G8, on the middle steps: measured 0.53-0.55
MAX_ERROR = 0.1        # |measured - predicted| share, per arm: measured at most 0.032


def middle_steps(metrics_path) -> list[dict]:
    return [r for r in step_records(metrics_path) if MIDDLE[0] <= r["reward_accuracy"] <= MIDDLE[1]]


def measured_and_predicted(metrics_path, group_size: int, chance=informative_chance) -> tuple[float, float, int]:
    """(mean share of all-equal groups, mean predicted share 1 − chance(p, G), number of steps) over
    the middle steps, p being each step's pass rate (reward_accuracy: the mean accuracy of its answers)."""
    steps = middle_steps(metrics_path)
    if not steps:
        return float("nan"), float("nan"), 0
    measured = statistics.fmean(r["frac_reward_zero_std"] for r in steps)
    predicted = statistics.fmean(1 - chance(r["reward_accuracy"], group_size) for r in steps)
    return measured, predicted, len(steps)


def check(g2_metrics, g8_metrics, chance=informative_chance) -> tuple[bool, str]:
    """PASS when (1) G = 2 wastes at least MIN_GAP more of its groups than G = 8 at middle pass rates and
    (2) in each arm the share of all-equal groups is within MAX_ERROR of 1 − chance(p, G). `chance`
    may be a student's informative-group chance (exercise 09)."""
    m2, p2, n2 = measured_and_predicted(g2_metrics, 2, chance)
    m8, p8, n8 = measured_and_predicted(g8_metrics, 8, chance)
    if min(n2, n8) < MIN_MIDDLE_STEPS:
        return False, (f"only {n2} (G2) and {n8} (G8) steps had a pass rate in {MIDDLE}; need {MIN_MIDDLE_STEPS} "
                       "each (did the policy learn? train longer)")
    problems = []
    if m2 - m8 < MIN_GAP:
        problems.append(f"gap {m2 - m8:.3f} < {MIN_GAP}")
    for name, m, p in (("G2", m2, p2), ("G8", m8, p8)):
        if not abs(m - p) <= MAX_ERROR:
            problems.append(f"{name}: measured {m:.3f} vs predicted {p:.3f}, off by more than {MAX_ERROR}")
    message = (f"all-equal share on middle steps: G2 {m2:.3f} (predicted {p2:.3f}), G8 {m8:.3f} (predicted {p8:.3f}); "
               f"gap {m2 - m8:.3f} (need ≥ {MIN_GAP}); need each within {MAX_ERROR} of its prediction")
    return not problems, message + ("" if not problems else "; failed: " + "; ".join(problems))


def run(out_dir, seed: int = 0, steps: int = STEPS) -> dict[str, Path]:
    return {name: run_toy_arm(Path(out_dir) / name, seed, steps, group_size=g, prompts_per_step=ANSWERS_PER_STEP // g)
            for name, g in ARMS.items()}


def summary(arms: dict[str, Path], chance=informative_chance) -> tuple[bool, str, str]:
    passed, message = check(arms["G2"], arms["G8"], chance)
    rows = []
    for name, g in ARMS.items():
        m, p, n = measured_and_predicted(arms[name], g, chance)
        every = step_records(arms[name])
        rows.append([name, ANSWERS_PER_STEP // g, n, m, p,
                     statistics.fmean(r["frac_reward_zero_std"] for r in every)])
    text = report("Lab 2: group size", rows, ["arm", "groups/step", f"steps with p in {MIDDLE}", "all-equal share",
                                             "predicted 1-chance(p,G)", "all-equal share, all steps"], passed, message)
    return passed, message, text


def main(argv=None) -> int:
    # With --impl student (or a mutant of exercise 09) the prediction uses that informative_chance.
    return toy_lab_main(argv, "group_size", "Lab 2: group size (G 2 vs 8) on the tiny model, toy reward.", ARMS, run,
                        lambda arms, args: summary(arms, chosen_function(args, "09", "informative_chance",
                                                                         informative_chance)), STEPS)
