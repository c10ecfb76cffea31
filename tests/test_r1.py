"""R1 (train_r1.py, r1mini/r1_data.py): the rewriter, the filters, the rules, and the script end to end."""
import functools
import json
import random

import pytest
import torch

import train_r1
from conftest import crash_at
from r1mini import grpo_fast, pretrain, sft
from r1mini.checkpoint import load_checkpoint
from r1mini.corpus import render_completion
from r1mini.r1_data import (adaptive_trivial_example, cold_start_example, helpfulness_rule, is_brief, non_reasoning_example,
                            r1_rewards, readable_completion, readable_format, rejection_reason)
from r1mini.reasoning_steps import read_reasoning
from r1mini.rewards import accuracy_reward, format_reward, language_consistency, reasoning_text, summary_text
from r1mini.tasks import TASK_NAMES, TRAIN_LEVELS, TRIVIAL_LEVEL, Problem, generate_problem, write_solution
from r1mini.tokenizer import get_tokenizer

ADD = Problem("add", 3, "57+384", "441", "zh")
ZERO_EN = render_completion(write_solution(ADD, random.Random(0), ("en",))[0], "441")


# ---------------------------------------------------------------- the summary in the format reward

def test_the_summary_is_allowed_only_in_r1s_format():
    readable = readable_completion(ADD, random.Random(0))
    assert summary_text(readable) == "所以答案是441。"
    assert format_reward(readable, summary=True) == 1.0 and format_reward(readable) == 0.0  # R1-Zero's stays strict
    assert format_reward(ZERO_EN, summary=True) == 1.0 and summary_text(ZERO_EN) == ""
    assert format_reward(readable.replace("</think> 所以", "</think> <answer>所以"), summary=True) == 0.0  # 2 answer tags


def test_r1s_format_wants_a_summary_after_worked_answers_only():
    readable = readable_completion(ADD, random.Random(0))
    assert readable_format(readable, ADD) == 1.0
    assert readable_format(readable.replace("</think> 所以答案是441。", "</think>"), ADD) == 0.0  # worked, no summary
    trivial = Problem("add", TRIVIAL_LEVEL, "7+8", "15", "zh")
    assert readable_format(non_reasoning_example(trivial), trivial) == 1.0          # brief: none needed


def test_r1_rewards_add_language_consistency_with_the_questions_language():
    readable = readable_completion(ADD, random.Random(0))
    assert r1_rewards(readable, ADD) == {"accuracy": 1.0, "format": 1.0, "language": 1.0}
    english = Problem("add", 3, "57+384", "441", "en")
    assert r1_rewards(readable, english)["language"] == 0.0
    assert r1_rewards(" <think> 7+4=11. </think> <answer>441</answer>", ADD)["language"] == 0.0  # no words: no reward
    assert r1_rewards(readable, english, language=False) == {"accuracy": 1.0, "format": 1.0}  # the ablation


# ---------------------------------------------------------------- cold start: the rewrite

@pytest.mark.parametrize("task", TASK_NAMES)
@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_rewrite_is_right_readable_and_in_the_questions_language(task, language):
    rng = random.Random(f"rewrite-{task}-{language}")
    other = "zh" if language == "en" else "en"
    for level in TRAIN_LEVELS[task]:
        problem = generate_problem(rng, task, level)
        problem = Problem(problem.task, level, problem.expression, problem.answer, "zh" if language == "zh" else "en")
        zero = render_completion(*write_solution(problem, rng, (other,)))  # R1-Zero answered in the other language
        rewritten, reason = cold_start_example(problem, zero, rng)
        assert reason == "kept", zero
        assert accuracy_reward(rewritten, problem.answer) == 1.0 and format_reward(rewritten, summary=True) == 1.0
        assert language_consistency(rewritten, language) == 1.0, rewritten
        assert summary_text(rewritten) and "Let me check" in rewritten or "检查一下" in rewritten
        assert rejection_reason(problem, rewritten) is None


