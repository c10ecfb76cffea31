"""The `impl` fixture every exercise test uses, and the --impl option that chooses it.

    python -m pytest exercises                        # your student.py files
    python -m pytest exercises --impl=reference       # r1mini's own functions (all pass)
    python -m pytest exercises --impl=mutant:k1_kl    # a named wrong version (some must fail)
    python -m pytest exercises --impl=zeros           # zeros of the right shape (all must fail)
    python -m pytest exercises --impl=mutants         # each test once per mutant of its exercise
"""
import random

import pytest
import torch

from exercises import framework


def pytest_addoption(parser):
    parser.addoption("--impl", default="student",
                     help="which implementation the exercise tests grade: student (default), reference, "
                          "mutant:NAME (a wrong version from an exercise's mutants.py), mutants (every mutant "
                          "of each exercise, one test run each) or zeros")


def pytest_generate_tests(metafunc):
    """--impl=mutants: run each test once per mutant of its exercise (one session for them all)."""
    if "impl" in metafunc.fixturenames and metafunc.config.getoption("--impl") == "mutants":
        names = sorted(framework.load(metafunc.definition.path.parent.name).mutants)
        metafunc.parametrize("impl", [f"mutant:{n}" for n in names], indirect=True, ids=names)


@pytest.fixture
def impl(request):
    """The chosen implementation of the exercise this test file belongs to (a namespace of functions)."""
    exercise = framework.load(request.path.parent.name)
    try:
        return exercise.implementation(getattr(request, "param", None) or request.config.getoption("--impl"))
    except LookupError as missing:  # a mutant of another exercise: nothing to grade here
        pytest.skip(str(missing))


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same RNG state; one thread (the inputs are small)."""
    torch.set_num_threads(1)
    random.seed(0)
    torch.manual_seed(0)
    yield
