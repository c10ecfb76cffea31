"""r1mini beside its peers, on the same machine in one run: HF transformers `generate` and TRL's
`GRPOTrainer`, each on a randomly initialised Llama of r1mini's dense shape.

    python bench/peers.py                      # both comparisons (~3 minutes on 2 cores)
    python bench/peers.py --only generate      # or --only grpo
    python bench/peers.py --threads 1          # pin the thread count (default: torch's)

transformers and trl are NOT requirements of r1mini. Without them the script times r1mini alone
and says how to add the peers, in a separate venv so that they never leak into the project's:

    python -m venv peers-venv && peers-venv/bin/pip install torch==2.13.0 tiktoken tqdm numpy
    peers-venv/bin/pip install transformers trl && peers-venv/bin/python bench/peers.py

The shape (the issue tracker's): d_model 128, 4 layers, 4 heads, SwiGLU FFN 512, vocab 512, tied
embeddings, fp32. r1mini's model is the same dense transformer (`n_routed_experts=0`); the cpu
preset (MoE, its own vocabulary) is timed beside it for reference.
  generate  B 128 prompts of 16-24 random tokens, 96 new tokens each, temperature 1, top-p 1, no
            stop token (every row runs to full length). Best of --repeats rounds after a warm-up;
            within a round the contestants take turns.
  grpo      16 prompts x G 8, up to 64 new tokens, beta 0.04, one update per batch, temperature 1.
            r1mini runs `grpo_step` on its own tasks, prompts (~31 tokens) and vocabulary (439);
            TRL gets random prompts of the same length and a cheap reward. Mean of --steps steps after one warm-up step.
Random init: a random model rarely emits its end token, so rollouts run (almost) to full length.
"""
from __future__ import annotations

import copy
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from r1mini.config import model_config  # noqa: E402
from r1mini.corpus import render_prompt  # noqa: E402
from r1mini.curriculum import Curriculum  # noqa: E402
from r1mini.grpo import GRPOConfig, grpo_step  # noqa: E402
from r1mini.flags import ArgumentParser, int_range  # noqa: E402
from r1mini.train_utils import make_optimizer  # noqa: E402
from r1mini.model import Transformer  # noqa: E402
from r1mini.rewards import r1_zero_rewards  # noqa: E402
from r1mini.sampler import generate  # noqa: E402
from r1mini.tasks import TASK_NAMES  # noqa: E402
from r1mini.tokenizer import get_tokenizer  # noqa: E402

VOCAB, D_MODEL, LAYERS, HEADS, FFN = 512, 128, 4, 4, 512
GEN_BATCH, GEN_NEW_TOKENS = 128, 96
GRPO_PROMPTS, GRPO_G, GRPO_NEW_TOKENS, GRPO_BETA, GRPO_LR = 16, 8, 64, 0.04, 3e-4
INSTALL_HINT = ("peers skipped: transformers / trl not installed. In a separate venv:\n"
                "  python -m venv peers-venv && peers-venv/bin/pip install torch==2.13.0 tiktoken tqdm numpy\n"
                "  peers-venv/bin/pip install transformers trl && peers-venv/bin/python bench/peers.py")


def r1mini_dense(vocab: int = VOCAB) -> Transformer:
    torch.manual_seed(0)
    return Transformer(model_config("cpu", vocab, n_routed_experts=0, n_dense_layers=LAYERS, d_model=D_MODEL,
                                    n_layers=LAYERS, n_heads=HEADS, dense_hidden=FFN, max_seq_len=256)).eval()


def random_prompts(n: int, low: int = 16, high: int = 24, seed: int = 0) -> list[list[int]]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.randint(2, VOCAB, (int(length),), generator=gen).tolist()
            for length in torch.randint(low, high + 1, (n,), generator=gen)]


def best_seconds(runs: dict, repeats: int) -> dict:
    """Best time of each named function over `repeats` rounds, the functions taking turns within a
    round: on a shared machine a slow spell then hits every contestant alike, not just one."""
    for fn in runs.values():
        fn()  # warm-up: first calls allocate and pick kernels
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeats):
        for name, fn in runs.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


# ---- generate ----

def r1mini_generate(model, prompts):
    gen = torch.Generator().manual_seed(0)
    return lambda: generate(model, prompts, GEN_NEW_TOKENS, temperature=1.0, stop_tokens=[], pad_id=0, generator=gen)


