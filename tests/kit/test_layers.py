"""The engine's layers: each subpackage of autograder/ imports only from itself and the layers below it, with no
circle between modules; the sandbox knows nothing of pytest; grading never trains or plots."""
import ast
from pathlib import Path

import pytest

from autograder.course.config import KIT_ROOT

pytestmark = pytest.mark.kit

ENGINE = KIT_ROOT / "autograder"
# Bottom to top. The top ("commands") is the package's own modules: cli.py, model_commands.py, __init__.py.
LAYERS = ["course", "sandbox", "models", "grading", "reports", "batches", "release", "commands"]
NEVER = {  # layer -> modules (dotted prefixes) it must not import, whatever the layer order allows
    "sandbox": ("pytest", "_pytest", "hypothesis"),
    "grading": ("autograder.models.training", "autograder.models.references", "autograder.models.background_training",
                "autograder.models.figures", "matplotlib"),
}


def module_name(path: Path) -> str:
    return ".".join(("autograder", *path.relative_to(ENGINE).with_suffix("").parts)).removesuffix(".__init__")


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else "commands"


def imports(path: Path) -> set[str]:
    """Every module a file imports, at its top or inside a function: `from a.b import c` gives a.b, and a.b.c
    when that is an engine module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert not node.level, f"{path}: relative import; the engine imports by absolute name"
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names if f"{node.module}.{alias.name}" in MODULES)
    return found


MODULES = {module_name(p): p for p in sorted(ENGINE.rglob("*.py")) if "__pycache__" not in p.parts}
GRAPH = {name: {m for m in imports(path) if m in MODULES and m != name} for name, path in MODULES.items()}


def test_every_engine_module_sits_in_a_layer_package():
    for name, path in MODULES.items():
        assert layer_of(name) != "commands" or path.parent == ENGINE, f"{name}: a package that is not a layer"
    assert {p.name for p in ENGINE.iterdir() if p.is_dir() and p.name != "__pycache__"} == set(LAYERS) - {"commands"}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_a_module_imports_only_from_its_layer_and_those_below(name):
    own = LAYERS.index(layer_of(name))
    upward = [m for m in GRAPH[name] if LAYERS.index(layer_of(m)) > own]
    assert not upward, f"{name} ({layer_of(name)}) imports from a higher layer: {', '.join(sorted(upward))}"
    banned = [m for m in imports(MODULES[name]) for prefix in NEVER.get(layer_of(name), ())
              if m == prefix or m.startswith(prefix + ".")]
    assert not banned, f"{name}: the {layer_of(name)} layer must not import {', '.join(sorted(banned))}"


def test_no_circle_between_engine_modules():
    """Package __init__ files are left out: Python runs them on the way to any module below (not an edge)."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = "open"
        path.append(name)
        for other in sorted(GRAPH[name]):
            if state.get(other) == "open":
                circle = path[path.index(other):] + [other]
                pytest.fail("import circle: " + " -> ".join(circle))
            if other not in state:
                visit(other)
        state[name] = "done"
        path.pop()

    for name in sorted(MODULES):
        if name not in state:
            visit(name)


def test_the_layering_test_catches_an_upward_import_and_a_circle(tmp_path):
    """The rule can fail: a sandbox module importing grading, and two modules importing each other."""
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from autograder.grading.results import points\n    import pytest\n")
    found = imports(probe)
    assert "autograder.grading.results" in found and "pytest" in found
    assert LAYERS.index(layer_of("autograder.grading.results")) > LAYERS.index(layer_of("autograder.sandbox.worker"))
    assert layer_of("autograder.cli") == "commands" and layer_of("autograder.course.config") == "course"
