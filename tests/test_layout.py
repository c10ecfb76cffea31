"""The layout stays a tutorial: one module per job, no import cycles, the algorithm free of machinery."""
import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = {path.stem: path for path in (ROOT / "r1mini").glob("*.py") if path.stem != "__init__"}
MAX_LINES = 450


def r1mini_imports(path: Path) -> tuple[set[str], list[str]]:
    """(modules of r1mini imported at the top of the file, in-function r1mini imports not marked lazy)."""
    source = path.read_text()
    lines, tree = source.splitlines(), ast.parse(source)
    top, inner = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("r1mini"):
            names = [a.name for a in node.names] if node.module == "r1mini" else [node.module.split(".")[1]]
        elif isinstance(node, ast.Import):
            names = [a.name.split(".")[1] for a in node.names if a.name.startswith("r1mini.")]
        else:
            names = []
        if not names:
            continue
        if node in tree.body:
            top.update(names)
        elif "lazy import" not in lines[node.lineno - 2]:  # a deliberate lazy import says so on the line above
            inner.append(f"{path.name}:{node.lineno}")
    return top, inner


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, str] = {}

    def visit(node, path):
        state[node] = "open"
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == "open":
                return path + [node, dep]
            if dep not in state and (cycle := visit(dep, path + [node])):
                return cycle
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node, [])):
            return cycle
    return None


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle_and_no_hidden_in_function_import():
    graph, hidden = {}, []
    for name, path in MODULES.items():
        graph[name], inner = r1mini_imports(path)
        hidden += inner
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph))}"
    assert not hidden, f"in-function r1mini imports (import at the top, or mark a deliberate lazy one): {hidden}"


def test_every_module_is_short_and_says_what_it_is():
    for name, path in MODULES.items():
        source = path.read_text()
        assert len(source.splitlines()) <= MAX_LINES, f"{name}.py has over {MAX_LINES} lines: split it by job"
        assert ast.get_docstring(ast.parse(source)), f"{name}.py opens with no docstring"


def test_the_algorithm_imports_no_command_line_or_report_code():
    """A student reading grpo.py, the RL loop or the SFT loop pulls in no CLI, report or process machinery."""
    code = ("import sys, r1mini.grpo, r1mini.grpo_fast, r1mini.rl_loop, r1mini.sft; "
            "print(sorted(m for m in sys.modules if m.startswith('r1mini')))")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for machinery in ("flags", "report", "eval_cache", "parallel", "evaluate", "generate"):
        assert f"'r1mini.{machinery}'" not in loaded, f"r1mini.{machinery} is imported by the algorithm: {loaded}"
