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


def _imports_of(path: Path, top: str) -> list[tuple[int, bool]]:
    """(line, inside a function) of every import of package ``top`` in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    in_func: set[int] = set()
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            in_func.update(id(n) for n in ast.walk(fn))
    found = []
    for node in ast.walk(tree):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
        if any(n == top or n.startswith(top + ".") for n in names):
            found.append((node.lineno, id(node) in in_func))
    return found


def test_ray_is_imported_only_inside_the_distributed_module_functions() -> None:
    where = {str(p.relative_to(ROOT)): hits for p in (ROOT / "lib").rglob("*.py") if (hits := _imports_of(p, "ray"))}
    assert set(where) == {"lib/evaluation/distributed.py"}
    assert all(inside for _line, inside in where["lib/evaluation/distributed.py"])
    for folder in ("pages", "ui"):
        assert not [p for p in (ROOT / folder).rglob("*.py") if _imports_of(p, "ray")]


def test_the_local_engine_never_imports_ray(tmp_path: Path) -> None:
    """An evaluation on the default engine (FAISS top-k and all) runs without Ray in the process."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from lib.evaluation import engine\n"
        "cfg = engine.EvaluationConfig(models=('hash?dim=64',), sweep=False, latency_queries=1,\n"
        "                              bootstrap_resamples=50, paired_resamples=50)\n"
        "assert cfg.engine == 'local'\n"
        f"engine.evaluate('data/demo', cfg, db_path={str(tmp_path / 'e.duckdb')!r})\n"
        "assert 'faiss' in sys.modules\n"
        "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "EMS_RAY_ADDRESS"}
    env["EMS_CACHE_DIR"] = str(tmp_path / "cache")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "[]"
