"""Find a submission's files, in a folder or a zip, wherever the student nested them."""
from __future__ import annotations

import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

MAX_UNZIPPED_BYTES = 1 << 30
MAX_ZIP_MEMBERS = 10_000
IGNORED_PARTS = {"__MACOSX", "__pycache__", ".ipynb_checkpoints", ".git"}


class SubmissionError(ValueError):
    """The submission cannot be opened at all (not a folder, a broken zip, a zip bomb)."""


@dataclass
class Located:
    files: dict[str, Path] = field(default_factory=dict)   # expected name -> where it was found
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)          # e.g. which of two copies was used


def unpack(path: Path, into: Path) -> Path:
    """Extract a zip submission safely into `into`; return the folder to search."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > MAX_ZIP_MEMBERS or sum(m.file_size for m in members) > MAX_UNZIPPED_BYTES:
                raise SubmissionError(f"{path}: the zip is too large to grade (more than "
                                      f"{MAX_ZIP_MEMBERS} files or {MAX_UNZIPPED_BYTES >> 20} MiB unpacked).")
            for member in members:
                name = PurePosixPath(member.filename)
                if name.is_absolute() or ".." in name.parts:
                    raise SubmissionError(f"{path}: unsafe path {member.filename!r} in the zip.")
                if not member.is_dir():
                    target = into / Path(*name.parts)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with archive.open(member) as source, open(target, "wb") as sink:
                        shutil.copyfileobj(source, sink)
    except zipfile.BadZipFile as exc:
        raise SubmissionError(f"{path}: not a valid zip file ({exc}); zip the folder again.") from None
    return into


def locate(root: Path, expected: list[str]) -> Located:
    """Find each expected file name anywhere below root (the shallowest copy wins)."""
    found: dict[str, list[Path]] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and path.name in expected and not (set(relative.parts) & IGNORED_PARTS):
            found.setdefault(path.name, []).append(path)
    located = Located()
    for name in expected:
        copies = sorted(found.get(name, []), key=lambda p: (len(p.relative_to(root).parts), str(p)))
        if not copies:
            located.missing.append(name)
            continue
        located.files[name] = copies[0]
        if len(copies) > 1:
            others = ", ".join(str(p.relative_to(root)) for p in copies[1:])
            located.notes.append(f"{name}: graded {copies[0].relative_to(root)}; ignored {others}.")
    return located


class OpenedSubmission:
    """A folder or zip opened for grading; a context manager that cleans up the unpacked copy."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._temp: Path | None = None

    def __enter__(self) -> Path:
        if self.path.is_dir():
            return self.path
        if self.path.is_file() and zipfile.is_zipfile(self.path):
            self._temp = Path(tempfile.mkdtemp(prefix="autograder-unzip-"))
            return unpack(self.path, self._temp)
        if not self.path.exists():
            raise SubmissionError(f"{self.path}: no such file or folder.")
        raise SubmissionError(f"{self.path}: a submission is a folder or a .zip file.")

    def __exit__(self, *exc_info) -> None:
        if self._temp is not None:
            shutil.rmtree(self._temp, ignore_errors=True)
