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
  9. grpo.py        rollouts, dynamic sampling, group advantages, log-probs, the GRPO loss, one RL step
 10. rewards.py     rule-based accuracy / format / language-consistency rewards
 11. curriculum.py  which task levels RL practises on
 12. evaluate.py    pass@1, cons@k, length / reflection / language metrics
 13. ../train_zero.py  R1-Zero, top to bottom
harness.py (command lines, run directories and resume files, reports, plots) and checkpoint.py
(atomic save, safe load) are machinery: read them only if you want to.
"""
