"""GRPO tests: advantages and loss against hand computations, the k3 KL, clipping, the direction of
the gradient, the curriculum, and a tiny end-to-end run that must learn a toy reward."""
import copy
import itertools
import math
import random
from collections import Counter
from dataclasses import replace

import pytest
import torch

from r1mini.curriculum import Curriculum, informative_chance
from r1mini.grpo import (AGGREGATIONS, GRPOConfig, completion_batch, completion_logprobs, group_advantages, grpo_loss,
                         grpo_step, sample_groups)
from r1mini.grpo_fast import accumulate_gradient, chunked_logprobs, fast_grpo_step, row_chunks
from r1mini.train_utils import make_optimizer
from r1mini.tasks import TRAIN_LEVELS, Problem, generate_problem
from r1mini.tokenizer import get_tokenizer

from conftest import make_tiny_model

EPS = 1e-4  # group_advantages' default eps, added to the std


# ---------------------------------------------------------------- group advantages

def test_group_advantages_hand_worked():
    rewards = torch.tensor([1.0, 0.0, 0.0, 0.0, 2.0, 2.0, 2.0, 2.0, 0.0, 1.0, 0.5, 0.5])
    # group 1: mean 0.25, deviations (.75, -.25, -.25, -.25), sample var (.5625 + 3 * .0625) / 3 = .25, std .5
    # group 2: all equal -> 0
    # group 3: mean .5, deviations (-.5, .5, 0, 0), sample var .5 / 3, std sqrt(1/6) = 0.408248290463863
    std3 = 0.408248290463863
    expected = [0.75 / 0.5001, -0.25 / 0.5001, -0.25 / 0.5001, -0.25 / 0.5001,
                0.0, 0.0, 0.0, 0.0,
                -0.5 / (std3 + EPS), 0.5 / (std3 + EPS), 0.0, 0.0]
    torch.testing.assert_close(group_advantages(rewards, 4), torch.tensor(expected), rtol=1e-6, atol=1e-6)


def test_group_advantages_group_of_two():
    # mean .5, sample std sqrt(.5) = 0.7071067811865476 (torch.std is the unbiased estimator)
    got = group_advantages(torch.tensor([1.0, 0.0]), 2)
    torch.testing.assert_close(got, torch.tensor([0.5 / 0.7072067811865476, -0.5 / 0.7072067811865476]))


def test_group_advantages_zero_variance_gives_zeros():
    for value in (0.0, 1.0, 3.5):
        adv = group_advantages(torch.full((8,), value), 4)
        assert torch.equal(adv, torch.zeros(8))
    assert torch.equal(group_advantages(torch.ones(8), 4, normalize_std=False), torch.zeros(8))


def test_group_advantages_without_std_only_centers():
    rewards = torch.tensor([1.0, 0.0, 0.0, 0.0, 3.0, 1.0, 2.0, 2.0])
    expected = torch.tensor([0.75, -0.25, -0.25, -0.25, 1.0, -1.0, 0.0, 0.0])
    torch.testing.assert_close(group_advantages(rewards, 4, normalize_std=False), expected)


def test_group_advantages_accepts_integer_rewards_and_keeps_groups_apart():
    adv = group_advantages(torch.tensor([1, 0, 1, 1]), 2)  # group 2 is all 1s, group 1 is not
    assert adv.dtype == torch.float32
    assert adv[0] > 0 > adv[1] and adv[2] == adv[3] == 0


@pytest.mark.parametrize("n,g", [(7, 4), (6, 4), (3, 2), (5, 8)])
def test_group_advantages_wrong_size_raises(n, g):
    with pytest.raises(ValueError):
        group_advantages(torch.zeros(n), g)


# ---------------------------------------------------------------- the loss, by hand

# Two completions of 3 and 2 tokens (the last column of row 2 is padding, filled with values that
# would change every result if the mask were ignored). ε = 0.2, β = 0.1.
LOGPROBS = [[-1.0, -2.0, -0.5], [-0.3, -1.2, -9.0]]
OLD = [[-1.1, -2.5, -0.2], [-0.6, -0.9, 0.0]]
REF = [[-1.0, -2.5, -0.5], [-0.5, -1.2, -3.0]]
ADV = [1.0, -2.0]
MASK = [[1, 1, 1], [1, 1, 0]]
# Per token: ratio ρ = exp(lp - old); surrogate = min(ρA, clip(ρ, .8, 1.2)A); d = ref - lp;
# KL = e^d - d - 1; loss term = -(surrogate - β KL).
#   (0,0) ρ = e^.1 = 1.10517   A=+1  surrogate 1.10517 (inside the clip range)   KL 0
#   (0,1) ρ = e^.5 = 1.64872   A=+1  surrogate 1.2     (clipped above)           KL e^-.5 + .5 - 1 = .106531
#   (0,2) ρ = e^-.3 = 0.74082  A=+1  surrogate 0.74082 (min keeps the lower ρA)  KL 0
#   (1,0) ρ = e^.3 = 1.34986   A=-2  surrogate -2.69972 (min keeps ρA)           KL e^-.2 + .2 - 1 = .018731
#   (1,1) ρ = e^-.3 = 0.74082  A=-2  surrogate -1.6    (clipped below)           KL 0
PER_TOKEN = [[-1.1051709180756477, -1.2 + 0.1 * 0.10653065971263342, -0.7408182206817179],
             [2.6997176151520064 + 0.1 * 0.018730753077981888, 1.6]]
