"""Where does a GRPO step spend its time? Sampling vs reference/old log-probs vs the update.

    python bench/grpo_step.py [--ckpt runs/base/model.pt] [--steps 5]

Uses the default train_zero.py settings (16 prompts x G=8, 128 new tokens). Without a checkpoint a
random-init cpu-preset model is used (its rollouts run to max length, so it is a worst case).
"""
from __future__ import annotations

import copy
import json
import random
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from r1mini.checkpoint import CheckpointError, load_checkpoint  # noqa: E402
from r1mini.config import model_config, pick_device  # noqa: E402
from r1mini.curriculum import Curriculum  # noqa: E402
from r1mini.grpo import GRPOConfig, grpo_step  # noqa: E402
from r1mini.flags import ArgumentParser, check_writable, fail, float_range, int_range  # noqa: E402
from r1mini.train_utils import make_optimizer  # noqa: E402
from r1mini.model import Transformer  # noqa: E402
from r1mini.rewards import r1_zero_rewards  # noqa: E402
from r1mini.tasks import TASK_NAMES  # noqa: E402
from r1mini.tokenizer import get_tokenizer  # noqa: E402


def main(argv=None) -> int:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", help="policy checkpoint (default: random-init cpu preset)")
    parser.add_argument("--steps", type=int_range(1, 1000), default=5)
    parser.add_argument("--kl-coef", type=float_range(0, 100), default=GRPOConfig().kl_coef)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--json", help="write the timings here")
    args = parser.parse_args(argv)
    try:
        if args.json:
            check_writable(args.json, "--json")  # before the timing, not after it
        device = pick_device(args.device)
        policy, tokenizer, _ = load_checkpoint(args.ckpt, device) if args.ckpt else (None, None, None)
    except (ValueError, CheckpointError) as error:
        return fail(str(error))
    if policy is None:
        tokenizer = get_tokenizer()
        torch.manual_seed(0)
        policy = Transformer(model_config("cpu", tokenizer.n_vocab)).to(device).eval()
    ref = copy.deepcopy(policy).requires_grad_(False)
    cfg = GRPOConfig(kl_coef=args.kl_coef, zero_std_groups="keep")  # time the full batch every step
    optimizer = make_optimizer(policy, cfg.lr, cfg.weight_decay)
    curriculum, rng = Curriculum(TASK_NAMES), random.Random(0)
    rows = []
    for step in range(args.steps + 1):  # step 0 is a warm-up and is not counted
        stats, _ = grpo_step(policy, ref, optimizer, tokenizer, lambda n: curriculum.sample(rng, n), cfg,
                             r1_zero_rewards, device, step=step)
        if step:
            rows.append(stats)
    keys = ["time_sample", "time_reference", "time_update"]
    means = {k: statistics.mean(r[k] for r in rows) for k in keys}
    total = sum(means.values())
    print(f"GRPO step on {device}: {cfg.prompts_per_step} prompts x G={cfg.group_size}, "
          f"mean response {statistics.mean(r['response_length'] for r in rows):.0f} tokens, {args.steps} steps")
    print("| phase | seconds | share |\n|---|---|---|")
    for key in keys:
        print(f"| {key[5:]} | {means[key]:.3f} | {means[key] / total:.0%} |")
    print(f"| total | {total:.3f} | 100% |")
    if args.json:
        Path(args.json).write_text(json.dumps({"device": str(device), **means, "total": total}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
