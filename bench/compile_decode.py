"""Does torch.compile pay for decoding? The KV-cached decode step, eager against compiled, side by side.

    python bench/compile_decode.py                 # the peers' dense shape (d 128, 4 layers, FFN 512)
    python bench/compile_decode.py --model moe     # the cpu preset (DeepSeekMoE)
    python bench/compile_decode.py --ckpt runs/zero/model.pt   # a trained model through sampler.generate

A randomly initialised model prefills B prompts of --prompt-len tokens into a KV cache, then decodes
--new-tokens steps of one token per row (no sampling: the tokens are fixed, so only the forward pass
is timed). The compiled model is `torch.compile(model, dynamic=True)`: the cache position grows every
step, so static shapes would recompile each step. The script reports the compile cost (its first
run minus a warm one), the warm decode times and the largest difference between the two models'
logits. torch.compile on CPU needs a C++ compiler; without one the script says so and times eager only.
The compiled graphs are cached on disk (torch's inductor cache), so a second run compiles faster.

With --ckpt the script times what the pipeline actually runs: `sampler.generate` on a trained
checkpoint, GRPO's batch (--questions training questions x 8 answers, temperature 0.7, up to 160 new
tokens, stop tokens, finished rows leaving the batch), eager against the model's forward compiled.
There the batch shrinks as rows finish and, in the MoE, each expert's share of the tokens changes
every step, so the compiled graphs see many more shapes than in the fixed-token decode above.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from peers import VOCAB, r1mini_dense  # noqa: E402  (the peers' dense shape, seed 0)
from r1mini.config import model_config  # noqa: E402
from r1mini.flags import ArgumentParser, int_range  # noqa: E402
from r1mini.model import Transformer  # noqa: E402


def compile_unavailable(error: Exception) -> str:
    """The one line a bench prints when torch.compile fails here (no C++ compiler, unsupported platform)."""
    return f"torch.compile unavailable here ({type(error).__name__}: {str(error).splitlines()[0][:200]})"


def build_model(kind: str) -> Transformer:
    if kind == "dense":
        return r1mini_dense()
    torch.manual_seed(0)
    return Transformer(model_config("cpu", VOCAB)).eval()


@torch.no_grad()
def decode(forward, model: Transformer, tokens: torch.Tensor, prompt_len: int) -> tuple[float, torch.Tensor]:
    """(seconds for the decode steps after the prefill, the last step's logits)."""
    B, total = tokens.shape
    positions = torch.arange(total)[None].expand(B, -1)
    key_mask = torch.ones(B, total, dtype=torch.bool)
    cache = model.new_kv_cache(B, total)
    forward(tokens[:, :prompt_len], positions[:, :prompt_len], key_mask, cache, 0)
    t0 = time.perf_counter()
    for t in range(prompt_len, total):
        logits = forward(tokens[:, t:t + 1], positions[:, t:t + 1], key_mask, cache, t)
    return time.perf_counter() - t0, logits


def time_generate(ckpt: str, questions: int) -> int:
    """Eager against compiled `sampler.generate` on a trained checkpoint, GRPO's batch."""
    from r1mini.checkpoint import CheckpointError, load_checkpoint
    from r1mini.corpus import render_prompt
    from r1mini.flags import fail
    from r1mini.r1_data import training_problems
    from r1mini.sampler import generate
    from r1mini.tasks import TASK_NAMES
    try:
        model, tokenizer, _ = load_checkpoint(ckpt, "cpu")
    except CheckpointError as error:
        return fail(str(error))
    problems = training_problems(0, TASK_NAMES, questions, "compile-decode", include_trivial=False)
    prompts = [tokenizer.encode(render_prompt(p.question)) for p in problems for _ in range(8)]

    def timed() -> tuple[float, list[list[int]]]:
        start = time.perf_counter()
        answers = generate(model, prompts, 160, temperature=0.7, stop_tokens=(tokenizer.eot_id,),
                           pad_id=tokenizer.pad_id, generator=torch.Generator().manual_seed(0))
        return time.perf_counter() - start, answers

    print(f"{ckpt}: {len(prompts)} rows ({questions} questions x 8), temperature 0.7, up to 160 new tokens, "
          f"{torch.get_num_threads()} threads")
    timed()  # warm-up
    eager_seconds, eager_answers = min(timed(), timed(), key=lambda result: result[0])
    new_tokens = sum(len(a) for a in eager_answers)
    print(f"eager     {eager_seconds:6.2f} s  ({new_tokens / eager_seconds:,.0f} new tokens/s)")
    eager_forward = model.forward
    model.forward = torch.compile(eager_forward, dynamic=True)  # generate calls model(...), which calls this
    try:
        first_seconds, _ = timed()
    except Exception as error:  # no C++ compiler, or an unsupported platform
        print(compile_unavailable(error))
        return 0
    compiled_seconds, compiled_answers = min(timed(), timed(), key=lambda result: result[0])
    print(f"compiled  {compiled_seconds:6.2f} s  ({new_tokens / compiled_seconds:,.0f} new tokens/s), "
          f"{eager_seconds / compiled_seconds:.2f}x eager")
    print(f"compile cost ~{first_seconds - compiled_seconds:.0f} s (first compiled run minus a warm one)")
    same = sum(a == b for a, b in zip(eager_answers, compiled_answers))
    print(f"answers identical to eager, same seed: {same} of {len(prompts)}")
    return 0


def main(argv=None) -> int:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("dense", "moe"), default="dense")
    parser.add_argument("--batch", type=int_range(1, 4096), default=128)
    parser.add_argument("--prompt-len", type=int_range(1, 128), default=20)
    parser.add_argument("--new-tokens", type=int_range(1, 128), default=96)
    parser.add_argument("--threads", type=int_range(1, 256), help="torch threads (default: torch's)")
    parser.add_argument("--ckpt", help="time sampler.generate on this trained checkpoint instead (--model, --batch, "
                                       "--prompt-len and --new-tokens are then unused)")
    parser.add_argument("--questions", type=int_range(1, 4096), default=48, help="with --ckpt: questions, 8 answers each")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.ckpt:
        return time_generate(args.ckpt, args.questions)
    model = build_model(args.model)
    tokens = torch.randint(0, VOCAB, (args.batch, args.prompt_len + args.new_tokens), generator=torch.Generator().manual_seed(0))
    print(f"{args.model} model, {args.batch} rows, {args.prompt_len}-token prompts, {args.new_tokens} decode steps, "
          f"{torch.get_num_threads()} threads")
    decode(model, model, tokens, args.prompt_len)  # warm-up
    eager_seconds, eager_logits = decode(model, model, tokens, args.prompt_len)
    print(f"eager     {eager_seconds:6.2f} s  ({args.batch * args.new_tokens / eager_seconds:,.0f} tokens/s)")
    compiled = torch.compile(model, dynamic=True)
    try:
        first_seconds, _ = decode(compiled, model, tokens, args.prompt_len)
    except Exception as error:  # no C++ compiler, or an unsupported platform
        print(compile_unavailable(error))
        return 0
    compiled_seconds, compiled_logits = min((decode(compiled, model, tokens, args.prompt_len) for _ in range(2)),
                                            key=lambda result: result[0])
    eager_seconds = min(eager_seconds, decode(model, model, tokens, args.prompt_len)[0])
    print(f"compiled  {compiled_seconds:6.2f} s  ({args.batch * args.new_tokens / compiled_seconds:,.0f} tokens/s), "
          f"{eager_seconds / compiled_seconds:.2f}x eager")
    print(f"compile cost ~{first_seconds - compiled_seconds:.0f} s (first compiled run minus a warm one)")
    print(f"largest logit difference, compiled vs eager: {(compiled_logits - eager_logits).abs().max().item():.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
