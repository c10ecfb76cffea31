"""Pretrain the base model — our stand-in for DeepSeek-V3-Base.

A DeepSeekMoE transformer learns the synthetic corpus (corpus.py): the R1-Zero template, and a
*mix* of direct guesses and step-by-step work in two languages. It ends up as a distribution over
answer styles, which is exactly what RL needs: something to choose between.

    python -m r1mini.pretrain            # writes runs/base/{model.pt, metrics.jsonl, eval.json, report.md}
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch

from r1mini.checkpoint import CheckpointError, save_checkpoint
from r1mini.config import PRESETS, default_preset, model_config, pick_device
from r1mini.corpus import StyleMix, pretraining_stream
from r1mini.evaluate import EVAL_TEMPERATURE, EVAL_TOP_P, evaluate_model, format_table
from r1mini.flags import SEED, ArgumentParser, fail, float_range, int_range
from r1mini.model import Transformer
from r1mini.rundir import RunDir
from r1mini.sft import SFTConfig, train_sft
from r1mini.tokenizer import get_tokenizer
from r1mini.train_utils import NonFiniteLossError

# Optimizer, schedule and steps by preset. The cpu preset trains its hidden matrices with Muon on a
# warmup-stable-decay schedule (train_utils.MuonAdamW, sft.wsd_lr): 2000 steps of batch 32 give a base
# as good as 4000 AdamW steps on a cosine did, in half the time (held-out reasoned accuracy 0.97-0.99
# against 0.87, within 2 points or above at every training level, harder levels the same within the
# interval); 1500 steps fell short on the harder levels (docs/design.md). The gpu and student presets
# keep the AdamW recipe they were measured with.
RECIPES = {"cpu": (2000, "muon", "wsd"), "gpu": (6000, "adamw", "cosine"), "student": (2500, "adamw", "cosine"),
           "tiny": (30, "muon", "wsd")}  # preset -> (steps, optimizer, schedule)


def encoded_stream(tokenizer, seed: int, mix: StyleMix = StyleMix()):
    for prompt, completion in pretraining_stream(seed, mix):
        yield tokenizer.encode(prompt), tokenizer.encode(completion)


def build_base(out_dir="runs/base", preset: str | None = None, device="auto", steps: int | None = None,
               seed: int = 0, batch_size: int = 32, lr: float = 3e-3, evaluate: bool = True,
               eval_problems: int = 20, overwrite: bool = False, optimizer: str | None = None,
               schedule: str | None = None, mix: StyleMix = StyleMix()) -> Path:
    """Train the base model and write it to `out_dir/model.pt`; returns that path. steps, optimizer
    and schedule default to the preset's recipe (RECIPES); `mix` is the corpus's style mix
    (experiments/aha_moment.py pretrains a base that slips more often)."""
    device = pick_device(device) if isinstance(device, str) else device
    preset = preset or default_preset(device)
    tokenizer = get_tokenizer()
    torch.manual_seed(seed)
    model = Transformer(model_config(preset, tokenizer.n_vocab)).to(device)
    recipe_steps, recipe_optimizer, recipe_schedule = RECIPES.get(preset, (1000, "adamw", "cosine"))
    cfg = SFTConfig(steps=steps or recipe_steps, batch_size=batch_size, lr=lr,
                    optimizer=optimizer or recipe_optimizer, schedule=schedule or recipe_schedule)
    flags = {"preset": preset, "seed": seed, **asdict(cfg), **({"mix": asdict(mix)} if mix != StyleMix() else {})}
    with RunDir(out_dir, flags, overwrite) as run:
        print(f"[base] {preset} preset: {model.num_params() / 1e6:.2f}M parameters "
              f"({model.num_params(active_only=True) / 1e6:.2f}M active per token), {cfg.steps} steps of "
              f"{cfg.optimizer} ({cfg.schedule} schedule) on {device}")
        t0 = time.perf_counter()
        last = train_sft(model, encoded_stream(tokenizer, seed * 1_000_003, mix), cfg, device, run, tokenizer.pad_id,
                         desc="pretrain base", seed=seed)
        minutes = (time.perf_counter() - t0) / 60
        meta = {"stage": "base", "preset": preset, "seed": seed, "sft": asdict(cfg), "mix": asdict(mix), "final": last,
                "train_minutes": round(minutes, 2)}
        save_checkpoint(run.model, model, meta)
        if evaluate:
            result = evaluate_model(model, tokenizer, n_problems=eval_problems, seed=seed)
            (run.dir / "eval.json").write_text(json.dumps(result, indent=1))
            table = format_table(result)
            (run.dir / "report.md").write_text(
                f"# Base model\n\n{preset} preset, {cfg.steps} steps ({cfg.optimizer}, {cfg.schedule} schedule), "
                f"{minutes:.1f} min on {device}.\n"
                f"Held-out {result['settings']['split']}-split evaluation: k={result['settings']['k']} samples, temperature {EVAL_TEMPERATURE:g}, top-p {EVAL_TOP_P:g}.\n\n{table}\n")
            print(table)
        run.finish()
    print(f"[base] wrote {run.model}")
    return run.model


def main(argv=None) -> int:
    parser = ArgumentParser(description="Pretrain the base model on the synthetic corpus.")
    parser.add_argument("--out-dir", default="runs/base")
    parser.add_argument("--preset", choices=sorted(PRESETS), help="model size (default: cpu, or gpu on CUDA)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    parser.add_argument("--steps", type=int_range(1), help="optimizer steps (default depends on the preset: 2000 for cpu)")
    parser.add_argument("--batch-size", type=int_range(1, 4096), default=32)
    parser.add_argument("--lr", type=float_range(0, 1, low_open=True), default=3e-3)
    parser.add_argument("--optimizer", choices=("adamw", "muon"), help="default depends on the preset (muon for cpu)")
    parser.add_argument("--schedule", choices=("cosine", "wsd"), help="default depends on the preset (wsd for cpu)")
    parser.add_argument("--seed", type=SEED, default=0)
    parser.add_argument("--no-eval", action="store_true", help="skip the held-out evaluation")
    parser.add_argument("--overwrite", action="store_true", help="replace a finished run in --out-dir")
    args = parser.parse_args(argv)
    try:
        device = pick_device(args.device)
        build_base(args.out_dir, args.preset, device, args.steps, args.seed, args.batch_size, args.lr,
                   evaluate=not args.no_eval, overwrite=args.overwrite,
                   optimizer=args.optimizer, schedule=args.schedule)
    except (ValueError, CheckpointError, NonFiniteLossError) as error:
        return fail(str(error))
    return 0


if __name__ == "__main__":
    sys.exit(main())
