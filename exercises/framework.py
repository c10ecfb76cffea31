"""The machinery behind the exercises: find them, and build the implementation a test runs.

An implementation is one of
  student        each exercise's student.py (the default: what a student hands in)
  reference      r1mini's own functions (each exercise's reference.py says which)
  mutant:NAME    the reference with one function swapped for the named wrong version in mutants.py
  zeros          every function returns zeros shaped like the reference's answer (a vacuity check:
                 a test that passes on it proves nothing)
Tests never import student.py directly: they get an `impl` namespace from the fixture in
exercises/conftest.py, so the same tests grade all of the above.
"""
from __future__ import annotations

import functools
import importlib
import inspect
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import torch

ROOT = Path(__file__).resolve().parent
IMPL_KINDS = ("student", "reference", "mutant:NAME", "zeros")


def mutant(replaces: str):
    """Mark a function in mutants.py as a wrong version of the exercise's function `replaces`."""
    def mark(fn):
        fn.replaces = replaces
        return fn
    return mark


@dataclass
class Exercise:
    name: str                 # folder name, e.g. "07_group_advantages"
    functions: tuple          # the names a student writes
    reference: object         # module: reference.py
    student: object           # module: student.py
    mutants: dict             # mutant name -> function (with .replaces)

    def implementation(self, kind: str) -> SimpleNamespace:
        """The functions of this exercise for `kind` (see the module docstring). A mutant name that
        belongs to another exercise raises LookupError (the fixture turns it into a skip)."""
        ref = {f: getattr(self.reference, f) for f in self.functions}
        if kind == "reference":
            return SimpleNamespace(**ref)
        if kind == "student":
            return SimpleNamespace(**{f: getattr(self.student, f) for f in self.functions})
        if kind == "zeros":
            return SimpleNamespace(**{f: zeros_like_output(fn) for f, fn in ref.items()})
        if kind.startswith("mutant:"):
            name = kind.split(":", 1)[1]
            if name not in self.mutants:
                raise LookupError(f"{self.name} has no mutant {name!r}")
            wrong = self.mutants[name]
            return SimpleNamespace(**{**ref, wrong.replaces: wrong})
        raise ValueError(f"--impl must be one of {IMPL_KINDS}, not {kind!r}")


def exercise_names() -> list[str]:
    """Every exercise folder, in teaching order (the number in front of the name)."""
    return sorted(p.name for p in ROOT.iterdir() if p.is_dir() and p.name[:2].isdigit() and (p / "student.py").exists())


@functools.cache
def load(name: str) -> Exercise:
    """The exercise in folder `name` (folders are loaded by module path: a name like
    07_group_advantages cannot be written in an import statement, but importlib accepts it)."""
    reference = importlib.import_module(f"exercises.{name}.reference")
    student = importlib.import_module(f"exercises.{name}.student")
    mutants_module = importlib.import_module(f"exercises.{name}.mutants")
    mutants = {n: f for n, f in vars(mutants_module).items() if callable(f) and hasattr(f, "replaces")}
    return Exercise(name, tuple(reference.FUNCTIONS), reference, student, mutants)


def all_mutants() -> dict[str, tuple[str, object]]:
    """mutant name -> (exercise name, function), over every exercise."""
    return {m: (name, fn) for name in exercise_names() for m, fn in load(name).mutants.items()}


def zero_of(value):
    """Zeros with the shape and type of `value`: tensors, numbers, strings, None, tuples, lists, dicts."""
    if isinstance(value, torch.Tensor):
        return torch.zeros_like(value)
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return type(value)(0)
    if isinstance(value, str):
        return ""
    if isinstance(value, tuple):
        return tuple(zero_of(v) for v in value)
    if isinstance(value, list):
        return []
    if isinstance(value, dict):
        return {k: zero_of(v) for k, v in value.items()}
    return value  # None, or an object we cannot zero meaningfully


def zeros_like_output(reference_fn):
    """A stub with the reference's signature that returns zeros shaped like the reference's answer."""
    @functools.wraps(reference_fn)
    def zeros(*args, **kwargs):
        try:
            answer = reference_fn(*args, **kwargs)
        except Exception:  # a zero stub checks nothing: where the reference raises, it returns
            return None
        return zero_of(answer)
    zeros.__signature__ = inspect.signature(reference_fn)
    return zeros
