"""Command lines: one-line errors, typed and bounded flags, and the flag groups several scripts share.
Machinery, not algorithm: a student may skip this file.

Every script owns its own parse_args() and its defaults; what is here is only what two or more
share: the RL flags of GRPOConfig (train_zero.py, train_r1.py), where a multi-stage script writes
(train_r1.py, distill.py), and the check that prompts and answers fit the model.
"""
from __future__ import annotations

import argparse
import math
import random
import sys
import tempfile
from pathlib import Path

from r1mini.checkpoint import read_checkpoint
from r1mini.config import PRESETS, default_preset
from r1mini.corpus import render_prompt
from r1mini.grpo import AGGREGATIONS, ZERO_STD_GROUPS, GRPOConfig
from r1mini.tasks import HARD_LEVELS, SPLITS, TASK_NAMES, TRAIN_LEVELS, check_task_level, generate_problem
from r1mini.tokenizer import get_tokenizer


class ArgumentParser(argparse.ArgumentParser):
    """argparse with the one-line error every r1mini command prints (exit 2), defaults in --help."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, formatter_class=argparse.ArgumentDefaultsHelpFormatter, **kwargs)

    def error(self, message):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")

    def format_help(self):
        # the defaults formatter shows a default only beside a help text: give every flag one
        for action in self._actions:
            if action.help is None and action.default not in (None, False, argparse.SUPPRESS):
                action.help = "default: %(default)s"
        return super().format_help()


def int_range(low: int, high: int = 2 ** 31 - 1):
    """A flag type: an integer in [low, high]."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be in [{low}, {high}], got {value}")
        return value
    return parse


def float_range(low: float, high: float = math.inf, low_open: bool = False):
    """A flag type: a finite number in [low, high] (or (low, high] with low_open)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value) or value < low or (low_open and value == low) or value > high:
            bounds = f"{'(' if low_open else '['}{low:g}, {high:g}]"
            raise argparse.ArgumentTypeError(f"must be a finite number in {bounds}, got {text}")
        return value
    return parse


SEED = int_range(0, 2 ** 32 - 1)


def fail(message: str) -> int:
    """Print a one-line error for the user and return the exit code 2."""
    print(f"error: {message}", file=sys.stderr)
    return 2


def parse_tasks(text: str) -> tuple[str, ...]:
    """--tasks: comma-separated task names, each checked, duplicates dropped."""
    tasks = tuple(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    if not tasks:
        raise ValueError(f"--tasks needs at least one task name, got {text!r}")
    for task in tasks:
        check_task_level(task)
    return tasks


def add_grpo_args(p: ArgumentParser) -> None:
    """The flags of GRPOConfig (and of the RL loop), shared by every RL stage's command line."""
    d = GRPOConfig()
    add = p.add_argument
    add("--prompts-per-step", type=int_range(1, 4096), default=d.prompts_per_step)
    add("--group-size", type=int_range(2, 1024), default=d.group_size, help="G: samples per prompt")
    add("--lr", type=float_range(0, 1, low_open=True), default=d.lr, help="learning rate of the RL updates")
    add("--kl-coef", type=float_range(0, 100), default=d.kl_coef, help="beta: weight of KL to the reference")
    add("--clip-eps", type=float_range(0, 1, low_open=True), default=d.clip_eps)
    add("--clip-eps-high", type=float_range(0, 100, low_open=True), help="upper clip (DAPO clip-higher); default = --clip-eps")
    add("--updates-per-batch", type=int_range(1, 64), default=d.updates_per_batch, help="mu: gradient steps per rollout")
    add("--max-new-tokens", type=int_range(1), default=d.max_new_tokens)
    add("--temperature", type=float_range(0.01, 100), default=d.temperature, help="rollout temperature")
    add("--loss-agg", choices=AGGREGATIONS, default=d.aggregation, help="seq_mean (GRPO), token_mean (DAPO), constant (Dr. GRPO)")
    add("--no-std-norm", action="store_true", help="advantages without std division (Dr. GRPO)")
    add("--zero-std-groups", choices=ZERO_STD_GROUPS, default=d.zero_std_groups,
        help="groups whose rewards are all equal: resample (DAPO dynamic sampling), drop, or keep")
    add("--max-sampling-rounds", type=int_range(1, 64), default=d.max_sampling_rounds,
        help="resample: at most this many rounds of sampling per step, and prompts_per_step x (2 rounds - 1) prompts")
    add("--no-curriculum", action="store_true", help="sample task levels uniformly")
    add("--ref-reset-every", type=int_range(0), default=0, help="reset the reference to the policy every N steps (0 = never)")
    add("--resume-every", type=int_range(1), default=10, help="write a resume file every N steps")


def grpo_config(args):
    """The GRPOConfig that the flags of `add_grpo_args` describe."""
    return GRPOConfig(prompts_per_step=args.prompts_per_step, group_size=args.group_size, lr=args.lr,
                      kl_coef=args.kl_coef, clip_eps=args.clip_eps, clip_eps_high=args.clip_eps_high,
                      updates_per_batch=args.updates_per_batch, max_new_tokens=args.max_new_tokens,
                      temperature=args.temperature, aggregation=args.loss_agg, normalize_std=not args.no_std_norm,
                      zero_std_groups=args.zero_std_groups, max_sampling_rounds=args.max_sampling_rounds)


def add_stage_args(p: ArgumentParser, out_dir: str) -> None:
    """Where a multi-stage script writes and what it runs on (train_r1.py, distill.py)."""
    p.add_argument("--out-dir", default=out_dir)
    p.add_argument("--overwrite", action="store_true", help="rebuild every stage in --out-dir")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    p.add_argument("--seed", type=SEED, default=0)
    p.add_argument("--tasks", default=",".join(TASK_NAMES), help="comma-separated tasks")


def check_sequence_budget(args) -> None:
    """The longest prompt + the longer of the training and the evaluation answer budgets
    (--max-new-tokens, --eval-max-new-tokens) must fit the model's context."""
    if Path(args.base).exists():
        max_len = read_checkpoint(args.base)["config"]["max_seq_len"]
    else:
        max_len = PRESETS[args.preset or default_preset(args.device)].max_seq_len
    rng, encode = random.Random(0), get_tokenizer().encode  # questions of a level differ little in length
    prompt = max(len(encode(render_prompt(generate_problem(rng, task, level, split).question)))
                 for task in args.tasks for level in TRAIN_LEVELS[task] + HARD_LEVELS[task]
                 for split in SPLITS for _ in range(32))
    for flag, budget in (("--max-new-tokens", args.max_new_tokens), ("--eval-max-new-tokens", args.eval_max_new_tokens)):
        if prompt + budget > max_len:
            raise ValueError(f"{flag} {budget} is too large: the longest prompt ({prompt} tokens) + it must fit "
                             f"the model's {max_len} tokens")


def check_writable(path, flag: str) -> None:
    """Fail now, not after an hour of work, if the output file `path` (given with `flag`) cannot be
    written: its directory must exist and take a new file, and `path` must not be a directory.
    Neither truncates an existing file nor leaves a new one behind."""
    path, where = Path(path), f"cannot write {flag} {path}"
    if path.is_dir():
        raise ValueError(f"{where}: it is a directory")
    if not path.parent.is_dir():
        problem = "is not a directory" if path.parent.exists() else "does not exist"
        raise ValueError(f"{where}: {path.parent} {problem}")
    try:
        if path.exists():
            open(path, "ab").close()
        else:
            tempfile.TemporaryFile(dir=path.parent).close()
    except OSError as error:
        raise ValueError(f"{where}: {error.strerror or error}") from None
