"""Watch a model think: answer one question, or a file of questions.

    python -m r1mini.generate --ckpt runs/zero/model.pt --question "4812+5937"
    python -m r1mini.generate --ckpt runs/zero/model.pt --in questions.jsonl --out answers.jsonl

Questions use the task formats in the README ("4812+5937", "What is 4817*6?", "(T and F) or T 的结果是什么？");
each goes through `tasks.normalize_question`, which accepts what people type ("12 + 35 =", "t and f")
and refuses unsupported questions ("12-3") rather than answer them as another question.
Each line of --in is {"question": ...}; --out gets the same objects with "response" added
(the full completion, <think> and <answer> included) and "answer" (the extracted answer or null).
Answers are written batch by batch, so a killed run keeps what it answered. Every question gets its
own token budget, min(--max-new-tokens, what the model's context has left after its prompt); a
question that is refused or leaves no room at all gets "response": null and an "error", and the run
goes on.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from tqdm import tqdm

from r1mini.checkpoint import load_checkpoint
from r1mini.config import pick_device
from r1mini.corpus import render_prompt
from r1mini.evaluate import EVAL_TEMPERATURE, EVAL_TOP_P
from r1mini.flags import SEED, ArgumentParser, check_writable, fail, float_range, int_range
from r1mini.rewards import extract_answer
from r1mini.sampler import generate
from r1mini.tasks import normalize_question

MIN_TEMPERATURE = 1e-3  # below this, logits / temperature overflow to inf and sampling breaks


def too_long_error(prompt_tokens: int, max_seq_len: int) -> str | None:
    """Why a prompt cannot be answered (no room left for a single new token), or None."""
    limit = max_seq_len - 1
    if prompt_tokens <= limit:
        return None
    return f"question too long for this model ({prompt_tokens} tokens, limit {limit})"


def answer_batches(model, tokenizer, questions: list[str], temperature: float, top_p: float,
                   max_new_tokens: int, seed: int, batch_size: int = 128):
    """Yield, for each batch of questions in input order, one (response, error) pair per question:
    the decoded completion and None, or None and why the question could not be answered (refused
    by `normalize_question`, or too long).

    Each question's budget is its own: min(max_new_tokens, max_seq_len - its prompt length). A batch
    is sampled once per distinct budget, so one long question never cuts the others' answers short."""
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(seed)
    max_seq_len = model.cfg.max_seq_len
    for start in range(0, len(questions), batch_size):
        prompts, results = [], []
        for question in questions[start: start + batch_size]:
            try:
                prompts.append(tokenizer.encode(render_prompt(normalize_question(question))))
                results.append((None, too_long_error(len(prompts[-1]), max_seq_len)))
            except ValueError as refused:
                prompts.append([])
                results.append((None, str(refused)))
        budgets = [0 if error else min(max_new_tokens, max_seq_len - len(p)) for p, (_, error) in zip(prompts, results)]
        for budget in sorted({b for b in budgets if b >= 1}, reverse=True):
            rows = [i for i, b in enumerate(budgets) if b == budget]
            outputs = generate(model, [prompts[i] for i in rows], budget, temperature=temperature, top_p=top_p,
                               stop_tokens=(tokenizer.eot_id,), pad_id=tokenizer.pad_id, generator=generator)
            for i, tokens in zip(rows, outputs):
                results[i] = (tokenizer.decode(tokens), None)
        yield results


def read_questions(path: Path) -> list[dict]:
    rows = []
    # Split on "\n" only: str.splitlines would also split inside a JSON string holding \u2028 or \x1c.
    for number, raw in enumerate(path.read_bytes().split(b"\n"), 1):
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")  # tolerate a byte-order mark
        except UnicodeDecodeError as error:
            raise ValueError(f"{path}:{number}: not valid UTF-8 (byte 0x{raw[error.start]:02x} at column "
                             f"{error.start + 1}); save the file as UTF-8") from None
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