def test_the_cold_start_filter_reads_the_final_answer_and_readability_only():
    rng = random.Random(0)
    steps = reasoning_text(ZERO_EN).strip()
    wrong = render_completion(*write_solution(ADD, random.Random(3), ("en",), slip=True))
    cases = {
        "wrong": wrong,
        "format": ZERO_EN.replace("</think> ", "</think> Done. "),  # right answer, not R1-Zero's format
        "unreadable": render_completion(steps + " blah blah.", "441"),
        "out of order": render_completion(steps.replace("tens:", "tens: 5+8+1=14, write 4 carry 1. tens:"), "441"),
        "disagrees": render_completion(steps.replace("So the answer is 441.", "So the answer is 442."), "441"),
    }
    for reason, completion in cases.items():
        assert accuracy_reward(completion, "441") == float(reason != "wrong")
        assert cold_start_example(ADD, completion, rng) == (None, reason), completion
    skipped = render_completion(steps.replace("tens: 5+8+1=14, write 4 carry 1. ", ""), "441")
    assert cold_start_example(ADD, skipped, rng) == (None, "out of order")  # a skipped column is no better
    false_alarm = render_completion(steps.replace("tens:", "Wait, 7+4+0 is 11, not 12. tens:"), "441")
    assert cold_start_example(ADD, false_alarm, rng) == (None, "unreadable")  # a "wait" that corrects nothing
    # R1-Zero reasoned in both languages: the rewrite translates it rather than dropping it
    mixed = render_completion(steps.replace("So the answer is 441.", "所以答案是441。"), "441")
    rewritten, reason = cold_start_example(ADD, mixed, rng)
    assert reason == "kept" and language_consistency(rewritten, "zh") == 1.0


def test_the_rewrite_keeps_r1_zeros_own_steps_and_a_caught_slip():
    """A Zero answer that slips on the tens, says "wait" and redoes the column passes the filter, and
    the rewrite keeps the slip, the correction and the redo, translated into the question's language."""
    corrected = render_completion(*write_solution(ADD, random.Random(3), ("en",), slip=True, corrected=True))
    assert "Wait, " in corrected and accuracy_reward(corrected, "441") == 1.0
    rewritten, reason = cold_start_example(ADD, corrected, random.Random(0))
    assert reason == "kept", corrected
    reasoning = reasoning_text(rewritten)
    assert "等等，" in reasoning and language_consistency(rewritten, "zh") == 1.0
    reading = read_reasoning("add", reasoning)
    assert reading.genuine_corrections == 1 and reading.template_checks == 1
    # the wrong value R1-Zero wrote is still there, named by the correction
    wrong = next(s for s in read_reasoning("add", reasoning_text(corrected)).written if "right" in s)
    assert f"不是{wrong['s']}。" in reasoning and rejection_reason(ADD, rewritten) is None
    # a step that R1-Zero got wrong and an answer it got right by luck (a logic slip the next
    # operator absorbs) is kept: the filter reads the answer, not each step against the key
    logic = Problem("logic", 2, "(T and F) or T", "T", "en")
    lucky = render_completion("T and F is T. T or T is T. So the answer is T.", "T")
    assert cold_start_example(logic, lucky, random.Random(0))[1] == "kept"


def test_filters_keep_a_corrected_slip_and_drop_an_uncorrected_one():
    for seed in range(20):
        rng = random.Random(seed)
        for task in TASK_NAMES:
            problem = generate_problem(rng, task, 3, "train")
            summary = f"So the answer is {problem.answer}." if problem.language == "en" else f"所以答案是{problem.answer}。"
            caught, answer = write_solution(problem, rng, (problem.language,), slip=True, corrected=True)
            assert answer == problem.answer
            caught = render_completion(caught, answer, summary)
            assert rejection_reason(problem, caught) is None, caught
            assert cold_start_example(problem, render_completion(*write_solution(
                problem, random.Random(seed), ("en",), slip=True, corrected=True)), rng)[1] == "kept"
            uncaught, answer = write_solution(problem, rng, (problem.language,), slip=True)
            assert answer != problem.answer
            assert rejection_reason(problem, render_completion(uncaught, answer, summary)) == "wrong"


# ---------------------------------------------------------------- rejection sampling and non-reasoning data

