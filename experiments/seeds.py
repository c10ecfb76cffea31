"""Seeds: the README's pipeline on several seeds, and which of its headline effects hold on all of them.

One run of the pipeline is one draw. The intervals in a report are over *questions*, for that run:
they cannot show what another seed would give (another base, other rollouts, other training
data, other evaluation samples). So this script runs the whole pipeline once per seed, each seed
in its own directories, and then lays the runs side by side:

    python experiments/seeds.py                        # seeds 0 1 2 into runs/seeds/ (~36 min a seed on 2 cores)
    python experiments/seeds.py --ablation             # and R1 without the language reward, per seed
    python experiments/seeds.py --summary-only         # run nothing: the table of the runs already there
    python experiments/seeds.py --seeds 1 --dry-run    # print seed 1's commands (a shell script), run nothing

For seed N, in runs/seeds/seedN/, the README's three commands with --seed N and their paths:

    base/ zero/              python train_zero.py --base .../base/model.pt --out-dir .../zero --seed N
                             (it pretrains the base first, with the same seed)
    r1/                      python train_r1.py --zero .../zero/model.pt --base .../base/model.pt --out-dir .../r1 --seed N
    student_base/ distill/   python distill.py --teacher .../r1/model.pt --student-base .../student_base/model.pt
                             --out-dir .../distill --seed N   (it pretrains the student base first, same seed)
    r1_nolang/               with --ablation: R1's cold start copied from r1/dev1 (it does not read the flag,
                             docs/results.md), then train_r1.py --no-language-reward --out-dir .../r1_nolang

Each stage runs as its own process, with this Python. A stage that finished (its model.pt or its
report.md written, and no resume.pt left) is skipped: the scripts refuse to overwrite a finished run,
and a killed run of this script resumes where it stopped (the unfinished stage from its own resume
file). What --seed reaches: the base's and the student base's initialisation and pretraining data,
every RL stage's rollouts and problem draws, R1's and distill.py's sampled data and SFT batches, and
the evaluations' samples. What it does not: the held-out questions (tasks.eval_problems has its own
fixed seed, so every seed is measured on the same questions), the tokenizer (r1mini/vocab.tiktoken,
trained once), train_zero.py's learning-curve evaluations (seed 1000 + step) and the bootstrap's
resampling (intervals.py, fixed).

The summary, runs/seeds/summary.md (printed too), reads each seed's eval.json files. For each
headline comparison, per seed, the paired difference of pass@1 on the training levels (later model
minus earlier, on the same questions) with its 95% interval over questions
(intervals.paired_difference); then the mean and the range over seeds, and whether the effect holds
on every seed: each seed's interval excludes 0, on the same side. Then R1's reasoning language.
"""
from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from r1mini.evaluate import protocol  # noqa: E402
from r1mini.flags import SEED, ArgumentParser, fail  # noqa: E402
from r1mini.intervals import format_interval, paired_difference  # noqa: E402
from r1mini.tasks import LANGUAGES  # noqa: E402

# The headline comparisons: (label, earlier model, later model), each model as (its run directory
# in seedN/, its name in that run's eval.json). The row is later − earlier, paired on the questions.
COMPARISONS = [
    ("R1-Zero − base", ("zero", "base"), ("zero", "R1-Zero")),
    ("R1 − R1-Zero", ("r1", "R1-Zero"), ("r1", "R1")),
    ("R1 − R1 without the language reward", ("r1_nolang", "R1"), ("r1", "R1")),
    ("distilled − RL student", ("distill", "student + RL"), ("distill", "student + distillation")),
    ("distilled − on-policy student", ("distill", "student + on-policy distillation"), ("distill", "student + distillation")),
]
RATIO = ("distilled / teacher", ("distill", "teacher"), ("distill", "student + distillation"))
REQUIRED_RUNS = ("zero", "r1", "distill")   # r1_nolang is there only with --ablation
MODEL_ROWS = [("base", ("zero", "base")), ("R1-Zero", ("zero", "R1-Zero")), ("R1", ("r1", "R1")),
              ("R1 without the language reward", ("r1_nolang", "R1")),
              ("distilled student", ("distill", "student + distillation")), ("RL student", ("distill", "student + RL")),
              ("on-policy student", ("distill", "student + on-policy distillation"))]
LANGUAGE_ROWS = [("R1-Zero", ("r1", "R1-Zero")), ("R1", ("r1", "R1")),
                 ("R1 without the language reward", ("r1_nolang", "R1"))]


# ---------------------------------------------------------------- running the pipeline, seed by seed