ROW_SUMS = [sum(PER_TOKEN[0]), sum(PER_TOKEN[1])]
EXPECTED = {
    "seq_mean": (ROW_SUMS[0] / 3 + ROW_SUMS[1] / 2) / 2,   # mean per sequence, then over sequences
    "token_mean": (ROW_SUMS[0] + ROW_SUMS[1]) / 5,         # over all 5 real tokens
    "constant": (ROW_SUMS[0] + ROW_SUMS[1]) / 12,          # a fixed number for the run: here 12
}


def hand_inputs(requires_grad=False):
    lp = torch.tensor(LOGPROBS, requires_grad=requires_grad)
    return lp, torch.tensor(OLD), torch.tensor(REF), torch.tensor(ADV), torch.tensor(MASK)


@pytest.mark.parametrize("aggregation", AGGREGATIONS)
def test_grpo_loss_matches_hand_computation(aggregation):
    loss, stats = grpo_loss(*hand_inputs(), clip_eps=0.2, kl_coef=0.1, aggregation=aggregation, constant_norm=12)
    assert loss.item() == pytest.approx(EXPECTED[aggregation], rel=1e-5)
    assert stats["clip_fraction"] == pytest.approx(2 / 5)      # tokens (0,1) and (1,1); padding ignored
    assert stats["kl"] == pytest.approx((0.10653065971263342 + 0.018730753077981888) / 5, rel=1e-5)
    ratios = [1.1051709180756477, 1.6487212707001282, 0.7408182206817179, 1.3498588075760032, 0.7408182206817179]
    assert stats["ratio_mean"] == pytest.approx(sum(ratios) / 5, rel=1e-5)


def test_constant_aggregation_does_not_depend_on_the_rows_that_survive():
    """Dr. GRPO divides by a number fixed for the run: dropping a row (say, a filtered group) removes
    its terms from the sum but must not change the denominator."""
    lp, old, ref, adv, mask = hand_inputs()
    both, _ = grpo_loss(lp, old, ref, adv, mask, kl_coef=0.1, aggregation="constant", constant_norm=8)
    first, _ = grpo_loss(lp[:1], old[:1], ref[:1], adv[:1], mask[:1], kl_coef=0.1, aggregation="constant",
                         constant_norm=8)
    assert both.item() == pytest.approx((ROW_SUMS[0] + ROW_SUMS[1]) / 8, rel=1e-5)
    assert first.item() == pytest.approx(ROW_SUMS[0] / 8, rel=1e-5)
    with pytest.raises(ValueError, match="constant_norm"):
        grpo_loss(lp, old, ref, adv, mask, aggregation="constant")


def test_config_and_loss_share_one_default_aggregation():
    import inspect
    default = inspect.signature(grpo_loss).parameters["aggregation"].default
    assert GRPOConfig().aggregation == default == "token_mean"


def test_unknown_aggregation_raises():
    with pytest.raises(ValueError):
        grpo_loss(*hand_inputs(), aggregation="sum")


