"""The tier-A labs (exercises/labs/): each trains its two arms on the tiny preset with the toy reward,
exactly as `python -m exercises.labs.NAME` does, and its check must PASS on the reference
implementation. Each check must also be able to FAIL: fed the arms the wrong way round (or a wrong
informative-group chance), it must say FAIL. Seed 0 is one of the three calibration seeds."""
import pytest

from exercises.labs.clipping import lab as clipping
from exercises.labs.group_size import lab as group_size
from exercises.labs.kl_term import lab as kl_term


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("labs")
    return {lab.__name__: lab.run(root / lab.__name__.split(".")[-2], seed=0)
            for lab in (kl_term, group_size, clipping)}


def test_kl_term_lab_passes_and_can_fail(runs):
    arms = runs[kl_term.__name__]
    passed, message = kl_term.check(arms["beta0"], arms["beta0.5"])
    assert passed, message
    assert not kl_term.check(arms["beta0.5"], arms["beta0"])[0]   # arms swapped
    assert not kl_term.check(arms["beta0"], arms["beta0"])[0]     # the same beta in both arms


def test_group_size_lab_passes_and_can_fail(runs):
    arms = runs[group_size.__name__]
    passed, message = group_size.check(arms["G2"], arms["G8"])
    assert passed, message
    assert not group_size.check(arms["G8"], arms["G2"])[0]
    # a wrong chance (only "all wrong" counts as uninformative) mispredicts the share of all-equal groups
    assert not group_size.check(arms["G2"], arms["G8"], chance=lambda p, g: 1 - (1 - p) ** g)[0]


def test_clipping_lab_passes_and_can_fail(runs):
    arms = runs[clipping.__name__]
    passed, message = clipping.check(arms["eps0.2"], arms["eps10"])
    assert passed, message
    assert not clipping.check(arms["eps10"], arms["eps0.2"])[0]
    assert not clipping.check(arms["eps0.2"], arms["eps0.2"])[0]


def test_lab_summaries_print_a_verdict(runs):
    for lab in (kl_term, group_size, clipping):
        passed, message, text = lab.summary(runs[lab.__name__])
        assert passed and "PASS: " + message in text and "| arm |" in text


# ---------------------------------------------------------------- lab 4 (tier B: needs runs/base/model.pt, not run here)

def test_zero_vs_base_names_the_command_that_builds_a_missing_base(tmp_path):
    from exercises.labs.zero_vs_base import lab as zero_vs_base
    with pytest.raises(SystemExit, match=r"python -m r1mini\.pretrain"):
        zero_vs_base.main(["--base", str(tmp_path / "missing.pt"), "--out-dir", str(tmp_path / "out")])


def test_zero_vs_base_check_reads_the_two_evaluations(tmp_path):
    """The check compares the step-0 evaluation (the base) with the last one; hand-written logs."""
    import json
    from exercises.labs.zero_vs_base import lab as zero_vs_base
    step = {"reward": 1.0, "reward_accuracy": 0.3}
    def log(name, lines):
        path = tmp_path / name
        path.write_text("".join(json.dumps(line) + "\n" for line in lines))
        return path
    gain = zero_vs_base.MIN_GAIN
    better = log("better.jsonl", [{"step": 0, "eval_pass@1": 0.3}, {"step": 1, **step},
                                  {"step": 20, "eval_pass@1": 0.3 + gain + 0.01}])
    same = log("same.jsonl", [{"step": 0, "eval_pass@1": 0.3}, {"step": 1, **step}, {"step": 20, "eval_pass@1": 0.3}])
    no_base = log("no_base.jsonl", [{"step": 1, **step}, {"step": 20, "eval_pass@1": 0.9}])
    assert zero_vs_base.check(better)[0]
    assert not zero_vs_base.check(same)[0]
    assert not zero_vs_base.check(no_base)[0]
