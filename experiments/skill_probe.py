"""How well does a model know each *step* of the school algorithms? The probe behind the corpus design.

R1-Zero can only amplify reasoning the base model can already do. Sampled accuracy mixes up many
things (style choice, copying, assembling the answer); this probe isolates the skills themselves.
It feeds a clean worked solution of each held-out problem (teacher forcing) and reads the model's
probability of the right token at the hard spots:

  add / mul   the units digit of each column sum ("7+8+1=1_" -> 6): a memorised table, mod 10
  logic       the result of each step ("T xor F is _" -> T)

in English and in Chinese. 1.0 = knows the step; ~0.5 for logic and ~0.1-0.2 for digits = guessing.

    python experiments/skill_probe.py --ckpt runs/base/model.pt          # probe a trained model
    python experiments/skill_probe.py --steps 600 --batch-size 32         # pretrain from scratch, then probe
    python experiments/skill_probe.py --steps 600 --direct 0.5 --slips 0.12 --batch-size 64  # the old corpus

With --steps the model is pretrained on `corpus.pretraining_stream`-style data with the StyleMix
given by the flags (about 3 minutes for 1000 steps of batch 32 on 2 cores); docs/design.md lists
what each setting gave.
"""
from __future__ import annotations

import dataclasses
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from r1mini import tasks  # noqa: E402
from r1mini.checkpoint import CheckpointError, load_checkpoint  # noqa: E402
from r1mini.config import model_config  # noqa: E402
from r1mini.corpus import StyleMix, render_example, render_prompt, sample_task_level  # noqa: E402
from r1mini.flags import ArgumentParser, check_writable, fail  # noqa: E402
from r1mini.rundir import RunDir  # noqa: E402
from r1mini.model import Transformer  # noqa: E402
from r1mini.sft import SFTConfig, train_sft  # noqa: E402
from r1mini.tasks import STEP_TEXT, _render, generate_problem, eval_problems, trace  # noqa: E402
from r1mini.tokenizer import get_tokenizer  # noqa: E402


def probe_spots(problem, language: str) -> list[tuple[str, str]]:
    """(text before the spot, right token text) for every step of a clean solution."""
    spots, before = [], render_prompt(problem.question) + " <think> "
    for step in trace(problem)[0]:
        sentence = _render(STEP_TEXT, problem.task, language, step)
        if problem.task == "logic":  # "... is T." / "... 得 T。": the value before the final mark
            cut = len(sentence) - 2
            if sentence[cut - 1] == " ":  # the space belongs to the " T" token
                cut -= 1
            spots.append((before + sentence[:cut], sentence[cut:-1]))
        else:  # units digit of the (last) column sum: two characters after the last "=" / "得"
            cut = max(sentence.rfind("="), sentence.rfind("得")) + 2
            spots.append((before + sentence[:cut], sentence[cut]))
        before += sentence + " "
    return spots


@torch.no_grad()
def probe(model, tokenizer, n_problems: int = 30) -> dict[str, float]:
    """Probability of the right token, averaged over the spots of each training level, then over the
    levels (each level counts the same), per task and language."""
    model.eval()
    result = {}
    for task in tasks.TASK_NAMES:
        for language in tasks.LANGUAGES:
            level_means = []
            for level in tasks.TRAIN_LEVELS[task]:
                probs = []
                for problem in eval_problems(task, level, n_problems):
                    problem = dataclasses.replace(problem, phrasing=language)  # asked in the probed language
                    for before, right in probe_spots(problem, language):
                        (right_id,) = tokenizer.encode(right)
                        logits = model(torch.tensor([tokenizer.encode(before)]))[0, -1]
                        probs.append(torch.softmax(logits.float(), -1)[right_id].item())
                level_means.append(sum(probs) / len(probs))
            result[f"{task}-{language}"] = round(sum(level_means) / len(level_means), 3)
    return result


