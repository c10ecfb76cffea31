"""The one-off probes of experiments/ still run: one quick smoke test each, on a tiny setting."""
import json
import random
import sys
from pathlib import Path

from conftest import make_tiny_model, run_cli

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))

import check_soundness  # noqa: E402
import skill_probe  # noqa: E402
import trivial_probe  # noqa: E402
import trivial_recall  # noqa: E402
from r1mini.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from r1mini.r1_data import readable_completion  # noqa: E402
from r1mini.tasks import Problem  # noqa: E402


def one_line_error(code, err, *fragments) -> bool:
    return code == 2 and err.startswith("error:") and len(err.strip().splitlines()) == 1 and all(f in err for f in fragments)


def test_skill_probe_pretrains_a_few_steps_and_probes(capsys, tmp_path):
    assert skill_probe.main(["--steps", "2", "--batch-size", "2", "--problems", "1"]) == 0
    assert '"add-en"' in capsys.readouterr().out
    code, err = run_cli(skill_probe.main, ["--json", str(tmp_path / "nowhere" / "skills.jsonl")], capsys)
    assert one_line_error(code, err, "--json", "does not exist"), err   # refused before pretraining


def test_trivial_probe_trains_each_style_and_samples(capsys, tmp_path):
    save_checkpoint(tmp_path / "base.pt", make_tiny_model(), {"stage": "base"})
    worked = (" <think> ones 7 plus ones 8. ones: 7+8+0=15, write 5 carry 1. So the answer is 15. </think> "
              "So the answer is 15. <answer>15</answer><|endoftext|>")
    rows = [{"question": "47+38", "answer": "85", "completion": worked},
            {"question": "7+8", "answer": "15", "completion": " <think> 7+8 is 15. </think> <answer>15</answer><|endoftext|>"}]
    (tmp_path / "rejection_data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "flags.json").write_text(json.dumps({"seed": 0, "tasks": ["add"], "rejection_steps": 500,
                                                     "sft_batch_size": 2, "sft_lr": 1e-3}))
    out_json = tmp_path / "probe.json"
    argv = ["--base", str(tmp_path / "base.pt"), "--dev3", str(tmp_path), "--styles", "empty", "--steps", "1", "--k", "1"]
    assert trivial_probe.main(argv + ["--json", str(out_json)]) == 0
    assert "| empty |" in capsys.readouterr().out
    assert set(json.loads(out_json.read_text())["empty"]) == {"sft_minutes", "add-1", "add-3"}
    code, err = run_cli(trivial_probe.main, argv + ["--json", str(tmp_path / "base.pt" / "probe.json")], capsys)
    assert one_line_error(code, err, "--json", "is not a directory"), err   # refused before the SFT runs


def test_trivial_recall_samples_both_sides_of_the_split(tmp_path, capsys):
    from r1mini.tasks import TRIVIAL_LEVEL, split_of
    taught, held_out = trivial_recall.taught_questions(), trivial_recall.held_out_questions()
    assert all(p.level == TRIVIAL_LEVEL for p in taught + held_out)
    assert all(split_of(p.task, p.expression) == "train" for p in taught)
    assert all(split_of(p.task, p.expression) == "test" for p in held_out)
    save_checkpoint(tmp_path / "model.pt", make_tiny_model(), {"stage": "test"})
    model = str(tmp_path / "model.pt")
    # the same checkpoint under two names samples the same answers: paired, every difference is 0
    assert trivial_recall.main([f"A={model}", f"B={model}", "--k", "1"]) == 0
    out = capsys.readouterr().out
    assert f"| 1 | taught | {len(taught)} |" in out and f"| 1 | held out | {len(held_out)} |" in out
    rows = [line for line in out.splitlines() if line.startswith("| B |")]
    assert len(rows) == 2 and all(r.count("+0.000 [+0.00, +0.00]") == 2 for r in rows), rows


def test_trivial_recall_pools_a_models_seeds_question_by_question():
    assert trivial_recall.models_from(["Z=a.pt", "R=c.pt", "Z=b.pt", "d.pt"]) == {
        "Z": ["a.pt", "b.pt"], "R": ["c.pt"], "d.pt": ["d.pt"]}
    assert trivial_recall.pooled([{"pass@1": [1.0, 0.0], "length": [10, 20], "reasoned": [0, 1], "direct": [1, 0]},
                                  {"pass@1": [0.5, 0.0], "length": [30, 20], "reasoned": [0, 0], "direct": [0, 0]}]) == {
        "pass@1": [0.75, 0.0], "length": [20.0, 20.0], "reasoned": [0.0, 0.5], "direct": [0.5, 0.0]}


