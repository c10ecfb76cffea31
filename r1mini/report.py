"""Reports: the markdown tables each script writes at the end, and learning-curve plots.
Machinery, not algorithm: a student may skip this file.

  report_card     train_zero.py: base vs R1-Zero, and what moved during RL
  stage_table     train_r1.py: the paper's Dev1/Dev2/Dev3/R1 table at toy scale
  distill_table   distill.py: teacher vs the student's three arms
  plot_run        curves.png from a metrics.jsonl (if matplotlib is installed)

pass@1 and cons@k are shown with their 95% interval over questions, and each table is followed by the
paired difference of each model from the one in the column before it (intervals.py).
"""
from __future__ import annotations

import sys
from pathlib import Path

from r1mini.evaluate import format_table
from r1mini.intervals import format_difference, format_interval, paired_difference
from r1mini.rundir import read_jsonl


def window_mean(rows: list[dict], key: str) -> float:
    """Mean of `key` over the rows that have it (a step that made no update logs no KL)."""
    values = [r[key] for r in rows if key in r]
    return sum(values) / len(values) if values else float("nan")


def cell(summary: dict | None, key: str) -> str:
    """A summary's `key` to 3 decimals, with its 95% interval where it has one (pass@1 and cons@k;
    an evaluation written before the intervals has none, and is shown without)."""
    value = (summary or {}).get(key)
    return "–" if value is None else format_interval(value, summary.get(f"{key}_ci"))


def paired_differences(evals: dict[str, dict]) -> list[str]:
    """Each model minus the one in the column before it, on the same questions, with the paired 95%
    interval: a difference whose interval excludes 0 is one these questions resolve. Pairing is what
    makes it narrow: both models saw the same easy and hard questions, so the spread between
    questions that widens each model's own interval cancels in the difference."""
    names = list(evals)
    if len(names) < 2:
        return []
    lines = ["", "Paired differences (each model minus the column before it, on the same questions; 95% bootstrap "
                 "interval over questions; – where the two were not evaluated on the same questions, or one "
                 "is from an eval.json written before evaluations kept them):", "",
             "| change | pass@1 (in-distribution) | cons@k (in-distribution) | pass@1 (harder than training) |",
             "|---|---|---|---|"]
    for before, after in zip(names, names[1:]):
        cells = [format_difference(paired_difference(evals[before], evals[after], metric, hard))
                 for metric, hard in (("pass@1", False), ("cons@k", False), ("pass@1", True))]
        lines.append(f"| {after} − {before} | " + " | ".join(cells) + " |")
    return lines


