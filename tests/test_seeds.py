"""experiments/seeds.py: the commands it runs for a seed (the real scripts' flags, --seed everywhere),
skipping finished stages, and the summary's verdicts on synthetic eval.json files."""
import argparse
import json
import shlex
import sys
from pathlib import Path

import pytest
from conftest import run_cli

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))

import distill  # noqa: E402
import seeds  # noqa: E402
import train_r1  # noqa: E402
import train_zero  # noqa: E402
from r1mini import flags  # noqa: E402

K = 8


def fake_result(seed: int, correct: list[int], own_language=(1.0, 1.0)) -> dict:
    """An evaluate_model result in miniature: the settings, the overall pass@1, the language rates and
    one "questions" entry per question (evaluate.question_outcomes' format: right samples out of K)."""
    questions = [{"task": "add", "level": 1 + i % 4, "language": ("en", "zh")[i % 2], "question": f"{i}+1",
                  "correct": c, "cons": int(c > K / 2)} for i, c in enumerate(correct)]
    return {"settings": {"k": K, "temperature": 0.6, "top_p": 0.95, "n_problems_per_level": 10,
                         "max_new_tokens": 192, "seed": seed},
            "overall": {"pass@1": sum(correct) / (K * len(correct))},
            "by_language": {"en": {"own_language_rate": own_language[0]}, "zh": {"own_language_rate": own_language[1]}},
            "questions": questions}


ALL_RIGHT, THREE_QUARTERS, QUARTER = [8] * 40, [6] * 40, [2] * 40