def test_grpo_loss_gradient_matches_hand_computation():
    # d(loss)/d(lp) per token for seq_mean: -(1/B)(1/|o_i|) * [d surrogate/d lp - β d KL/d lp]
    #   unclipped: d(ρA)/dlp = ρA;  clipped: 0;  d KL/d lp = 1 - e^(ref - lp)
    lp, old, ref, adv, mask = hand_inputs(requires_grad=True)
    loss, _ = grpo_loss(lp, old, ref, adv, mask, clip_eps=0.2, kl_coef=0.1, aggregation="seq_mean")
    loss.backward()
    d01 = 1 - math.exp(-0.5)
    d10 = 1 - math.exp(-0.2)
    expected = [[-(1.1051709180756477 - 0) / 6, -(0 - 0.1 * d01) / 6, -(0.7408182206817179 - 0) / 6],
                [-(1.3498588075760032 * -2 - 0.1 * d10) / 4, 0.0, 0.0]]
    torch.testing.assert_close(lp.grad, torch.tensor(expected), rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------- the k3 KL

def kl_of(ref_minus_policy: float) -> tuple[float, float]:
    """(KL stat, loss) for one token with A = 0, β = 1: both equal the k3 KL of that token."""
    lp = torch.tensor([[0.0]])
    loss, stats = grpo_loss(lp, lp, lp + ref_minus_policy, torch.zeros(1), torch.ones(1, 1), kl_coef=1.0)
    return stats["kl"], loss.item()


def test_k3_kl_is_nonnegative_and_matches_formula():
    for d in torch.linspace(-15, 15, 121).tolist():
        kl, loss = kl_of(d)
        assert kl >= 0 and loss >= 0
        assert kl == pytest.approx(math.exp(d) - d - 1, rel=1e-4, abs=1e-6)
        assert loss == pytest.approx(kl, rel=1e-6, abs=1e-7)


def test_kl_stat_is_the_masked_token_mean_of_k3():
    g = torch.Generator().manual_seed(0)
    lp = -torch.rand(16, 12, generator=g) * 8
    ref = -torch.rand(16, 12, generator=g) * 8
    mask = (torch.rand(16, 12, generator=g) > 0.3).float()
    _, stats = grpo_loss(lp, lp, ref, torch.zeros(16), mask, kl_coef=1.0)
    per_token = [math.exp(r - p) - (r - p) - 1 for p, r, m in zip(lp.flatten().tolist(), ref.flatten().tolist(),
                                                                  mask.flatten().tolist()) if m]
    assert stats["kl"] == pytest.approx(sum(per_token) / len(per_token), rel=1e-5)


def test_kl_is_exactly_zero_when_ref_equals_policy():
    lp, old, _, adv, mask = hand_inputs()
    loss_with_ref, stats = grpo_loss(lp, old, lp.clone(), adv, mask, clip_eps=0.2, kl_coef=0.1)
    loss_without, _ = grpo_loss(lp, old, None, adv, mask, clip_eps=0.2, kl_coef=0.1)
    assert stats["kl"] == 0.0
    assert loss_with_ref.item() == loss_without.item()


@pytest.mark.parametrize("d", [1000.0, -1000.0, 88.0, -88.0, 1e30, -1e30])
def test_kl_stays_finite_for_extreme_log_ratios(d):
    lp = torch.zeros(2, 3, requires_grad=True)
    ref = torch.full((2, 3), d)
    loss, stats = grpo_loss(lp, lp.detach(), ref, torch.tensor([1.0, -1.0]), torch.ones(2, 3), kl_coef=0.04)
    loss.backward()
    assert math.isfinite(loss.item()) and math.isfinite(stats["kl"]) and stats["kl"] > 0
    assert torch.isfinite(lp.grad).all()


@pytest.mark.parametrize("ref_minus_policy", [-25.0, -60.0])
def test_kl_still_pulls_back_where_the_policy_drifted_far_above_the_reference(ref_minus_policy):
    """k3's gradient in log π_θ is 1 − π_ref/π_θ ≈ 1 when π_θ ≫ π_ref: the loss must keep pushing
    that token's log-prob down, however far it drifted (a floor on the log-ratio zeroed it)."""
    lp = torch.zeros(1, 1, requires_grad=True)
    loss, stats = grpo_loss(lp, lp.detach(), lp.detach() + ref_minus_policy, torch.zeros(1), torch.ones(1, 1),
                            kl_coef=1.0)
    loss.backward()
    assert stats["kl"] == pytest.approx(-ref_minus_policy - 1, rel=1e-5)
    assert lp.grad.item() == pytest.approx(1.0, rel=1e-5)  # minimising lowers log π_θ


# ---------------------------------------------------------------- clipping

def one_token_loss(log_ratio: float, advantage: float, **kw):
    lp = torch.tensor([[0.0]], requires_grad=True)
    loss, stats = grpo_loss(lp, lp.detach() - log_ratio, None, torch.tensor([advantage]), torch.ones(1, 1),
                            kl_coef=0.0, **kw)
    loss.backward()
    return loss.item(), lp.grad.item(), stats


def test_clipped_ratio_has_no_gradient():
    # ρ = e ≫ 1 + ε with A > 0: the objective is the constant (1 + ε)A
    loss, grad, stats = one_token_loss(1.0, 1.0, clip_eps=0.2)
    assert loss == pytest.approx(-1.2) and grad == 0.0 and stats["clip_fraction"] == 1.0
    # ρ = 1/e ≪ 1 − ε with A < 0: the objective is the constant (1 − ε)A
    loss, grad, stats = one_token_loss(-1.0, -1.0, clip_eps=0.2)
    assert loss == pytest.approx(0.8) and grad == 0.0 and stats["clip_fraction"] == 1.0


def test_pessimistic_side_is_not_clipped():
    # ρ = e with A < 0 (and ρ = 1/e with A > 0): the min keeps ρA, the gradient flows
    loss, grad, stats = one_token_loss(1.0, -1.0, clip_eps=0.2)
    assert loss == pytest.approx(math.e) and grad == pytest.approx(math.e) and stats["clip_fraction"] == 0.0
    loss, grad, stats = one_token_loss(-1.0, 1.0, clip_eps=0.2)
    assert loss == pytest.approx(-1 / math.e) and grad == pytest.approx(-1 / math.e)
    assert stats["clip_fraction"] == 0.0


def test_inside_the_clip_range_nothing_is_clipped():
    loss, grad, stats = one_token_loss(math.log(1.1), 1.0, clip_eps=0.2)
    assert loss == pytest.approx(-1.1) and grad == pytest.approx(-1.1) and stats["clip_fraction"] == 0.0


def test_asymmetric_clip_eps_high():
    r = math.log(1.25)
    loss, grad, stats = one_token_loss(r, 1.0, clip_eps=0.2)  # symmetric: 1.25 > 1.2 is clipped
    assert loss == pytest.approx(-1.2) and grad == 0.0 and stats["clip_fraction"] == 1.0
    loss, grad, stats = one_token_loss(r, 1.0, clip_eps=0.2, clip_eps_high=0.28)  # 1.25 < 1.28: not clipped
    assert loss == pytest.approx(-1.25) and grad == pytest.approx(-1.25) and stats["clip_fraction"] == 0.0
    loss, _, _ = one_token_loss(math.log(2.0), 1.0, clip_eps=0.2, clip_eps_high=0.28)
    assert loss == pytest.approx(-1.28)
    # the low side still uses clip_eps
    loss, grad, stats = one_token_loss(math.log(0.75), -1.0, clip_eps=0.2, clip_eps_high=0.28)
    assert loss == pytest.approx(0.8) and grad == 0.0 and stats["clip_fraction"] == 1.0


# ---------------------------------------------------------------- the direction of the gradient

def softmax_policy_logprobs(logits, targets):
    return torch.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)


