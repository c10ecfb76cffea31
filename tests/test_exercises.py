"""The exercises stay honest (docs in exercises/README.md; issue 30): every test of exercises/
passes on r1mini's reference, fails with NotImplementedError on the untouched stubs, fails on a
stub that returns zeros of the right shape, and every named mutant (a realistic wrong version)
fails at least one test. The exercise suite runs in-process, once per implementation."""
from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from exercises import framework

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
    pytest.main([str(EXERCISES), f"--impl={impl}", "-q", "-p", "no:cacheprovider", f"--tb={traceback}"],
                plugins=[recorder])
    assert not recorder.errors, f"collection errors with --impl={impl}:\n" + "\n".join(recorder.errors)
    return recorder


def test_there_are_thirteen_exercises_in_teaching_order():
    names = framework.exercise_names()
    numbers = [int(n[:2]) for n in names]
    assert numbers == sorted(set(numbers)), names


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
    outcomes = run_exercises("mutants").outcomes
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
