"""Does torch.compile pay for decoding? The KV-cached decode step, eager against compiled, side by side.

    python bench/compile_decode.py                 # the peers' dense shape (d 128, 4 layers, FFN 512)
    python bench/compile_decode.py --model moe     # the cpu preset (DeepSeekMoE)

A randomly initialised model prefills B prompts of --prompt-len tokens into a KV cache, then decodes
--new-tokens steps of one token per row (no sampling: the tokens are fixed, so only the forward pass
is timed). The compiled model is `torch.compile(model, dynamic=True)`: the cache position grows every
step, so static shapes would recompile each step. The script reports the compile cost (its first
run minus a warm one), the warm decode times and the largest difference between the two models'
logits. torch.compile on CPU needs a C++ compiler; without one the script says so and times eager only.
The compiled graphs are cached on disk (torch's inductor cache), so a second run compiles faster.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from peers import VOCAB, r1mini_dense  # noqa: E402  (the peers' dense shape, seed 0)
from r1mini.config import model_config  # noqa: E402
from r1mini.harness import ArgumentParser, int_range  # noqa: E402
from r1mini.model import Transformer  # noqa: E402


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


def main(argv=None) -> int:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("dense", "moe"), default="dense")
    parser.add_argument("--batch", type=int_range(1, 4096), default=128)
    parser.add_argument("--prompt-len", type=int_range(1, 128), default=20)
    parser.add_argument("--new-tokens", type=int_range(1, 128), default=96)
    parser.add_argument("--threads", type=int_range(1, 256), help="torch threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
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
        print(f"torch.compile unavailable here ({type(error).__name__}: {str(error).splitlines()[0][:200]})")
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
