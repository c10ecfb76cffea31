"""The trivial-answer probe writes each style as it says, rejects bad flags, and runs end to end."""
import json
import sys
from pathlib import Path

import pytest
from conftest import make_tiny_model, run_cli

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import trivial_probe  # noqa: E402
from r1mini.checkpoint import save_checkpoint  # noqa: E402
from r1mini.r1_data import parse_reasoning  # noqa: E402
from r1mini.tasks import Problem  # noqa: E402

TRIVIAL = [Problem("add", 1, "7+8", "15"), Problem("mul", 1, "7*8", "56"), Problem("logic", 1, "T xor F", "T")]


@pytest.mark.parametrize("problem", TRIVIAL)
@pytest.mark.parametrize("phrasing", ["bare", "zh"])
def test_each_style_is_one_computed_step_or_nothing(problem, phrasing):
    import dataclasses
    problem = dataclasses.replace(problem, phrasing=phrasing)
    for style in ("sentence", "equation"):
        text = trivial_probe.STYLES[style](problem)
        assert text.count(problem.answer) >= 1 and len(parse_reasoning(problem.task, text)[0]) <= 1, text
    assert trivial_probe.STYLES["empty"](problem) == ""
    if problem.task != "logic" and phrasing == "bare":  # English arithmetic is where the styles differ
        assert trivial_probe.STYLES["sentence"](problem) == f"{problem.expression} is {problem.answer}."
        assert trivial_probe.STYLES["equation"](problem) == f"{problem.expression}={problem.answer}."


@pytest.mark.parametrize("argv, message", [
    (["--styles", "haiku"], "--styles"), (["--styles", ","], "--styles"), (["--steps", "0"], "--steps"),
    (["--k", "0"], "--k"), (["--dev3", "/no/such/dir"], "no checkpoint"),
])
def test_bad_flags_are_one_line_errors(argv, message, capsys, tmp_path):
    code, err = run_cli(trivial_probe.main, ["--base", str(tmp_path / "none.pt"), *argv]
                        if message == "no checkpoint" else argv, capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_missing_rejection_data_names_the_command(capsys, tmp_path):
    save_checkpoint(tmp_path / "base.pt", make_tiny_model(), {"stage": "base"})
    code, err = run_cli(trivial_probe.main, ["--base", str(tmp_path / "base.pt"), "--dev3", str(tmp_path)], capsys)
    assert code == 2 and "rejection_data.jsonl" in err and "python train_r1.py" in err
    (tmp_path / "rejection_data.jsonl").write_text("")  # data without the stage's flags: its SFT settings are unknown
    code, err = run_cli(trivial_probe.main, ["--base", str(tmp_path / "base.pt"), "--dev3", str(tmp_path)], capsys)
    assert code == 2 and "flags.json" in err and "python train_r1.py" in err


def test_tiny_end_to_end(capsys, tmp_path):
    save_checkpoint(tmp_path / "base.pt", make_tiny_model(), {"stage": "base"})
    worked = (" <think> ones 7 plus ones 8. ones: 7+8+0=15, write 5 carry 1. So the answer is 15. </think> "
              "So the answer is 15. <answer>15</answer><|endoftext|>")
    rows = [{"question": "47+38", "answer": "85", "completion": worked},
            {"question": "7+8", "answer": "15", "completion": " <think> 7+8 is 15. </think> <answer>15</answer><|endoftext|>"}]
    (tmp_path / "rejection_data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "flags.json").write_text(json.dumps({"seed": 0, "tasks": ["add", "mul", "logic"], "rejection_steps": 500,
                                                     "sft_batch_size": 2, "sft_lr": 1e-3}))
    out_json = tmp_path / "probe.json"
    assert trivial_probe.main(["--base", str(tmp_path / "base.pt"), "--dev3", str(tmp_path), "--styles", "empty,equation",
                               "--steps", "2", "--k", "1", "--json", str(out_json)]) == 0
    table = capsys.readouterr().out
    assert "| empty |" in table and "| equation |" in table
    results = json.loads(out_json.read_text())
    assert set(results) == {"empty", "equation"} and all(0 <= results["empty"][cell][0] <= 1 for cell in ("add-1", "logic-3"))