@pytest.mark.parametrize("aggregation", AGGREGATIONS)
def test_sgd_step_raises_good_and_lowers_bad_completions(aggregation):
    torch.manual_seed(0)
    logits = torch.randn(2, 4, 6, requires_grad=True)  # 2 completions, 4 steps, 6-token vocabulary
    targets = torch.tensor([[1, 2, 3, 4], [5, 0, 1, 2]])
    mask = torch.tensor([[1.0, 1, 1, 1], [1, 1, 1, 0]])
    adv = torch.tensor([1.0, -1.0])
    ref = softmax_policy_logprobs(logits, targets).detach()
    before = (softmax_policy_logprobs(logits, targets) * mask).sum(1).detach()
    lp = softmax_policy_logprobs(logits, targets)
    loss, _ = grpo_loss(lp, lp.detach(), ref, adv, mask, kl_coef=0.04, aggregation=aggregation, constant_norm=8)
    loss.backward()
    with torch.no_grad():
        logits -= 0.5 * logits.grad
    after = (softmax_policy_logprobs(logits, targets) * mask).sum(1)
    assert after[0] > before[0] + 1e-3   # positive advantage: more likely
    assert after[1] < before[1] - 1e-3   # negative advantage: less likely


def test_on_policy_gradient_is_the_policy_gradient():
    """With old = logprobs.detach() the ratio is 1 but its gradient is ∇log π: for seq_mean the
    gradient is that of -(1/B) Σ_i A_i/|o_i| Σ_t log π(o_i,t)."""
    torch.manual_seed(1)
    logits = torch.randn(3, 5, 7, requires_grad=True)
    targets = torch.randint(0, 7, (3, 5))
    mask = torch.tensor([[1.0, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 1, 1, 0, 0]])
    adv = torch.tensor([0.7, -1.3, 0.4])
    lp = softmax_policy_logprobs(logits, targets)
    loss, stats = grpo_loss(lp, lp.detach(), None, adv, mask, kl_coef=0.0, aggregation="seq_mean")
    assert stats["ratio_mean"] == 1.0 and stats["clip_fraction"] == 0.0
    (grad,) = torch.autograd.grad(loss, logits)
    lengths = torch.tensor([5.0, 2.0, 3.0])
    pg = -((adv / lengths) * (softmax_policy_logprobs(logits, targets) * mask).sum(1)).sum() / 3
    (expected,) = torch.autograd.grad(pg, logits)
    torch.testing.assert_close(grad, expected)
    # and per token, d loss / d log π = -A_i / (B |o_i|) on real tokens, 0 on padding
    lp = lp.detach().requires_grad_()
    loss, _ = grpo_loss(lp, lp.detach(), None, adv, mask, kl_coef=0.0, aggregation="seq_mean")
    loss.backward()
    torch.testing.assert_close(lp.grad, -(adv / lengths / 3)[:, None] * mask)


# ---------------------------------------------------------------- curriculum

def test_informative_chance_is_the_chance_of_a_mixed_group():
    for p in (0.0, 0.1, 0.5, 0.93, 1.0):
        for G in (2, 3, 8):
            # enumerate every right/wrong pattern of G answers: mixed = neither all right nor all wrong
            mixed = sum(p ** sum(bits) * (1 - p) ** (G - sum(bits))
                        for bits in itertools.product((0, 1), repeat=G) if 0 < sum(bits) < G)
            assert informative_chance(p, G) == pytest.approx(mixed)
    assert informative_chance(0.5, 2) == pytest.approx(0.5) and informative_chance(1.0, 8) == 0.0


def test_curriculum_samples_pairs_by_their_chance_of_an_informative_group():
    cur = Curriculum(tasks=("add", "mul", "logic"), group_size=8, min_weight=0.15)
    cur.pass_rate = {"add-2": 1.0, "add-3": 0.5, "logic-2": 0.0, "mul-2": 0.3, "mul-3": 0.05, "logic-3": 0.95,
                     "add-1": 1.0, "mul-1": 0.98, "logic-1": 0.92, "add-4": 0.0, "mul-4": 0.02, "logic-4": 0.8}
    weights = {key: max(informative_chance(rate, 8), 0.15) for key, rate in cur.pass_rate.items()}
    problems = cur.sample(random.Random(0), 6000)
    counts = Counter(f"{p.task}-{p.level}" for p in problems)
    for key, weight in weights.items():
        assert counts[key] / 6000 == pytest.approx(weight / sum(weights.values()), abs=0.015), key
    assert counts["add-3"] > 4 * counts["add-2"] > 0      # p = 0.5 is the most useful; solved ones are re-checked
    assert counts["logic-4"] > 2 * counts["logic-3"]      # p = 0.8 mixes more often than p = 0.95
    restricted = Curriculum(tasks=("add", "mul")).sample(random.Random(0), 500)
    assert {p.task for p in restricted} == {"add", "mul"}


def test_curriculum_informative_share_predicts_the_share_of_mixed_groups():
    cur = Curriculum(tasks=("add", "mul"), group_size=4)
    cur.pass_rate = {"add-1": 1.0, "add-2": 0.9, "add-3": 0.6, "add-4": 0.2, "mul-1": 0.99, "mul-2": 0.7}
    rng, mixed, n = random.Random(0), 0, 20000
    for problem in cur.sample(rng, n):  # simulate G answers per question at the pair's pass rate
        rate = cur.pass_rate.get(f"{problem.task}-{problem.level}", 0.5)
        rights = sum(rng.random() < rate for _ in range(4))
        mixed += 0 < rights < 4
    assert mixed / n == pytest.approx(cur.informative_share(), abs=0.01)
    solved = Curriculum(tasks=("add",), pass_rate={f"add-{lv}": 1.0 for lv in TRAIN_LEVELS["add"]})
    assert solved.informative_share() == 0.0
    assert Curriculum(tasks=("add",)).informative_share() == pytest.approx(1 - 2 * 0.5 ** 8)  # nothing seen yet


