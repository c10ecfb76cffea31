"""One round of sampling or two? The same questions sampled as one batch and as GRPO's old 16 + 32.

    python bench/sampling_rounds.py --ckpt runs/r1/dev2/model.pt --max-new-tokens 192
    python bench/sampling_rounds.py --ckpt runs/zero/model.pt

Draws `--questions` training questions of the worked levels (2-4 digits / operators), G = 8
answers each at temperature 0.7, and times `sampler.generate` on all the rows at once, then on the
first `--first` questions' rows and the rest as a second call: what grpo.sample_groups pays for one
round against two. The same questions and seed either way; the answers differ a little, because a
batch draws its random numbers for all its rows together.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from r1mini.checkpoint import CheckpointError, load_checkpoint  # noqa: E402
from r1mini.corpus import render_prompt  # noqa: E402
from r1mini.flags import ArgumentParser, fail, int_range  # noqa: E402
from r1mini.r1_data import training_problems  # noqa: E402
from r1mini.sampler import generate  # noqa: E402
from r1mini.tasks import TASK_NAMES  # noqa: E402


def main(argv=None) -> int:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", required=True, help="policy checkpoint, e.g. runs/zero/model.pt")
    parser.add_argument("--questions", type=int_range(2, 4096), default=48)
    parser.add_argument("--first", type=int_range(1, 4096), default=16, help="questions in the first of two rounds")
    parser.add_argument("--group-size", type=int_range(1, 64), default=8)
    parser.add_argument("--max-new-tokens", type=int_range(1, 1024), default=160)
    parser.add_argument("--repeats", type=int_range(1, 100), default=2)
    args = parser.parse_args(argv)
    if args.first >= args.questions:
        return fail(f"--first ({args.first}) must be below --questions ({args.questions})")
    try:
        model, tokenizer, _ = load_checkpoint(args.ckpt, "cpu")
    except CheckpointError as error:
        return fail(str(error))
    problems = training_problems(0, TASK_NAMES, args.questions, "sampling-rounds", include_trivial=False)
    prompts = [tokenizer.encode(render_prompt(p.question)) for p in problems for _ in range(args.group_size)]
    split = args.first * args.group_size

    def timed(rows):
        generator = torch.Generator().manual_seed(0)
        start = time.perf_counter()
        answers = generate(model, rows, args.max_new_tokens, temperature=0.7, stop_tokens=(tokenizer.eot_id,),
                           pad_id=tokenizer.pad_id, generator=generator)
        return time.perf_counter() - start, sum(len(a) for a in answers)

    print(f"{args.questions} questions x G {args.group_size}, at most {args.max_new_tokens} new tokens, "
          f"{torch.get_num_threads()} threads, {args.ckpt}")
    for repeat in range(args.repeats):
        one, one_tokens = timed(prompts)
        first, first_tokens = timed(prompts[:split])
        second, second_tokens = timed(prompts[split:])
        print(f"repeat {repeat + 1}: one round {one:.2f} s ({one_tokens} tokens) | {args.first} then "
              f"{args.questions - args.first}: {first:.2f} + {second:.2f} = {first + second:.2f} s "
              f"({first_tokens + second_tokens} tokens) | two rounds / one = {(first + second) / one:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
