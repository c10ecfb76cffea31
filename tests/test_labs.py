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
