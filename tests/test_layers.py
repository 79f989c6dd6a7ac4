"""The import rules of the layers, read from every module's imports (top-level and inside functions):

- the checkpoint store (``zoo.hub``) imports only itself and the plain utilities below it, and has no import cycle;
- no domain imports another domain (what two domains share lives in the shared layer);
- the shared trainer and the registry import no domain.
"""

import ast
from pathlib import Path

import pytest

ZOO = Path(__file__).resolve().parents[1] / "zoo"
DOMAINS = ("vision", "nlp", "speech", "recommendation", "medical", "driving")
# What the store may lean on: leaf utilities that import nothing of zoo's above them.
STORE_MAY_IMPORT = ("zoo.hub", "zoo.errors", "zoo.io", "zoo.paths", "zoo.table")


def module_name(path: Path) -> str:
    parts = path.relative_to(ZOO.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every zoo module ``path`` imports, at any depth of its code."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}  # "from zoo.hub import cache" is a module
    return {name for name in found if name == "zoo" or name.startswith("zoo.")}


MODULES = {module_name(p): p for p in sorted(ZOO.rglob("*.py"))}
GRAPH = {name: {i for i in imports(path) if i in MODULES} for name, path in MODULES.items()}


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_the_store_imports_nothing_above_it():
    bad = {name: sorted(i for i in deps if not any(_within(i, p) for p in STORE_MAY_IMPORT))
           for name, deps in GRAPH.items() if _within(name, "zoo.hub")}
    assert not {k: v for k, v in bad.items() if v}, bad


def test_the_store_has_no_import_cycle():
    store = {n: {d for d in deps if _within(d, "zoo.hub") and d != n and d != "zoo.hub"}
             for n, deps in GRAPH.items() if _within(n, "zoo.hub") and n != "zoo.hub"}
    visiting, done, cycles = set(), set(), []

    def visit(node: str, trail: list[str]) -> None:
        if node in done:
            return
        if node in visiting:
            cycles.append(trail[trail.index(node):])
            return
        visiting.add(node)
        for nxt in sorted(store.get(node, ())):
            visit(nxt, trail + [nxt])
        visiting.discard(node)
        done.add(node)

    for start in sorted(store):
        visit(start, [start])
    assert not cycles, cycles


@pytest.mark.parametrize("domain", DOMAINS)
def test_no_domain_imports_another(domain):
    others = [f"zoo.{d}" for d in DOMAINS if d != domain]
    bad = {name: sorted(i for i in deps if any(_within(i, o) for o in others))
           for name, deps in GRAPH.items() if _within(name, f"zoo.{domain}")}
    assert not {k: v for k, v in bad.items() if v}, bad


@pytest.mark.parametrize("module", ["zoo.trainer", "zoo.registry", "zoo.task", "zoo.config", "zoo.recipes"])
def test_shared_core_imports_no_domain(module):
    bad = sorted(i for i in GRAPH[module] if any(_within(i, f"zoo.{d}") for d in DOMAINS))
    assert not bad, bad


def test_the_rules_see_a_violation(tmp_path):
    """The reader finds imports inside functions and relative ones, so a violation cannot hide there."""
    path = ZOO / "hub" / "probe_for_test.py"
    path.write_text("def f():\n    from zoo import api\n    from ..vision import models\n")
    try:
        assert {"zoo.api", "zoo.vision.models"} <= imports(path)
    finally:
        path.unlink()
