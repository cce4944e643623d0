"""The output folder's manifest.json: what each result was graded from, so a batch can resume or regrade."""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder.course.config import KIT_ROOT
from autograder.course.layout import MASTER, question_folder, questions_folder

MANIFEST_NAME = "manifest.json"
VERSION = 1


@dataclass
class Entry:
    """One graded submission: where it came from, the hashes it was graded with, and its outcome."""
    source: str                 # the folder or zip, as an absolute path on the grading machine
    questions: list[str]
    content: str                # content_hash(source)
    tests: str                  # tests_hash(questions, config_path)
    score: float
    max_score: float
    status: str
    assignment: str | None = None
    students: list[dict] = field(default_factory=list)


def content_hash(source: Path) -> str:
    """SHA-256 of a submission: a zip's bytes, or a folder's file names and contents (a link by its target)."""
    digest = hashlib.sha256()
    if source.is_file():
        _add_file(digest, source)
        return digest.hexdigest()
    for path in sorted(source.rglob("*")):
        if "__pycache__" in path.parts or path.is_dir() and not path.is_symlink():
            continue
        digest.update(path.relative_to(source).as_posix().encode() + b"\0")
        if path.is_symlink():
            digest.update(b"link:" + os.readlink(path).encode())
        else:
            _add_file(digest, path)
    return digest.hexdigest()


def tests_hash(questions: list[str], config_path: Path) -> str:
    """SHA-256 of everything that decides these questions' verdicts: their test files, the shared test
    modules, the course settings and the grading engine. A fixed test or threshold changes it."""
    digest = hashlib.sha256(" ".join(questions).encode())
    files = [*(p for q in questions for p in sorted(question_folder(q).glob("*.py")) if p.name != MASTER),
             *sorted(questions_folder().glob("*.py")), Path(config_path),
             *sorted((KIT_ROOT / "autograder").rglob("*.py"))]
    for path in files:
        digest.update(path.name.encode() + b"\0")
        _add_file(digest, path)
    return digest.hexdigest()


def _add_file(digest, path: Path) -> None:
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)


class Manifest:
    """manifest.json of an output folder, rewritten whole (atomically) after every finished submission."""

    def __init__(self, out: Path):
        self.path = out / MANIFEST_NAME
        self.entries: dict[str, Entry] = {}
        self.regrading = False  # a regrade started and has not finished: previous/ holds its baseline
        if self.path.exists():
            data = json.loads(self.path.read_text())
            self.entries = {name: Entry(**entry) for name, entry in data.get("submissions", {}).items()}
            self.regrading = data.get("regrading", False)

    def current(self, name: str, content: str, tests: str) -> bool:
        """Whether name has a result graded from this very content with these very tests and settings."""
        entry = self.entries.get(name)
        return (entry is not None and entry.content == content and entry.tests == tests
                and (self.path.parent / name / "results.json").exists())

    def record(self, name: str, entry: Entry) -> None:
        self.entries[name] = entry
        self.save()

    def save(self) -> None:
        data = {"version": VERSION, "regrading": self.regrading,
                "submissions": {name: asdict(entry) for name, entry in self.entries.items()}}
        partial = self.path.with_name(f".{MANIFEST_NAME}.partial")
        partial.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        os.replace(partial, self.path)  # an interrupt never leaves half a manifest