def model_table(title: str, settings: str, names: list[str], rows, corner: str = "metric") -> list[str]:
    """The head of every report: title, the command that wrote it, the settings, and a table with one
    column per model and one row per (label, cells)."""
    command = " ".join(Path(a).name if i == 0 else a for i, a in enumerate(sys.argv))
    lines = [f"# {title}", "", f"Command: `python {command}`", "", settings, "",
             f"|{' ' + corner if corner else ''} | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    return lines + [f"| {label} | " + " | ".join(cells) + " |" for label, cells in rows]


def per_level_tables(evals: dict[str, dict]) -> list[str]:
    lines = []
    for name, result in evals.items():
        lines += ["", f"## {name}, per level", "", format_table(result)]
    return lines


def first_and_last_tenth(steps: list[dict], key: str) -> tuple[float, float]:
    """`key` averaged over the first and the last tenth of the RL steps: what moved during RL."""
    tenth = max(1, len(steps) // 10)
    return window_mean(steps[:tenth], key), window_mean(steps[-tenth:], key)


def report_card(title: str, evals: dict[str, dict], metrics: list[dict], settings: str, rl_keys=()) -> str:
    """Markdown: one column per evaluated model, the paired differences between them, then (first →
    last tenth of the steps) the RL quantities in `rl_keys`, then each model's per-level table."""
    names = list(evals)
    row = lambda label, summary_of, key: (label, [cell(summary_of(evals[n]), key) for n in names])  # noqa: E731
    rows = [row(f"{key} (in-distribution)", lambda e: e["overall"], key)
            for key in ("pass@1", "cons@k", "pass@k", "mean_length", "reasoned_rate", "reasoned_accuracy",
                        "direct_accuracy", "reflection_rate", "template_check_rate", "correction_rate",
                        "agreement_rate", "mixing_rate", "language_consistency", "format_rate")]
    rows += [row(f"{key} (harder than training)", lambda e: e["hard"], key)
             for key in ("pass@1", "cons@k", "reasoned_rate")]
    rows += [row(f"{key} (asked in {lang})", lambda e, lang=lang: e["by_language"][lang], key)
             for lang in evals[names[0]]["by_language"]  # the reasoning's language against the question's
             for key in ("pass@1", "language_consistency", "own_language_rate", "mixing_rate")]
    lines = model_table(title, settings, names, rows) + paired_differences(evals)
    steps = [m for m in metrics if "reward" in m]
    if steps and rl_keys:
        lines += ["", "During RL (mean of the first → last tenth of steps, on the training rollouts):", "",
                  "| quantity | start | end |", "|---|---|---|"]
        lines += ["| {} | {:.3f} | {:.3f} |".format(key, *first_and_last_tenth(steps, key))
                  for key in rl_keys if any(key in r for r in steps)]
    return "\n".join(lines + per_level_tables(evals)) + "\n"


def stage_table(evals: dict[str, dict], data_counts: dict[str, dict], settings: str) -> str:
    """Markdown for train_r1.py: the paper's Dev1/Dev2/Dev3 table at toy scale (one column per stage),
    what each stage changed (paired differences), what each data filter removed, then each stage's
    per-level table."""
    names = list(evals)
    rows = [("pass@1 (in-distribution)", "overall", "pass@1"), ("cons@k (in-distribution)", "overall", "cons@k"),
            ("pass@1 (harder than training)", "hard", "pass@1"), ("mean length (in-distribution)", "overall", "mean_length"),
            *[(f"reasoning entirely in the question's language (asked in {lang}; answers that think)", ("by_language", lang), "own_language_rate")
              for lang in evals[names[0]]["by_language"]],
            ("language-mixing rate", "overall", "mixing_rate"), ("reflection-phrase rate", "overall", "reflection_rate"),
            ("... of which template self-checks (\"Let me check ... Yes.\")", "overall", "template_check_rate"),
            ("... of which genuine corrections (a wrong step, \"wait\", redone right)", "overall", "correction_rate"),
            ("agreement: think's conclusion, summary and answer state one number", "overall", "agreement_rate"),
            ("readable format: summary present (non-trivial questions)", "nontrivial", "summary_rate"),
            ("trivial questions: pass@1", "trivial", "pass@1"), ("trivial questions: mean length", "trivial", "mean_length")]
    pick = lambda e, where: e[where[0]][where[1]] if isinstance(where, tuple) else e[where]  # noqa: E731
    lines = model_table("R1 stage table", settings, names,
                        [(title, [cell(pick(evals[n], where), key) for n in names]) for title, where, key in rows])
    lines += paired_differences(evals)
    for name, counts in data_counts.items():
        lines += ["", f"**{name} data**: " + ", ".join(f"{k}: {v}" for k, v in counts.items())]
    return "\n".join(lines + per_level_tables(evals)) + "\n"


def distill_table(evals: dict, params: dict, compute: dict, teacher_counts: dict | None, settings: str,
                  rl_metrics: dict) -> str:
    """Markdown for distill.py: the paper's distillation table at toy scale (one column per model),
    the paired differences between neighbouring columns, the teacher data's counts, what RL on the
    student saw, then each model's per-level table."""
    names = list(evals)
    rows = [("parameters (total / active)", [f"{params[n][0] / 1e6:.3f}M / {params[n][1] / 1e6:.3f}M" for n in names])]
    rows += [(title, [cell(evals[n][where], key) for n in names]) for title, where, key in (
        ("pass@1 (in-distribution)", "overall", "pass@1"), ("cons@k (in-distribution)", "overall", "cons@k"),
        ("pass@1 (harder than training)", "hard", "pass@1"), ("language consistency", "overall", "language_consistency"),
        ("reasoning entirely in the question's language", "overall", "own_language_rate"),
        ("mean length (in-distribution)", "overall", "mean_length"))]
    rows += [(f"student training: {key}", [str(compute[n][key]) if n in compute else "–" for n in names])
             for key in ("steps", "tokens sampled", "tokens trained", "forward-token units", "minutes")]
    lines = model_table("Distillation table", settings, names, rows, corner="") + paired_differences(evals)
    if teacher_counts:
        lines += ["", "**Teacher data**: " + ", ".join(f"{k}: {v}" for k, v in teacher_counts.items())]
    for name, path in rl_metrics.items():
        steps = [r for r in read_jsonl(path) if "frac_groups_never_right" in r]
        if steps:  # RL learns nothing from a group none of whose answers was right
            start, end = first_and_last_tenth(steps, "frac_groups_never_right")
            pass_rate = steps[-1].get("curriculum", {})
            lines += ["", f"**{name}**: share of sampled groups with no right answer (no reward, no signal) "
                          f"{start:.2f} in the first tenth of steps → {end:.2f} in the last; "
                          "the curriculum's pass rate per level at the end: "
                          + ", ".join(f"{k} {v:.2f}" for k, v in sorted(pass_rate.items()))]
    return "\n".join(lines + per_level_tables(evals)) + "\n"


PANELS = [("reward_accuracy", "train accuracy (rollouts)"), ("eval_pass@1", "held-out pass@1"),
          ("response_length", "mean response length (tokens)"), ("eval_reasoned_rate", "held-out share reasoned"),
          ("eval_reflection_rate", "held-out reflection rate"), ("eval_mixing_rate", "held-out language mixing"),
          ("kl", "KL to reference"), ("groups_sampled", "groups sampled per step"),
          ("expert_load_max_over_mean", "expert load max/mean"), ("loss", "loss")]


def plot_run(metrics_path, out_dir, name: str = "curves.png") -> Path | None:
    """Learning curves from a metrics.jsonl, if matplotlib is installed (it is optional)."""
    try:
        import matplotlib
    except ImportError:
        print("[report] matplotlib not installed: no plots (pip install matplotlib)")
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    records = read_jsonl(metrics_path)
    panels = [(key, title) for key, title in PANELS if any(key in r for r in records)]
    if not panels:
        return None
    rows = (len(panels) + 2) // 3
    fig, axes = plt.subplots(rows, 3, figsize=(12.6, 3 * rows), squeeze=False)
    for ax, (key, title) in zip(axes.flat, panels):
        points = [(r["step"], r[key]) for r in records if r.get(key) is not None]
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="." if len(points) < 30 else None)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.tight_layout()
    path = Path(out_dir) / name
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path

