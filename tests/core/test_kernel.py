"""The kernel stays small and closed: core/ under its line budget, no module-level import cycle
anywhere in chainrule, every module importable first in a fresh interpreter, grad-mode
decorators."""

import ast
import json
import os
import pathlib
import random
import subprocess
import sys

import pytest
from tools.linecount import code_lines

import chainrule as cr

SRC = pathlib.Path(cr.__file__).resolve().parent
CORE_BUDGET = 1100


def _modules():
    """{dotted name: path} of every module of chainrule."""
    out = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _top_level_imports(tree):
    """Import nodes run at import time: at module level, also inside if/try/with blocks."""
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            for field in ("body", "orelse", "finalbody", "handlers"):
                for child in getattr(node, field, []):
                    todo.extend(child.body if isinstance(child, ast.ExceptHandler) else [child])


def _import_graph():
    modules = _modules()
    graph = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in _top_level_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = node.module or ""
                if node.level:  # relative: resolve against this module's package
                    pkg = name.split(".") if is_package else name.split(".")[:-1]
                    base = ".".join(pkg[:len(pkg) - node.level + 1] + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                           for a in node.names]
            for t in targets:
                if t not in modules or t == name:
                    continue
                if is_package and t.startswith(name + "."):
                    continue  # a package importing (re-exporting) its own children
                graph[name].add(t)
    return graph


def _cycle(graph):
    """One import cycle as a list of modules, or None."""
    color, stack = {}, []

    def visit(n):
        color[n] = "grey"
        stack.append(n)
        for m in sorted(graph[n]):
            if color.get(m) == "grey":
                return stack[stack.index(m):] + [m]
            if m not in color:
                found = visit(m)
                if found:
                    return found
        stack.pop()
        color[n] = "black"
        return None

    for n in sorted(graph):
        if n not in color:
            found = visit(n)
            if found:
                return found
    return None


def test_core_stays_within_its_line_budget():
    lines = sum(code_lines(p) for p in (SRC / "core").rglob("*.py"))
    assert lines <= CORE_BUDGET, f"core/ has {lines} code lines; the budget is {CORE_BUDGET}"


def test_core_imports_nothing_above_itself():
    for path in (SRC / "core").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):  # any depth
            if isinstance(node, ast.ImportFrom) and node.module:
                mod = node.module
            elif isinstance(node, ast.Import):
                mod = node.names[0].name
            else:
                continue
            if mod.startswith("chainrule"):
                assert mod.startswith("chainrule.core"), f"{path.name} imports {mod}"


def test_no_module_level_import_cycle():
    graph = _import_graph()
    assert len(graph) > 50 and any(graph.values())  # the parser found the modules and imports
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert _cycle(graph) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


# A fresh interpreter imports the third-party libraries once, then forks a child per job:
# each child starts with no chainrule module loaded and imports the job's modules in order.
_DRIVER = """
import importlib, json, os, sys
import numpy, scipy.special, scipy.optimize, sklearn.base, matplotlib  # (third party only)
assert not any(m.startswith("chainrule") for m in sys.modules)
failed = []
for order in json.loads(sys.argv[1]):
    pid = os.fork()
    if pid == 0:
        try:
            for m in order:
                importlib.import_module(m)
        except BaseException as e:
            sys.stderr.write(f"importing {order[0]} first: {type(e).__name__}: {e}\\n")
            os._exit(1)
        os._exit(0)
    if os.waitpid(pid, 0)[1] != 0:
        failed.append(order[0])
print(json.dumps(failed))
"""


def test_every_module_imports_first_in_a_fresh_interpreter_in_random_order():
    """Each module first in a fresh interpreter (no hidden dependence on what loaded before),
    and a few fresh interpreters that then import every module in a random order."""
    names = [n for n in _modules() if not n.endswith("__main__")]
    rng = random.Random(0)
    jobs = [(name, []) for name in names]
    for first in rng.sample(names, 4):
        others = [n for n in names if n != first]
        rng.shuffle(others)
        jobs.append((first, others))
    if not hasattr(os, "fork"):
        pytest.skip("needs os.fork")
    orders = [[first] + others for first, others in jobs]
    run = subprocess.run([sys.executable, "-c", _DRIVER, json.dumps(orders)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads(run.stdout) == [], run.stderr[-3000:]


@pytest.mark.parametrize("make", [cr.no_grad, cr.enable_grad, lambda: cr.set_grad_enabled(False),
                                  lambda: cr.set_grad_enabled(True), cr.inference_mode])
def test_grad_modes_work_as_decorators_and_restore_the_mode(make):
    decorator = make()
    expected = decorator.enabled

    @decorator
    def f(x):
        assert cr.is_grad_enabled() is expected
        return (x * 2).requires_grad

    assert cr.is_grad_enabled()  # decorating does not change the caller's mode

    x = cr.tensor(1.0, requires_grad=True)
    for outer in (True, False):
        with cr.set_grad_enabled(outer):
            assert f(x) is expected
            assert cr.is_grad_enabled() is outer


def test_set_grad_enabled_called_as_a_function_sets_the_mode_as_torch():
    assert cr.is_grad_enabled()
    cr.set_grad_enabled(False)
    try:
        assert not cr.is_grad_enabled()
    finally:
        cr.set_grad_enabled(True)
    with cr.set_grad_enabled(False):
        assert not cr.is_grad_enabled()
    assert cr.is_grad_enabled()