def write_run(directory: Path, evals: dict) -> None:
    """A finished run as the scripts leave it: eval.json and report.md (and no resume.pt)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "eval.json").write_text(json.dumps(evals))
    (directory / "report.md").write_text("# report\n")


def write_seed(runs: Path, seed: int) -> None:
    """Seed `seed`'s runs, built so that the verdicts are known:
    R1-Zero − base      a clear gain on every seed (the base is a bit different on each)
    R1 − R1-Zero        exactly nothing on every seed
    distilled − RL      a clear gain on every seed
    distilled − on-policy  above 0 on seed 0, below on seed 1, nothing on seed 2
    distilled / teacher 0.75 on every seed."""
    base = [seed] * 20 + [3] * 20
    on_policy = {0: QUARTER, 1: ALL_RIGHT, 2: THREE_QUARTERS}[seed]
    write_run(runs / f"seed{seed}" / "zero", {"base": fake_result(seed, base),
                                               "R1-Zero": fake_result(seed, ALL_RIGHT, (0.6, 0.7))})
    write_run(runs / f"seed{seed}" / "r1", {
        "base": fake_result(seed, base), "R1-Zero": fake_result(seed, ALL_RIGHT, (0.6, 0.7)),
        **{f"Dev{i}": fake_result(seed, THREE_QUARTERS) for i in (1, 2, 3)}, "R1": fake_result(seed, ALL_RIGHT)})
    write_run(runs / f"seed{seed}" / "distill", {
        "teacher": fake_result(seed, ALL_RIGHT), "student base": fake_result(seed, QUARTER),
        "student + RL": fake_result(seed, QUARTER), "student + distillation": fake_result(seed, THREE_QUARTERS),
        "student + on-policy distillation": fake_result(seed, on_policy)})


def row(table: str, label: str, after: str = "") -> list[str]:
    """The cells of the table row whose first cell is `label` (the first such row after the line
    that starts with `after`)."""
    lines = table.splitlines()
    if after:
        lines = lines[next(i for i, line in enumerate(lines) if line.startswith(after)):]
    for line in lines:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] == label:
            return cells
    raise AssertionError(f"no row {label!r} in:\n{table}")


def summarize(runs: Path, capsys) -> str:
    assert seeds.main(["--seeds", "0", "1", "2", "--runs-dir", str(runs), "--summary-only"]) == 0
    table = (runs / "summary.md").read_text()
    assert table in capsys.readouterr().out
    return table


def test_a_clear_effect_holds_on_all_seeds_and_a_null_one_does_not(tmp_path, capsys):
    for seed in (0, 1, 2):
        write_seed(tmp_path, seed)
    table = summarize(tmp_path, capsys)
    zero = row(table, "R1-Zero − base")   # label, seed 0, seed 1, seed 2, mean, min to max, verdict
    assert zero[1].startswith("+0.812 [") and zero[3].startswith("+0.688 [")   # (8·20 + 5·20) / 320, (6·20 + 5·20) / 320
    assert zero[4:] == ["+0.750", "+0.688 to +0.812", "holds on all 3 seeds"]
    assert row(table, "distilled − RL student")[-1] == "holds on all 3 seeds"
    nothing = row(table, "R1 − R1-Zero")
    assert nothing[1:4] == ["+0.000 [+0.00, +0.00]"] * 3 and nothing[-1] == "0 of 3 seeds exclude 0"
    mixed = row(table, "distilled − on-policy student")  # +0.5 on seed 0, −0.25 on seed 1: no effect that holds
    assert mixed[-1] == "2 of 3 seeds exclude 0 (1 above, 1 below)"
    assert row(table, "distilled / teacher (pass@1 ratio)")[1:6] == ["0.750"] * 4 + ["0.750 to 0.750"]
    language = "Reasoning entirely"
    assert row(table, "R1", language)[1:] == ["1.000 / 1.000"] * 3 + ["1.000 / 1.000"]
    assert row(table, "R1-Zero", language)[-1] == "0.600 / 0.700"
    # each model's pass@1: per seed, then the mean and the range
    # (the fake results carry no interval): the base has pass@1 (seed·20 + 3·20) / 320 = (seed + 3) / 16
    assert row(table, "base")[1:] == ["0.188", "0.250", "0.312", "0.250", "0.188 to 0.312"]
    assert row(table, "on-policy student")[1:] == ["0.250", "1.000", "0.750", "0.667", "0.250 to 1.000"]
    assert "without the language reward" not in table    # no ablation was run: no row for it


def test_the_ablation_row_appears_for_the_seeds_that_ran_it(tmp_path, capsys):
    for seed in (0, 1, 2):
        write_seed(tmp_path, seed)
    for seed in (0, 1):   # R1 without the language reward: right a quarter of the time
        write_run(tmp_path / f"seed{seed}" / "r1_nolang", {"R1": fake_result(seed, QUARTER, (0.5, 0.4))})
    table = summarize(tmp_path, capsys)
    ablation = row(table, "R1 − R1 without the language reward")
    assert ablation[1].startswith("+0.750 [") and ablation[3] == "–"
    assert ablation[-1] == "holds on all 2 seeds; 1 seed(s) not run"
    assert row(table, "R1 without the language reward", "Reasoning entirely")[1:] == \
        ["0.500 / 0.400", "0.500 / 0.400", "–", "0.500 / 0.400"]
    assert row(table, "R1 without the language reward")[1:] == ["0.250", "0.250", "–", "0.250", "0.250 to 0.250"]
    assert "--ablation" in table.splitlines()[2]   # the command that reproduces it


def test_missing_or_foreign_evaluations_are_clear_errors(tmp_path, capsys):
    for seed in (0, 1, 2):
        write_seed(tmp_path, seed)
    missing = tmp_path / "seed1" / "distill" / "eval.json"
    missing.unlink()
    argv = ["--seeds", "0", "1", "2", "--runs-dir", str(tmp_path), "--summary-only"]
    code, err = run_cli(seeds.main, argv, capsys)
    assert code == 2 and err.startswith("error:") and len(err.strip().splitlines()) == 1
    assert str(missing) in err and "missing" in err and "--seeds 1" in err
    assert not (tmp_path / "summary.md").exists()
    write_seed(tmp_path, 1)
    evals = json.loads(missing.read_text())
    del evals["student + on-policy distillation"]     # a distill.py --arms sft,rl run
    missing.write_text(json.dumps(evals))
    code, err = run_cli(seeds.main, argv, capsys)
    assert code == 2 and "student + on-policy distillation" in err
    write_seed(tmp_path, 1)
    write_run(tmp_path / "seed2" / "zero", {"base": fake_result(0, QUARTER), "R1-Zero": fake_result(0, ALL_RIGHT)})
    code, err = run_cli(seeds.main, argv, capsys)   # seed 0's run copied into seed2/
    assert code == 2 and "seed 0, not 2" in err
    code, err = run_cli(seeds.main, ["--runs-dir", str(tmp_path / "nowhere"), "--summary-only"], capsys)
    assert code == 2 and "nowhere" in err and "missing" in err


class Parsed(Exception):
    """Raised with the Namespace a script's parser produced, before the script checks any file."""


def parsed_flags(module, argv, monkeypatch) -> argparse.Namespace:
    """What `module`'s own parse_args makes of argv: an unknown flag exits (the test fails)."""
    def capture(parser, args=None, namespace=None):
        raise Parsed(argparse.ArgumentParser.parse_args(parser, args, namespace))
    monkeypatch.setattr(flags.ArgumentParser, "parse_args", capture)
    with pytest.raises(Parsed) as caught:
        module.parse_args(argv)
    return caught.value.args[0]