def test_curriculum_learns_the_informative_share_a_pass_rate_cannot_predict():
    """Half of a level's questions always right, half always wrong: the pass rate is 0.5, which the
    independent-answers model reads as nearly every group mixed, yet no group does. The observed
    share must take over, so the pair sinks to the floor, and the predicted share follows."""
    cur = Curriculum(tasks=("add",), group_size=8, momentum=0.7)
    bimodal, mixed = Problem("add", 3, "123+456", "579"), Problem("add", 2, "12+34", "46")
    for _ in range(20):
        cur.update([bimodal] * 4 + [mixed] * 4, [1, 1, 0, 0, 0.5, 0.5, 0.5, 0.5],
                   [False] * 4 + [True] * 4)
    assert cur.pass_rate["add-3"] == pytest.approx(0.5) and informative_chance(0.5, 8) > 0.99
    assert cur.chance(("add", 3)) == pytest.approx(0.0, abs=1e-9)
    assert cur.weight(("add", 3)) == cur.min_weight and cur.chance(("add", 2)) == pytest.approx(1.0)
    # pairs not seen yet keep the model's prior at p = 0.5
    assert cur.chance(("add", 4)) == pytest.approx(informative_chance(0.5, 8))
    rng, n = random.Random(0), 4000
    counts = Counter(p.level for p in cur.sample(rng, n))
    assert counts[2] > 10 * counts[3]
    share = cur.informative_share()
    weights = {lv: cur.weight(("add", lv)) for lv in TRAIN_LEVELS["add"]}
    expected = sum(w * cur.chance(("add", lv)) for lv, w in weights.items()) / sum(weights.values())
    assert share == pytest.approx(expected)


def test_curriculum_disabled_is_uniform_and_unseen_pairs_count_as_half_right():
    cur = Curriculum(tasks=("add",), enabled=False, pass_rate={"add-2": 1.0, "add-3": 1.0})
    levels = TRAIN_LEVELS["add"]
    counts = [sum(p.level == lv for p in cur.sample(random.Random(1), 2000)) for lv in levels]
    assert all(abs(c - 2000 / len(levels)) < 100 for c in counts)
    assert Curriculum(tasks=("add",)).weight(("add", 4)) == pytest.approx(1 - 2 * 0.5 ** 8)


def test_curriculum_update_moves_rates_toward_accuracy():
    cur = Curriculum(tasks=("add", "logic"), momentum=0.7)
    add2 = Problem("add", 2, "12+34", "46")
    logic3 = Problem("logic", 3, "((T and F) or T) xor F", "T")
    cur.update([add2] * 4 + [logic3] * 2, [1, 1, 1, 0, 0, 0])
    assert cur.pass_rate == {"add-2": pytest.approx(0.75), "logic-3": pytest.approx(0.0)}  # first sight: the mean
    cur.update([add2] * 4, [0, 0, 0, 0])
    assert cur.pass_rate["add-2"] == pytest.approx(0.7 * 0.75)                   # moved toward 0
    assert cur.pass_rate["logic-3"] == 0.0                                        # untouched
    for _ in range(30):
        cur.update([add2] * 2, [1, 1])
    assert cur.pass_rate["add-2"] > 0.99
    assert cur.weight(("add", 2)) == cur.min_weight  # solved: sampled rarely now
    assert cur.weight(("logic", 3)) == cur.min_weight


# ---------------------------------------------------------------- rollout bookkeeping

def test_completion_batch_mask_selects_completion_targets():
    inputs, targets, mask = completion_batch([[1, 2, 3], [7]], [[4, 5], [8, 9, 10]], pad_id=0, device="cpu")
    assert inputs.tolist() == [[1, 2, 3, 4], [7, 8, 9, 0]]
    assert mask.tolist() == [[0, 0, 1, 1], [1, 1, 1, 0]]
    # only the masked positions are used: there the targets are the completion tokens
    assert (targets * mask.long()).tolist() == [[0, 0, 4, 5], [8, 9, 10, 0]]


# ---------------------------------------------------------------- grpo_step end to end

def contains_seven(text: str, problem) -> dict:
    return {"seven": float("7" in text)}


def run_grpo(steps: int, seed: int = 0, lr: float = 1e-2, reward_fn=contains_seven, step_fn=fast_grpo_step,
             **cfg_overrides):
    policy = make_tiny_model(seed)
    ref = copy.deepcopy(policy)
    cfg = GRPOConfig(**{**dict(prompts_per_step=4, group_size=8, lr=lr, kl_coef=0.01, max_new_tokens=8),
                        **cfg_overrides})
    optimizer = make_optimizer(policy, cfg.lr, cfg.weight_decay)
    generator = torch.Generator().manual_seed(seed)
    rng = random.Random(seed)
    history = []
    for step in range(steps):
        stats, sampled = step_fn(policy, ref, optimizer, get_tokenizer(),
                                   lambda n: [generate_problem(rng, "add", 2) for _ in range(n)], cfg, reward_fn,
                                   torch.device("cpu"), generator, step)
        history.append(stats)
    return history, sampled, policy, ref


