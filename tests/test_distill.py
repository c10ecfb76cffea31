"""Distillation (distill.py, r1mini/distillation.py): the teacher-data filter, the SFT targets, the
on-policy reverse-KL loss, the script end to end with a kill and a resume, and its arms side by
side: the same models as one after the other (up to rounding), stopped together by SIGTERM."""
import copy
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import distill
from conftest import crash_at, make_context_model, run_cli
from test_parallel import running

from r1mini import distillation, sft, train_utils
from r1mini.checkpoint import load_checkpoint, save_checkpoint
from r1mini.config import model_config
from r1mini.corpus import render_completion
from r1mini.grpo import completion_batch
from r1mini.model import Transformer
from r1mini.r1_data import encode_examples, filter_answers, non_reasoning_example, readable_completion
from r1mini.rundir import RunDir
from r1mini.tasks import TRIVIAL_LEVEL, Problem, generate_problem, write_solution
from r1mini.tokenizer import get_tokenizer

ROOT = Path(__file__).resolve().parents[1]
ADD = Problem("add", 3, "57+384", "441", "en")


# ---------------------------------------------------------------- the teacher-data filter

def test_the_teacher_data_filter_keeps_clean_right_answers_and_drops_the_rest():
    rng = random.Random(0)
    good = readable_completion(ADD, rng)
    wrong = good.replace("<answer>441</answer>", "<answer>442</answer>")
    no_summary = good.split("</think>")[0] + "</think> <answer>441</answer><|endoftext|>"
    first_step = next(s for s in good.split(". ") if "ones:" in s) + "."
    repeated = good.replace(first_step, first_step + " " + first_step, 1)   # a column worked twice
    chinese_question = Problem("add", 3, "57+384", "441", "zh")   # asked in Chinese, answered in English
    trivial = Problem("add", TRIVIAL_LEVEL, "7+8", "15", "en")
    answers = [(ADD, good), (ADD, good), (ADD, wrong), (ADD, no_summary), (ADD, repeated),
               (chinese_question, good), (trivial, non_reasoning_example(trivial))]
    kept, counts = filter_answers(answers, per_question=4)
    assert kept == [(ADD, good), (trivial, non_reasoning_example(trivial))]   # the duplicate is dropped too
    assert (counts["removed: wrong"], counts["removed: incomplete"], counts["removed: repetitive"],
            counts["removed: language"]) == (1, 1, 1, 1)
    assert counts["answers sampled"] == 7 and counts["kept after dedup and per-question cap"] == 2
    assert counts["pass rate per level (passed the filters / sampled)"]["add-3"] == pytest.approx(2 / 6, abs=1e-3)
    assert counts["levels with no kept answer (they leave the SFT set)"] == []
    # distilling R1-Zero: its template without a summary is complete; the other filters stay
    zero_style = render_completion(*write_solution(ADD, random.Random(3), ("en",)))
    kept, counts = filter_answers(answers + [(ADD, zero_style)], per_question=9, summary=False)
    assert [c for _, c in kept] == [good, no_summary, non_reasoning_example(trivial), zero_style]


def test_the_filter_caps_answers_per_question_and_names_unsolved_levels():
    rng = random.Random(1)
    hard = generate_problem(rng, "mul", 4)
    good = readable_completion(ADD, random.Random(0))
    kept, counts = filter_answers([(ADD, good), (ADD, good.replace("7+4+0", "7+4+0 "))] * 2
                                  + [(hard, "<think> no </think>")], per_question=1)
    assert kept == [(ADD, good)]
    assert counts["levels with no kept answer (they leave the SFT set)"] == ["mul-4"]


# ---------------------------------------------------------------- SFT on teacher data

def test_sft_on_teacher_data_learns_the_completion_and_its_end_never_the_prompt(tokenizer):
    (prompt, completion), = encode_examples(tokenizer, [(ADD, readable_completion(ADD, random.Random(0)))])
    inputs, targets = sft.collate([(prompt, completion)], tokenizer.pad_id, "cpu")
    assert (targets[0, : len(prompt) - 1] == sft.IGNORE).all()            # the prompt is masked out
    assert targets[0, len(prompt) - 1:].tolist() == completion              # every completion token is a target
    assert completion[-1] == tokenizer.eot_id != tokenizer.pad_id           # ... the end of text included