def pipeline(seed_dir: Path, seed: int, ablation: bool) -> list[tuple[Path, list[str]]]:
    """The README's pipeline for one seed: (the stage's output directory, its command after `python`)."""
    base, student_base = seed_dir / "base" / "model.pt", seed_dir / "student_base" / "model.pt"
    zero, r1, distill, nolang = (seed_dir / name for name in ("zero", "r1", "distill", "r1_nolang"))
    seed_flag = ["--seed", str(seed)]
    stages = [
        (zero, ["train_zero.py", "--base", str(base), "--out-dir", str(zero), *seed_flag]),
        (r1, ["train_r1.py", "--zero", str(zero / "model.pt"), "--base", str(base), "--out-dir", str(r1), *seed_flag]),
        (distill, ["distill.py", "--teacher", str(r1 / "model.pt"), "--student-base", str(student_base),
                   "--out-dir", str(distill), *seed_flag]),
    ]
    if ablation:
        stages.append((nolang, ["train_r1.py", "--no-language-reward", "--zero", str(zero / "model.pt"),
                                "--base", str(base), "--out-dir", str(nolang), *seed_flag]))
    return stages


def finished(out_dir: Path) -> bool:
    """A stage that ended: its model.pt (train_zero.py, train_r1.py) or its report.md (distill.py, whose
    models are in sub-directories) is written and its resume file is gone (RunDir.finish)."""
    written = (out_dir / "model.pt").exists() or (out_dir / "report.md").exists()
    return written and not (out_dir / "resume.pt").exists()


def reuse_cold_start(seed_dir: Path, dry_run: bool) -> None:
    """The ablation starts from R1's own Dev1: the cold start does not read --no-language-reward, and
    train_r1.py reuses a finished stage copied into its --out-dir (its flags.json says what built it)."""
    source, target = seed_dir / "r1" / "dev1", seed_dir / "r1_nolang" / "dev1"
    if target.exists():
        return
    if dry_run:
        print(f"mkdir -p {shlex.quote(str(target.parent))} && cp -r {shlex.quote(str(source))} "
              f"{shlex.quote(str(target.parent))}/")
    elif (source / "flags.json").exists():
        print(f"[seeds] copying R1's cold start {source} to {target}")
        shutil.copytree(source, target, ignore=shutil.ignore_patterns(".lock"))
    else:
        print(f"[seeds] no finished cold start in {source}: the ablation builds its own")


def run_seed(seed_dir: Path, seed: int, ablation: bool, dry_run: bool) -> int:
    """Every unfinished stage of one seed, in order; 0, or the exit code of the stage that failed."""
    print(f"# seed {seed}" if dry_run else f"[seeds] seed {seed}, in {seed_dir}")
    for out_dir, command in pipeline(seed_dir, seed, ablation):
        if finished(out_dir):
            print(f"# {out_dir} finished earlier: skipped" if dry_run else f"[seeds] {out_dir} finished earlier: skipped")
            continue
        if out_dir.name == "r1_nolang":
            reuse_cold_start(seed_dir, dry_run)
        line = "python " + shlex.join(command)
        print(line if dry_run else f"[seeds] {line}", flush=True)
        if not dry_run:
            code = subprocess.run([sys.executable, str(ROOT / command[0]), *command[1:]]).returncode
            if code:
                return code
    return 0


# ---------------------------------------------------------------- the summary

def seed_evaluations(seed_dir: Path, seed: int) -> dict[str, dict]:
    """{run: its eval.json} for one seed: zero/, r1/ and distill/ must be there, r1_nolang/ may be.
    Each evaluation must be of this seed (the scripts evaluate with their --seed)."""
    evals = {}
    for run in (*REQUIRED_RUNS, "r1_nolang"):
        path = seed_dir / run / "eval.json"
        if not path.exists():
            if run in REQUIRED_RUNS:
                raise ValueError(f"{path} is missing: seed {seed}'s {run} run has not finished "
                                 f"(python experiments/seeds.py --seeds {seed} runs or resumes it)")
            continue
        try:
            evals[run] = json.loads(path.read_text())
        except json.JSONDecodeError:
            raise ValueError(f"{path} is not valid JSON") from None
        for name, result in evals[run].items():
            evaluated_with = result.get("settings", {}).get("seed")
            if evaluated_with != seed:
                raise ValueError(f"{path}: {name} was evaluated with seed {evaluated_with}, not {seed}; "
                                 "is this directory from another run?")
    return evals