def test_tiny_grpo_run_learns_a_toy_reward():
    """From a random init, "the completion contains a 7" is rare (~3%); 30 GRPO steps at lr 1e-2
    make it almost certain (measured: ~0.03 -> 1.0 for seeds 0-3, about 2 s)."""
    history, _, _, _ = run_grpo(30)
    rewards = [s["reward"] for s in history]
    first, last = sum(rewards[:5]) / 5, sum(rewards[-5:]) / 5
    assert first < 0.2, rewards
    assert last > 0.7 and last > first + 0.5, rewards


def test_grpo_step_reports_what_practitioners_watch():
    history, sampled, policy, ref = run_grpo(2, updates_per_batch=2, zero_std_groups="keep")
    stats = history[0]
    for key in ("reward", "reward_std", "frac_reward_zero_std", "response_length", "truncation_rate", "kl",
                "clip_fraction", "entropy", "grad_norm", "time_sample", "time_update", "reward_seven", "loss",
                "groups_sampled", "groups_used"):
        assert key in stats, key
        assert math.isfinite(stats[key]), key
    assert stats["updated"] == 1.0
    assert 0 <= stats["frac_reward_zero_std"] <= 1 and 0 <= stats["truncation_rate"] <= 1
    assert 1 <= stats["response_length"] <= 8 and stats["entropy"] > 0 and stats["kl"] >= 0
    # the rollout: 4 groups of G = 8 completions, each scored
    assert stats["groups_sampled"] == stats["groups_used"] == len(sampled) == 4
    assert all(len(g.texts) == len(g.completions) == 8 for g in sampled)
    assert all(g.total_reward.tolist() == [float("7" in t) for t in g.texts] for g in sampled)
    # the policy moved, the reference did not
    assert any(not torch.equal(p, q) for p, q in zip(policy.parameters(), ref.parameters()))
    assert all(torch.equal(p, q) for p, q in zip(ref.parameters(), make_tiny_model(0).parameters()))


def test_grpo_step_skips_batches_with_nothing_to_learn():
    # a constant reward: every group has zero std, so there is no update at all, however often it resamples
    history, _, policy, _ = run_grpo(1, reward_fn=lambda text, problem: {"const": 1.0}, max_sampling_rounds=2)
    assert history[0]["updated"] == 0.0 and history[0]["frac_reward_zero_std"] == 1.0
    assert history[0]["groups_sampled"] == 4 + 8 and history[0]["groups_used"] == 0
    assert all(torch.equal(p, q) for p, q in zip(policy.parameters(), make_tiny_model(0).parameters()))


# ---------------------------------------------------------------- dynamic sampling

def numbered_problems():
    """Problems "0+1", "1+1", ... in order; every fourth one (k % 4 == 0) will get mixed rewards."""
    counter = iter(range(10 ** 6))
    return lambda n: [Problem("add", 2, f"{k}+1", str(k + 1)) for k in (next(counter) for _ in range(n))]


def alternating_reward():
    """Rewards 0, 1, 0, 1, ... inside the groups of every fourth problem; all 0 elsewhere."""
    calls = iter(range(10 ** 6))
    return lambda text, problem: {"r": float(int(problem.question.split("+")[0]) % 4 == 0 and next(calls) % 2 == 1)}


@pytest.mark.parametrize("rounds,expected_used,expected_sampled", [(5, 4, 4 + 8 + 4), (2, 3, 4 + 8), (1, 1, 4)])
def test_resample_draws_more_prompts_until_the_batch_is_informative(tiny_model, tokenizer, rounds, expected_used,
                                                                      expected_sampled):
    cfg = GRPOConfig(prompts_per_step=4, group_size=4, max_new_tokens=3, zero_std_groups="resample",
                     max_sampling_rounds=rounds)
    used, sampled = sample_groups(tiny_model, tokenizer, numbered_problems(), cfg, alternating_reward())
    # 1 informative group in the first batch of 4: the 3 missing ones at that rate would take 12 more
    # problems, capped at 2 x 4 = 8 (2 more found); the last one then takes 4 more at the same rate
    assert len(sampled) == expected_sampled
    assert [g.problem.question for g in used] == [f"{k}+1" for k in range(0, 4 * expected_used, 4)]
    assert all(g.informative for g in used) and all(len(g.completions) == 4 for g in used)


def test_resample_sizes_the_first_round_by_the_expected_share(tiny_model, tokenizer):
    cfg = GRPOConfig(prompts_per_step=4, group_size=4, max_new_tokens=3, max_sampling_rounds=2)
    sizes, numbered = [], numbered_problems()
    draw = lambda n: sizes.append(n) or numbered(n)  # noqa: E731
    # a quarter expected informative: 1.25 x 4 / 0.25 = 20 questions, capped at what 2 rounds may
    # draw (4 + 8 = 12); 3 of them are informative and the cap leaves no room for a second round
    used, sampled = sample_groups(tiny_model, tokenizer, draw, cfg, alternating_reward(), expected_share=0.25)
    assert sizes == [12] and len(sampled) == 12 and len(used) == 3
    sizes.clear()  # expecting every group to be informative: never fewer than prompts_per_step
    sample_groups(tiny_model, tokenizer, draw, cfg, lambda text, problem: {"r": 0.0}, expected_share=1.0)
    assert sizes == [5, 7]  # 1.25 x 4 = 5 first; none informative: the top-up is capped at 12 - 5
    sizes.clear()
    for mode in ("drop", "keep"):  # one batch of prompts_per_step, whatever is expected
        sample_groups(tiny_model, tokenizer, draw, replace(cfg, zero_std_groups=mode), alternating_reward(),
                      expected_share=0.1)
    assert sizes == [4, 4]