# ---------------------------------------------------------------- on-policy distillation's loss

def test_reverse_kl_is_zero_for_the_teacher_itself_and_matches_its_definition():
    torch.manual_seed(0)
    student, teacher = torch.randn(3, 5, 11), torch.randn(3, 5, 11)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [0, 1, 0, 0, 0]]).float()
    assert distillation.reverse_kl_loss(teacher, teacher, mask).item() == pytest.approx(0.0, abs=1e-6)
    p, q = torch.softmax(student, -1), torch.softmax(teacher, -1)
    per_token = (p * (p.log() - q.log())).sum(-1)
    expected = (per_token * mask).sum() / mask.sum()
    assert distillation.reverse_kl_loss(student, teacher, mask).item() == pytest.approx(expected.item(), rel=1e-5)
    student[0, 4] += 100.0   # a masked-out position changes nothing
    assert distillation.reverse_kl_loss(student, teacher, mask).item() == pytest.approx(expected.item(), rel=1e-5)


def test_a_step_on_the_reverse_kl_brings_the_student_closer_to_the_teacher(tokenizer):
    student = make_context_model("tiny", 0, tokenizer.n_vocab, n_routed_experts=0)
    teacher = make_context_model("tiny", 1, tokenizer.n_vocab)
    rng = random.Random(0)
    problems = [generate_problem(rng, "add", 2) for _ in range(6)]
    prompts = [tokenizer.encode(f"{p.question}") for p in problems]
    completions = [tokenizer.encode(render_completion(*write_solution(p, rng, ("en",)))) for p in problems]
    inputs, _, mask = completion_batch(prompts, completions, tokenizer.pad_id, "cpu")

    def kl():
        with torch.no_grad():
            return distillation.reverse_kl_loss(student(inputs), teacher(inputs), mask).item()
    before = kl()
    optimizer = torch.optim.SGD(student.parameters(), lr=0.05)
    loss = distillation.reverse_kl_loss(student(inputs), teacher(inputs).detach(), mask)
    loss.backward()
    optimizer.step()
    assert kl() < before


def test_on_policy_step_of_a_student_equal_to_its_teacher_has_zero_loss(tokenizer):
    teacher = make_context_model("tiny", 2, tokenizer.n_vocab)
    student = copy.deepcopy(teacher)
    optimizer = torch.optim.AdamW(student.parameters(), lr=1e-3)
    problems = [generate_problem(random.Random(i), "logic", 2) for i in range(4)]
    cfg = distillation.OnPolicyConfig(prompts_per_step=4, max_new_tokens=8)
    stats = distillation.on_policy_step(student, teacher, optimizer, tokenizer, problems, cfg, torch.device("cpu"))
    assert stats["kl"] == pytest.approx(0.0, abs=1e-5) and stats["tokens_trained"] > 0


# ---------------------------------------------------------------- distill.py end to end