def test_each_rejection_filter_keeps_and_drops_hand_made_cases():
    readable = readable_completion(ADD, random.Random(0))
    assert rejection_reason(ADD, readable) is None
    assert rejection_reason(ADD, readable.replace("<answer>441", "<answer>442")) == "wrong"
    assert rejection_reason(ADD, readable.replace("</think> 所以答案是441。", "</think>")) == "incomplete"  # no summary
    assert rejection_reason(ADD, " <think> . </think> 所以答案是441。 <answer>441</answer>") == "incomplete"
    doubled = readable.replace("十位：", "十位：5加8加1得14，写4进1。 十位：", 1)
    assert rejection_reason(ADD, doubled) == "repetitive"
    assert rejection_reason(ADD, readable.replace("所以答案是441。", "So the answer is 441.")) == "language"
    assert rejection_reason(Problem("add", 3, "57+384", "441", "en"), readable) == "language"


def test_with_sound_checks_the_rejection_filter_reads_the_self_check_the_conclusion_and_the_stop():
    readable = readable_completion(ADD, random.Random(0))   # 57+384 in Chinese, one self-check
    check = readable[readable.index("检查一下"):readable.index("对。") + 2]
    assert rejection_reason(ADD, readable, sound_checks=True) is None
    garbled = readable.replace(check, "检查一下个位：8加0加0得08。对。")
    assert rejection_reason(ADD, garbled) is None   # the default reads the steps and the answer only
    strict = functools.partial(rejection_reason, sound_checks=True)
    unsound = {
        "a false check": "检查一下个位：7加4加0得12。对。",
        "a true sum of no column of 57+384": "检查一下个位：8加0加0得08。对。",
        "a step of the problem under another column's name": check.replace("个位", "千位").replace("十位", "千位").replace("百位", "千位"),
        "a wait": "等等，7加4加0是11，不是12。 " + check,
        "a confirmation with no check": "对。",
        "a second conclusion": "所以答案是441。 " + check,
        "a conclusion with another answer": "所以答案是442。 " + check,
    }
    for name, replacement in unsound.items():
        completion = readable.replace(check, replacement)
        assert strict(ADD, completion) == "unsound", (name, completion)
    wrong_summary = readable.replace("</think> 所以答案是441。", "</think> 所以答案是442。")
    assert strict(ADD, wrong_summary) == "unsound"
    assert strict(ADD, readable.replace("所以答案是441。 检查", "检查")) == "unsound"   # no conclusion
    cut_off = readable.removesuffix("<|endoftext|>")   # stopped by max_new_tokens right after </answer>
    assert accuracy_reward(cut_off, "441") == 1.0 and strict(ADD, cut_off) == "incomplete"


def test_non_reasoning_examples_answer_without_a_think_and_pass_every_filter():
    rng = random.Random(0)
    for task in TASK_NAMES:
        for phrasing in ("bare", "en", "zh"):
            p = generate_problem(rng, task, TRIVIAL_LEVEL)
            p = Problem(p.task, p.level, p.expression, p.answer, phrasing)
            completion = non_reasoning_example(p)
            assert reasoning_text(completion).strip() == "" and is_brief(completion)
            assert "<think> </think>" in completion   # one space in the empty think, not the template's two
            assert accuracy_reward(completion, p.answer) == 1.0 and readable_format(completion, p) == 1.0
            assert format_reward(completion) == 0.0  # R1-Zero's template still wants a think
            assert rejection_reason(p, completion) is None, completion  # no think: no language to get wrong
            assert helpfulness_rule(completion, p) == {"helpful": 1.0}
            # the language reward is about reasoning: trivial questions are scored without it
            assert r1_rewards(completion, p) == {"accuracy": 1.0, "format": 1.0}


def test_a_non_reasoning_answer_is_nine_tokens_for_a_one_digit_answer():
    completion = non_reasoning_example(Problem("add", TRIVIAL_LEVEL, "4+5", "9", "en"))
    pieces = [get_tokenizer().decode([t]) for t in get_tokenizer().encode(completion)]
    assert pieces == [" ", "<think>", " ", "</think>", " ", "<answer>", "9", "</answer>", "<|endoftext|>"]


