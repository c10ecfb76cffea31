"""The skill probe reads the model at the right spots of a worked solution, and rejects bad flags."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import skill_probe  # noqa: E402
from r1mini.tasks import Problem  # noqa: E402


@pytest.mark.parametrize("language", ["en", "zh"])
def test_probe_spots_are_the_units_digits_of_column_sums(language):
    spots = skill_probe.probe_spots(Problem("add", 2, "47+38", "85"), language)
    assert [right for _, right in spots] == ["5", "8"]  # 7+8+0=15, 4+3+1=08
    before, _ = spots[1]
    assert before.endswith("4+3+1=0" if language == "en" else "4加3加1得0")


def test_probe_spots_of_mul_read_the_sum_after_the_carry():
    spots = skill_probe.probe_spots(Problem("mul", 2, "47*6", "282"), "en")
    assert [right for _, right in spots] == ["2", "8"]  # 7*6=42, +0=42; 4*6=24, +4=28
    assert spots[1][0].endswith("4*6=24, +4=2")


@pytest.mark.parametrize("language", ["en", "zh"])
def test_probe_spots_of_logic_are_step_results(language):
    spots = skill_probe.probe_spots(Problem("logic", 2, "(T xor T) or F", "F"), language)
    assert [right for _, right in spots] == [" F", " F"]  # T xor T is F; F or F is F
    assert spots[0][0].endswith("T xor T is" if language == "en" else "T 异或 T 得")


@pytest.mark.parametrize("flags", [["--steps", "0"], ["--direct", "1.5"], ["--slips", "0.6"],
                                   ["--logic-ops", "nand"], ["--ckpt", "no/such/model.pt"], ["--n-heads", "3"],
                                   ["--seed", str(10 ** 23)]])
def test_bad_flags_are_clear_errors(flags, capsys):
    assert skill_probe.main(flags) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and len(err.strip().splitlines()) == 1


def test_probe_pretraining_runs_through_the_sft_loop(capsys):
    assert skill_probe.main(["--steps", "2", "--batch-size", "2", "--problems", "1"]) == 0
    assert '"add-en"' in capsys.readouterr().out
