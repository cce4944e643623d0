"""Generate solutions/ and student_template/ from the question masters (assignments/<id>/master.py)."""
from __future__ import annotations

import re
from pathlib import Path

from autograder.course.layout import KIT_ROOT, master_file, question_ids, shown
from autograder.course.markers import parse

SOLUTION_HEADER = "# Reference solution, generated from {master} by `autograder build`; do not edit.\n"
_DEF = re.compile(r"^(\s*)(?:async\s+)?(def|class)\s+(\w+)")
_ASSIGNMENT = re.compile(r"^(\s*[\w.\[\], ]+?\s*(?::[^=]+)?=)(?!=)")


def build(source: str, sanitize: bool, name: str = "<master>") -> str:
    """Return the solution (sanitize=False) or the student stub (sanitize=True) of a master file.

    Markers: a region between `# BEGIN SOLUTION` and `# END SOLUTION` lines, and single lines
    ending in `# SOLUTION`. The solution keeps the code and drops the markers. The stub replaces a
    region inside a function with `raise NotImplementedError(...)` naming that function, drops a
    region outside any function, and turns a marked line into `...` (keeping `name =` of an assignment).
    """
    out: list[str] = []
    scopes: list[tuple[int, str, str]] = []  # (indent, 'def'|'class', name) enclosing the current line
    for line in parse(source, name):
        stripped = line.text.strip()
        indent = len(line.text) - len(line.text.lstrip())
        if line.kind == "begin":
            if sanitize:
                out.extend(_stub_for(scopes, indent))
            continue
        if line.kind == "end":
            continue
        if stripped and not stripped.startswith("#"):
            while scopes and scopes[-1][0] >= indent:
                scopes.pop()
            match = _DEF.match(line.text)
            if match:
                scopes.append((indent, match.group(2), match.group(3)))
        if line.kind == "region" and sanitize:
            continue
        text = line.text
        if line.kind == "marked":
            code = line.code
            if sanitize:
                match = _ASSIGNMENT.match(code)
                code = f"{match.group(1)} ..." if match else " " * indent + "..."
            text = code + "\n"
        out.append(text)
    return "".join(out)


def _stub_for(scopes: list[tuple[int, str, str]], indent: int) -> list[str]:
    functions = [n for _, kind, n in scopes if kind == "def"]
    if not functions:
        return []
    qualname = ".".join(n for _, _, n in scopes)
    pad = " " * indent
    return [f'{pad}raise NotImplementedError("{qualname}: not implemented yet; replace this line with your code")\n']


def generated_files(root: Path = KIT_ROOT, only: list[str] | None = None) -> dict[Path, str]:
    """Every generated file (solutions/ and student_template/) and its content.

    The examples `perfect` and `untouched_stubs` are links to these two folders.
    """
    files: dict[Path, str] = {}
    for qid in only or question_ids(root):
        master = master_file(qid, root)
        source = master.read_text()
        label = shown(master, root)
        solution = SOLUTION_HEADER.format(master=label) + build(source, sanitize=False, name=label)
        stub = build(source, sanitize=True, name=label)
        files[root / "solutions" / f"{qid}.py"] = solution
        files[root / "student_template" / f"{qid}.py"] = stub
    return files


def write_all(root: Path = KIT_ROOT, only: list[str] | None = None) -> list[Path]:
    """Regenerate the generated files (of the `only` questions, or all); return those that changed."""
    changed = []
    for path, text in generated_files(root, only).items():
        if not path.exists() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            changed.append(path)
    return changed
