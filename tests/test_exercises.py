"""The exercises stay honest (docs in exercises/README.md; issue 30): every test of exercises/
passes on r1mini's reference, fails with NotImplementedError on the untouched stubs, fails on a
stub that returns zeros of the right shape, and every named mutant (a realistic wrong version)
fails at least one test. The exercise suite runs in-process, once per implementation."""
from __future__ import annotations

import copy
import functools
import inspect
import random
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from exercises import framework
from exercises.run import implementations, main, plugged_in
from r1mini import grpo
from r1mini.config import model_config
from r1mini.grpo import GRPOConfig
from r1mini.grpo_fast import fast_grpo_step
from r1mini.model import Transformer
from r1mini.rewards import r1_zero_rewards
from r1mini.tasks import generate_problem
from r1mini.tokenizer import get_tokenizer
from r1mini.train_utils import make_optimizer

EXERCISES = Path(framework.__file__).parent
# Tests a zero stub may pass, with the reason (none so far: each test holds a case whose answer is not 0).
ZERO_ALLOWED: dict[str, str] = {}


class Recorder:
    """A pytest plugin that keeps each test's outcome and failure text."""

    def __init__(self):
        self.outcomes, self.errors, self.impl_of = {}, [], {}

    def pytest_collection_modifyitems(self, items):
        for item in items:  # with --impl=mutants, which mutant each test runs on
            self.impl_of[item.nodeid] = getattr(getattr(item, "callspec", None), "params", {}).get("impl")

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or (report.when == "setup" and not report.passed):
            self.outcomes[report.nodeid] = (report.outcome, report.longreprtext)

    def pytest_collectreport(self, report):
        if report.failed:
            self.errors.append(report.longreprtext)


def run_exercises(impl: str, traceback: str = "no") -> Recorder:
    """Run the whole exercise suite in this process (a fresh pytest session) on one implementation.
    traceback "no" (outcomes only) saves most of the time when many tests fail."""
    recorder = Recorder()
    folders = [str(EXERCISES / name) for name in framework.exercise_names()]  # not exercises/labs
    pytest.main([*folders, f"--impl={impl}", "-q", "-rN", "-p", "no:cacheprovider", f"--tb={traceback}"],
                plugins=[recorder])
    assert not recorder.errors, f"collection errors with --impl={impl}:\n" + "\n".join(recorder.errors)
    return recorder


def test_there_are_thirteen_exercises_in_teaching_order():
    names = framework.exercise_names()
    assert [n[:2] for n in names] == [f"{i:02d}" for i in range(1, 14)], names


def test_every_exercise_test_passes_on_the_reference():
    outcomes = run_exercises("reference", traceback="short").outcomes
    for name in framework.exercise_names():
        assert any(f"{name}/" in node for node in outcomes), f"{name} has no test"
    bad = {node: out for node, out in outcomes.items() if out[0] != "passed"}
    assert not bad, "\n\n".join(f"{node}: {outcome}\n{text[-1500:]}" for node, (outcome, text) in bad.items())


def test_every_exercise_test_fails_on_the_untouched_stubs():
    outcomes = run_exercises("student", traceback="native").outcomes
    assert outcomes
    bad = {node: out for node, out in outcomes.items() if out[0] != "failed" or "NotImplementedError" not in out[1]}
    assert not bad, "tests that do not fail with NotImplementedError on the stubs:\n" + "\n".join(
        f"{node}: {outcome}" for node, (outcome, _) in bad.items())


def test_zero_stubs_pass_no_test():
    outcomes = run_exercises("zeros").outcomes
    assert outcomes
    passing = [node for node, (outcome, _) in outcomes.items() if outcome != "failed" and node not in ZERO_ALLOWED]
    assert not passing, f"tests that a stub returning zeros passes (vacuous): {passing}"


def test_mutant_names_are_unique():
    seen = {}
    for name in framework.exercise_names():
        for m in framework.load(name).mutants:
            assert m not in seen, f"mutant {m} is in both {seen[m]} and {name}"
            seen[m] = name
    assert len(seen) >= 2 * len(framework.exercise_names())


def test_every_mutant_fails_a_test():
    """One session runs each exercise's tests once per mutant of that exercise (--impl=mutants)."""
    recorder = run_exercises("mutants")
    caught = {recorder.impl_of[node].removeprefix("mutant:") for node, (outcome, _) in recorder.outcomes.items()
              if outcome == "failed"}
    missed = {m: f"{exercise}: {wrong.__doc__}" for m, (exercise, wrong) in framework.all_mutants().items()
              if m not in caught}
    assert not missed, f"mutants no test catches: {missed}"