def scripted_teacher(model, tokenizer, problems, samples, temperature, max_new_tokens, seed):
    """Stands in for sampling a trained teacher (a random one answers nothing right): R1-style
    readable answers, every third one wrong."""
    rng, answers = random.Random(len(problems)), []
    for i, problem in enumerate(p for p in problems for _ in range(samples)):
        completion = readable_completion(problem, rng)
        answers.append((problem, completion.replace(f"<answer>{problem.answer}<", "<answer>x<") if i % 3 == 0 else completion))
    return answers


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A random cpu-preset teacher and a small dense student base (a quarter of its active size is
    the limit)."""
    out = tmp_path_factory.mktemp("distill_models")
    n_vocab = get_tokenizer().n_vocab
    torch.manual_seed(0)
    save_checkpoint(out / "teacher.pt", Transformer(model_config("cpu", n_vocab)), {"stage": "r1"})
    torch.manual_seed(1)
    save_checkpoint(out / "student.pt", Transformer(model_config("tiny", n_vocab, n_routed_experts=0, n_dense_layers=2)),
                    {"stage": "base", "preset": "tiny-dense"})
    torch.manual_seed(2)
    save_checkpoint(out / "moe_student.pt", Transformer(model_config("tiny", n_vocab)), {"stage": "base"})
    return out


def distill_args(models, out, *extra):
    return ["--teacher", str(models / "teacher.pt"), "--student-base", str(models / "student.pt"), "--out-dir", str(out),
            "--tasks", "add,logic", "--device", "cpu", "--max-new-tokens", "12", "--teacher-prompts", "6",
            "--teacher-samples", "2", "--sft-steps", "3", "--sft-batch-size", "4", "--rl-steps", "1", "--onpolicy-steps", "3",
            "--onpolicy-prompts", "2", "--eval-problems", "1", "--eval-k", "1", "--resume-every", "1", *extra]


@pytest.fixture(scope="module")
def whole_run(tmp_path_factory, models):
    out = tmp_path_factory.mktemp("distill_whole")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(distill, "sample_answers", scripted_teacher)
        mp.setattr(distill, "GRPOConfig", lambda: distill_grpo_config())
        assert distill.main(distill_args(models, out)) == 0
    return out


def distill_grpo_config():
    from r1mini.grpo import GRPOConfig
    return GRPOConfig(prompts_per_step=2, group_size=2, max_new_tokens=12)


def test_distill_end_to_end_writes_every_arm_and_the_table(whole_run):
    out = whole_run
    for arm in ("sft", "rl", "onpolicy"):
        assert load_checkpoint(out / arm / "model.pt")[2]["stage"] == arm
        assert (out / arm / "metrics.jsonl").exists() and (out / arm / "report.md").exists()
        assert not (out / arm / "resume.pt").exists()
    assert list(json.loads((out / "eval.json").read_text())) == [
        "teacher", "student base", "student + RL", "student + distillation", "student + on-policy distillation"]
    report = (out / "report.md").read_text()
    assert "parameters (total / active)" in report and "student training: tokens trained" in report
    counts = json.loads((out / "teacher_data" / "teacher_counts.json").read_text())
    assert counts["removed: wrong"] == 4 and counts["kept after dedup and per-question cap"] == 6
    data = [json.loads(line) for line in open(out / "teacher_data" / "teacher_data.jsonl", encoding="utf-8")]
    assert len(data) == 6 and all("<answer>x<" not in d["completion"] for d in data)


def test_distill_killed_inside_an_arm_resumes_to_the_same_model(tmp_path, models, whole_run, monkeypatch):
    out = tmp_path / "distill"
    monkeypatch.setattr(distill, "sample_answers", scripted_teacher)
    monkeypatch.setattr(distill, "GRPOConfig", lambda: distill_grpo_config())
    real = distillation.on_policy_step
    crash_at(monkeypatch, distillation, "on_policy_step", 2)
    with pytest.raises(KeyboardInterrupt):
        distill.main(distill_args(models, out))
    assert (out / "sft" / "flags.json").exists() and (out / "onpolicy" / "resume.pt").exists()
    monkeypatch.setattr(distillation, "on_policy_step", real)
    sft_calls = []
    real_sft = sft.train_sft
    monkeypatch.setattr(sft, "train_sft", lambda *a, **kw: sft_calls.append(1) or real_sft(*a, **kw))
    assert distill.main(distill_args(models, out)) == 0
    assert sft_calls == []   # the finished arms were reused
    resumed, whole = load_checkpoint(out / "onpolicy" / "model.pt")[0], load_checkpoint(whole_run / "onpolicy" / "model.pt")[0]
    for (name, a), b in zip(resumed.state_dict().items(), whole.state_dict().values()):
        assert torch.equal(a, b), name


def test_distill_validates_its_flags_and_its_student(tmp_path, models, capsys):
    code, err = run_cli(distill.main, distill_args(models, tmp_path / "a") + ["--arms", "sft,dpo"], capsys)
    assert code == 2 and "--arms" in err and "dpo" in err
    code, err = run_cli(distill.main, distill_args(models, tmp_path / "b") + ["--teacher", str(tmp_path / "none.pt")], capsys)
    assert code == 2 and "python train_r1.py" in err
    code, err = run_cli(distill.main, distill_args(models, tmp_path / "c") + ["--student-base", str(models / "moe_student.pt")], capsys)
    assert code == 2 and "dense" in err
    code, err = run_cli(distill.main, distill_args(models, tmp_path / "d") + ["--sft-steps", "0"], capsys)
    assert code == 2 and "--sft-steps" in err


def test_the_teachers_own_evaluation_is_reused_only_when_it_measured_the_same_thing(tmp_path, models):
    import argparse
    (tmp_path / "model.pt").write_bytes((models / "teacher.pt").read_bytes())   # meta stage "r1"
    settings = {"k": 8, "temperature": 0.6, "top_p": 0.95, "n_problems_per_level": 20, "max_new_tokens": 192, "seed": 0,
                "split": "test"}
    (tmp_path / "eval.json").write_text(json.dumps({"base": {}, "R1": {"settings": settings, "by_task": {"add": {}},
                                                                       "overall": {"agreement_rate": 1.0}, "questions": []}}))
    args = argparse.Namespace(teacher=str(tmp_path / "model.pt"), tasks=("add",))
    wanted = dict(n_problems=20, k=8, seed=0, max_new_tokens=192, split="test")
    assert distill.earlier_teacher_eval(args.teacher, args.tasks, wanted)["settings"] == settings
    assert distill.earlier_teacher_eval(args.teacher, args.tasks, dict(wanted, k=4)) is None
    assert distill.earlier_teacher_eval(args.teacher, args.tasks, dict(wanted, split="validation")) is None
    assert distill.earlier_teacher_eval(args.teacher, ("add", "mul"), wanted) is None
    (tmp_path / "eval.json").write_text(json.dumps({"R1": {"settings": settings, "by_task": {"add": {}}}}))
    assert distill.earlier_teacher_eval(args.teacher, args.tasks, wanted) is None  # kept no questions: evaluate again
    (tmp_path / "eval.json").write_text(json.dumps({"R1": {"settings": settings, "by_task": {"add": {}}, "questions": []}}))
    assert distill.earlier_teacher_eval(args.teacher, args.tasks, wanted) is None  # did not read the reasoning: again


def test_a_retrained_teacher_is_not_mistaken_for_the_one_a_finished_stage_used(tmp_path, models, capsys, monkeypatch):
    monkeypatch.setattr(distill, "sample_answers", scripted_teacher)
    teacher = tmp_path / "teacher.pt"
    teacher.write_bytes((models / "teacher.pt").read_bytes())
    args = distill_args(models, tmp_path / "out", "--arms", "sft") + ["--teacher", str(teacher)]
    assert distill.main(args) == 0
    assert distill.main(args) == 0                       # the same teacher: every stage reused
    torch.manual_seed(9)
    save_checkpoint(teacher, Transformer(model_config("cpu", get_tokenizer().n_vocab)), {"stage": "r1"})
    code, err = run_cli(distill.main, args, capsys)      # same path, new weights
    assert code == 2 and "--teacher-sha256" in err and "--overwrite" in err


# ---------------------------------------------------------------- the arms side by side

def test_a_student_trains_to_the_same_model_on_one_thread_and_on_two_up_to_rounding(tokenizer):
    """Why the arms may train side by side, one thread each: the models come out the same up to
    floating-point rounding. Not bit for bit on every CPU: the math libraries pick their kernels by
    instruction set and thread count, so one thread and two round alike on some machines and not
    on others. On one thread count, run twice, the bits are the same everywhere."""
    rng = random.Random(0)
    problems = [generate_problem(rng, task, 3) for task in ("add", "mul", "logic") for _ in range(3)]
    examples = [(tokenizer.encode("Q: " + p.question), tokenizer.encode(" " + write_solution(p, rng)[0])) for p in problems]
    inputs, targets = sft.collate(examples, tokenizer.pad_id, "cpu")

    def train(threads: int):
        torch.set_num_threads(threads)
        try:
            torch.manual_seed(0)
            model = Transformer(model_config("student", tokenizer.n_vocab)).train()
            init = copy.deepcopy(model.state_dict())
            optimizer = train_utils.make_optimizer(model, 1e-3, 0.1)
            losses = [sft.sft_step(model, optimizer, inputs, targets, tokenizer.pad_id, 1.0, step)["loss"]
                      for step in range(3)]
        finally:
            torch.set_num_threads(1)
        return init, model.state_dict(), losses
    init, one, losses_one = train(1)
    _, again, losses_again = train(1)
    _, two, losses_two = train(2)
    assert losses_again == losses_one and losses_two == pytest.approx(losses_one, rel=1e-4)
    for name, tensor in one.items():
        assert torch.equal(again[name], tensor), name
        # Rounding moves a weight by far less than training does: 1 ulp on every initial weight ends
        # 3 steps later ~1e-4 of the way training went; another seed, or a 4th step, 0.4 to 10 times it.
        assert (two[name] - tensor).norm() <= 0.05 * (tensor - init[name]).norm(), name


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX signals")
def test_sigterm_stops_every_arm_and_a_rerun_is_not_refused(tmp_path, models):
    """What `timeout` or a scheduler sends, while the arms train side by side in their own
    processes: every arm stops, their resume files stay, and no lock of a live process remains."""
    out = tmp_path / "distill"
    argv = distill_args(models, out, "--arms", "onpolicy,rl", "--onpolicy-steps", "100000", "--rl-steps", "100000")
    with open(tmp_path / "stderr.txt", "w") as stderr:   # two threads: the arms train in two processes
        parent = subprocess.Popen([sys.executable, "distill.py", *argv], cwd=ROOT, stdout=subprocess.DEVNULL,
                                  stderr=stderr, env={**os.environ, "OMP_NUM_THREADS": "2"})
    arms = [out / "onpolicy", out / "rl"]

    def arm_pids():   # each arm's RunDir lock holds the pid of the process that trains it
        texts = [(arm / ".lock").read_text().strip() if (arm / ".lock").exists() else "" for arm in arms]
        return [int(text) for text in texts if text.isdigit() and int(text) != parent.pid]
    workers = []
    try:
        deadline = time.monotonic() + 90
        while not (len(arm_pids()) == 2 and (out / "onpolicy" / "resume.pt").exists()):
            assert parent.poll() is None and time.monotonic() < deadline, (tmp_path / "stderr.txt").read_text()
            time.sleep(0.1)
        workers = arm_pids()
        parent.send_signal(signal.SIGTERM)
        parent.wait(timeout=30)
        deadline = time.monotonic() + 5
        while any(running(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(running(pid) for pid in workers), "an arm trains on after its parent ended"
        assert parent.returncode == 128 + signal.SIGTERM
        assert (tmp_path / "stderr.txt").read_text().splitlines()[-1].startswith("error: stopped by SIGTERM")
        assert (out / "onpolicy" / "resume.pt").exists()
        for directory in [out, *arms]:   # what a rerun checks first: would it be refused as "in use"?
            with RunDir(directory, {}):
                pass
    finally:  # leave nothing running, whatever failed
        for pid in [parent.pid] + workers:
            if running(pid):
                os.kill(pid, signal.SIGKILL)


def test_on_policy_after_sft_starts_from_the_sft_student_and_more_sft_is_its_comparison(tmp_path, models, capsys,
                                                                                         monkeypatch):
    monkeypatch.setattr(distill, "sample_answers", scripted_teacher)
    starts, real = [], distill.train_on_policy
    monkeypatch.setattr(distill, "train_on_policy", lambda student, *a, **kw: starts.append(
        {k: v.clone() for k, v in student.state_dict().items()}) or real(student, *a, **kw))
    out = tmp_path / "out"
    assert distill.main(distill_args(models, out, "--arms", "sft,sft_onpolicy,sft_more", "--more-sft-steps", "2")) == 0
    sft_student = load_checkpoint(out / "sft" / "model.pt")[0].state_dict()
    assert len(starts) == 1 and all(torch.equal(starts[0][k], v) for k, v in sft_student.items())
    steps = [r["step"] for r in map(json.loads, open(out / "sft_more" / "metrics.jsonl")) if "step" in r]
    assert max(steps) == 3 + 2   # --sft-steps + --more-sft-steps, one run
    assert list(json.loads((out / "eval.json").read_text())) == [
        "teacher", "student base", "student + distillation", "student + longer distillation",
        "student + distillation + on-policy"]
    code, err = run_cli(distill.main, distill_args(models, tmp_path / "e", "--arms", "sft_onpolicy"), capsys)
    assert code == 2 and "add sft to --arms" in err