def result_of(evals: dict[str, dict], where: tuple[str, str], seed_dir: Path) -> dict:
    run, name = where
    if name not in evals[run]:
        raise ValueError(f"{seed_dir / run / 'eval.json'} has no evaluation of {name!r} (it has {', '.join(evals[run])})")
    return evals[run][name]


def seed_difference(evals: dict[str, dict], earlier, later, seed_dir: Path):
    """(difference, lo, hi) of pass@1 on the training levels, later − earlier, paired on the
    questions; None when a run it needs is not there (the ablation, not run for this seed)."""
    if earlier[0] not in evals or later[0] not in evals:
        return None
    paired = paired_difference(result_of(evals, earlier, seed_dir), result_of(evals, later, seed_dir), "pass@1")
    if paired is None:
        raise ValueError(f"{seed_dir}: {earlier[1]} ({earlier[0]}/eval.json) and {later[1]} ({later[0]}/eval.json) "
                         "were not evaluated on the same questions, or one of them kept none")
    return paired


def verdict(intervals: list[tuple[float, float, float]], n_seeds: int) -> str:
    """'holds on all N seeds' when every seed's interval excludes 0 on the same side; otherwise how
    many of them exclude 0 (and on which side, when both occur)."""
    above, below = sum(lo > 0 for _, lo, _ in intervals), sum(hi < 0 for _, _, hi in intervals)
    n = len(intervals)
    text = ((f"holds on all {n} seeds" if n > 1 else "holds on its one seed") if n and (above == n or below == n)
            else f"{above + below} of {n} seeds exclude 0" + (f" ({above} above, {below} below)" if above and below else ""))
    return text + (f"; {n_seeds - n} seed(s) not run" if n < n_seeds else "")


def spread(values: list[float], sign: str = "+") -> tuple[str, str]:
    """(mean, 'min to max') of the per-seed values, or dashes when there are none."""
    if not values:
        return "–", "–"
    return f"{sum(values) / len(values):{sign}.3f}", f"{min(values):{sign}.3f} to {max(values):{sign}.3f}"


def comparison_rows(evals: dict[int, dict], seed_dirs: dict[int, Path]) -> list[str]:
    """One row per headline comparison (one the seeds did not run is left out), then the ratio row."""
    seeds, rows = list(evals), []
    for label, earlier, later in COMPARISONS:
        per_seed = {seed: seed_difference(evals[seed], earlier, later, seed_dirs[seed]) for seed in seeds}
        present = [paired for paired in per_seed.values() if paired is not None]
        if not present:
            continue
        cells = ["–" if p is None else f"{p[0]:+.3f} [{p[1]:+.2f}, {p[2]:+.2f}]" for p in per_seed.values()]
        mean, low_high = spread([p[0] for p in present])
        rows.append(f"| {label} | " + " | ".join(cells) + f" | {mean} | {low_high} | {verdict(present, len(seeds))} |")
    label, teacher, student = RATIO
    pass1 = {s: [result_of(evals[s], where, seed_dirs[s])["overall"]["pass@1"] for where in (student, teacher)]
             for s in seeds}
    ratios = {s: distilled / of_teacher if of_teacher else None for s, (distilled, of_teacher) in pass1.items()}
    mean, low_high = spread([r for r in ratios.values() if r is not None], sign="")
    rows.append(f"| {label} (pass@1 ratio) | " + " | ".join("–" if r is None else f"{r:.3f}" for r in ratios.values())
                + f" | {mean} | {low_high} | – (a ratio: no interval) |")
    return rows


def model_rows(evals: dict[int, dict], seed_dirs: dict[int, Path]) -> list[str]:
    """Per model, its pass@1 on the training levels on each seed (with that run's interval over
    questions), then the mean and the range over seeds: the spread a new seed can give."""
    rows = []
    for label, where in MODEL_ROWS:
        present = {seed: result_of(evals[seed], where, seed_dirs[seed])["overall"] for seed in evals if where[0] in evals[seed]}
        if not present:
            continue
        cells = ["–" if seed not in present else format_interval(present[seed]["pass@1"], present[seed].get("pass@1_ci"))
                 for seed in evals]
        mean, low_high = spread([overall["pass@1"] for overall in present.values()], sign="")
        rows.append(f"| {label} | " + " | ".join(cells) + f" | {mean} | {low_high} |")
    return rows