def test_the_language_reward_still_scores_reasoning_questions_and_a_wordless_think():
    wordless = render_completion("5+3+0=08.", "8")
    assert r1_rewards(wordless, Problem("add", 2, "15+73", "88", "en"))["language"] == 0.0
    assert "language" not in r1_rewards(wordless, Problem("add", TRIVIAL_LEVEL, "5+3", "8", "en"))
    assert rejection_reason(Problem("add", TRIVIAL_LEVEL, "5+3", "8", "en"), render_completion("5+3 是 8.", "8")) == "language"


def test_the_helpfulness_rule_wants_right_and_brief_on_trivial_questions_only():
    trivial = Problem("add", TRIVIAL_LEVEL, "7+8", "15", "en")
    brief = non_reasoning_example(trivial)
    worked = render_completion(*write_solution(trivial, random.Random(0), ("en",)))
    assert helpfulness_rule(brief, trivial) == {"helpful": 1.0}
    assert helpfulness_rule(worked, trivial) == {"helpful": 0.0}                      # right but long
    assert helpfulness_rule(brief.replace("15</answer>", "16</answer>"), trivial) == {"helpful": 0.0}  # brief, wrong
    assert helpfulness_rule(readable_completion(ADD, random.Random(0)), ADD) == {"helpful": 0.0}       # not trivial


# ---------------------------------------------------------------- train_r1.py end to end

@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory):
    out = tmp_path_factory.mktemp("r1base")
    pretrain.build_base(out, preset="tiny", device="cpu", steps=3, evaluate=False)
    return out / "model.pt"


def scripted_answers(model, tokenizer, problems, samples, temperature, args):
    """Stands in for sampling a trained model (a 3-step tiny model answers nothing right): half the
    answers R1-Zero style in a random language, half in R1's readable format, every fourth wrong."""
    rng, answers = random.Random(len(problems)), []
    for i, problem in enumerate(p for p in problems for _ in range(samples)):
        if i % 2:
            completion = readable_completion(problem, rng)
        else:
            completion = render_completion(*write_solution(problem, rng, (rng.choice(["en", "zh"]),), slip=i % 4 == 0))
        answers.append((problem, completion))
    return answers


def r1_args(base, out, *extra):
    return ["--zero", str(base), "--base", str(base), "--out-dir", str(out), "--tasks", "add,logic", "--device", "cpu",
            "--cold-start-prompts", "6", "--cold-start-samples", "2", "--cold-start-steps", "3", "--sft-batch-size", "4",
            "--reasoning-steps", "2", "--final-steps", "3", "--prompts-per-step", "2", "--group-size", "2",
            "--max-new-tokens", "12", "--rejection-prompts", "6", "--rejection-samples", "2",
            "--rejection-steps", "3", "--eval-problems", "1", "--eval-k", "2", "--resume-every", "1", *extra]


@pytest.fixture(scope="module")
def whole_r1(tmp_path_factory, tiny_base):
    out = tmp_path_factory.mktemp("r1_whole")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(train_r1, "sample_answers", scripted_answers)
        assert train_r1.main(r1_args(tiny_base, out)) == 0
    return out


def test_train_r1_end_to_end_writes_every_stage(whole_r1):
    out = whole_r1
    for stage in ("dev1", "dev2", "dev3"):
        assert load_checkpoint(out / stage / "model.pt")[2]["stage"] == stage
        assert not (out / stage / "resume.pt").exists()
    assert load_checkpoint(out / "model.pt")[2]["stage"] == "r1" and not (out / "resume.pt").exists()
    assert list(json.loads((out / "eval.json").read_text())) == ["base", "R1-Zero", "Dev1", "Dev2", "Dev3", "R1"]
    report = (out / "report.md").read_text()
    assert "reasoning entirely in the question's language (asked in zh; answers that think)" in report and "trivial questions" in report
    counts = json.loads((out / "dev3" / "rejection_counts.json").read_text())
    assert counts["removed: wrong"] > 0 and counts["non-reasoning examples"] > 0
    data = [json.loads(line) for line in open(out / "dev1" / "cold_start_data.jsonl", encoding="utf-8")]
    assert data and all(summary_text(d["completion"]) for d in data)