@pytest.mark.parametrize("name", framework.exercise_names())
def test_stub_and_reference_signatures_match(name):
    exercise = framework.load(name)
    for f in exercise.functions:
        student, reference = getattr(exercise.student, f), getattr(exercise.reference, f)
        assert inspect.signature(student) == inspect.signature(reference), f"{name}: {f}"
        assert inspect.getdoc(student), f"{name}: the stub of {f} needs the reference's docstring"
    for m, wrong in exercise.mutants.items():
        want = inspect.signature(getattr(exercise.reference, wrong.replaces)).parameters
        assert list(inspect.signature(wrong).parameters) == list(want), f"{name}: mutant {m}'s parameters"
        assert inspect.getdoc(wrong), f"{name}: mutant {m} needs a docstring naming its mistake"


# Functions one GRPO step of the real pipeline runs (the rest run elsewhere: the balance loss in SFT,
# the informative chance in the curriculum, pass@k and the vote in evaluation, the filters in
# train_r1.py, the reverse KL in distill.py).
GRPO_STEP_FUNCTIONS = {"extract_answer", "format_reward", "rope_tables", "apply_rope", "gate", "attention_mask",
                       "sampling_distribution", "draw", "token_logprobs", "completion_batch", "group_advantages",
                       "grpo_loss"}


def test_a_grpo_step_really_calls_each_plugged_in_function():
    """exercises.run's install: spies wrapped around the reference functions, plugged in where the
    pipeline binds them (modules that imported them by name, class methods), must each be called by
    one fast_grpo_step (the step the scripts run) on a tiny model with R1-Zero's reward."""
    calls = Counter()

    def spy(name, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return fn(*args, **kwargs)
        return wrapper

    spies = {}
    for name, impl in implementations("reference").items():
        spies[name] = SimpleNamespace(**{f: spy(f, getattr(impl, f)) for f in framework.load(name).functions})
    with plugged_in(spies):
        torch.manual_seed(0)
        policy = Transformer(model_config("tiny", get_tokenizer().n_vocab)).eval()
        cfg = GRPOConfig(prompts_per_step=2, group_size=4, max_new_tokens=6, kl_coef=0.04, zero_std_groups="keep")
        rng = random.Random(0)
        fast_grpo_step(policy, copy.deepcopy(policy), make_optimizer(policy, 1e-3, 0.0), get_tokenizer(),
                       lambda n: [generate_problem(rng, "add", 2) for _ in range(n)], cfg, r1_zero_rewards,
                       torch.device("cpu"), torch.Generator().manual_seed(0))
    missing = GRPO_STEP_FUNCTIONS - set(calls)
    assert not missing, f"plugged in but never called by a GRPO step: {missing} (calls: {dict(calls)})"
    assert Transformer.attention_mask is framework.load("04_attention_mask").reference.attention_mask, "restored"


def test_exercises_run_plugs_into_a_script_that_imported_the_function_by_name(tmp_path, capsys):
    """python -m exercises.run SCRIPT: the script's own `from r1mini.grpo import group_advantages` is
    replaced too; the reference gives the reference's numbers, a mutant its own, an unwritten stub
    fails loudly with its NotImplementedError; afterwards everything is restored."""
    script = tmp_path / "tiny_script.py"
    script.write_text("import sys\nimport torch\nfrom r1mini.grpo import group_advantages\n\n"
                      "def main(argv):\n"
                      "    print(group_advantages(torch.tensor([0.0, 1.0, 3.0]), int(argv[0])).tolist())\n"
                      "    return 0\n")
    original = grpo.group_advantages
    assert main(["--impl", "reference", str(script), "3"]) == 0
    reference_out = capsys.readouterr().out
    assert main(["--impl", "mutant:population_std", str(script), "3"]) == 0
    mutant_out = capsys.readouterr().out
    assert reference_out != mutant_out and reference_out.startswith("[-0.87")
    assert main(["--impl", "student", "--only", "07", str(script), "3"]) == 2  # the stub is not written yet
    assert "not written yet: 07 group_advantages" in capsys.readouterr().err
    assert grpo.group_advantages is original
