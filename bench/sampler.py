"""Benchmark: KV-cached vs recomputing generation, and training throughput of a preset.

    python bench/sampler.py            # full run (~7 minutes on 2 idle CPU cores)
    python bench/sampler.py --quick    # smaller batch and lengths, well under a minute
    python bench/sampler.py --json     # also write bench/results_sampler.json
    python bench/sampler.py --skip-generation --train-steps 100 --compile   # does torch.compile pay for pretraining?

Generation: a batch of random prompts of different lengths (left-padded), forced to full length
(no stop tokens), new tokens per second with and without the KV cache. Training: forward + backward
+ AdamW step on batch x seq tokens, and its model FLOP/s as a fraction of this machine's measured
fp32 matmul FLOP/s (model FLOPs per token ~ 6 x active params + 12 x layers x d_model x seq for
attention scores, PaLM appendix B), twice: on random full-length rows, and as pretraining runs it
(`sft.sft_step` on length-bucketed batches of 32 rows of the base corpus, every computed position
counted, padding included). Random init: speed does not depend on the weights, except that
MoE routing of a trained model may be less balanced. With --compile the pretraining step is timed
again with the model's forward compiled (`torch.compile(dynamic=True)`: row widths change from batch
to batch), after 20 warm-up steps that do the compiling.
"""
from __future__ import annotations

import json
import random
import sys
from dataclasses import replace
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from r1mini.config import PRESETS, model_config  # noqa: E402
from r1mini.flags import ArgumentParser, check_writable, fail, int_range  # noqa: E402
from r1mini.train_utils import make_optimizer  # noqa: E402
from r1mini.model import Transformer  # noqa: E402
from r1mini.pretrain import encoded_stream  # noqa: E402
from r1mini.sft import SFTConfig, collate, length_bucketed_batches, sft_step  # noqa: E402
from r1mini.tokenizer import get_tokenizer  # noqa: E402
from r1mini.sampler import generate  # noqa: E402

RESULTS = Path(__file__).with_name("results_sampler.json")  # what --json writes


def compile_unavailable(error: Exception) -> str:
    """The one line printed when torch.compile fails here (no C++ compiler, unsupported platform)."""
    return f"torch.compile unavailable here ({type(error).__name__}: {str(error).splitlines()[0][:200]})"