def pretrain(args, tokenizer) -> Transformer:
    mix = StyleMix(direct=args.direct, slip_uncorrected=args.slips, slip_corrected=args.slips,
                   self_check=args.self_check)
    clean = StyleMix(direct=0.0, slip_uncorrected=0.0, slip_corrected=0.0, self_check=0.0)
    if args.logic_ops:  # the problem generator reads this module-level tuple; this script is its own process
        tasks.LOGIC_OPS = tuple(args.logic_ops.split(","))

    def examples():
        rng, index = random.Random(1000), 0
        while True:
            task, level = sample_task_level(rng)
            style = mix
            if index < args.logic_first * args.batch_size:  # a logic-only, clean warm-up
                task, level, style = "logic", rng.choice(tasks.TRAIN_LEVELS["logic"]), clean
            elif index < args.clean_first * args.steps * args.batch_size:  # clean worked solutions first
                style = clean
            prompt, completion = render_example(generate_problem(rng, task, level, "train"), rng, style)
            index += 1
            yield tokenizer.encode(prompt), tokenizer.encode(completion)

    torch.manual_seed(args.seed)
    model = Transformer(model_config("cpu", tokenizer.n_vocab, n_heads=args.n_heads))
    cfg = SFTConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay)
    with tempfile.TemporaryDirectory() as out_dir, RunDir(out_dir, {}) as run:
        train_sft(model, examples(), cfg, torch.device("cpu"), run, tokenizer.pad_id, desc="probe pretraining",
                  seed=args.seed)
    return model


def main(argv=None) -> int:
    p = ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ckpt", help="probe this checkpoint (otherwise pretrain a cpu-preset model first)")
    p.add_argument("--steps", type=int, default=600, help="pretraining steps")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--n-heads", type=int, default=4)
    p.add_argument("--direct", type=float, default=StyleMix.direct, help="share of direct answers")
    p.add_argument("--slips", type=float, default=StyleMix.slip_uncorrected,
                   help="share of uncorrected slips, and the same share of corrected ones")
    p.add_argument("--self-check", type=float, default=StyleMix.self_check)
    p.add_argument("--clean-first", type=float, default=0.0, help="fraction of steps on clean solutions first")
    p.add_argument("--logic-first", type=int, default=0, help="steps of clean logic-only warm-up first")
    p.add_argument("--logic-ops", help="comma-separated logic operators (default: and,or,xor)")
    p.add_argument("--problems", type=int, default=30, help="held-out problems per task-level")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="append the result as one JSON line to this file")
    args = p.parse_args(argv)
    try:
        if args.steps < 1 or args.batch_size < 1 or args.lr <= 0 or args.problems < 1:
            raise ValueError("--steps, --batch-size and --problems must be >= 1 and --lr > 0")
        if not (0 <= args.direct <= 1 and 0 <= 2 * args.slips + args.self_check <= 1 and 0 <= args.clean_first <= 1):
            raise ValueError("--direct and --clean-first must be in [0, 1], and 2*--slips + --self-check <= 1")
        head_dim = model_config("cpu", 1).d_model // max(args.n_heads, 1)
        if args.n_heads < 1 or head_dim * args.n_heads != model_config("cpu", 1).d_model or head_dim % 2:
            raise ValueError("--n-heads must split d_model 128 into heads of even size (1, 2, 4, 8, 16, 32 or 64)")
        if args.seed < 0 or args.seed >= 2 ** 32:
            raise ValueError("--seed must be in [0, 2**32)")
        if args.logic_ops and not set(args.logic_ops.split(",")) <= {"and", "or", "xor"}:
            raise ValueError("--logic-ops takes a comma-separated subset of and,or,xor")
        if args.json:
            check_writable(args.json, "--json")  # before the probe, not after it
        tokenizer, t0 = get_tokenizer(), time.perf_counter()
        model = load_checkpoint(args.ckpt, "cpu")[0] if args.ckpt else pretrain(args, tokenizer)
    except (ValueError, CheckpointError) as error:
        return fail(str(error))
    shown = ("ckpt", "problems") if args.ckpt else [k for k in vars(args) if k not in ("ckpt", "json")]
    skills = probe(model, tokenizer, args.problems)
    result = {"settings": {k: getattr(args, k) for k in shown},
              "minutes": round((time.perf_counter() - t0) / 60, 1), **skills}
    print(json.dumps(result))
    if args.json:
        with open(args.json, "a") as f:
            f.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
