"""The package's layers (ARCHITECTURE.md): imports point one way, with no cycle, and the
public API never imports a leaf. Every import counts, those inside functions included."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "turborle"
LEAVES = ("turborle.gateway", "turborle.server", "turborle.cli", "turborle.datasets")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(("turborle", *parts)).removesuffix(".__init__")


def _imports() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                candidates = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                candidates = [a.name for a in node.names]
            else:
                continue
            targets.update(c for c in candidates if c in modules and c != name)
        # a package importing its own submodules (re-exports) is not an upward edge
        graph[name] = {t for t in targets if not t.startswith(name + ".")}
    return graph


def test_the_import_graph_has_no_cycle():
    graph = _imports()
    assert "turborle.batch" in graph and "turborle.ops" in graph  # the walk found the package
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycles.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_the_public_api_imports_no_leaf():
    graph = _imports()
    api = [m for m in graph if not m.startswith(LEAVES) and m != "turborle.__main__"]
    upward = {m: sorted(t for t in graph[m] if t.startswith(LEAVES)) for m in api}
    assert {m: t for m, t in upward.items() if t} == {}
