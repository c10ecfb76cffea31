"""Learning-curve plots from a metrics.jsonl (optional: needs matplotlib, imported here only)."""
from __future__ import annotations

from pathlib import Path

from r1mini.training import read_jsonl

PANELS = [("reward_accuracy", "train accuracy (rollouts)"), ("eval_pass@1", "held-out pass@1"),
          ("response_length", "mean response length (tokens)"), ("eval_reasoned_rate", "held-out share reasoned"),
          ("eval_reflection_rate", "held-out reflection rate"), ("eval_mixing_rate", "held-out language mixing"),
          ("reward_language", "language-consistency reward"), ("kl", "KL to reference"),
          ("expert_load_max_over_mean", "expert load max/mean"), ("loss", "loss")]


def plot_run(metrics_path, out_dir, name: str = "curves.png") -> Path | None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    records = read_jsonl(Path(metrics_path))
    panels = [(key, title) for key, title in PANELS if any(key in r for r in records)]
    if not panels:
        return None
    cols = 3
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3 * rows), squeeze=False)
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
