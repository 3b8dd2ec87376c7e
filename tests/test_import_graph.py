"""lib/ has no import circle: a static check of every import statement (top-level and inside functions)."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _modules() -> dict[str, Path]:
    out = {}
    for f in (ROOT / "lib").rglob("*.py"):
        rel = f.relative_to(ROOT).with_suffix("")
        out[".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)] = f
    return out


def import_graph() -> dict[str, set[str]]:
    """Module → the lib modules it imports (``from pkg import sub`` counts as importing ``pkg.sub``)."""
    mods = _modules()

    def owner(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    g: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        pkg = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            for t in targets:
                dep = owner(t)
                if dep is not None and dep != mod:
                    g[mod].add(dep)
    return g


def test_no_import_circle_in_lib() -> None:
    g = import_graph()
    assert len(g) > 40 and sum(map(len, g.values())) > 100  # the walk found the code
    graphlib.TopologicalSorter(g).prepare()  # raises CycleError naming the circle


def test_the_checker_sees_a_circle() -> None:
    """The check can fail: the registry's edges are there, and an added back-edge is a cycle."""
    g = import_graph()
    assert "lib.evaluation.models.nano_e5" in g["lib.evaluation.models"]
    assert "lib.evaluation.models.base" in g["lib.evaluation.models.nano_e5"]
    assert "lib.evaluation.models" in g["lib.evaluation.engine"]
    g["lib.evaluation.models.base"].add("lib.evaluation.models")
    with pytest.raises(graphlib.CycleError):
        graphlib.TopologicalSorter(g).prepare()
