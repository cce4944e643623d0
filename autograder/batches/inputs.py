"""Turn `autograder grade PATH...` into submissions (one student each) and pick each one's assignment."""
from __future__ import annotations

import os
import re
import shlex
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import yaml

from autograder.grading.submission import IGNORED_PARTS, copy_at

METADATA = "submission_metadata.yml"
SHOWN = 3  # children named in a message before "and N more"


class InputError(ValueError):
    """A path on the command line cannot be graded; the message is one line naming it and the fix."""


class AssignmentError(ValueError):
    """A submission's files belong to several assignments; the message says which and how to choose."""


@dataclass(frozen=True)
class Student:
    """Who submitted, from an export's metadata ("" when unknown)."""
    name: str = ""
    email: str = ""
    sid: str = ""
    submitted_at: str = ""


@dataclass(frozen=True)
class Submission:
    name: str                            # unique among the batch, safe as a folder name: output folder, gradebook key
    source: Path                         # the folder or .zip to grade
    students: tuple[Student, ...] = ()   # several for a Gradescope group submission


# -- the files a submission may hold --------------------------------------------
def question_files(config) -> set[str]:
    """Every file name a submission may hold: "<qid>.py" for every question, plus every checkpoint name."""
    return {f"{qid}.py" for qid in config.questions} | {
        name for question in config.questions.values() for name in question.checkpoints}


def held_files(source: Path, known_files: set[str]) -> set[str]:
    """Which known file names a folder or zip holds, at any depth (never through links out of it)."""
    if source.is_dir():
        return _held_in_folder(source, known_files)
    try:
        with zipfile.ZipFile(source) as archive:
            return _held_in_zip(archive, known_files)
    except (OSError, zipfile.BadZipFile):  # the grader reports a broken zip for this submission
        return set()


def _held_in_folder(root: Path, known_files: set[str]) -> set[str]:
    root, held = root.resolve(), set()
    for folder, folders, files in os.walk(root):  # links to folders are listed, not entered
        folders[:] = [name for name in folders if name not in IGNORED_PARTS]
        held |= {name for name in set(files) & known_files if _inside(Path(folder) / name, root)}
    return held


def _inside(path: Path, root: Path) -> bool:
    """A file of root, or a link to one; a link leading out of root does not count."""
    copy = copy_at(path, root)
    return copy is not None and copy.source is not None


def _held_in_zip(archive: zipfile.ZipFile, known_files: set[str]) -> set[str]:
    names = (PurePosixPath(m.filename) for m in archive.infolist() if not m.is_dir())
    return {n.name for n in names if n.name in known_files and not set(n.parts) & IGNORED_PARTS}


# -- command-line paths to submissions -----------------------------------------
def find_submissions(paths: list[Path], known_files: set[str]) -> tuple[list[Submission], list[str]]:
    """The submissions these paths hold, in order, with unique safe names; and warnings for the TA."""
    found: list[Submission] = []
    warnings: list[str] = []
    for path in paths:
        found += _submissions_at(Path(path), known_files, warnings)
    return _unique(found, warnings), warnings


def one_each(paths: list[Path]) -> tuple[list[Submission], list[str]]:
    """Each path as one submission, whatever it holds (`grade --one`: Gradescope's /autograder/submission, where an
    empty upload is graded too); named as find_submissions names them."""
    for path in paths:
        if not Path(path).exists():
            raise InputError(f"no such file or folder: {path}")
    warnings: list[str] = []
    found = [Submission(Path(p).stem if Path(p).suffix.lower() == ".zip" else Path(p).name, Path(p)) for p in paths]
    return _unique(found, warnings), warnings


def _submissions_at(path: Path, known_files: set[str], warnings: list[str]) -> list[Submission]:
    if not path.exists():
        raise InputError(f"no such file or folder: {path}")
    if path.is_dir():
        return _folder_submissions(path, known_files, warnings)
    if not path.is_file() or path.suffix.lower() != ".zip":
        given = f"a {path.suffix} file" if path.is_file() and path.suffix else "a file" if path.is_file() else \
            "neither a file nor a folder"
        raise InputError(f"{path}: a submission is a folder or a .zip file, but this is {given}; give the folder "
                         "that holds the submission's files, or a .zip of that folder.")
    _check_zip(path)
    return [Submission(path.stem, path)]


