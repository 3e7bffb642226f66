"""The engine's modules import only downward, and only each other's public names.

A module that needs another's underscored name is reaching into it; a
circle of imports means two modules own one thing between them. Imports
under ``if TYPE_CHECKING:`` never run, so they are left out. The command
line is a child of the package and sees only its public surface.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import waiters

PACKAGE = Path(waiters.__file__).parent


def _runtime_imports(folder: Path, package: str) -> dict[str, dict[str, set[str]]]:
    """``{module: {imported module: names}}``, imports under TYPE_CHECKING left out.

    Module names are dotted from the top package (``_poller``, ``cli._run``).
    """
    graph: dict[str, dict[str, set[str]]] = {}
    prefix = "" if folder == PACKAGE else f"{folder.name}."
    for path in sorted(folder.glob("*.py")):
        imports: dict[str, set[str]] = {}
        pending: list[ast.AST] = [ast.parse(path.read_text(encoding="utf-8"))]
        while pending:
            node = pending.pop()
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                pending.extend(node.orelse)
                continue
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.level == 1:
                    target = prefix + node.module
                elif node.level == 0 and node.module.startswith(f"{package}."):
                    target = node.module.removeprefix(f"{package}.")
                elif node.level == 0 and node.module == package:
                    target = "__init__"
                else:
                    target = ""
                if target:
                    imports.setdefault(target, set()).update(a.name for a in node.names)
            pending.extend(ast.iter_child_nodes(node))
        graph[prefix + path.stem] = imports
    return graph


def _graph() -> dict[str, dict[str, set[str]]]:
    return {
        **_runtime_imports(PACKAGE, "waiters"),
        **_runtime_imports(PACKAGE / "cli", "waiters"),
        **_runtime_imports(PACKAGE / "simulator", "waiters"),
        **_runtime_imports(PACKAGE / "temporal", "waiters"),
    }


def test_no_import_circle() -> None:
    """No chain of run-time imports leads from an engine or simulator module back to itself."""
    graph = {
        module: imports
        for module, imports in _graph().items()
        if not module.endswith("__init__") and not module.startswith("cli.")
    }
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"import circle: {' -> '.join((*path, module))}"
        if module in done:
            return
        for imported in graph.get(module, {}):
            if imported in graph:
                visit(imported, (*path, module))
        done.add(module)

    for module in graph:
        visit(module, ())


def test_no_module_imports_another_modules_private_names() -> None:
    """What a module shares has a public name; its underscored names stay its own."""
    private = [
        f"{module} imports {name} from {imported}"
        for module, imports in _graph().items()
        for imported, names in imports.items()
        for name in names
        if name.startswith("_") and name != "__version__"
    ]
    assert private == []


@pytest.mark.parametrize("module", sorted(m for m in _graph() if m.startswith("cli.")))
def test_the_command_line_uses_only_the_public_surface(module: str) -> None:
    """waiters.cli imports from ``waiters`` (and its own modules), never a private module."""
    reaching = [
        imported
        for imported in _graph()[module]
        if not imported.startswith("cli.") and imported not in ("__init__", "cli", "simulator")
    ]
    assert reaching == []


def test_in_process_clients_do_not_depend_on_the_fleet() -> None:
    """The simulator's clients see the fleet only through the Backend protocol, so the
    fleet may import them."""
    graph = _graph()
    assert "simulator._fleet" not in graph["simulator._inprocess"]
    assert "simulator._inprocess" in graph["simulator._fleet"]
