"""Watch a model think: answer one question, or a file of questions.

    python -m r1mini.generate --ckpt runs/zero/model.pt --question "4812+5937"
    python -m r1mini.generate --ckpt runs/zero/model.pt --in questions.jsonl --out answers.jsonl

Questions use the task formats in the README ("4812+5937", "4817*6", "(T and F) or T").
Each line of --in is {"question": ...}; --out gets the same objects with "response" added
(the full completion, <think> and <answer> included) and "answer" (the extracted answer or null).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from r1mini.checkpoint import CheckpointError, load_checkpoint
from r1mini.config import pick_device
from r1mini.corpus import render_prompt
from r1mini.rewards import extract_answer
from r1mini.sampler import generate


def answer_questions(model, tokenizer, questions: list[str], temperature: float, top_p: float,
                     max_new_tokens: int, seed: int, batch_size: int = 128) -> list[str]:
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(seed)
    responses = []
    for start in range(0, len(questions), batch_size):
        prompts = [tokenizer.encode(render_prompt(q)) for q in questions[start: start + batch_size]]
        limit = model.cfg.max_seq_len - max(map(len, prompts))
        if limit < 1:
            raise ValueError(f"a question is too long for this model ({model.cfg.max_seq_len} tokens in all)")
        outputs = generate(model, prompts, min(max_new_tokens, limit), temperature=temperature, top_p=top_p,
                           stop_tokens=(tokenizer.eot_id,), pad_id=tokenizer.pad_id, generator=generator)
        responses += [tokenizer.decode(tokens) for tokens in outputs]
    return responses


def read_questions(path: Path) -> list[dict]:
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}:{number}: not valid JSON ({error.msg})") from None
        if not isinstance(row, dict) or not isinstance(row.get("question"), str):
            raise ValueError(f'{path}:{number}: each line must be an object with a "question" string')
        rows.append(row)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Sample answers from a checkpoint.")
    parser.add_argument("--ckpt", required=True)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--question", help='one question, e.g. "4812+5937"')
    source.add_argument("--in", dest="inp", help="JSONL file of {\"question\": ...} lines")
    parser.add_argument("--out", help="where to write the answered JSONL (with --in)")
    parser.add_argument("--temperature", type=float, default=0.6, help="0 = greedy")
    parser.add_argument("--top-p", type=float, default=0.95)
    parser.add_argument("--max-new-tokens", type=int, default=160)
    parser.add_argument("--samples", type=int, default=1, help="answers per question (with --question)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    try:
        if args.temperature < 0 or not 0 < args.top_p <= 1:
            raise ValueError("--temperature must be >= 0 and --top-p in (0, 1]")
        if args.max_new_tokens < 1 or args.samples < 1:
            raise ValueError("--max-new-tokens and --samples must be at least 1")
        if args.inp and not args.out:
            raise ValueError("--in needs --out")
        if args.inp and not Path(args.inp).is_file():
            raise ValueError(f"no such file: {args.inp}")
        rows = read_questions(Path(args.inp)) if args.inp else [{"question": args.question}] * args.samples
        model, tokenizer, _ = load_checkpoint(args.ckpt, pick_device(args.device))
        responses = answer_questions(model, tokenizer, [r["question"] for r in rows], args.temperature,
                                     args.top_p, args.max_new_tokens, args.seed)
    except (ValueError, CheckpointError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.inp:
        with open(args.out, "w") as f:
            for row, response in zip(rows, responses):
                f.write(json.dumps({**row, "response": response, "answer": extract_answer(response)},
                                   ensure_ascii=False) + "\n")
        print(f"wrote {len(rows)} answers to {args.out}")
    else:
        for response in responses:
            print(render_prompt(args.question) + response)
            print(f"--> answer: {extract_answer(response)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