def test_dry_run_prints_seed_1s_pipeline_with_the_scripts_real_flags(tmp_path, capsys, monkeypatch):
    def no_process(*args, **kwargs):
        raise AssertionError("--dry-run started a process")
    monkeypatch.setattr(seeds.subprocess, "run", no_process)
    runs = tmp_path / "runs"
    assert seeds.main(["--seeds", "1", "--runs-dir", str(runs), "--ablation", "--dry-run"]) == 0
    assert not runs.exists()   # nothing written
    lines = capsys.readouterr().out.splitlines()
    commands = [shlex.split(line) for line in lines if line.startswith("python ")]
    assert [c[1] for c in commands] == ["train_zero.py", "train_r1.py", "distill.py", "train_r1.py"]
    modules = {"train_zero.py": train_zero, "train_r1.py": train_r1, "distill.py": distill}
    zero, r1, student, nolang = (parsed_flags(modules[c[1]], c[2:], monkeypatch) for c in commands)
    seed_dir = runs / "seed1"
    assert [ns.seed for ns in (zero, r1, student, nolang)] == [1, 1, 1, 1]
    base = str(seed_dir / "base" / "model.pt")
    assert (zero.base, zero.out_dir) == (base, str(seed_dir / "zero"))
    assert (r1.zero, r1.base, r1.out_dir, r1.no_language_reward) == (str(seed_dir / "zero" / "model.pt"), base,
                                                                     str(seed_dir / "r1"), False)
    assert (student.teacher, student.student_base, student.out_dir) == (
        str(seed_dir / "r1" / "model.pt"), str(seed_dir / "student_base" / "model.pt"), str(seed_dir / "distill"))
    assert (nolang.zero, nolang.base, nolang.out_dir, nolang.no_language_reward) == (
        r1.zero, base, str(seed_dir / "r1_nolang"), True)
    copy = lines.index(next(line for line in lines if "cp -r" in line))
    assert lines[copy] == f"mkdir -p {seed_dir / 'r1_nolang'} && cp -r {seed_dir / 'r1' / 'dev1'} {seed_dir / 'r1_nolang'}/"
    assert lines[copy + 1].startswith("python train_r1.py --no-language-reward")   # copied just before the ablation


def test_finished_stages_are_skipped_and_the_ablation_reuses_the_cold_start(tmp_path, capsys, monkeypatch):
    for seed in (0, 1, 2):
        write_seed(tmp_path, seed)
        dev1 = tmp_path / f"seed{seed}" / "r1" / "dev1"
        dev1.mkdir()
        (dev1 / "flags.json").write_text(json.dumps({"seed": seed}))
    started = []

    def fake_run(command, **kwargs):   # the ablation "runs": it writes its evaluation
        started.append(command)
        out_dir = Path(command[command.index("--out-dir") + 1])
        seed = int(command[command.index("--seed") + 1])
        write_run(out_dir, {"R1": fake_result(seed, QUARTER)})
        return argparse.Namespace(returncode=0)
    monkeypatch.setattr(seeds.subprocess, "run", fake_run)
    assert seeds.main(["--runs-dir", str(tmp_path), "--ablation"]) == 0
    assert [c[:3] for c in started] == [[sys.executable, str(seeds.ROOT / "train_r1.py"), "--no-language-reward"]] * 3
    assert [c[-1] for c in started] == ["0", "1", "2"]
    assert all((tmp_path / f"seed{s}" / "r1_nolang" / "dev1" / "flags.json").exists() for s in (0, 1, 2))
    table = (tmp_path / "summary.md").read_text()
    assert row(table, "R1 − R1 without the language reward")[-1] == "holds on all 3 seeds"


def test_an_unfinished_stage_runs_again_and_a_failed_one_stops_the_seeds(tmp_path, capsys, monkeypatch):
    write_seed(tmp_path, 0)
    (tmp_path / "seed0" / "r1" / "resume.pt").write_bytes(b"")   # killed while writing its report
    started = []

    def failing_run(command, **kwargs):
        started.append(command)
        return argparse.Namespace(returncode=3)
    monkeypatch.setattr(seeds.subprocess, "run", failing_run)
    code, err = run_cli(seeds.main, ["--seeds", "0", "1", "--runs-dir", str(tmp_path)], capsys)
    assert code == 2 and "seed 0" in err and "code 3" in err
    assert [c[1] for c in started] == [str(seeds.ROOT / "train_r1.py")]   # zero/ is finished; seed 1 never starts


def test_an_effect_holds_only_when_every_seed_excludes_0_on_the_same_side():
    up, down, unsure = (0.5, 0.4, 0.6), (-0.3, -0.4, -0.2), (0.1, -0.05, 0.25)
    assert seeds.verdict([up, up, up], 3) == "holds on all 3 seeds"
    assert seeds.verdict([down, down, down], 3) == "holds on all 3 seeds"
    assert seeds.verdict([up, up, down], 3) == "3 of 3 seeds exclude 0 (2 above, 1 below)"
    assert seeds.verdict([up, unsure, up], 3) == "2 of 3 seeds exclude 0"
