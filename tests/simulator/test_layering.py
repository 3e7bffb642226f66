"""The simulator's modules import only downward, and only each other's public names."""

from __future__ import annotations

import ast
from pathlib import Path

import waiters.simulator

PACKAGE = Path(waiters.simulator.__file__).parent


def _runtime_imports() -> dict[str, dict[str, set[str]]]:
    """``{module: {imported module: names}}`` for the package's relative imports.

    Imports under ``if TYPE_CHECKING:`` are left out: they never run, so
    they cannot make a circle.
    """
    graph: dict[str, dict[str, set[str]]] = {}
    for path in sorted(PACKAGE.glob("*.py")):
        imports: dict[str, set[str]] = {}
        pending: list[ast.AST] = [ast.parse(path.read_text(encoding="utf-8"))]
        while pending:
            node = pending.pop()
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                pending.extend(node.orelse)
                continue
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
                imports.setdefault(node.module, set()).update(alias.name for alias in node.names)
            pending.extend(ast.iter_child_nodes(node))
        graph[path.stem] = imports
    return graph


def test_no_import_circle() -> None:
    """No chain of run-time imports leads from a module back to itself."""
    graph = _runtime_imports()
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"import circle: {' -> '.join((*path, module))}"
        if module in done:
            return
        for imported in graph.get(module, {}):
            visit(imported, (*path, module))
        done.add(module)

    for module in graph:
        visit(module, ())


def test_no_module_imports_another_modules_private_names() -> None:
    """What a module shares has a public name; its underscored names stay its own."""
    private = [
        f"{module} imports {name} from {imported}"
        for module, imports in _runtime_imports().items()
        for imported, names in imports.items()
        for name in names
        if name.startswith("_")
    ]
    assert private == []


def test_in_process_clients_do_not_depend_on_the_fleet() -> None:
    """The clients see the fleet only through the Backend protocol, so the fleet may import them."""
    graph = _runtime_imports()
    assert "_fleet" not in graph["_inprocess"]
    assert "_inprocess" in graph["_fleet"]