def check_args(args) -> None:
    """What the flag types cannot check alone: combinations of flags, and the input file."""
    if args.out and not args.inp:
        raise ValueError("--out needs --in (with --question the answers are printed)")
    if args.inp and not args.out:
        raise ValueError("--in needs --out")
    if args.inp and args.samples is not None:
        raise ValueError("--samples only applies to --question (with --in, repeat a line to sample it again)")
    if 0 < args.temperature < MIN_TEMPERATURE:
        raise ValueError(f"--temperature must be 0 (greedy) or >= {MIN_TEMPERATURE}, got {args.temperature}")
    if args.inp and not Path(args.inp).is_file():
        raise ValueError(f"no such file: {args.inp}")
    if args.out and Path(args.out).resolve() == Path(args.inp).resolve():
        raise ValueError("--out must not be the --in file")


def main(argv=None) -> int:
    parser = ArgumentParser(description="Sample answers from a checkpoint.")
    parser.add_argument("--ckpt", required=True)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--question", help='one question, e.g. "4812+5937"')
    source.add_argument("--in", dest="inp", help="JSONL file of {\"question\": ...} lines")
    parser.add_argument("--out", help="where to write the answered JSONL (with --in)")
    parser.add_argument("--temperature", type=float_range(0, 100), default=EVAL_TEMPERATURE, help="0 = greedy")
    parser.add_argument("--top-p", type=float_range(0, 1, low_open=True), default=EVAL_TOP_P)
    parser.add_argument("--max-new-tokens", type=int_range(1), default=192)
    parser.add_argument("--samples", type=int_range(1, 10000), help="answers per question (with --question; default 1)")
    parser.add_argument("--seed", type=SEED, default=0)
    parser.add_argument("--batch-size", type=int_range(1, 4096), default=128, help="questions sampled together")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    try:
        check_args(args)
        question = None if args.inp else normalize_question(args.question)  # refused before loading a model
        rows = read_questions(Path(args.inp)) if args.inp else [{"question": args.question}] * (args.samples or 1)
        if args.out:
            check_writable(args.out, "--out")
        model, tokenizer, _ = load_checkpoint(args.ckpt, pick_device(args.device))
        if not args.inp:
            error = too_long_error(len(tokenizer.encode(render_prompt(question))), model.cfg.max_seq_len)
            if error:
                raise ValueError(error)
        batches = answer_batches(model, tokenizer, [r["question"] for r in rows], args.temperature, args.top_p,
                                 args.max_new_tokens, args.seed, args.batch_size)
        if args.inp:
            errors = 0
            progress = tqdm(total=len(rows), unit="question", disable=len(rows) <= args.batch_size,
                            dynamic_ncols=True)
            with open(args.out, "w", encoding="utf-8") as f, progress:
                done = 0
                for results in batches:
                    for row, (response, error) in zip(rows[done:], results):
                        record = {**row, "response": response,
                                  "answer": None if response is None else extract_answer(response)}
                        if error:
                            record["error"], errors = error, errors + 1
                        f.write(json.dumps(record, ensure_ascii=False) + "\n")
                    f.flush()  # a killed run keeps every batch written so far
                    done += len(results)
                    progress.update(len(results))
            skipped = f" ({errors} questions refused or too long for this model, marked with \"error\")" if errors else ""
            print(f"wrote {len(rows)} answers to {args.out}{skipped}")
        else:
            for results in batches:
                for response, _ in results:
                    print(render_prompt(question) + response)
                    print(f"--> answer: {extract_answer(response)}\n")
    except ValueError as error:  # CheckpointError is one
        return fail(str(error))
    except OSError as error:  # e.g. the disk fills up while answers are written
        return fail(f"{error.filename}: {error.strerror or error}" if error.filename else str(error.strerror or error))
    return 0


if __name__ == "__main__":
    sys.exit(main())
