"""The core's layers, read from its imports: nothing lower imports anything higher, and no module imports itself
back through others. docs/architecture.md draws the same order; this test keeps the drawing true."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "ganzoo"

#: Lowest first. A module may import its own layer and the layers below it, never one above.
LAYERS = ["errors", "messages", "blocks", "data", "registry", "config", "run", "training", "api", "sweep", "ganzoo",
          "cli", "__main__"]
#: A file does one job; past this many lines it is doing several (STYLE.md).
MAX_LINES = 400


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "ganzoo"


def _imported(path: Path) -> set[str]:
    """Every ganzoo module ``path`` imports, at any depth of the file (function-level imports included: they are
    how circles hide), resolved to the longest name that is a module of the core."""
    here = _module(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[:len(package) - node.level + 1], *([base] if base else [])])
            # `from PKG import NAME` imports the module PKG.NAME when there is one, else an attribute of PKG
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for name in names:
            if name == "ganzoo" or name.startswith("ganzoo."):
                found.add(_known(name))
    found.discard(_module(path))
    return found


def _known(name: str) -> str:
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in MODULES:
            return candidate
        parts.pop()
    return "ganzoo"


FILES = {_module(p): p for p in sorted(CORE.rglob("*.py"))}
MODULES = set(FILES)


def test_every_core_module_has_a_layer():
    unknown = sorted({_layer(m) for m in MODULES} - set(LAYERS))
    assert not unknown, f"add these to LAYERS (and to docs/architecture.md): {unknown}"
    assert len(MODULES) >= 40


def test_no_module_imports_a_higher_layer():
    for module, path in FILES.items():
        mine = LAYERS.index(_layer(module))
        for target in _imported(path):
            theirs = LAYERS.index(_layer(target))
            assert theirs <= mine, f"{module} ({LAYERS[mine]}) imports {target} ({LAYERS[theirs]}), a higher layer"


def test_no_import_circles():
    graph = {module: _imported(path) - {"ganzoo"} for module, path in FILES.items()}
    # a package's __init__ re-exporting its own modules is not a circle with them
    for module in graph:
        graph[module] = {t for t in graph[module] if not module.startswith(t + ".")}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                circle = trail[trail.index(nxt):] + [nxt] if nxt in trail else [node, nxt]
                raise AssertionError(f"import circle: {' -> '.join(circle)}")
            if nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_the_architecture_doc_lists_every_layer_and_subpackage():
    doc = (ROOT / "docs" / "architecture.md").read_text()
    order = re.search(r"```layers\n(.*?)```", doc, re.S).group(1).split()
    assert order == LAYERS, "docs/architecture.md's layers block must name every layer, in LAYERS' order"
    modules = sorted(p.name for p in CORE.glob("*.py") if p.name not in ("__init__.py", "__main__.py"))
    for module in modules:
        assert f"`{module}`" in doc, f"docs/architecture.md's file lists do not describe ganzoo/{module}"
    packages = sorted(p.name for p in CORE.iterdir() if (p / "__init__.py").is_file())
    for package in packages:
        assert f"`{package}/`" in doc, f"docs/architecture.md does not describe ganzoo/{package}/"


def test_no_file_of_the_core_or_the_built_in_plugins_passes_the_line_limit():
    long = {str(path.relative_to(ROOT)): n for folder in (CORE, ROOT / "plugins") for path in folder.rglob("*.py")
            if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, f"split these files (over {MAX_LINES} lines): {long}"