def hf_llama(transformers):
    config = transformers.LlamaConfig(vocab_size=VOCAB, hidden_size=D_MODEL, intermediate_size=FFN,
                                      num_hidden_layers=LAYERS, num_attention_heads=HEADS, num_key_value_heads=HEADS,
                                      max_position_embeddings=256, tie_word_embeddings=True, rms_norm_eps=1e-6,
                                      pad_token_id=0, bos_token_id=None, eos_token_id=1)
    torch.manual_seed(0)
    return transformers.LlamaForCausalLM(config).eval()


def hf_generate(transformers, prompts):
    model = hf_llama(transformers)
    longest = max(map(len, prompts))
    input_ids = torch.tensor([[0] * (longest - len(p)) + p for p in prompts])  # left-padded, like r1mini
    attention_mask = (torch.arange(longest)[None, :] >= torch.tensor([longest - len(p) for p in prompts])[:, None]).long()

    def run():
        with torch.no_grad():
            out = model.generate(input_ids=input_ids, attention_mask=attention_mask, do_sample=True, temperature=1.0,
                                 top_p=1.0, top_k=0, max_new_tokens=GEN_NEW_TOKENS, min_new_tokens=GEN_NEW_TOKENS,
                                 eos_token_id=None, pad_token_id=0)
        assert out.shape[1] == longest + GEN_NEW_TOKENS
    return run


# ---- GRPO step ----

def r1mini_grpo_seconds(model, steps: int) -> tuple[float, dict]:
    """Mean seconds per grpo_step and its phases (sample / reference / update)."""
    tokenizer = get_tokenizer()
    ref = copy.deepcopy(model).requires_grad_(False)
    cfg = GRPOConfig(prompts_per_step=GRPO_PROMPTS, group_size=GRPO_G, max_new_tokens=GRPO_NEW_TOKENS,
                     kl_coef=GRPO_BETA, lr=GRPO_LR, temperature=1.0, zero_std_groups="keep")
    optimizer = make_optimizer(model, cfg.lr, cfg.weight_decay)
    curriculum, rng = Curriculum(TASK_NAMES), random.Random(0)
    generator = torch.Generator().manual_seed(0)
    rows = []
    for step in range(steps + 1):  # step 0 warms up
        start = time.perf_counter()
        stats, _ = grpo_step(model, ref, optimizer, tokenizer, lambda n: curriculum.sample(rng, n), cfg,
                             r1_zero_rewards, torch.device("cpu"), generator, step)
        if step:
            rows.append({"total": time.perf_counter() - start, "response_length": stats["response_length"],
                         **{k[5:]: v for k, v in stats.items() if k.startswith("time_")}})
    means = {k: statistics.mean(r[k] for r in rows) for k in rows[0]}
    return means["total"], means


