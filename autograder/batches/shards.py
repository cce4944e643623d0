"""One batch graded in N slices (`grade --shard K/N`, for Slurm arrays or indexed Jobs) and their outputs merged."""
from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from autograder.batches.inputs import Student
from autograder.course.config import GradingConfig
from autograder.batches.grade import Graded
from autograder.reports.gradebook import write_batch_reports
from autograder.batches.manifest import MANIFEST_NAME, Entry, Manifest

SHARD_FORMAT = re.compile(r"(\d+)/(\d+)")


class ShardError(ValueError):
    """A --shard value or a folder to merge is wrong; the message is one line naming it and the fix."""


@dataclass
class _Found:
    """A submission of one output folder, read before anything is written."""
    name: str
    out: Path
    entry: Entry
    results: dict


def parse_shard(text: str) -> tuple[int, int]:
    """A --shard value: "2/5" -> (2, 5), slice K of N with K counting from 1."""
    match = SHARD_FORMAT.fullmatch(text.strip())
    if match is None:
        raise ShardError(f"--shard {text}: give K/N, slice K of N slices, e.g. --shard 1/4")
    k, n = int(match[1]), int(match[2])
    if n < 1:
        raise ShardError(f"--shard {text}: N, the number of slices, is at least 1, e.g. --shard 1/4")
    if not 1 <= k <= n:
        raise ShardError(f"--shard {text}: K counts from 1 to N, e.g. --shard 1/{n}")
    return k, n


def shard(items: list, k: int, n: int) -> list:
    """The K-th of N slices, round robin (items i with i % n == k - 1): sizes differ by at most one, and the
    same listing always slices the same way."""
    if not 1 <= k <= n:
        raise ShardError(f"shard {k}/{n}: K counts from 1 to N, e.g. shard 1/{max(n, 1)}")
    return items[k - 1::n]


def merge_outputs(outs: list[Path], into: Path, config: GradingConfig) -> list[Graded]:
    """Merge the output folders of `grade --shard` runs into `into`: every submission's folder, one manifest.json,
    and the batch's gradebook.csv, scores.png and report.html. Everything is read and checked before anything
    is written, so a ShardError leaves `into` as it was. The merged submissions, folder by folder, each in its
    manifest's order."""
    if not outs:
        raise ShardError("nothing to merge: give the output folders of `autograder grade --shard K/N` runs")
    _check_apart(outs, into)
    found = _collect(outs)
    _check_replaceable(into, {f.name for f in found})
    into.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(into)
    manifest.entries, manifest.regrading = {}, False
    for f in found:
        _copy_folder(f.out / f.name, into / f.name)
        manifest.entries[f.name] = f.entry
    manifest.save()
    graded = [_graded(f) for f in found]
    write_batch_reports(graded, config, into, figures=True)
    return graded


def _check_apart(outs: list[Path], into: Path) -> None:
    """`into` must be apart from every slice: replacing a submission's folder there must never touch a slice."""
    target = into.resolve()
    for out in outs:
        source = out.resolve()
        if target == source or source in target.parents or target in source.parents:
            raise ShardError(f"{into}: it overlaps the folder to merge {out}; give the merge a folder of its own, "
                             "e.g. --out merged")


def _collect(outs: list[Path]) -> list[_Found]:
    found: dict[str, _Found] = {}
    for out in outs:
        for name, entry in _read_manifest(out).entries.items():
            kept = found.get(name)
            if kept is None:
                found[name] = _Found(name, out, entry, _read_results(out, name))
            elif (kept.entry.content, kept.entry.tests) != (entry.content, entry.tests):
                raise ShardError(f"{name}: in both {kept.out} and {out}, graded from different files or tests, so "
                                 "the slices overlap; were they graded from different listings? Grade every "
                                 "slice from the same listing with the same N")
    return list(found.values())


def _read_manifest(out: Path) -> Manifest:
    if not out.is_dir():
        raise ShardError(f"{out}: no such folder; give the --out folders of the `autograder grade --shard` runs")
    if not (out / MANIFEST_NAME).is_file():
        raise ShardError(f"{out}: no {MANIFEST_NAME}, so it is not an output folder of `autograder grade`; give "
                         "the --out folder of each --shard run")
    try:
        manifest = Manifest(out)
    except (ValueError, TypeError, AttributeError) as exc:  # not JSON, or entries of another shape
        raise ShardError(f"{out / MANIFEST_NAME}: unreadable ({exc}); grade that slice again") from None
    for name in manifest.entries:
        if name in ("", ".", "..") or Path(name).name != name:  # it names a folder to copy and to replace
            raise ShardError(f"{out / MANIFEST_NAME}: {name!r} is not a submission folder's name; grade that "
                             "slice again")
    return manifest


def _read_results(out: Path, name: str) -> dict:
    path = out / name / "results.json"
    try:
        return json.loads(path.read_text())
    except OSError:
        raise ShardError(f"{path}: missing, though {out / MANIFEST_NAME} lists {name}; grade that slice again "
                         "with --resume") from None
    except ValueError as exc:
        raise ShardError(f"{path}: not valid JSON ({exc}); grade that slice again with --resume") from None


def _check_replaceable(into: Path, names: set[str]) -> None:
    """A manifest already in `into` may only be an earlier merge of these slices; anything else would be lost."""
    if not (into / MANIFEST_NAME).is_file():
        return
    try:
        earlier = set(Manifest(into).entries)
    except (ValueError, TypeError, AttributeError):
        raise ShardError(f"{into / MANIFEST_NAME}: unreadable, so what it lists would be lost; give an empty or "
                         "new folder to merge into (or delete that one first)") from None
    strangers = sorted(earlier - names)
    if strangers:
        raise ShardError(f"{into}: its {MANIFEST_NAME} lists {strangers[0]}, which no folder to merge holds; give "
                         "an empty or new folder to merge into (or delete that one first)")


def _copy_folder(source: Path, target: Path) -> None:
    # a copy over an earlier merge's folder would keep that merge's stale figures
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, symlinks=True)


def _graded(f: _Found) -> Graded:
    e = f.entry
    return Graded(f.name, Path(e.source), f.results, e.status, list(e.questions),
                  tuple(Student(**s) for s in e.students), e.assignment)