def _check_zip(path: Path) -> None:
    """Refuse a zip that cannot be read, is broken, or is a whole Gradescope export."""
    try:
        with open(path, "rb") as stream, zipfile.ZipFile(stream) as archive:
            names = archive.namelist()
    except PermissionError:
        raise _unreadable(path) from None
    except (OSError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path} is not a valid zip file ({exc}); download it again, or give the unzipped "
                         "folder instead.") from None
    if any(PurePosixPath(n).name == METADATA and len(PurePosixPath(n).parts) <= 2 for n in names):
        folder = shlex.quote(str(path.with_suffix("")))
        raise InputError(f"{path} is a Gradescope export (it holds {METADATA}): unzip it and grade the folder: "
                         f"unzip -q {shlex.quote(str(path))} -d {folder} && autograder grade {folder}")


def _unreadable(path: Path) -> InputError:
    return InputError(f"cannot read {path}: permission denied; make it readable (chmod -R u+rX "
                      f"{shlex.quote(str(path))}) or run the grader as its owner.")


def _children(path: Path) -> list[Path]:
    """The folder's entries, sorted, without the ones the grader always ignores."""
    try:
        return sorted(p for p in path.iterdir() if p.name not in IGNORED_PARTS)
    except PermissionError:
        raise _unreadable(path) from None


def _folder_submissions(path: Path, known_files: set[str], warnings: list[str]) -> list[Submission]:
    children = _children(path)
    export = _export_folder(path, children)
    if export is not None:
        return _export_submissions(export, warnings)
    if not _holds_any_file(path):
        raise InputError(f"{path} is an empty folder: it holds no files; give the folder that holds the "
                         "submission's files.")
    return _classify(path, children, known_files, warnings)


def _export_folder(path: Path, children: list[Path]) -> Path | None:
    """The Gradescope export this folder is, or wraps as its only entry (as unzipping an export gives)."""
    if (path / METADATA).is_file():
        return path
    if len(children) == 1 and children[0].is_dir() and (children[0] / METADATA).is_file():
        return children[0]
    return None


def _holds_any_file(path: Path) -> bool:
    for folder, folders, files in os.walk(path):
        folders[:] = [name for name in folders if name not in IGNORED_PARTS]
        if files or any(os.path.islink(os.path.join(folder, name)) for name in folders):
            return True
    return False


# -- a folder of students, or one student -----------------------------------------
def _classify(path: Path, children: list[Path], known_files: set[str], warnings: list[str]) -> list[Submission]:
    """One submission per child that holds work when the children look like students (they share a question
    file, or are zips) and the top level holds none; else the folder is one submission."""
    root = path.resolve()
    top = {c.name for c in children if c.name in known_files and _inside(root / c.name, root)}
    # Links to students' folders are the TA's own doing (as in examples/submissions); one student's links
    # out of their folder are not followed, as the grader does not follow them.
    work = {c: _child_work(c, known_files, follow=not top or not _leads_out(c, root)) for c in children}
    work = {c: held for c, held in work.items() if held is not None}
    zips = [c for c in work if c.is_file()]
    shared = sorted(name for name, n in Counter(n for held in work.values() for n in held).items() if n >= 2)
    bulk = len(work) >= 2 and (shared or len(zips) >= 2)
    if top and bulk:
        raise _ambiguous(path, top, shared, work)
    if bulk:
        return _bulk(path, children, work, warnings)
    folders = [c for c in children if c.is_dir()]
    only = next(iter(work)) if len(work) == 1 else folders[0] if not work and len(folders) == 1 else None
    if not top and only is not None:  # e.g. an unzipped LMS download: one folder of zips
        return _wrapped(path, only, known_files, warnings)
    return [Submission(_own_name(path), path)]