def language_rows(evals: dict[int, dict], seed_dirs: dict[int, Path]) -> list[str]:
    """Per seed, the share of answers that think whose reasoning is entirely in the question's
    language, asked in English / in Chinese (evaluate.py's own_language_rate)."""
    rows = []
    for label, where in LANGUAGE_ROWS:
        if not any(where[0] in evals[s] for s in evals):
            continue
        rates = {lang: [] for lang in LANGUAGES}
        cells = []
        for seed in evals:
            if where[0] not in evals[seed]:
                cells.append("–")
                continue
            by_language = result_of(evals[seed], where, seed_dirs[seed])["by_language"]
            values = [by_language[lang]["own_language_rate"] for lang in LANGUAGES]
            for lang, value in zip(LANGUAGES, values):
                if value is not None:
                    rates[lang].append(value)
            cells.append(" / ".join("–" if v is None else f"{v:.3f}" for v in values))
        means = " / ".join(spread(rates[lang], sign="")[0] for lang in LANGUAGES)
        rows.append(f"| {label} | " + " | ".join(cells) + f" | {means} |")
    return rows


def summary(runs_dir: Path, seeds: list[int]) -> str:
    """summary.md: the headline comparisons per seed, their mean, range and verdict; each model's
    pass@1 per seed; and the reasoning's language."""
    seed_dirs = {seed: runs_dir / f"seed{seed}" for seed in seeds}
    evals = {seed: seed_evaluations(seed_dirs[seed], seed) for seed in seeds}
    ablation = any("r1_nolang" in evals[seed] for seed in seeds)
    command = shlex.join(["python", "experiments/seeds.py", "--seeds", *map(str, seeds), "--runs-dir", str(runs_dir)]
                         + (["--ablation"] if ablation else []))
    settings = result_of(evals[seeds[0]], ("zero", "base"), seed_dirs[seeds[0]])["settings"]
    columns = " | ".join(f"seed {seed}" for seed in seeds)
    lines = [f"# Seeds: the headline comparisons on {len(seeds)} seed(s)", "",
             f"Command: `{command}` (each seed's runs in {runs_dir}/seedN/).", "",
             protocol(settings["n_problems_per_level"], settings["k"], settings.get("split", "test"))
             + " The held-out questions are the same "
             "for every seed; each run evaluates with its own seed.", "",
             "Each seed's cell: the paired difference of pass@1 on the training levels, later model minus earlier "
             "on the same questions, with its 95% bootstrap interval over questions (for that seed's run; the "
             "spread between seeds is what such an interval cannot show). Verdict: \"holds on all N seeds\" when "
             "every seed's interval excludes 0 on the same side; otherwise how many seeds' intervals exclude 0.", "",
             f"| comparison (pass@1, in-distribution) | {columns} | mean | min to max | verdict |",
             "|---" * (len(seeds) + 4) + "|",
             *comparison_rows(evals, seed_dirs), "",
             "Each model's pass@1 on the training levels, per seed (with its interval over questions):", "",
             f"| model | {columns} | mean | min to max |", "|---" * (len(seeds) + 3) + "|",
             *model_rows(evals, seed_dirs), "",
             "Reasoning entirely in the question's language (answers that think; asked in English / in Chinese):", "",
             f"| model | {columns} | mean |", "|---" * (len(seeds) + 2) + "|",
             *language_rows(evals, seed_dirs)]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the command line

def parse_args(argv=None):
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=SEED, nargs="+", default=[0, 1, 2], help="one run of the whole pipeline per seed")
    p.add_argument("--runs-dir", default="runs/seeds", help="seed N runs in RUNS_DIR/seedN/; the summary is RUNS_DIR/summary.md")
    p.add_argument("--ablation", action="store_true",
                   help="also R1 without the language reward (train_r1.py --no-language-reward), per seed")
    p.add_argument("--summary-only", action="store_true", help="run nothing: the summary of the runs already in --runs-dir")
    p.add_argument("--dry-run", action="store_true", help="print each seed's commands, run nothing, write nothing")
    args = p.parse_args(argv)
    if args.summary_only and args.dry_run:
        p.error("--summary-only runs nothing and --dry-run writes nothing: pass one of them")
    args.seeds = list(dict.fromkeys(args.seeds))
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    runs_dir = Path(args.runs_dir)
    if not args.summary_only:
        for seed in args.seeds:
            code = run_seed(runs_dir / f"seed{seed}", seed, args.ablation, args.dry_run)
            if code:
                return fail(f"seed {seed}: a stage exited with code {code} (its message is above); "
                            "run this command again to resume")
    if args.dry_run:
        return 0
    try:
        table = summary(runs_dir, args.seeds)
    except ValueError as error:
        return fail(str(error))
    (runs_dir / "summary.md").write_text(table)
    print(table)
    print(f"[seeds] wrote {runs_dir / 'summary.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
