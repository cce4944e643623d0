"""Find a submission's files, in a folder or a zip, wherever the student nested them (never through links out)."""
from __future__ import annotations

import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

MAX_UNZIPPED_BYTES = 1 << 30
MAX_ZIP_MEMBERS = 10_000
MAX_LINK_HOPS = 40  # as Linux's ELOOP limit: a longer chain of links in a zip counts as a loop
IGNORED_PARTS = {"__MACOSX", "__pycache__", ".ipynb_checkpoints", ".git"}
LINK_REFUSED = ("{where} was refused: it is a link to a file outside your submission, and the grader does not "
                "follow such links. Submit the file itself, not a link.")
FOLDER_LINK_SKIPPED = ("{where}/ was not searched: it is a link to a folder outside your submission, and the "
                       "grader does not follow such links. Submit the files themselves, not a link.")


class SubmissionError(ValueError):
    """The submission cannot be opened at all (not a folder, a broken zip, a zip bomb)."""


class LinkLoop(Exception):
    """A link in a zip leads back to itself (or through more than MAX_LINK_HOPS links)."""


@dataclass
class Located:
    files: dict[str, Path] = field(default_factory=dict)   # expected name -> the file to grade (links resolved)
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)          # e.g. which of two copies was used
    refused: dict[str, str] = field(default_factory=dict)   # expected name -> why its only copies were refused


@dataclass(frozen=True)
class Copy:
    """A file of the submission named like an expected one."""
    where: PurePosixPath   # relative to the submission's root, as the student named it
    source: Path | None    # what to grade (a link's target); None for a link that leads outside the submission


# -- zips ---------------------------------------------------------------------
def is_link(member: zipfile.ZipInfo) -> bool:
    """A zip member stored as a Unix symbolic link (its data is the target's path)."""
    return stat.S_ISLNK(member.external_attr >> 16)


def safe_name(member: zipfile.ZipInfo, path: Path) -> PurePosixPath:
    name = PurePosixPath(member.filename)
    if name.is_absolute() or ".." in name.parts:
        raise SubmissionError(f"{path.name}: unsafe path {member.filename!r} in the zip.")
    return name


def too_large(path: Path) -> SubmissionError:
    return SubmissionError(f"{path.name}: the zip is too large to grade (more than {MAX_ZIP_MEMBERS} files or "
                           f"{MAX_UNZIPPED_BYTES >> 20} MiB unpacked).")


def unpack(path: Path, into: Path, executables: bool = False) -> list[str]:
    """Extract a zip (a submission, or a release zip) safely into `into`; return its link members that lead
    outside it.

    No link is created: one that stays inside the zip becomes a copy of the file it names (a link to a
    folder or to nothing is left out; the folder's files are there anyway), one that leads outside is
    left out and returned, so that locate() can say it was refused. executables: members stored with an
    execute bit (a release's scripts) become executable; a submission's files never do.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > MAX_ZIP_MEMBERS or sum(m.file_size for m in members) > MAX_UNZIPPED_BYTES:
                raise too_large(path)
            links: dict[str, str] = {}
            for member in members:
                name = safe_name(member, path)
                if is_link(member):
                    links[name.as_posix()] = archive.read(member).decode("utf-8", errors="replace")
                elif not member.is_dir():
                    target = into / Path(*name.parts)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with archive.open(member) as source, open(target, "wb") as sink:
                        shutil.copyfileobj(source, sink)
                    if executables and member.external_attr >> 16 & 0o111:
                        target.chmod(0o755)
    except zipfile.BadZipFile as exc:
        raise SubmissionError(f"{path.name}: not a valid zip file ({exc}); zip the folder again.") from None
    budget = MAX_UNZIPPED_BYTES - sum(m.file_size for m in members if not is_link(m))
    return materialise_links(links, into, budget, path)


def follow_in_zip(name: str, links: dict[str, str]) -> PurePosixPath | None:
    """Where a path of the zip leads once every link in it is followed; None when it leaves the zip."""
    parts: list[str] = []
    pending, hops = name.split("/"), 0
    while pending:
        part = pending.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
            continue
        parts.append(part)
        target = links.get("/".join(parts))
        if target is not None:
            hops += 1
            if hops > MAX_LINK_HOPS:
                raise LinkLoop(name)
            if target.startswith("/"):
                return None
            parts.pop()
            pending = target.split("/") + pending
    return PurePosixPath(*parts)


def materialise_links(links: dict[str, str], into: Path, budget: int, path: Path) -> list[str]:
    """Copy the file each inside link names to the link's place; return the links that lead outside."""
    outside = []
    for name in sorted(links):
        try:
            target = follow_in_zip(name, links)
        except LinkLoop:
            continue
        if target is None:
            outside.append(name)
            continue
        source, copy = into / Path(*target.parts), into / Path(*PurePosixPath(name).parts)
        if not source.is_file() or copy.exists():
            continue
        budget -= source.stat().st_size
        if budget < 0:
            raise too_large(path)
        try:
            copy.parent.mkdir(parents=True, exist_ok=True)
        except OSError:  # a file of the zip has the name of one of the link's folders
            continue
        shutil.copyfile(source, copy)
    return outside


