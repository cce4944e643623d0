"""The one reader of solution markers in a master file: `# BEGIN SOLUTION` ... `# END SOLUTION` regions and lines
ending in `# SOLUTION`. The generator, the mutation tests and the release's leak scan all read masters through it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

BEGIN, END, LINE = "# BEGIN SOLUTION", "# END SOLUTION", "# SOLUTION"


class MarkerError(ValueError):
    """A master file has unpaired or nested solution markers."""


@dataclass(frozen=True)
class MarkedLine:
    """One line of a master: `text` as written (with its newline), `number` from 1, and what the markers make it."""
    number: int
    text: str
    kind: Literal["begin", "end", "region", "marked", "code"]  # a marker, inside a region, `# SOLUTION`, other
    region: int | None = None  # which region (0, 1, ...) a begin, end or region line belongs to

    @property
    def solution(self) -> bool:
        """Whether students write this line: inside a region, or marked `# SOLUTION`."""
        return self.kind in ("region", "marked")

    @property
    def code(self) -> str:
        """The line without its `# SOLUTION` marker (and the spaces before it), without the newline."""
        text = self.text.rstrip("\n")
        return without_marker(text) if self.kind == "marked" else text


def is_marked(text: str) -> bool:
    stripped = text.strip()
    return stripped.endswith(LINE) and not stripped.startswith("#")


def without_marker(text: str) -> str:
    """A code line without a trailing `# SOLUTION` marker."""
    return text.rstrip()[: -len(LINE)].rstrip() if is_marked(text) else text


def parse(source: str, name: str = "<master>") -> list[MarkedLine]:
    """Every line of a master with its kind; MarkerError (naming `name` and the line) on nested or unpaired markers."""
    lines: list[MarkedLine] = []
    opened: int | None = None   # line number of the open region's BEGIN
    regions = 0
    for number, text in enumerate(source.splitlines(keepends=True), start=1):
        stripped = text.strip()
        if stripped.startswith(BEGIN):
            if opened is not None:
                raise MarkerError(f"{name}:{number}: {BEGIN} inside the region opened at line {opened}; "
                                  f"regions cannot nest: close the first with {END}.")
            opened = number
            lines.append(MarkedLine(number, text, "begin", regions))
        elif stripped.startswith(END):
            if opened is None:
                raise MarkerError(f"{name}:{number}: {END} without a {BEGIN} before it.")
            lines.append(MarkedLine(number, text, "end", regions))
            opened, regions = None, regions + 1
        elif opened is not None:
            lines.append(MarkedLine(number, text, "region", regions))
        else:
            lines.append(MarkedLine(number, text, "marked" if is_marked(text) else "code"))
    if opened is not None:
        raise MarkerError(f"{name}:{opened}: {BEGIN} is never closed; add {END} after the solution.")
    return lines


def solution_regions(source: str, name: str = "<master>") -> list[list[str]]:
    """The lines students write, grouped: each region's lines (without newlines), and each marked line alone."""
    regions: dict[object, list[str]] = {}
    for line in parse(source, name):
        if line.kind == "region":
            regions.setdefault(("region", line.region), []).append(line.text.rstrip("\n"))
        elif line.kind == "begin":
            regions.setdefault(("region", line.region), [])
        elif line.kind == "marked":
            regions[("marked", line.number)] = [line.text.rstrip("\n")]
    return list(regions.values())