def _bulk(path: Path, children: list[Path], work: dict[Path, set[str]], warnings: list[str]) -> list[Submission]:
    _warn_skipped(path, [c for c in children if c not in work], warnings)
    zips = [c for c in work if c.is_file()]
    warnings += [f"{c} is not a valid zip file ({reason}); it will be graded as failed unless you download it "
                 "again." for c in zips for reason in [_zip_problem(c)] if reason]
    return [Submission(c.stem if c in zips else c.name, c) for c in work]


def _wrapped(path: Path, only: Path, known_files: set[str], warnings: list[str]) -> list[Submission]:
    """The submissions of a folder whose work is all in one child: the child's students if it is a bulk folder
    (or export), else one submission named after the folder (the zip, when the work is a zip)."""
    if only.is_file():
        warnings.append(f"{path} holds no question files but one zip, {only.name}: graded the zip.")
        return [Submission(_own_name(path), only)]
    inner = [] if only.is_symlink() else _folder_submissions(only, known_files, warnings)
    if len(inner) > 1 or any(s.students for s in inner):
        return inner
    return [Submission(_own_name(path), inner[0].source if inner and inner[0].source.is_file() else path)]


def _leads_out(child: Path, root: Path) -> bool:
    return child.is_symlink() and not child.resolve().is_relative_to(root)


def _child_work(child: Path, known_files: set[str], follow: bool) -> set[str] | None:
    """The known files a child holds if it holds work (a zip, or a folder with known files); else None."""
    if not follow:
        return None
    if child.is_file() and child.suffix.lower() == ".zip":
        return held_files(child, known_files)
    if child.is_dir():
        return _held_in_folder(child, known_files) or None
    return None


def _zip_problem(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path):
            return None
    except (OSError, zipfile.BadZipFile) as exc:
        return str(exc)


def _ambiguous(path: Path, top: set[str], shared: list[str], work: dict[Path, set[str]]) -> InputError:
    holders = [c for c, held in work.items() if held & set(shared) or c.is_file()]
    kind = "subfolders" if all(c.is_dir() for c in holders) else "zips" if all(c.is_file() for c in holders) \
        else "subfolders or zips"
    also = f"{_names(shared)} " if set(shared) - top else ""
    return InputError(f"{path} holds {_names(sorted(top))} at its top and {also}in {len(holders)} {kind} "
                      f"({_listing(holders)}): to grade each of those as a student, move the top-level files "
                      f"into a folder of their own; to grade one submission alone, give its path "
                      f"(e.g. autograder grade {shlex.quote(str(holders[0]))}).")


def _warn_skipped(path: Path, skipped: list[Path], warnings: list[str]) -> None:
    skipped = [c for c in skipped if not c.name.startswith(".")]
    if skipped:
        entries = "entry" if len(skipped) == 1 else "entries"
        warnings.append(f"{path}: skipped {len(skipped)} {entries} holding no question files (not graded): "
                        f"{_listing(skipped)}.")


def _listing(paths: list[Path]) -> str:
    return _names([p.name + ("/" if p.is_dir() else "") for p in paths])


def _names(names: list[str]) -> str:
    return ", ".join(names[:SHOWN]) + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")


def _own_name(path: Path) -> str:
    """The folder's name as given (a link keeps its own name); "." and ".." by the folder they stand for."""
    return path.name if path.name not in ("", ".", "..") else path.resolve().name or "submission"


# -- Gradescope exports ------------------------------------------------------------
def _export_submissions(export: Path, warnings: list[str]) -> list[Submission]:
    """One submission per folder of a Gradescope "Export Submissions" folder, with its submitters."""
    metadata = _read_metadata(export / METADATA)
    folders = {c.name: c for c in _children(export) if c.is_dir()}
    missing = sorted(key for key in metadata if key not in folders)
    if missing:
        warnings.append(f"{export}: {len(missing)} submission(s) of {METADATA} have no folder and are not "
                        f"graded: {_names(missing)}.")
    unlisted = sorted(name for name in folders if name not in metadata)
    if unlisted:
        warnings.append(f"{export}: graded {len(unlisted)} folder(s) that {METADATA} does not list, without "
                        f"student details: {_names(unlisted)}.")
    return [Submission(name, folder, _students(metadata.get(name))) for name, folder in sorted(folders.items())]


