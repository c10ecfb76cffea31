"""95% intervals for the evaluation numbers, by a question-level bootstrap.

Why not the binomial formula? An evaluation samples k answers to each of n questions, and the k
answers to one question are not independent draws: a question the model can do it gets right most
times, one it cannot it gets wrong most times. The binomial over n*k samples treats them as
independent and so is too narrow, by up to sqrt(k) when a question's k answers all agree. What varies
from one held-out set to another is the *questions*, so the bootstrap resamples questions, with
replacement, keeping each question's k samples together: a question contributes one value (its
share of right answers for pass@1, its 0/1 vote for cons@k), and the interval is that of the mean of
these values. It is the percentile bootstrap: the 2.5th and 97.5th percentiles of the resampled means.

Two models evaluated on the same questions are compared *paired*: one resample of question indices
is applied to both, so what the two share (a question's difficulty) cancels and the interval is for
the difference itself, much narrower than two separate intervals would suggest. A model against
itself gives exactly 0, with an interval of zero width.

The resampling has its own fixed seed, so an interval is reproducible and no other random state
(torch's, Python's) is touched. With few questions (a level has 20) the percentile bootstrap is
somewhat too narrow and only rough; with 1 it has zero width, and so has a row whose questions were
all right (or all wrong): the bootstrap cannot see past the questions it has, so read `1.000 [1.00,
1.00]` as "20 out of 20", not as certainty. It measures the spread over questions
for these sampled answers: another seed or another machine moves the numbers too, which no interval
over questions can show.
"""
from __future__ import annotations

import numpy as np

from r1mini.tasks import HARD_LEVELS, TRAIN_LEVELS

RESAMPLES = 2000
CONFIDENCE = 0.95
BOOTSTRAP_SEED = 0


def _resampled_means(values: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """The mean of `values` over `resamples` resamples of the same size, with replacement; drawn in
    blocks of about a million so that thousands of questions never need a huge index matrix."""
    rng = np.random.default_rng(seed)
    n = len(values)
    means = np.empty(resamples)
    block = max(1, 1_000_000 // n)
    for start in range(0, resamples, block):
        size = min(block, resamples - start)
        means[start:start + size] = values[rng.integers(0, n, size=(size, n))].mean(axis=1)
    return means


def bootstrap_interval(per_question_values, confidence: float = CONFIDENCE, resamples: int = RESAMPLES,
                       seed: int = BOOTSTRAP_SEED) -> tuple[float, float] | None:
    """(lo, hi): the percentile-bootstrap interval of the mean of one value per question (its
    correct/k for pass@1, its 0/1 vote for cons@k); None when there are no questions."""
    values = np.asarray(per_question_values, dtype=float)
    if len(values) == 0:
        return None
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(_resampled_means(values, resamples, seed), [tail, 100 - tail])
    return float(lo), float(hi)


def paired_interval(values_a, values_b, confidence: float = CONFIDENCE, resamples: int = RESAMPLES,
                    seed: int = BOOTSTRAP_SEED) -> tuple[float, float, float]:
    """(diff, lo, hi): the difference of means B − A over the same questions (values_a[i] and
    values_b[i] are one question's), and its interval. Resampling question indices once and
    applying them to both models is resampling the per-question differences: that is what it does."""
    a, b = np.asarray(values_a, dtype=float), np.asarray(values_b, dtype=float)
    if a.shape != b.shape or len(a) == 0:
        raise ValueError(f"paired values need the same questions: got {len(a)} and {len(b)}")
    lo, hi = bootstrap_interval(b - a, confidence, resamples, seed)
    return float(b.mean() - a.mean()), lo, hi


def excludes_zero(lo: float, hi: float) -> bool:
    """Whether an interval for a difference lies wholly on one side of 0: a difference the
    questions resolve (at this confidence), rather than one that could be noise."""
    return lo > 0 or hi < 0


def question_values(result: dict, metric: str, hard: bool = False) -> dict[tuple, float] | None:
    """One value per question of an evaluate_model result, keyed by (task, level, question): its
    share of right samples ("pass@1") or its vote (0/1, "cons@k"), on the training levels or the
    harder ones. None for a result written before results kept their questions."""
    if "questions" not in result:
        return None
    levels, k = HARD_LEVELS if hard else TRAIN_LEVELS, result["settings"]["k"]
    return {(q["task"], q["level"], q["question"]): q["correct"] / k if metric == "pass@1" else float(q["cons"])
            for q in result["questions"] if q["level"] in levels[q["task"]]}


def paired_difference(result_a: dict, result_b: dict, metric: str, hard: bool = False) -> tuple[float, float, float] | None:
    """paired_interval of `metric` ("pass@1" or "cons@k") from model A to model B, two
    evaluate_model results; None when they were not evaluated on the same questions (or one of
    them kept no questions) — a pairing needs every question on both sides."""
    a, b = question_values(result_a, metric, hard), question_values(result_b, metric, hard)
    if not a or not b or set(a) != set(b):
        return None
    keys = sorted(a)
    return paired_interval([a[key] for key in keys], [b[key] for key in keys])


def format_interval(value: float, interval) -> str:
    """`0.872 [0.83, 0.91]`: the value to 3 decimals, its interval to 2 (the interval is not known
    better than that); the value alone when there is no interval (an older result)."""
    if not interval:
        return f"{value:.3f}"
    return f"{value:.3f} [{interval[0]:.2f}, {interval[1]:.2f}]"


def format_difference(paired) -> str:
    """`+0.484 [+0.45, +0.52], excludes 0` for a paired_interval; `–` for none."""
    if paired is None:
        return "–"
    diff, lo, hi = paired
    return f"{diff:+.3f} [{lo:+.2f}, {hi:+.2f}], {'excludes' if excludes_zero(lo, hi) else 'includes'} 0"
