"""The code's shape: no import circle inside hfc_fast, layers that import only downwards, short commands,
every command importable in any order, and the CLI's registry complete."""

from __future__ import annotations

import ast
import random
import subprocess
import sys
from pathlib import Path

import pytest

import hfc_fast
from hfc_fast.experiments import cli

PACKAGE = Path(hfc_fast.__file__).parent
MAX_RUN_LINES = 60


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()
COMPOSER = "hfc_fast.experiments.commands.claims"  # the one command built from other commands
COMPILED = {"hfc_fast._C"}  # the extension: a module of its own, never a source of imports


def _imports(path: Path) -> set[str]:
    """The hfc_fast modules ``path`` imports anywhere (module level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in set(MODULES) | COMPILED else node.module
                     for a in node.names]
        else:
            continue
        found |= {n for n in names if n in MODULES}
    return found


GRAPH = {name: _imports(path) - {name} for name, path in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every elementary circle found by a depth-first search (one per back edge)."""
    state, stack, found = {}, [], []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_hand_made_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_inside_hfc_fast():
    assert _cycles(GRAPH) == []


def test_layers_import_only_downwards():
    for name, imports in GRAPH.items():
        if not name.startswith("hfc_fast.experiments"):
            assert not any(i.startswith("hfc_fast.experiments") for i in imports), f"library {name} imports {imports}"
        if name.startswith("hfc_fast.experiments.core"):
            assert not any(i.startswith(("hfc_fast.experiments.commands", "hfc_fast.experiments.cli"))
                           for i in imports), f"{name} imports a command: {imports}"
        if name.startswith("hfc_fast.experiments.commands."):
            others = [i for i in imports
                      if i.startswith(("hfc_fast.experiments.commands.", "hfc_fast.experiments.cli"))]
            if name == COMPOSER:  # runs the claims' commands as sub-runs: commands only, never the CLI
                assert not any(i.startswith("hfc_fast.experiments.cli") for i in others), others
            else:
                assert not others, f"command {name} imports {others}"


def test_every_command_module_is_registered_and_short():
    commands = {p.stem for p in (PACKAGE / "experiments" / "commands").glob("*.py")} - {"__init__"}
    assert set(cli.COMMANDS.values()) == commands
    for stem in commands:
        tree = ast.parse((PACKAGE / "experiments" / "commands" / f"{stem}.py").read_text())
        functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
        assert {"add_arguments", "run"} <= set(functions), stem
        run = functions["run"]
        lines = run.end_lineno - run.lineno + 1
        assert lines <= MAX_RUN_LINES, f"{stem}.run has {lines} lines"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_command_modules_import_in_any_order(seed):
    names = [f"hfc_fast.experiments.commands.{m}" for m in cli.COMMANDS.values()]
    random.Random(seed).shuffle(names)
    subprocess.run([sys.executable, "-c", "; ".join(f"import {n}" for n in names)], check=True, timeout=120)


def test_the_table_check_catches_a_header_wider_than_its_rows():
    from reports import check_tables

    assert check_tables("| a | b |\n|---|---|\n| 1 | 2 |\n\ntext\n\n| c |\n|---|\n| 3 |\n") == 2
    with pytest.raises(AssertionError, match="cells under a 4-column header"):
        check_tables("| model | FGSM 0.03 | 0.06 | 0.09 |\n|---|---|\n| natural | 0.1 / 0.2 / 0.3 |\n")


def test_markdown_table_refuses_a_row_of_the_wrong_width():
    from hfc_fast.experiments.core.pages import markdown_table

    assert markdown_table(["a", "b"], [[1, 0.5]]) == ["| a | b |", "|---|---|", "| 1 | 0.500 |"]
    with pytest.raises(ValueError, match="3 cells for 2 columns"):
        markdown_table(["a", "b"], [[1, 2, 3]])
