"""Run any top-level script with the chosen implementation of the exercises' functions plugged in.

    python -m exercises.run --impl student train_zero.py --preset tiny --steps 2 ...
    python -m exercises.run --impl student --only 07,08 train_zero.py ...   # just these exercises
    python -m exercises.run --impl mutant:k1_kl train_zero.py ...           # a named wrong version

`from r1mini.grpo import grpo_loss` binds a second name to the function, in the importing module.
Replacing r1mini.grpo.grpo_loss alone would leave grpo_fast calling the original, so `install`
imports the script first (which imports every module it uses) and then replaces the function in
every module that holds it (found by identity, `is`, not by name). Functions the model calls as
methods (Gate.forward, Transformer.attention_mask) are replaced on their class, as each exercise's
reference.py says in PATCHES. tests/test_exercises.py checks with spies that a GRPO step then
really calls each replaced function.
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import importlib.util
import inspect
import sys
import textwrap
from pathlib import Path

from exercises import framework

REPO = Path(__file__).resolve().parent.parent


def install(name: str, impl) -> list[tuple[object, str, object]]:
    """Put exercise `name`'s functions from the namespace `impl` wherever the pipeline holds the
    reference's. Returns what was replaced, (owner, attribute, old value), for `restore`."""
    exercise = framework.load(name)
    special = getattr(exercise.reference, "PATCHES", {})
    replaced = []
    for f in exercise.functions:
        reference, new = getattr(exercise.reference, f), getattr(impl, f)
        if new is reference:
            continue
        if f in special:  # a method: replace it on its class
            owner, attribute, wrap = special[f]
            replaced.append((owner, attribute, owner.__dict__[attribute]))
            setattr(owner, attribute, wrap(new))
            continue
        for module_name, module in list(sys.modules.items()):
            if module is None or module_name.split(".")[0] == "exercises":  # the exercises keep their reference
                continue
            for attribute, value in list(vars(module).items()):
                if value is reference:
                    replaced.append((module, attribute, value))
                    setattr(module, attribute, new)
    return replaced


def restore(replaced) -> None:
    for owner, attribute, old in reversed(replaced):
        setattr(owner, attribute, old)


@contextlib.contextmanager
def plugged_in(implementations: dict):
    """With {exercise name: namespace of functions} installed; everything restored afterwards."""
    replaced = []
    try:
        for name, impl in implementations.items():
            replaced += install(name, impl)
        yield replaced
    finally:
        restore(replaced)


def implementations(kind: str, only: list[str] | None = None) -> dict:
    """{exercise name: its functions} for --impl `kind`; a mutant replaces one function of its own exercise."""
    if kind.startswith("mutant:"):
        mutant = kind.split(":", 1)[1]
        if mutant not in framework.all_mutants():
            raise SystemExit(f"exercises.run: no mutant {mutant!r}; known: {', '.join(sorted(framework.all_mutants()))}")
        name = framework.all_mutants()[mutant][0]
        return {name: framework.load(name).implementation(kind)}
    names = framework.exercise_names()
    if only:
        names = [n for n in names if n[:2] in only or n in only]
    return {name: framework.load(name).implementation(kind) for name in names}


def unwritten(implementations: dict) -> list[str]:
    """The functions still as shipped: a body that only raises NotImplementedError (after the docstring)."""
    names = []
    for name, impl in implementations.items():
        for f in framework.load(name).functions:
            tree = ast.parse(textwrap.dedent(inspect.getsource(getattr(impl, f)))).body[0]
            body = [node for node in tree.body if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))]
            if len(body) == 1 and isinstance(body[0], ast.Raise) and "NotImplementedError" in ast.unparse(body[0]):
                names.append(f"{name[:2]} {f}")
    return names


def load_script(path: Path):
    """Import a top-level script as a module (its `if __name__ == "__main__"` block does not run)."""
    sys.path.insert(0, str(REPO))
    spec = importlib.util.spec_from_file_location(f"script_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m exercises.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--impl", default="student", help="student (default), reference, mutant:NAME or zeros")
    parser.add_argument("--only", default="", help="comma-separated exercise numbers (e.g. 07,08); default: all")
    parser.add_argument("script", help="a top-level script, e.g. train_zero.py")
    parser.add_argument("script_args", nargs=argparse.REMAINDER, help="the script's own flags")
    args = parser.parse_args(argv)
    script = load_script(Path(args.script).resolve())
    sys.argv = [args.script, *args.script_args]  # the script's --help and messages name the script
    only = [o.strip() for o in args.only.split(",") if o.strip()]
    chosen = implementations(args.impl, only)
    missing = unwritten(chosen) if args.impl == "student" else []
    if missing:
        print(f"exercises.run: not written yet: {', '.join(missing)}. The pipeline would stop at the first call; "
              "write them, or choose the exercises you have done with --only (e.g. --only 07,08)", file=sys.stderr)
        return 2
    with plugged_in(chosen) as replaced:
        where = sorted({f"{getattr(owner, '__name__', owner)}.{attribute}" for owner, attribute, _ in replaced})
        print(f"exercises.run: --impl {args.impl}: replaced {len(where)} bindings: {', '.join(where)}", file=sys.stderr)
        return script.main(args.script_args)


if __name__ == "__main__":
    sys.exit(main())