def test_train_r1_killed_inside_a_stage_resumes_to_the_same_model(tmp_path, tiny_base, whole_r1, monkeypatch):
    out = tmp_path / "r1"
    monkeypatch.setattr(train_r1, "sample_answers", scripted_answers)
    real = grpo_fast.fast_grpo_step
    crash_at(monkeypatch, grpo_fast, "fast_grpo_step", 2)  # the reasoning RL runs 2 steps: die in its second
    with pytest.raises(KeyboardInterrupt):
        train_r1.main(r1_args(tiny_base, out))
    assert (out / "dev1" / "model.pt").exists() and (out / "dev2" / "resume.pt").exists()
    monkeypatch.setattr(grpo_fast, "fast_grpo_step", real)
    sft_calls = []
    real_sft = sft.train_sft
    monkeypatch.setattr(sft, "train_sft", lambda *a, **kw: sft_calls.append(1) or real_sft(*a, **kw))
    assert train_r1.main(r1_args(tiny_base, out)) == 0
    assert sft_calls == [1]  # Dev1 was reused, only Dev3's SFT ran again
    resumed, whole = load_checkpoint(out / "model.pt")[0], load_checkpoint(whole_r1 / "model.pt")[0]
    for (name, a), b in zip(resumed.state_dict().items(), whole.state_dict().values()):
        assert torch.equal(a, b), name


def test_train_r1_refuses_missing_inputs_and_changed_flags(tmp_path, tiny_base, whole_r1, capsys):
    from conftest import run_cli
    code, err = run_cli(train_r1.main, r1_args(tiny_base, tmp_path / "x") + ["--zero", str(tmp_path / "none.pt")], capsys)
    assert code == 2 and "python train_zero.py" in err
    code, err = run_cli(train_r1.main, r1_args(tiny_base, whole_r1), capsys)
    assert code == 2 and "finished run" in err
    code, err = run_cli(train_r1.main, r1_args(tiny_base, tmp_path / "y") + ["--helpful-share", "2"], capsys)
    assert code == 2 and "--helpful-share" in err


def test_every_flag_keys_the_sub_stages_that_read_it_or_none(tiny_base, tmp_path):
    """A new flag must be placed: in STAGE_FLAGS, or here among those no sub-stage reads (where the
    run goes, how it runs, the last stage's and the report's knobs)."""
    args = vars(train_r1.parse_args(r1_args(tiny_base, tmp_path)))
    keyed = {flag for flags in train_r1.STAGE_FLAGS.values() for flag in flags}
    assert set(args) - keyed == {"zero", "base", "out_dir", "overwrite", "device", "resume_every", "final_steps",
                                 "helpful_share", "eval_problems", "eval_k", "eval_max_new_tokens", "eval_split"}
    assert keyed <= set(args)  # no stale name


def test_stages_copied_into_another_out_dir_are_reused_unless_they_read_a_changed_flag(tmp_path, tiny_base, whole_r1,
                                                                                     monkeypatch, capsys):
    import shutil
    from conftest import run_cli
    monkeypatch.setattr(train_r1, "sample_answers", scripted_answers)
    sft_calls, rl_steps = [], []
    real_sft, real_step = sft.train_sft, grpo_fast.fast_grpo_step
    monkeypatch.setattr(sft, "train_sft", lambda *a, **kw: sft_calls.append(1) or real_sft(*a, **kw))
    monkeypatch.setattr(grpo_fast, "fast_grpo_step", lambda *a, **kw: rl_steps.append(1) or real_step(*a, **kw))
    for out, extra in ((tmp_path / "final", ["--final-steps", "2", "--helpful-share", "0.5"]),
                       (tmp_path / "nolang", ["--no-language-reward"])):
        out.mkdir()
        for stage in ("dev1", "dev2", "dev3"):
            shutil.copytree(whole_r1 / stage, out / stage)
        sft_calls.clear()
        rl_steps.clear()
        code, err = run_cli(train_r1.main, r1_args(tiny_base, out, *extra), capsys)
        if out.name == "final":  # only the last stage reads these flags: Dev1 to Dev3 are whole_r1's
            assert code == 0 and sft_calls == [] and len(rl_steps) == 2
            assert (out / "model.pt").exists()
        else:  # Dev1 is reused; Dev2 read the flag, and a stale copy is refused by name, not retrained over
            assert code == 2 and "dev2" in err and "--no-language-reward" in err and sft_calls == [] and rl_steps == []


