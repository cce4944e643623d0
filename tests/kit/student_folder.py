"""The kit tests' student folder: an assignment's student.zip, written by the release's own code and unzipped."""
import zipfile
from pathlib import Path

from autograder.course.config import DEFAULT_CONFIG, load_config
from autograder.release.contents import plan, student_files, write_zip


def unzipped_student_folder(into: Path, assignment: str = "layers") -> Path:
    """student.zip of the assignment, unzipped into `into`; returns the folder students work in."""
    files = student_files(plan(load_config(DEFAULT_CONFIG), DEFAULT_CONFIG, assignment))
    with zipfile.ZipFile(write_zip(into / "student.zip", files)) as archive:
        archive.extractall(into)
    return into / assignment
