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
COMMANDS = "hfc_fast.experiments.commands."
CORE = "hfc_fast.experiments.core."
# The commands built from others: claims runs the claims' commands as sub-runs; demo, the quick main job,
# takes Table 2's, Fig 2's and Fig 7's pieces from their experiments' modules.
COMPOSERS = {f"{COMMANDS}claims", f"{COMMANDS}demo"}
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
            if name in COMPOSERS:  # commands only, never the CLI
                assert not any(i.startswith("hfc_fast.experiments.cli") for i in others), others
            else:
                assert not others, f"command {name} imports {others}"


def test_no_module_of_core_serves_only_one_command():
    """``core/`` holds what several commands share; what one experiment needs lives in its command module."""
    for name in (n for n in MODULES if n.startswith(CORE)):
        users = {u for u, imports in GRAPH.items() if name in imports}
        if users and all(u.startswith(COMMANDS) for u in users):
            assert len(users) > 1, f"{name} serves only {users}: move it into that command"


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


def _imported_names(path: Path) -> list[tuple[str, str]]:
    """(module, name) for every ``from hfc_fast... import name`` in ``path``, anywhere in it."""
    return [(node.module, a.name) for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
            and node.module.split(".")[0] == "hfc_fast" for a in node.names]


def test_the_name_check_catches_a_name_a_module_lacks(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("def f():\n    from hfc_fast.fourier import no_such_name\n")
    assert _missing_names(script) == ["hfc_fast.fourier.no_such_name"]


def _missing_names(path: Path) -> list[str]:
    import importlib

    missing = []
    for module, name in _imported_names(path):
        mod = importlib.import_module(module)
        if not hasattr(mod, name) and f"{module}.{name}" not in MODULES:
            missing.append(f"{module}.{name}")
    return missing


@pytest.mark.parametrize("path", sorted((PACKAGE.parent / "benchmarks").glob("*.py")), ids=lambda p: p.name)
def test_benchmarks_import_only_names_the_library_has(path):
    """The benchmarks run only on the GPU machine or in CI's dry run; a name moved in the library
    must not first show there."""
    assert _missing_names(path) == []


def _literals(tree) -> list:
    """Every tuple or list literal of constants in a module, as a Python value."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Tuple | ast.List) and node.elts and all(isinstance(e, ast.Constant)
                                                                         for e in node.elts):
            found.append(tuple(e.value for e in node.elts))
    return found


# a vocabulary, its one home, and the literal that would be a second copy of it
SAID_ONCE = [
    ("hfc_fast.bands", ("lfc", "hfc")), ("hfc_fast.bands", ("low", "high")),
    ("hfc_fast.bands", ("original", "lfc", "hfc")), ("hfc_fast.radius", (4, 8, 12, 16)),
    ("hfc_fast.radius", (4.0, 8.0, 12.0, 16.0)),
    ("hfc_fast.data.cifar", ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                             "truck")),
]


@pytest.mark.parametrize("home, literal", SAID_ONCE, ids=lambda v: str(v)[:24])
def test_every_vocabulary_is_written_once(home, literal):
    copies = [name for name, path in MODULES.items() if name != home
              and literal in _literals(ast.parse(path.read_text()))]
    assert not copies, f"{literal} is written again in {copies}; import it from {home}"


def test_each_option_is_defined_once():
    """One definition per shared option: ``--checkpoint`` lives in model_sources (with ``type=Path``)."""
    defining = [name for name, path in MODULES.items() if '"--checkpoint"' in path.read_text()]
    assert defining == ["hfc_fast.experiments.core.model_sources"], defining