def test_resample_caps_each_extra_batch_and_the_rounds(tiny_model, tokenizer):
    cfg = GRPOConfig(prompts_per_step=2, group_size=4, max_new_tokens=3, max_sampling_rounds=3)
    never = lambda text, problem: {"r": 0.0}  # noqa: E731  (no group is ever informative)
    used, sampled = sample_groups(tiny_model, tokenizer, numbered_problems(), cfg, never)
    assert used == [] and len(sampled) == 2 + 4 + 4   # extra batches at most 2 x prompts_per_step


def test_drop_filters_one_batch_and_keep_keeps_it(tiny_model, tokenizer):
    for mode, n_used in (("drop", 1), ("keep", 4)):
        cfg = GRPOConfig(prompts_per_step=4, group_size=4, max_new_tokens=3, zero_std_groups=mode)
        used, sampled = sample_groups(tiny_model, tokenizer, numbered_problems(), cfg, alternating_reward())
        assert len(sampled) == 4 and len(used) == n_used, mode


def test_row_chunks_cover_every_row_once_and_cut_each_chunk_to_its_longest_row():
    lengths = [9, 9, 7, 5, 5, 4, 2, 1]
    chunks = row_chunks(lengths, 16)
    assert chunks == [(slice(0, 1), 9), (slice(1, 2), 9), (slice(2, 4), 7), (slice(4, 7), 5), (slice(7, 8), 1)]
    for rows, width in chunks:
        assert width == max(lengths[rows])
        assert len(lengths[rows]) * width <= 16 or len(lengths[rows]) == 1
    assert row_chunks(lengths, 0) == [(slice(0, 8), 9)]  # 0: the whole batch at once
    with pytest.raises(ValueError, match="longest first"):
        row_chunks([3, 5], 16)


def test_chunks_cut_to_their_longest_row_give_the_whole_batch_logprobs_and_gradient():
    """Rows of very different lengths: the log-probs and the gradient computed on chunks cut to their
    own longest row equal those of the whole batch padded to the longest row of all."""
    policy = make_tiny_model(3)
    rows = sorted([([5, 6, 7], list(range(20, 40))), ([5, 6], [30, 31]), ([8], [9, 10, 11, 12, 13]),
                   ([5, 6, 7, 8], [40]), ([9, 9], list(range(50, 62)))], key=lambda r: -len(r[0]) - len(r[1]))
    inputs, targets, mask = completion_batch([p for p, _ in rows], [c for _, c in rows], 0, "cpu")
    lengths = [len(p) + len(c) - 1 for p, c in rows]
    advantages = torch.tensor([1.0, -0.5, 2.0, -1.0, 0.25])
    whole, chunked = row_chunks(lengths, 0), row_chunks(lengths, 12)
    assert len(chunked) > 1 and any(width < inputs.shape[1] for _, width in chunked)
    with torch.no_grad():
        plain = completion_logprobs(policy, inputs, targets, 0.7)
        torch.testing.assert_close(chunked_logprobs(policy, inputs, targets, chunked, 0.7) * mask, plain * mask)
    cfg = GRPOConfig(kl_coef=0.1)
    ref_logprobs = (plain + 0.3 * torch.randn(plain.shape)).detach()
    grads = []
    for chunks in (whole, chunked):
        policy.zero_grad()
        accumulate_gradient(policy, inputs, targets, mask, advantages, None, ref_logprobs, chunks, cfg,
                            torch.device("cpu"), 0)
        grads.append([p.grad.clone() for p in policy.parameters() if p.grad is not None])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-4)


def test_grpo_step_sorts_rows_by_length_and_keeps_each_advantage_with_its_answer():
    """fast_grpo_step reorders the rows longest first; its gradient must still be that of the plain,
    unsorted batch (each answer with its own advantage)."""
    tokenizer, rng = get_tokenizer(), random.Random(0)
    levels = [("add", 1), ("logic", 4), ("mul", 3), ("add", 4)]  # prompts of different lengths
    policy = make_tiny_model(1)
    before = copy.deepcopy(policy)
    cfg = GRPOConfig(prompts_per_step=4, group_size=4, max_new_tokens=8, kl_coef=0.0, zero_std_groups="keep",
                     grad_clip=1e9, update_chunk_tokens=16)
    optimizer = make_optimizer(policy, cfg.lr, cfg.weight_decay)
    draw = lambda n: [generate_problem(rng, *levels[i % len(levels)]) for i in range(n)]  # noqa: E731
    by_length = lambda text, problem: {"length": float(len(text))}  # noqa: E731  (differs within a group)
    _, groups = fast_grpo_step(policy, copy.deepcopy(policy), optimizer, tokenizer, draw, cfg, by_length,
                               torch.device("cpu"), torch.Generator().manual_seed(0))
    prompts = [g.prompt for g in groups for _ in g.completions]
    completions = [c for g in groups for c in g.completions]
    lengths = [len(p) + len(c) for p, c in zip(prompts, completions)]
    assert lengths != sorted(lengths, reverse=True)  # the step did have to reorder them
    advantages = group_advantages(torch.cat([g.total_reward for g in groups]), cfg.group_size)
    assert advantages.abs().sum() > 0
    inputs, targets, mask = completion_batch(prompts, completions, tokenizer.pad_id, "cpu")
    before.train()
    logprobs = completion_logprobs(before, inputs, targets, cfg.temperature)
    loss, _ = grpo_loss(logprobs, logprobs.detach(), None, advantages, mask, kl_coef=0.0)
    loss.backward()
    for p, q in zip(policy.parameters(), before.parameters()):
        if q.grad is not None:
            torch.testing.assert_close(p.grad, q.grad, atol=1e-6, rtol=1e-4)


