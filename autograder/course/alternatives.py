"""Alternative solutions: assignments/<id>/alternatives/<name>/<id>.py holds only what a student writes into the stub.

An alternative is a module docstring (how it is written differently), the imports it needs, and the top-level
definitions (def, class, one-name assignment) that differ from the stub. The submission it stands for is the
question's stub, generated from the master, with those definitions filled in:

- a definition named like a top-level name of the stub replaces that node of the stub (decorators included);
- an import that binds a name the stub's imports do not bind goes after the stub's last top-level import;
- a new definition (a helper the stub lacks) goes just before the stub's place of the next definition the
  alternative replaces, or at the end of the file when none follows, so helpers keep their order.

So an alternative never repeats the stub's given code: when the given code changes, every alternative follows.
"""
from __future__ import annotations

import ast
from pathlib import Path

from autograder.course.generator import build
from autograder.course.layout import KIT_ROOT, alternative_solutions, master_file, shown

HEADER = "# Alternative solution {label}, composed with the stub by autograder/course/alternatives.py.\n"


def defined_name(node: ast.stmt) -> str | None:
    """The one name a top-level def, class or assignment binds; None for other statements and unpacking."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.name
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
    elif isinstance(node, ast.AnnAssign):
        target = node.target
    else:
        return None
    return target.id if isinstance(target, ast.Name) else None


def definitions(source: str) -> dict[str, ast.stmt]:
    """A module's top-level definitions by name (the last wins, as when Python runs it)."""
    return {name: node for node in ast.parse(source).body if (name := defined_name(node))}


def bindings(node: ast.Import | ast.ImportFrom) -> set[tuple[str, str]]:
    """(name, what it is bound to) of an import: `import torch.nn.functional as F` and
    `from torch.nn import functional as F` both bind F to torch.nn.functional."""
    if isinstance(node, ast.Import):
        return {(a.asname, a.name) if a.asname else (a.name.split(".")[0], a.name.split(".")[0]) for a in node.names}
    module = "." * node.level + (node.module or "")
    return {(a.asname or a.name, f"{module}.{a.name}") for a in node.names}


def compose(stub: str, alternative: str, label: str) -> str:
    """The stub with the alternative's definitions filled in (the rules are in this module's docstring).

    Raises ValueError naming `label` (the alternative's file) when it does not parse, or holds a statement that
    is not an import, a def, a class or an assignment to one name, or defines a name twice.
    """
    try:
        tree = ast.parse(alternative, label)
    except SyntaxError as error:
        raise ValueError(f"{label}:{error.lineno}: does not parse ({error.msg}); fix it: an alternative is the "
                         "Python code a student writes into the stub.") from None
    stub_tree, stub_nodes = ast.parse(stub), definitions(stub)
    stub_imports = [node for node in stub_tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    bound = set().union(*map(bindings, stub_imports))
    lines, own = stub.splitlines(keepends=True), alternative.splitlines(keepends=True)

    def text(node: ast.stmt) -> str:
        return "".join(own[first_line(node) - 1:node.end_lineno]).rstrip("\n") + "\n"

    edits: list[tuple[int, int, str]] = []  # (start, end, text): stub lines[start:end] become text
    imports, helpers, seen = [], [], set()
    # the alternative's docstring is left out: the composed file keeps the stub's (the question's statement)
    for node in tree.body[1:] if ast.get_docstring(tree) is not None else tree.body:
        name = defined_name(node)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if not bindings(node) <= bound:
                imports.append(text(node))
            continue
        if name is None:
            raise ValueError(f"{label}:{node.lineno}: a top-level {type(node).__name__} statement; an alternative "
                             "holds only imports, defs, classes and assignments to one name, which replace the "
                             "stub's of that name. Move the code into a function, or assign one name at a time.")
        elif name in seen:
            raise ValueError(f"{label}:{node.lineno}: {name} is defined twice; keep one definition.")
        elif name in stub_nodes:
            start = first_line(stub_nodes[name]) - 1
            if helpers:  # the helpers written before this definition go before it
                edits.append((start, start, "".join(h + "\n\n" for h in helpers)))
                helpers = []
            edits.append((start, stub_nodes[name].end_lineno, text(node)))
        else:
            helpers.append(text(node))
        seen.add(name)
    if helpers:
        edits.append((len(lines), len(lines), "".join("\n\n" + h for h in helpers)))
    if imports:
        after = max(node.end_lineno for node in stub_imports) if stub_imports else docstring_end(stub_tree)
        edits.insert(0, (after, after, "".join(imports)))  # first, should a definition start right there

    out, cursor = [HEADER.format(label=label)], 0
    for start, end, new in sorted(edits, key=lambda edit: edit[:2]):  # stable: insertions keep their order
        out += lines[cursor:start] + [new]
        cursor = end
    return "".join(out + lines[cursor:])


def first_line(node: ast.stmt) -> int:
    """A definition starts at its first decorator."""
    return min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])


def docstring_end(tree: ast.Module) -> int:
    """The line a module's docstring ends on (0 without one): imports of a stub without any go after it."""
    return tree.body[0].end_lineno if ast.get_docstring(tree) is not None else 0


def alternative_file(qid: str, folder: Path) -> Path:
    return folder / f"{qid}.py"


def compose_alternative(qid: str, folder: Path, root: Path = KIT_ROOT) -> str:
    """The full submission of the alternative in `folder`: the question's stub with its definitions filled in."""
    master, path = master_file(qid, root), alternative_file(qid, folder)
    stub = build(master.read_text(), sanitize=True, name=shown(master, root))
    label = shown(path, root) if path.is_relative_to(root) else str(path)
    return compose(stub, path.read_text(), label)


def write_alternatives(qid: str, into: Path, root: Path = KIT_ROOT) -> list[Path]:
    """Write one submission folder per alternative of `qid` under `into`, named like it; return the folders."""
    folders = []
    for folder in alternative_solutions(qid, root):
        out = into / folder.name
        out.mkdir(parents=True)
        alternative_file(qid, out).write_text(compose_alternative(qid, folder, root))
        folders.append(out)
    return folders