def test_train_zeros_evaluations_are_reused_only_when_they_measure_the_same_thing(tmp_path, tiny_base):
    import argparse
    zero = tmp_path / "zero"
    zero.mkdir()
    model, _, _ = load_checkpoint(tiny_base)
    from r1mini.checkpoint import save_checkpoint
    save_checkpoint(zero / "model.pt", model, {"stage": "zero", "base": str(tiny_base)})
    settings = {"k": 8, "temperature": 0.6, "top_p": 0.95, "n_problems_per_level": 20, "max_new_tokens": 192, "seed": 0,
                "split": "test"}
    evals = {name: {"settings": settings, "by_task": {"add": {}, "logic": {}}, "trivial": {}, "nontrivial": {},
                    "overall": {"agreement_rate": 1.0}, "questions": []} for name in ("base", "R1-Zero")}
    (zero / "eval.json").write_text(json.dumps(evals))
    args = argparse.Namespace(zero=str(zero / "model.pt"), base=str(tiny_base), tasks=("add", "logic"))
    wanted = dict(n_problems=20, k=8, seed=0, max_new_tokens=192, split="test")
    assert set(train_r1.earlier_zero_evals(args.zero, args.base, args.tasks, wanted)) == {"base", "R1-Zero"}
    assert train_r1.earlier_zero_evals(args.zero, args.base, args.tasks, dict(wanted, k=4)) == {}  # other settings
    assert train_r1.earlier_zero_evals(args.zero, args.base, args.tasks, dict(wanted, split="validation")) == {}  # other split
    (zero / "eval.json").write_text(json.dumps({n: {k: v for k, v in e.items() if k != "trivial"} for n, e in evals.items()}))
    assert train_r1.earlier_zero_evals(args.zero, args.base, args.tasks, wanted) == {}  # written before the stage table
    (zero / "eval.json").write_text(json.dumps({n: {k: v for k, v in e.items() if k != "questions"} for n, e in evals.items()}))
    assert train_r1.earlier_zero_evals(args.zero, args.base, args.tasks, wanted) == {}  # without its questions: no paired intervals
    (zero / "eval.json").write_text(json.dumps({n: dict(e, overall={}) for n, e in evals.items()}))
    assert train_r1.earlier_zero_evals(args.zero, args.base, args.tasks, wanted) == {}  # before the reasoning was read
    (zero / "eval.json").write_text(json.dumps(evals))
    assert train_r1.earlier_zero_evals(args.zero, args.base, ("add",), wanted) == {}
    assert train_r1.earlier_zero_evals(args.zero, str(zero / "model.pt"), args.tasks, wanted) == {}


def test_the_adaptive_thinking_rule_answers_directly_only_what_the_model_knows():
    trivial = Problem("mul", TRIVIAL_LEVEL, "7*8", "56", "en")
    worked = render_completion("ones: 7*8=56, +0=56, write 6 carry 5. So the answer is 56.", "56", "So the answer is 56.")
    guessed = render_completion("", "54")
    brief = render_completion("7*8=56.", "56")
    # every direct answer right: the fact is known, the answer is direct (an empty think)
    assert adaptive_trivial_example(trivial, 4, 4, [worked]) == (non_reasoning_example(trivial), "direct")
    # one direct answer wrong: worked out, with the model's own first worked answer that passes the filters
    assert adaptive_trivial_example(trivial, 3, 4, [guessed, brief, worked]) == (worked, "worked")
    assert adaptive_trivial_example(trivial, 0, 4, [worked]) == (worked, "worked")
    # no worked answer passes (wrong, or brief: not worked out): the question is left out, not answered directly
    assert adaptive_trivial_example(trivial, 2, 4, [guessed, brief]) == (None, "dropped")
    assert adaptive_trivial_example(trivial, 2, 4, []) == (None, "dropped")
    wrong_worked = worked.replace("<answer>56", "<answer>57")
    assert adaptive_trivial_example(trivial, 1, 4, [wrong_worked]) == (None, "dropped")