def _read_metadata(path: Path) -> dict[str, object]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except PermissionError:
        raise _unreadable(path) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path} cannot be read as YAML ({reason}); export the submissions from "
                         "Gradescope again.") from None
    if not isinstance(data, dict):
        raise InputError(f"{path} is not a Gradescope submission list (expected a mapping of submission_ID "
                         "entries); export the submissions from Gradescope again.")
    return {str(key): value for key, value in data.items()}


def _students(entry: object) -> tuple[Student, ...]:
    if not isinstance(entry, dict):
        return ()
    submitters = entry.get(":submitters")
    when = _text(entry.get(":created_at"))
    return tuple(Student(_text(s.get(":name")), _text(s.get(":email")), _text(s.get(":sid")), when)
                 for s in (submitters if isinstance(submitters, list) else []) if isinstance(s, dict))


def _text(value: object) -> str:
    return "" if value is None else str(value)


# -- names ---------------------------------------------------------------------------
def safe_name(name: str) -> str:
    """A folder name: [A-Za-z0-9._-] kept, anything else "_"; never empty, "." or ".."."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    return name if name.strip(".") else name.replace(".", "_") or "submission"


def _unique(found: list[Submission], warnings: list[str]) -> list[Submission]:
    """Drop a source given twice; rename a repeated name -2, -3 (ignoring case, as some file systems do)."""
    taken: set[str] = set()
    sources: set[Path] = set()
    unique = []
    for submission in found:
        source = submission.source.resolve()
        if source in sources:
            warnings.append(f"{submission.source} was given twice; graded once.")
            continue
        sources.add(source)
        base = safe_name(submission.name)
        name, count = base, 1
        while name.casefold() in taken:
            count += 1
            name = f"{base}-{count}"
        taken.add(name.casefold())
        unique.append(Submission(name, submission.source, submission.students))
    return unique


# -- the assignment of a submission ----------------------------------------------
def _own(config, assignment: str) -> set[str]:
    return {f"{qid}.py" for qid in config.assignments[assignment].questions}


def _expected(config, assignment: str) -> set[str]:
    qids = config.with_compared(list(config.assignments[assignment].questions))
    return {f"{qid}.py" for qid in qids} | {name for qid in qids for name in config.questions[qid].checkpoints}


def assignment_for(held: set[str], config, source: Path | str | None = None) -> str | None:
    """The assignment a submission holding these files is graded out of; None when no file tells.

    Several candidates: the one whose files (with those its questions compare with) cover every held file.
    source: named in the AssignmentError message.
    """
    held = held & question_files(config)
    candidates = [a for a in config.assignments if _own(config, a) & held]
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    covering = [a for a in candidates if held <= _expected(config, a)]
    if len(covering) == 1:
        return covering[0]
    raise AssignmentError(f"{source or 'the submission'}: {_pointers(held, config, candidates)}; give "
                          f"--assignment NAME (one of: {', '.join(candidates)}).")


def _pointers(held: set[str], config, candidates: list[str]) -> str:
    """ "q1_conv.py points at layers; q6_lenet.py, lenet.pt point at lenet": files by the assignment owning them."""
    parts = []
    for assignment in candidates:
        owned = sorted(held & _owned_with_checkpoints(config, assignment), key=lambda n: (n.endswith(".pt"), n))
        parts.append(f"{', '.join(owned)} {'points' if len(owned) == 1 else 'point'} at {assignment}")
    return "; ".join(parts)


def _owned_with_checkpoints(config, assignment: str) -> set[str]:
    questions = config.assignments[assignment].questions
    return _own(config, assignment) | {name for q in questions.values() for name in q.checkpoints}
