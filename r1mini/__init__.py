"""r1mini: a minimal, readable reimplementation of the DeepSeek-R1 training pipeline.

Reading order (each module's docstring says which part of the papers it implements):
  1. tasks.py       synthetic problems, exact verifiers, step-by-step solution writers
  2. tokenizer.py   a tiktoken Encoding built from our own byte-level BPE vocabulary
  3. config.py      model size presets and device choice
  4. model.py       DeepSeekMoE transformer (RMSNorm, RoPE, KV cache, shared + routed experts)
  5. sampler.py     batched KV-cached generation (temperature, top-p, stop tokens)
  6. corpus.py      the base model's pretraining corpus (mixed styles and languages)
  7. sft.py         one SFT step and the one supervised loop (pretraining, cold start, distillation)
  8. pretrain.py    builds the base model (our "DeepSeek-V3-Base")
  9. rewards.py     rule-based accuracy / format / language-consistency rewards
 10. grpo.py        rollouts, dynamic sampling, group advantages, log-probs, the GRPO loss, one RL step
 11. grpo_fast.py   the same step on length-sorted chunks of rows (what the scripts run)
 12. curriculum.py  which task levels RL practises on
 13. rl_loop.py     one RL stage: the loop of steps, with evaluation and resume
 14. evaluate.py    pass@1, cons@k, length / reflection / language metrics (the R1 §3 protocol)
 15. ../train_zero.py  R1-Zero, top to bottom; then r1_data.py and ../train_r1.py (R1),
     distillation.py and ../distill.py (distillation)
Machinery a student may skip, each module named for its job: flags.py (command lines), rundir.py
(run directories, resume files), train_utils.py (optimizer, NaN guard, timer), parallel.py (jobs
side by side), eval_cache.py (evaluations kept on disk), report.py (report tables, plots),
checkpoint.py (atomic save, safe load), generate.py (`python -m r1mini.generate`).
"""