def test_direct_probe_samples_0_answers_every_trivial_question_directly():
    import argparse
    problems = [Problem("add", TRIVIAL_LEVEL, "3+4", "7", "en"), Problem("mul", TRIVIAL_LEVEL, "3*4", "12", "zh")]
    examples, kinds = train_r1.trivial_examples(argparse.Namespace(direct_probe_samples=0, trivial_form="adaptive"), None, None,
                                                problems)
    assert examples == [(p, non_reasoning_example(p)) for p in problems] and kinds == {"direct": 2}


def test_one_step_example_keeps_the_models_own_column_step_without_its_last_clause():
    from r1mini.r1_data import one_step_example
    trivial = Problem("mul", TRIVIAL_LEVEL, "7*8", "56", "en")
    worked = render_completion("ones 7 times 8. ones: 7*8=56, +0=56, write 6 carry 5. So the answer is 56. "
                               "Let me check the ones: 7*8=56. Yes.", "56", "So the answer is 56.")
    assert one_step_example(trivial, [worked]) == render_completion("ones: 7*8=56, +0=56.", "56")
    assert is_brief(one_step_example(trivial, [worked]))   # one sentence: brief, no summary needed
    wrong = worked.replace("<answer>56", "<answer>54")
    assert one_step_example(trivial, [wrong, non_reasoning_example(trivial)]) is None  # wrong, or not worked
    assert one_step_example(trivial, [wrong, worked]) == one_step_example(trivial, [worked])


def test_without_last_clause_drops_the_column_bookkeeping_in_either_language():
    from r1mini.r1_data import without_last_clause
    assert without_last_clause("ones: 7*8=56, +0=56, write 6 carry 5.") == "ones: 7*8=56, +0=56."
    assert without_last_clause("ones: 3+4+0=07, write 7 carry 0.") == "ones: 3+4+0=07."
    assert without_last_clause("个位：7乘8得56，加0得56，写6进5。") == "个位：7乘8得56，加0得56。"
    assert without_last_clause("T and F is F.") == "T and F is F."       # no comma: the whole step
    assert without_last_clause("T 与 F 得 F。") == "T 与 F 得 F。"


def test_trivial_form_step_works_out_every_trivial_question_in_one_sentence(monkeypatch):
    import argparse
    problems = [Problem("add", TRIVIAL_LEVEL, "3+4", "7", "en"), Problem("add", TRIVIAL_LEVEL, "5+6", "11", "en")]
    answers = {"3+4": render_completion("ones 3 plus ones 4. ones: 3+4+0=07, write 7 carry 0. So the answer is 7.",
                                        "7", "So the answer is 7."),
               "5+6": render_completion("", "11")}   # brief: nothing to take a step from
    monkeypatch.setattr(train_r1, "sample_answers", lambda model, tok, ps, n, t, args: [
        (p, answers[p.expression]) for p in ps for _ in range(n)])
    args = argparse.Namespace(trivial_form="step", direct_probe_samples=4, temperature=0.7)
    examples, kinds = train_r1.trivial_examples(args, None, None, problems)
    assert examples == [(problems[0], render_completion("ones: 3+4+0=07.", "7"))]
    assert kinds == {"step": 1, "dropped": 1}


def test_trivial_examples_ask_dev2_for_worked_answers_only_where_it_missed_a_direct_one(monkeypatch):
    import argparse
    known, unsure = Problem("add", TRIVIAL_LEVEL, "3+4", "7", "en"), Problem("add", TRIVIAL_LEVEL, "5+6", "11", "en")
    worked = render_completion("ones 5 plus ones 6. ones: 5+6+0=11, write 1 carry 1. So the answer is 11.", "11",
                               "So the answer is 11.")
    asked = []
    monkeypatch.setattr(train_r1, "direct_answers_right", lambda model, tok, ps, k, t, seed: [4, 1])
    monkeypatch.setattr(train_r1, "sample_answers", lambda model, tok, ps, n, t, args: asked.extend(ps) or [
        (p, worked) for p in ps for _ in range(n)])
    args = argparse.Namespace(trivial_form="adaptive", direct_probe_samples=4, temperature=0.7, seed=0)
    examples, kinds = train_r1.trivial_examples(args, None, None, [known, unsure])
    assert asked == [unsure] and kinds == {"direct": 1, "worked": 1}
    assert examples == [(known, non_reasoning_example(known)), (unsure, worked)]