# -- finding the expected files -----------------------------------------------
def leads_outside(link: Path, root: Path) -> bool:
    try:
        return not link.resolve(strict=True).is_relative_to(root)
    except (OSError, RuntimeError):  # a link to nothing, or a loop of links (RuntimeError in Python 3.11)
        return False


def copy_at(path: Path, root: Path) -> Copy | None:
    """The file at path as a copy to grade; links are followed only while they stay below root."""
    where = PurePosixPath(path.relative_to(root).as_posix())
    if not path.is_symlink():
        return Copy(where, path) if path.is_file() else None
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):  # a link to nothing, or a loop of links: no copy at all
        return None
    if not target.is_relative_to(root):
        return Copy(where, None)
    return Copy(where, target) if target.is_file() else None


def copies_below(root: Path, expected: set[str], notes: list[str]) -> Iterator[Copy]:
    """Every file below root named like an expected one; links to folders are never entered."""
    for folder, folders, files in os.walk(root):  # followlinks=False: a link to a folder is listed, not entered
        here = Path(folder)
        folders[:] = sorted(name for name in folders if name not in IGNORED_PARTS)
        for name in folders:
            if (here / name).is_symlink() and leads_outside(here / name, root):
                notes.append(FOLDER_LINK_SKIPPED.format(where=(here / name).relative_to(root).as_posix()))
        for name in sorted(set(files) & expected):
            copy = copy_at(here / name, root)
            if copy is not None:
                yield copy


def locate(root: Path, expected: list[str], outside_links: Iterable[str] = ()) -> Located:
    """Find each expected file name anywhere below root (the shallowest copy wins).

    A copy that is a link leading outside the submission is refused, as are outside_links (the link
    members of a zip that unpack() left out); a name whose only copies were refused is in `refused`.
    """
    root = root.resolve()
    located = Located()
    found: dict[str, list[Copy]] = {}
    outside = [Copy(PurePosixPath(name), None) for name in outside_links]
    for copy in [*copies_below(root, set(expected), located.notes), *outside]:
        if copy.where.name in expected and not set(copy.where.parts) & IGNORED_PARTS:
            found.setdefault(copy.where.name, []).append(copy)
    for name in expected:
        copies = sorted(found.get(name, []), key=lambda c: (c.source is None, len(c.where.parts), str(c.where)))
        if not copies:
            located.missing.append(name)
        elif copies[0].source is None:
            located.refused[name] = LINK_REFUSED.format(where=copies[0].where)
        else:
            located.files[name] = copies[0].source
            if len(copies) > 1:
                others = ", ".join(f"{c.where}" + (" (a link to outside your submission)" if c.source is None else "")
                                   for c in copies[1:])
                located.notes.append(f"{name}: graded {copies[0].where}; ignored {others}.")
    return located


class OpenedSubmission:
    """A folder or zip opened for grading; a context manager that cleans up the unpacked copy. Its errors name
    the submission by its file name only: they reach the student, and the grader's folders are not theirs.

    outside_links: after entering, the zip's link members that lead outside it (for locate()).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._temp: Path | None = None
        self.outside_links: list[str] = []

    def __enter__(self) -> Path:
        if self.path.is_dir():
            return self.path
        if self.path.is_file() and zipfile.is_zipfile(self.path):
            self._temp = Path(tempfile.mkdtemp(prefix="autograder-unzip-"))
            try:
                self.outside_links = unpack(self.path, self._temp)
            except BaseException:
                self.__exit__()
                raise
            return self._temp
        if not self.path.exists():
            raise SubmissionError(f"{self.path.name}: no such file or folder.")
        if self.path.suffix.lower() == ".zip":
            raise SubmissionError(f"{self.path.name}: not a valid zip file; zip the folder again.")
        raise SubmissionError(f"{self.path.name}: a submission is a folder or a .zip file.")

    def __exit__(self, *exc_info) -> None:
        if self._temp is not None:
            shutil.rmtree(self._temp, ignore_errors=True)