def test_check_soundness_counts_the_checks_that_check(capsys):
    problem = Problem("add", 3, "57+384", "441", "zh")
    sound = readable_completion(problem, random.Random(0))
    check = sound[sound.index("检查一下"):sound.index("对。") + 2]
    garbled = sound.replace(check, "检查一下个位：8加0加0得08。对。")
    unchecked = sound.replace(check, "")
    records = [{"question": problem.question, "completion": c, "correct": 1.0} for c in (sound, garbled, unchecked)]
    assert check_soundness.soundness(records, {problem.question: problem}) == {
        "right answers that think": 3, "with a self-check": 2, "sound": 1}
    code, err = run_cli(check_soundness.main, ["--ckpt", "/no/such/model.pt", "--problems", "1", "--k", "1"], capsys)
    assert code == 2 and "no checkpoint" in err, err


def test_aha_moment_reads_slips_and_catches(tmp_path, capsys):
    import aha_moment
    from r1mini.corpus import render_completion
    from r1mini.tasks import write_solution
    problem = Problem("add", 3, "57+384", "441", "en")
    caught = render_completion(*write_solution(problem, random.Random(3), ("en",), slip=True, corrected=True))
    uncaught = render_completion(*write_solution(problem, random.Random(3), ("en",), slip=True))
    clean = render_completion(*write_solution(problem, random.Random(3), ("en",), self_check=True))
    assert aha_moment.read_answer("add", caught) == {"steps": 4, "wrong_steps": 1, "slipped": True, "caught": True,
                                                     "corrected": True}
    assert aha_moment.read_answer("add", uncaught)["slipped"] and not aha_moment.read_answer("add", uncaught)["caught"]
    assert aha_moment.read_answer("add", clean) == {"steps": 3, "wrong_steps": 0, "slipped": False, "caught": False,
                                                    "corrected": False}  # a template check is no correction
    records = [{"task": "add", "question": "57+384", "completion": c, "correct": float(c != uncaught)}
               for c in (caught, uncaught, clean, render_completion("", "441"))]
    totals = aha_moment.summary(aha_moment.per_question(records))
    assert (totals["worked"], totals["slipped"], totals["caught"]) == (3, 2, 1)
    assert (totals["worked_rate"], totals["slip_rate"], totals["catch_rate"], totals["correction_rate"]) == (
        3 / 4, 2 / 4, 1 / 2, 1 / 4)
    save_checkpoint(tmp_path / "model.pt", make_tiny_model(), {"stage": "test"})
    assert aha_moment.main(["--measure", str(tmp_path / "model.pt"), str(tmp_path / "model.pt"),
                            "--problems", "1", "--k", "1", "--device", "cpu"]) == 0
    assert "| genuine corrections: answers with one |" in capsys.readouterr().out
    code, err = run_cli(aha_moment.main, ["--measure", str(tmp_path / "none.pt")], capsys)
    assert one_line_error(code, err, "none.pt", "does not exist"), err


def test_aha_moment_builds_a_slip_prone_base_and_r1_zero_from_it(tmp_path, capsys):
    import aha_moment
    out = tmp_path / "aha"
    zero_args = ("--zero-args=--steps 1 --tasks add --prompts-per-step 2 --group-size 2 --max-new-tokens 12 "
                 "--eval-problems 1 --eval-k 1 --eval-every 0 --eval-max-new-tokens 44")
    argv = ["--build", str(out), "--preset", "tiny", "--base-steps", "2", zero_args, "--problems", "1", "--k", "1",
            "--device", "cpu"]
    assert aha_moment.main(argv) == 0
    meta = load_checkpoint(out / "slip_base" / "model.pt")[2]
    assert meta["mix"]["slip_corrected"] == aha_moment.SLIP_MIX.slip_corrected > 0.04   # not the default corpus
    assert (out / "slip_zero" / "model.pt").exists() and "R1-Zero from it − slip-prone base" in (out / "report.md").read_text()
