"""Generate solutions/ and student_template/ from the master files in assignments/."""
from __future__ import annotations

import re
from pathlib import Path

from autograder.course.config import KIT_ROOT

BEGIN, END, LINE = "# BEGIN SOLUTION", "# END SOLUTION", "# SOLUTION"
SOLUTION_HEADER = "# Reference solution, generated from assignments/{name} by `autograder build`; do not edit.\n"
_DEF = re.compile(r"^(\s*)(?:async\s+)?(def|class)\s+(\w+)")
_ASSIGNMENT = re.compile(r"^(\s*[\w.\[\], ]+?\s*(?::[^=]+)?=)(?!=)")


class MarkerError(ValueError):
    """A master file has unpaired or nested solution markers."""


def build(source: str, sanitize: bool, name: str = "<master>") -> str:
    """Return the solution (sanitize=False) or the student stub (sanitize=True) of a master file.

    Markers: a region between `# BEGIN SOLUTION` and `# END SOLUTION` lines, and single lines
    ending in `# SOLUTION`. The solution keeps the code and drops the markers. The stub replaces a
    region inside a function with `raise NotImplementedError(...)` naming that function, drops a
    region outside any function, and turns a marked line into `...` (keeping `name =` of an assignment).
    """
    out: list[str] = []
    scopes: list[tuple[int, str, str]] = []  # (indent, 'def'|'class', name) enclosing the current line
    region_start: int | None = None
    for number, line in enumerate(source.splitlines(keepends=True), start=1):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if stripped.startswith(BEGIN):
            if region_start is not None:
                raise MarkerError(f"{name}:{number}: {BEGIN} inside the region opened at line {region_start}; "
                                  "regions cannot nest: close the first with "
                                  f"{END}.")
            region_start = number
            if sanitize:
                out.extend(_stub_for(scopes, indent))
            continue
        if stripped.startswith(END):
            if region_start is None:
                raise MarkerError(f"{name}:{number}: {END} without a {BEGIN} before it.")
            region_start = None
            continue
        if stripped and not stripped.startswith("#"):
            while scopes and scopes[-1][0] >= indent:
                scopes.pop()
            match = _DEF.match(line)
            if match:
                scopes.append((indent, match.group(2), match.group(3)))
        if region_start is not None and sanitize:
            continue
        if stripped.endswith(LINE) and not stripped.startswith("#"):
            code = line.rstrip()[: -len(LINE)].rstrip()
            if sanitize:
                match = _ASSIGNMENT.match(code)
                code = f"{match.group(1)} ..." if match else " " * indent + "..."
            line = code + "\n"
        out.append(line)
    if region_start is not None:
        raise MarkerError(f"{name}:{region_start}: {BEGIN} is never closed; add {END} after the solution.")
    return "".join(out)


def _stub_for(scopes: list[tuple[int, str, str]], indent: int) -> list[str]:
    functions = [n for _, kind, n in scopes if kind == "def"]
    if not functions:
        return []
    qualname = ".".join(n for _, _, n in scopes)
    pad = " " * indent
    return [f'{pad}raise NotImplementedError("{qualname}: not implemented yet; replace this line with your code")\n']


def question_ids(root: Path = KIT_ROOT) -> list[str]:
    """The question ids that have a master file in assignments/."""
    return sorted(p.stem for p in (root / "assignments").glob("q*.py"))


def generated_files(root: Path = KIT_ROOT, only: list[str] | None = None) -> dict[Path, str]:
    """Every generated file (solutions/ and student_template/) and its content.

    The examples `perfect` and `untouched_stubs` are links to these two folders.
    """
    files: dict[Path, str] = {}
    for qid in only or question_ids(root):
        master = root / "assignments" / f"{qid}.py"
        source = master.read_text()
        label = f"assignments/{master.name}"
        solution = SOLUTION_HEADER.format(name=master.name) + build(source, sanitize=False, name=label)
        stub = build(source, sanitize=True, name=label)
        files[root / "solutions" / master.name] = solution
        files[root / "student_template" / master.name] = stub
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
