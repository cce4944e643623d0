"""Command-line paths to submissions: Gradescope exports, bulk folders, single submissions, and their assignment."""
from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from autograder.batches import inputs as batch_inputs
from autograder.batches.inputs import (AssignmentError, InputError, Student, Submission, assignment_for,
                                     find_submissions, held_files, question_files)
from autograder.course.config import DEFAULT_CONFIG, load_config

CONFIG = load_config(DEFAULT_CONFIG)
KNOWN = question_files(CONFIG)
METADATA = """\
submission_123456:
  :submitters:
  - :name: Alice Smith
    :sid: '1001'
    :email: alice@example.edu
  :created_at: 2026-11-20 14:03:12.123456000 -08:00
  :score: 0.0
submission_123457:
  :submitters:
  - :name: Bob Jones
    :sid: 1002
    :email: bob@example.edu
  - :name: Carol Wu
    :sid: '1003'
    :email: carol@example.edu
  :created_at: '2026-11-21 09:00:00 -08:00'
submission_123458:
  :submitters:
  - :name: Dan Gone
  :created_at: 2026-11-22 10:00:00.000000000 -08:00
"""


def write(path: Path, text: str = "x = 1\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def make_zip(path: Path, names: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(name, "x = 1\n")
    return path


def find(*paths: Path) -> tuple[list[Submission], list[str]]:
    return find_submissions(list(paths), KNOWN)


def summary(submissions: list[Submission]) -> list[tuple[str, str]]:
    return [(s.name, s.source.name) for s in submissions]


def test_question_files_are_every_question_and_checkpoint():
    assert {"q1_conv.py", "q8_output_size.py", "q6_lenet.py", "lenet.pt", "simple_nn.pt",
            "efficientnet.pt"} <= KNOWN
    assert len(KNOWN) == len(CONFIG.questions) + 3


# -- Gradescope exports ----------------------------------------------------------------
def gradescope_export(root: Path) -> Path:
    write(root / "submission_metadata.yml", METADATA)
    write(root / "submission_123456" / "q8_output_size.py")
    write(root / "submission_123457" / "hw" / "q8_output_size.py")
    write(root / "submission_999999" / "q8_output_size.py")  # not in the metadata
    return root


def test_a_gradescope_export_is_one_submission_per_folder_with_its_submitters(tmp_path):
    submissions, warnings = find(gradescope_export(tmp_path / "export"))
    assert [s.name for s in submissions] == ["submission_123456", "submission_123457", "submission_999999"]
    alice, group, unlisted = submissions
    assert alice.students == (Student("Alice Smith", "alice@example.edu", "1001", "2026-11-20 14:03:12.123456-08:00"),)
    assert [(s.name, s.sid, s.email) for s in group.students] == [
        ("Bob Jones", "1002", "bob@example.edu"), ("Carol Wu", "1003", "carol@example.edu")]
    assert {s.submitted_at for s in group.students} == {"2026-11-21 09:00:00 -08:00"}
    assert unlisted.students == ()
    assert any("submission_123458" in w and "no folder" in w for w in warnings)
    assert any("submission_999999" in w and "does not list" in w for w in warnings)


def test_a_folder_wrapping_an_export_as_unzip_gives_it_is_the_export(tmp_path):
    gradescope_export(tmp_path / "unzipped" / "assignment_1_export")
    submissions, _ = find(tmp_path / "unzipped")
    assert len(submissions) == 3 and submissions[0].students[0].name == "Alice Smith"


@pytest.mark.parametrize("text", ["- a\n- b\n", "just text\n"])
def test_metadata_that_is_not_a_mapping_is_an_input_error(tmp_path, text):
    write(tmp_path / "export" / "submission_metadata.yml", text)
    write(tmp_path / "export" / "submission_1" / "q8_output_size.py")
    with pytest.raises(InputError, match="submission_metadata.yml is not a Gradescope submission list"):
        find(tmp_path / "export")


# -- bulk folders ----------------------------------------------------------------------
def test_a_folder_of_cloned_repositories_is_one_submission_per_repository(tmp_path):
    for student in ("hw1-alice", "hw1-bob"):
        write(tmp_path / "classroom" / student / ".git" / "HEAD", "ref: refs/heads/main\n")
        write(tmp_path / "classroom" / student / "src" / "q8_output_size.py")
    write(tmp_path / "classroom" / "hw1-carol" / ".git" / "q8_output_size.py")  # only git's files: no work
    submissions, warnings = find(tmp_path / "classroom")
    assert summary(submissions) == [("hw1-alice", "hw1-alice"), ("hw1-bob", "hw1-bob")]
    assert warnings == [f"{tmp_path / 'classroom'}: skipped 1 entry holding no question files (not graded): "
                        "hw1-carol/."]


def test_an_lms_folder_of_zips_is_one_submission_per_zip(tmp_path):
    make_zip(tmp_path / "lms" / "alice_123.zip", ["hw1/q1_conv.py"])
    make_zip(tmp_path / "lms" / "bob_456.zip", ["q8_output_size.py"])
    write(tmp_path / "lms" / "index.html")
    submissions, warnings = find(tmp_path / "lms")
    assert summary(submissions) == [("alice_123", "alice_123.zip"), ("bob_456", "bob_456.zip")]
    assert len(warnings) == 1 and "index.html" in warnings[0]


def test_a_broken_zip_in_a_bulk_folder_is_graded_and_warned_about(tmp_path):
    make_zip(tmp_path / "lms" / "alice.zip", ["q1_conv.py"])
    write(tmp_path / "lms" / "bob.zip", "not a zip")
    submissions, warnings = find(tmp_path / "lms")
    assert [s.name for s in submissions] == ["alice", "bob"]
    assert any("bob.zip is not a valid zip file" in w for w in warnings)


def test_students_folders_sharing_a_file_are_never_one_submission(tmp_path):
    write(tmp_path / "class" / "alice" / "hw1" / "q8_output_size.py")
    write(tmp_path / "class" / "bob" / "q8_output_size.py")
    write(tmp_path / "class" / "bob" / "lenet.pt")
    write(tmp_path / "class" / "carol" / "notes.txt")
    submissions, warnings = find(tmp_path / "class")
    assert [s.name for s in submissions] == ["alice", "bob"]
    assert "carol/" in warnings[0]


def test_a_folder_of_links_to_students_folders_is_followed(tmp_path):
    for student in ("alice", "bob"):
        write(tmp_path / "store" / student / "q8_output_size.py")
        (tmp_path / "class" / student).parent.mkdir(exist_ok=True)
        (tmp_path / "class" / student).symlink_to(tmp_path / "store" / student, target_is_directory=True)
    submissions, _ = find(tmp_path / "class")
    assert summary(submissions) == [("alice", "alice"), ("bob", "bob")]


def test_a_folder_wrapping_a_bulk_folder_is_the_bulk_folder(tmp_path):
    for student in ("alice", "bob"):
        make_zip(tmp_path / "download" / "Assignment 1" / f"{student}.zip", ["q8_output_size.py"])
    write(tmp_path / "download" / "readme.html")
    submissions, _ = find(tmp_path / "download")
    assert summary(submissions) == [("alice", "alice.zip"), ("bob", "bob.zip")]


# -- one submission --------------------------------------------------------------------
@pytest.mark.parametrize("files", [
    ["hw1/q8_output_size.py"],                                       # nested once
    ["part1/q1_conv.py", "part2/q8_output_size.py"],                 # different questions in siblings
    ["q8_output_size.py", "old/q8_output_size.py"],                  # a copy in one subfolder
    ["q1_conv.py", "backup.zip"],                                    # a zip next to top-level files
    ["readme.txt", "src/notes.md"],                                   # files, none known
])
def test_a_single_submission_is_one_submission_named_after_its_folder(tmp_path, files):
    for name in files:
        write(tmp_path / "alice" / name)
    submissions, warnings = find(tmp_path / "alice")
    assert summary(submissions) == [("alice", "alice")] and warnings == []


def test_a_students_links_out_of_their_folder_do_not_make_it_a_bulk_folder(tmp_path):
    write(tmp_path / "alice" / "q8_output_size.py")
    for other in ("x", "y"):
        write(tmp_path / other / "q8_output_size.py")
        (tmp_path / "alice" / other).symlink_to(tmp_path / other, target_is_directory=True)
    submissions, _ = find(tmp_path / "alice")
    assert summary(submissions) == [("alice", "alice")]


def test_a_link_or_dot_given_is_named_as_given(tmp_path, monkeypatch):
    write(tmp_path / "alice" / "q8_output_size.py")
    (tmp_path / "perfect").symlink_to(tmp_path / "alice", target_is_directory=True)
    monkeypatch.chdir(tmp_path / "alice")
    submissions, _ = find(tmp_path / "perfect", Path("."))
    assert [s.name for s in submissions] == ["perfect"]  # "." is the same folder: graded once


def test_a_zip_given_directly_is_one_submission_named_after_its_stem(tmp_path):
    submissions, _ = find(make_zip(tmp_path / "alice.zip", ["deep/er/q8_output_size.py"]))
    assert summary(submissions) == [("alice", "alice.zip")]


def test_a_folder_holding_only_a_zip_grades_the_zip(tmp_path):
    make_zip(tmp_path / "alice" / "hw1.zip", ["q8_output_size.py"])
    submissions, warnings = find(tmp_path / "alice")
    assert summary(submissions) == [("alice", "hw1.zip")] and "graded the zip" in warnings[0]


@pytest.mark.parametrize("children, found", [
    (["alice/q8_output_size.py", "bob/hw1/q8_output_size.py"],
     "holds q8_output_size.py at its top and in 2 subfolders (alice/, bob/)"),
    (["alice/q1_conv.py", "bob/q1_conv.py", "carol/q1_conv.py", "dan/q1_conv.py"],
     "holds q8_output_size.py at its top and q1_conv.py in 4 subfolders (alice/, bob/, carol/ and 1 more)"),
    (["alice.zip", "bob.zip"], "holds q8_output_size.py at its top and in 2 zips (alice.zip, bob.zip)"),
])
def test_top_level_files_and_students_subfolders_are_ambiguous(tmp_path, children, found):
    write(tmp_path / "class" / "q8_output_size.py")
    for name in children:
        write(tmp_path / "class" / name)
    with pytest.raises(InputError) as caught:
        find(tmp_path / "class")
    message = str(caught.value)
    assert f"{tmp_path / 'class'} {found}:" in message and "\n" not in message
    assert "move the top-level files into a folder of their own" in message
    assert f"autograder grade {tmp_path / 'class' / Path(children[0]).parts[0]})" in message


# -- paths that cannot be graded ---------------------------------------------------------
def export_zip(tmp_path: Path) -> Path:
    return make_zip(tmp_path / "export.zip", ["export/submission_metadata.yml", "export/submission_1/q1_conv.py"])


@pytest.mark.parametrize("make, words", [
    (lambda tmp: tmp / "nope", ["no such file or folder: {tmp}/nope"]),
    (lambda tmp: write(tmp / "q8_output_size.py"), ["a submission is a folder or a .zip file", "this is a .py file"]),
    (lambda tmp: write(tmp / "alice.zip", "not a zip"),
     ["{tmp}/alice.zip is not a valid zip file (", "download it again, or give the unzipped folder"]),
    (lambda tmp: (tmp / "empty" / "sub").mkdir(parents=True) or tmp / "empty",
     ["{tmp}/empty is an empty folder: it holds no files"]),
    (export_zip, ["{tmp}/export.zip is a Gradescope export", "unzip -q {tmp}/export.zip -d {tmp}/export",
                  "autograder grade {tmp}/export"]),
])
def test_a_path_that_cannot_be_graded_is_a_one_line_input_error(tmp_path, make, words):
    with pytest.raises(InputError) as caught:
        find(make(tmp_path))
    message = str(caught.value)
    assert "\n" not in message
    for word in words:
        assert word.format(tmp=tmp_path) in message


def test_an_unreadable_folder_is_an_input_error(tmp_path):
    folder = write(tmp_path / "alice" / "q1_conv.py").parent
    folder.chmod(0)
    try:
        if os.access(folder, os.R_OK):
            pytest.skip("running as root: chmod 000 leaves the folder readable")
        with pytest.raises(InputError, match=f"cannot read {folder}: permission denied; make it readable"):
            find(folder)
    finally:
        folder.chmod(0o755)


@pytest.mark.parametrize("target", ["Path.iterdir", "open"])
def test_permission_denied_is_an_input_error_even_as_root(tmp_path, monkeypatch, target):
    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")
    if target == "open":
        monkeypatch.setattr(batch_inputs, "open", denied, raising=False)
        path = make_zip(tmp_path / "alice.zip", ["q1_conv.py"])
    else:
        monkeypatch.setattr(Path, "iterdir", denied)
        path = write(tmp_path / "alice" / "q1_conv.py").parent
    with pytest.raises(InputError, match=f"cannot read {path}: permission denied; make it readable"):
        find(path)


# -- names -------------------------------------------------------------------------------
def test_names_are_unique_and_safe_across_paths(tmp_path):
    write(tmp_path / "a" / "alice smith" / "q1_conv.py")
    write(tmp_path / "b" / "alice smith" / "q1_conv.py")
    write(tmp_path / "c" / "Alice_Smith" / "q1_conv.py")
    make_zip(tmp_path / "d" / "José ü.zip", ["q1_conv.py"])
    write(tmp_path / "e" / "..." / "q1_conv.py")
    paths = [tmp_path / "a" / "alice smith", tmp_path / "b" / "alice smith", tmp_path / "c" / "Alice_Smith",
             tmp_path / "d" / "José ü.zip", tmp_path / "e" / "...", tmp_path / "a" / "alice smith"]
    submissions, warnings = find(*paths)
    assert [s.name for s in submissions] == ["alice_smith", "alice_smith-2", "Alice_Smith-3", "Jos___", "___"]
    assert warnings == [f"{paths[0]} was given twice; graded once."]


def test_names_stay_unique_across_bulk_folders(tmp_path):
    for section in ("s1", "s2"):
        for student in ("alice", "bob"):
            write(tmp_path / section / student / "q2_relu.py")
    submissions, _ = find(tmp_path / "s1", tmp_path / "s2")
    assert [s.name for s in submissions] == ["alice", "bob", "alice-2", "bob-2"]


# -- held files and the assignment -------------------------------------------------------------
def test_held_files_searches_any_depth_but_not_ignored_folders_or_links_out(tmp_path):
    write(tmp_path / "sub" / "deep" / "q1_conv.py")
    write(tmp_path / "sub" / "__MACOSX" / "q2_relu.py")
    write(tmp_path / "sub" / ".git" / "q3_max_pool.py")
    write(tmp_path / "outside" / "q5_linear.py")
    (tmp_path / "sub" / "q5_linear.py").symlink_to(tmp_path / "outside" / "q5_linear.py")
    (tmp_path / "sub" / "linked").symlink_to(tmp_path / "outside", target_is_directory=True)
    assert held_files(tmp_path / "sub", KNOWN) == {"q1_conv.py"}
    archive = make_zip(tmp_path / "s.zip", ["a/q1_conv.py", "__MACOSX/a/q2_relu.py", "notes.txt", "b/lenet.pt/"])
    assert held_files(archive, KNOWN) == {"q1_conv.py"}


@pytest.mark.parametrize("held, assignment", [
    ({"q1_conv.py", "q8_output_size.py"}, "layers"),
    ({"q6_lenet.py", "lenet.pt", "simple_nn.pt"}, "lenet"),
    ({"q6_lenet.py", "q7_efficientnet.py", "lenet.pt", "efficientnet.pt"}, "efficientnet"),
    ({"notes.txt"}, None),
    (set(), None),
])
def test_the_assignment_is_the_one_the_files_belong_to(held, assignment):
    assert assignment_for(held, CONFIG) == assignment


@pytest.mark.parametrize("held, pointers, choices", [
    ({"q1_conv.py", "q6_lenet.py", "lenet.pt"}, "q1_conv.py points at layers; q6_lenet.py, lenet.pt point at lenet",
     "layers, lenet"),
    ({"q2_relu.py", "q6_lenet.py", "q7_efficientnet.py"},
     "q2_relu.py points at layers; q6_lenet.py points at lenet; q7_efficientnet.py points at efficientnet",
     "layers, lenet, efficientnet"),
])
def test_files_of_several_assignments_ask_for_assignment(held, pointers, choices):
    with pytest.raises(AssignmentError) as caught:
        assignment_for(held, CONFIG, source="subs/alice")
    assert str(caught.value) == f"subs/alice: {pointers}; give --assignment NAME (one of: {choices})."