def gradient_tolerance(updates: int) -> dict:
    """How close two ways of computing one update's gradient must be. The first update's gradients
    differ only by the order of the sums. The second's come after an Adam step from parameters that
    already differ by that rounding, and Adam divides each entry by its own gradient's size, so an
    entry whose gradient is near zero moves by a full step either way: a few entries then differ by
    ~0.2% (seen: 20 of 1024, at most 4.5e-6). A wrong chunk or a lost row differs by far more."""
    return dict(atol=1e-6, rtol=1e-4) if updates == 1 else dict(atol=2e-5, rtol=1e-2)


@pytest.mark.parametrize("aggregation", AGGREGATIONS)
@pytest.mark.parametrize("updates", [1, 2])
def test_update_in_chunks_of_rows_gives_the_whole_batch_gradient_and_stats(aggregation, updates):
    """fast_grpo_step's update runs on chunks of rows to bound activation memory; the accumulated gradient
    and the reported loss, KL, clip fraction and entropy equal those of the whole batch at once."""
    runs = {}
    for chunk_tokens in (0, 1):  # 0: the whole batch in one pass; 1: one row per chunk
        history, _, policy, _ = run_grpo(1, aggregation=aggregation, updates_per_batch=updates, kl_coef=0.1,
                                         zero_std_groups="keep", update_chunk_tokens=chunk_tokens)
        runs[chunk_tokens] = history[0], [p.grad.clone() for p in policy.parameters() if p.grad is not None]
    (whole, whole_grads), (chunked, chunked_grads) = runs[0], runs[1]
    assert len(whole_grads) == len(chunked_grads) > 0
    for a, b in zip(whole_grads, chunked_grads):
        torch.testing.assert_close(a, b, **gradient_tolerance(updates))
    for key in ("loss", "kl", "clip_fraction", "ratio_mean", "entropy", "grad_norm"):
        assert chunked[key] == pytest.approx(whole[key], rel=1e-4, abs=1e-6), key


@pytest.mark.parametrize("aggregation", AGGREGATIONS)
@pytest.mark.parametrize("updates", [1, 2])
def test_the_plain_step_and_the_fast_one_give_the_same_loss_and_gradient(aggregation, updates):
    """grpo.grpo_step (the whole batch at once, in sampling order) is the step a reader follows;
    grpo_fast.fast_grpo_step (rows sorted by length, one row per chunk here) is the one the scripts
    run. The same samples, so the same loss, statistics and gradient (of the last update)."""
    runs = {}
    for name, step_fn in (("plain", grpo_step), ("fast", fast_grpo_step)):
        history, _, policy, _ = run_grpo(1, aggregation=aggregation, updates_per_batch=updates, kl_coef=0.1,
                                         zero_std_groups="keep", update_chunk_tokens=1, step_fn=step_fn)
        runs[name] = history[0], [p.grad.clone() for p in policy.parameters() if p.grad is not None]
    (plain, plain_grads), (fast, fast_grads) = runs["plain"], runs["fast"]
    assert len(plain_grads) == len(fast_grads) > 0 and any(g.abs().sum() > 0 for g in plain_grads)
    for a, b in zip(plain_grads, fast_grads):
        torch.testing.assert_close(a, b, **gradient_tolerance(updates))
    assert set(plain) == set(fast)
    for key in ("reward", "loss", "kl", "clip_fraction", "ratio_mean", "entropy", "grad_norm", "tokens_trained"):
        assert fast[key] == pytest.approx(plain[key], rel=1e-4, abs=1e-6), key


def test_the_k3_terms_gradient_is_in_expectation_that_of_kl_ref_to_policy():
    """grpo_loss's KL term: its value on samples of π_θ estimates KL(π_θ‖π_ref), but its gradient with
    the samples held fixed is, in expectation over π_θ, the gradient of KL(π_ref‖π_θ), not of
    KL(π_θ‖π_ref) (the docstring says so; DeepSeekMath's loss behaves the same)."""
    logits = torch.randn(6, generator=torch.Generator().manual_seed(0), requires_grad=True)
    ref = torch.log_softmax(torch.randn(6, generator=torch.Generator().manual_seed(1)), -1)
    logp = torch.log_softmax(logits, -1)
    expected_grad = torch.zeros(6)
    for token in range(6):  # the exact expectation over the sampled token, each weighted by π_θ(token)
        lp = logp[token].reshape(1, 1)
        loss, _ = grpo_loss(lp, lp.detach(), ref[token].reshape(1, 1), torch.zeros(1), torch.ones(1, 1), kl_coef=1.0)
        (grad,) = torch.autograd.grad(loss, logits, retain_graph=True)
        expected_grad += logp[token].exp().detach() * grad
    p, q = logp.exp(), ref.exp()
    (forward_kl,) = torch.autograd.grad((q * (ref - logp)).sum(), logits, retain_graph=True)   # KL(π_ref‖π_θ)
    (reverse_kl,) = torch.autograd.grad((p * (logp - ref)).sum(), logits)                      # KL(π_θ‖π_ref)
    torch.testing.assert_close(expected_grad, forward_kl, atol=1e-6, rtol=1e-5)
    assert (expected_grad - reverse_kl).abs().max() > 1e-3