def matmul_peak_flops(n: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.matmul(a, b)  # warm up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.matmul(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best


def generation_speed(model, prompts, new_tokens: int, use_cache: bool) -> float:
    start = time.perf_counter()
    out = generate(model, prompts, new_tokens, temperature=1.0, use_cache=use_cache, stop_tokens=[],
                   pad_id=0, generator=torch.Generator().manual_seed(0))
    elapsed = time.perf_counter() - start
    assert all(len(row) == new_tokens for row in out)
    return len(prompts) * new_tokens / elapsed


def training_speed(model, batch: int, seq: int, steps: int) -> float:
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randint(0, model.cfg.vocab_size, (batch, seq + 1))
    for step in range(steps + 2):  # the first two steps are warm-up
        if step == 2:
            start = time.perf_counter()
        logits, routing = model(x[:, :-1], real_tokens=torch.ones_like(x[:, :-1], dtype=torch.bool))
        loss = F.cross_entropy(logits.flatten(0, 1), x[:, 1:].flatten()) + routing.balance_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        model.update_expert_bias(routing.expert_counts)
    return batch * seq * steps / (time.perf_counter() - start)


def pretraining_speed(preset: str, steps: int, batch_size: int = 32, compiled: bool = False,
                      warmup: int = 2) -> tuple[float, float, Transformer, float]:
    """(positions/s, mean row width, model, seconds of warm-up) of the real pretraining step on the
    base corpus; with compiled=True the model's forward is compiled (during the warm-up steps)."""
    tokenizer = get_tokenizer()
    torch.manual_seed(0)
    model = Transformer(model_config(preset, tokenizer.n_vocab)).train()
    if compiled:
        model.forward = torch.compile(model.forward, dynamic=True)  # sft_step calls model(...), which calls this
    optimizer = make_optimizer(model, SFTConfig.lr, SFTConfig.weight_decay)
    batches = length_bucketed_batches(encoded_stream(tokenizer, 0), batch_size, SFTConfig.bucket_batches, random.Random(0))
    positions, widths, warmup_start = 0, [], time.perf_counter()
    for step in range(steps + warmup):
        inputs, targets = collate(next(batches), tokenizer.pad_id, "cpu")
        if step == warmup:
            start = time.perf_counter()
        sft_step(model, optimizer, inputs, targets, tokenizer.pad_id, SFTConfig.grad_clip, step)
        if step >= warmup:
            positions += inputs.numel()
            widths.append(inputs.shape[1])
    return positions / (time.perf_counter() - start), sum(widths) / len(widths), model, start - warmup_start


def dense_twin(cfg):
    """A dense model with the same active parameters per token: every layer's MLP is as wide as the
    MoE layers' shared + activated experts together (what the MoE's expert loop costs is the gap)."""
    width = cfg.expert_hidden * (cfg.n_shared_experts + cfg.n_activated_experts)
    return Transformer(replace(cfg, n_routed_experts=0, dense_hidden=width))


def main(argv=None) -> int:
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="cpu", choices=sorted(PRESETS))
    p.add_argument("--vocab", type=int_range(16, 1 << 20), default=600)
    p.add_argument("--batch", type=int_range(1, 4096), default=None, help="prompts per generation batch (default 64; 16 with --quick)")
    p.add_argument("--new-tokens", type=int_range(1, 4096), nargs="+", default=None, help="default 128 512; 32 128 with --quick")
    p.add_argument("--train-steps", type=int_range(1, 10000), default=None, help="timed training steps (default 10; 3 with --quick)")
    p.add_argument("--skip-generation", action="store_true", help="time training only")
    p.add_argument("--quick", action="store_true", help="a smaller, faster run")
    p.add_argument("--json", action="store_true", help="write bench/results_sampler.json")
    p.add_argument("--compile", action="store_true", help="also time the pretraining step with torch.compile")
    args = p.parse_args(argv)
    if args.json:
        try:
            check_writable(RESULTS, "--json")  # before the timing, not after it
        except ValueError as error:
            return fail(str(error))
    batch = args.batch or (16 if args.quick else 64)
    lengths = args.new_tokens or ([32, 128] if args.quick else [128, 512])
    train_steps = args.train_steps or (3 if args.quick else 10)

    torch.manual_seed(0)
    max_prompt = 32
    cfg = model_config(args.preset, args.vocab, max_seq_len=max(max_prompt + max(lengths), 128))
    model = Transformer(cfg).eval()
    gen = torch.Generator().manual_seed(0)
    prompts = [torch.randint(1, args.vocab, (int(n),), generator=gen).tolist()
               for n in torch.randint(8, max_prompt + 1, (batch,), generator=gen)]
    results = {"preset": args.preset, "vocab_size": args.vocab, "threads": torch.get_num_threads(),
               "params_total": model.num_params(), "params_active": model.num_params(active_only=True),
               "generation": []}
    print(f"{args.preset} preset, vocab {args.vocab}: {results['params_total'] / 1e6:.3f}M params, "
          f"{results['params_active'] / 1e6:.3f}M active per token; {torch.get_num_threads()} threads")

    print(f"\ngeneration, batch {batch}, prompts 8-{max_prompt} tokens, no stop tokens (new tokens/s)")
    generation_speed(model, prompts[:4], 4, use_cache=True)  # warm up (first calls are slow)
    print(f"{'new tokens':>10} {'cached':>10} {'uncached':>10} {'speed-up':>9}")
    for n in [] if args.skip_generation else lengths:
        cached = generation_speed(model, prompts, n, use_cache=True)
        uncached = generation_speed(model, prompts, n, use_cache=False)
        results["generation"].append({"batch": batch, "new_tokens": n, "cached_tok_s": cached,
                                      "uncached_tok_s": uncached, "speedup": cached / uncached})
        print(f"{n:>10} {cached:>10.0f} {uncached:>10.0f} {cached / uncached:>8.1f}x", flush=True)

    seq, train_batch = 128, 64
    tok_s = training_speed(model, train_batch, seq, train_steps)
    peak = matmul_peak_flops()
    flops_per_token = 6 * results["params_active"] + 12 * cfg.n_layers * cfg.d_model * seq
    results |= {"train_tok_s": tok_s, "train_batch": train_batch, "train_seq": seq,
                "model_flops_per_token": flops_per_token, "matmul_peak_flops": peak,
                "train_fraction_of_peak": tok_s * flops_per_token / peak}
    print(f"\ntraining (forward + backward + AdamW), batch {train_batch} x {seq}")
    print(f"{'tokens/s':>10} {'GFLOP/s':>9} {'matmul peak':>12} {'fraction':>9}")
    print(f"{tok_s:>10.0f} {tok_s * flops_per_token / 1e9:>9.1f} {peak / 1e9:>12.1f} "
          f"{results['train_fraction_of_peak']:>9.2f}   <- random full-length rows, {train_batch} x {seq}")
    pre_tok_s, width, pre_model, _ = pretraining_speed(args.preset, train_steps)
    pre_flops = 6 * pre_model.num_params(active_only=True) + 12 * cfg.n_layers * cfg.d_model * width
    results |= {"pretrain_tok_s": pre_tok_s, "pretrain_mean_width": width,
                "pretrain_fraction_of_peak": pre_tok_s * pre_flops / peak}
    print(f"{pre_tok_s:>10.0f} {pre_tok_s * pre_flops / 1e9:>9.1f} {peak / 1e9:>12.1f} "
          f"{results['pretrain_fraction_of_peak']:>9.2f}   <- pretraining as it runs: batch 32 of the base corpus, "
          f"rows {width:.0f} wide")
    if args.compile:
        try:
            compiled_tok_s, _, _, warmup_seconds = pretraining_speed(args.preset, train_steps, compiled=True, warmup=20)
        except Exception as error:  # no C++ compiler, or an unsupported platform
            print(compile_unavailable(error))
        else:
            results |= {"pretrain_compiled_tok_s": compiled_tok_s, "pretrain_compile_warmup_s": warmup_seconds,
                        "pretrain_compiled_fraction_of_peak": compiled_tok_s * pre_flops / peak}
            print(f"{compiled_tok_s:>10.0f} {compiled_tok_s * pre_flops / 1e9:>9.1f} {peak / 1e9:>12.1f} "
                  f"{results['pretrain_compiled_fraction_of_peak']:>9.2f}   <- the same, forward compiled: "
                  f"{compiled_tok_s / pre_tok_s:.2f}x eager, after {warmup_seconds:.0f} s of warm-up "
                  f"(20 steps, the compiling)")
    if cfg.is_moe:
        torch.manual_seed(0)
        twin = dense_twin(cfg)
        results["dense_twin_train_tok_s"] = twin_tok_s = training_speed(twin, train_batch, seq, train_steps)
        print(f"dense model with the same active parameters ({twin.num_params() / 1e6:.3f}M): {twin_tok_s:.0f} "
              f"tokens/s; the MoE trains at {tok_s / twin_tok_s:.2f} of its speed")

    if args.json:
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nwrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