def trl_grpo_seconds(transformers, trl, datasets, steps: int, prompt_len: int) -> float:
    """Mean seconds per GRPOTrainer step (generation, reference and old log-probs, update)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    words = {f"w{i}": i for i in range(VOCAB)}
    core = Tokenizer(models.WordLevel(words, unk_token="w2"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = transformers.PreTrainedTokenizerFast(tokenizer_object=core, pad_token="w0", eos_token="w1",
                                                     unk_token="w2")
    gen = torch.Generator().manual_seed(0)
    prompts = [" ".join(f"w{t}" for t in torch.randint(3, VOCAB, (prompt_len,), generator=gen).tolist())
               for _ in range(GRPO_PROMPTS * (steps + 1))]
    times, started = [], []

    class StepTimer(transformers.TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            started.append(time.perf_counter())

        def on_step_end(self, args, state, control, **kwargs):
            times.append(time.perf_counter() - started[-1])

    def reward(completions, **kwargs):  # cheap and varied: rewards differ within every group
        return [float(len(c) % 7) for c in completions]

    with tempfile.TemporaryDirectory() as tmp:
        hf_llama(transformers).save_pretrained(f"{tmp}/model")  # TRL builds its reference from a path
        tokenizer.save_pretrained(f"{tmp}/model")
        args = trl.GRPOConfig(output_dir=f"{tmp}/out", per_device_train_batch_size=GRPO_PROMPTS * GRPO_G,
                              num_generations=GRPO_G, max_completion_length=GRPO_NEW_TOKENS, beta=GRPO_BETA,
                              learning_rate=GRPO_LR, temperature=1.0, top_p=1.0, num_iterations=1,
                              max_steps=steps + 1, logging_steps=1, report_to="none", save_strategy="no",
                              use_cpu=True, seed=0, disable_tqdm=True, shuffle_dataset=False,
                              # TRL defaults to bf16 autocast and activation checkpointing; r1mini's CPU
                              # path is fp32 without checkpointing (bf16 matmuls are ~20x slower on a
                              # CPU without bf16 units)
                              bf16=False, gradient_checkpointing=False)
        trainer = trl.GRPOTrainer(model=f"{tmp}/model", reward_funcs=reward, args=args, processing_class=tokenizer,
                                  train_dataset=datasets.Dataset.from_dict({"prompt": prompts}),
                                  callbacks=[StepTimer()])
        trainer.train()
    return statistics.mean(times[1:])  # step 0 warms up


def main(argv=None) -> int:
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", choices=("generate", "grpo"), help="run one of the two comparisons")
    p.add_argument("--threads", type=int_range(1, 512), help="torch threads (default: torch's choice)")
    p.add_argument("--repeats", type=int_range(1, 100), default=5, help="generate: best of this many runs")
    p.add_argument("--steps", type=int_range(1, 100), default=3, help="GRPO: timed steps after a warm-up step")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        import datasets
        import transformers
        import trl
        transformers.logging.set_verbosity_error()
    except ImportError:
        transformers = trl = datasets = None
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, fp32, CPU; "
          + (f"transformers {transformers.__version__}, trl {trl.__version__}" if trl else "no peers"))
    dense = r1mini_dense()
    moe = Transformer(model_config("cpu", VOCAB, max_seq_len=256)).eval()
    print(f"shape: r1mini dense {dense.num_params() / 1e6:.2f}M params; cpu preset (MoE) {moe.num_params() / 1e6:.2f}M, "
          f"{moe.num_params(active_only=True) / 1e6:.2f}M active"
          + (f"; HF Llama {hf_llama(transformers).num_parameters() / 1e6:.2f}M" if transformers else ""))

    if args.only in (None, "generate"):
        prompts = random_prompts(GEN_BATCH)
        runs = {"r1mini dense": r1mini_generate(dense, prompts), "r1mini cpu preset (MoE)": r1mini_generate(moe, prompts)}
        if transformers:
            runs["HF transformers generate"] = hf_generate(transformers, prompts)
        best = best_seconds(runs, args.repeats)
        peer = best.get("HF transformers generate")
        print(f"\ngenerate: B {GEN_BATCH} x {GEN_NEW_TOKENS} new tokens, T 1, no stop (best of {args.repeats}, taking turns)")
        print("| model | new tokens/s | vs HF |\n|---|---|---|")
        for name, seconds in best.items():
            ratio = f"{peer / seconds:.2f}x" if peer else "-"
            print(f"| {name} | {GEN_BATCH * GEN_NEW_TOKENS / seconds:,.0f} | {ratio} |", flush=True)

    if args.only in (None, "grpo"):
        dense_s, dense_split = r1mini_grpo_seconds(r1mini_dense(get_tokenizer().n_vocab), args.steps)
        moe_s, moe_split = r1mini_grpo_seconds(model_config_model("cpu"), args.steps)
        rows = [("r1mini dense", dense_s, dense_split), ("r1mini cpu preset (MoE)", moe_s, moe_split)]
        if trl:
            prompt_len = r1mini_prompt_length()
            rows.append(("TRL GRPOTrainer", trl_grpo_seconds(transformers, trl, datasets, args.steps, prompt_len), None))
        peer = rows[2][1] if trl else None
        print(f"\nGRPO step: {GRPO_PROMPTS} prompts x G {GRPO_G} x <= {GRPO_NEW_TOKENS} new tokens, beta {GRPO_BETA}, "
              f"T 1 (mean of {args.steps} steps after a warm-up)")
        print("| trainer | s/step | sample | reference | update | vs TRL |\n|---|---|---|---|---|---|")
        for name, seconds, split in rows:
            phases = " | ".join(f"{split[k]:.2f}" for k in ("sample", "reference", "update")) if split else "- | - | -"
            ratio = f"{peer / seconds:.2f}x" if peer else "-"
            print(f"| {name} | {seconds:.2f} | {phases} | {ratio} |", flush=True)
    if not trl:
        print("\n" + INSTALL_HINT)
    return 0


def r1mini_prompt_length() -> int:
    """The mean length of r1mini's RL prompts (template + question), to give TRL prompts as long."""
    tokenizer, problems = get_tokenizer(), Curriculum(TASK_NAMES).sample(random.Random(0), 64)
    return round(statistics.mean(len(tokenizer.encode(render_prompt(p.question))) for p in problems))


def model_config_model(preset: str) -> Transformer:
    """A random-init model of a preset with the real tokenizer's vocabulary (grpo_step decodes text)."""
    torch.manual_seed(0)
    return Transformer(model_config(preset, get_tokenizer().n_vocab)).eval()


if __name__ == "__main__":
    sys.exit(main())
