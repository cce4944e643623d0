"""What `pytest` shows in an unzipped student folder: short failures, no kit internals, public points only."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from student_folder import unzipped_student_folder

from autograder.sandbox import errors
from autograder.course.config import KIT_ROOT, load_config
from autograder.course.layout import question_test_files
from autograder.grading.plugin import clip, failure_key, repeat_line
from autograder.release.contents import STUDENT_ENGINE, kit_files
from autograder.release.checks import pytest_command, student_env

LAYERS = "layers"
MOST_LINES_PER_FAILURE = 16           # the heading, the message with its failing input, what the code printed
HEADING = re.compile(r"^_+ (.+) _+$")  # pytest's line above each failure
# A realistic wrong answer: the reference of q8 with the kernel's extent off by one, and a print to show.
RIGHT_FORMULA = "    covered = dilation * (kernel_size - 1) + 1\n"
WRONG_FORMULA = ("    covered = dilation * (kernel_size - 1)\n"
                 "    print(f'conv_output_size: the kernel covers {covered} pixels')\n")


@pytest.fixture(scope="module")
def student_folder(tmp_path_factory) -> Path:
    """The unzipped layers student.zip."""
    return unzipped_student_folder(tmp_path_factory.mktemp("student"), LAYERS)


def run_pytest(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """`pytest ARGS` in the folder, as a student types it."""
    return subprocess.run([*pytest_command(), *args], cwd=folder, env=student_env(), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture(scope="module")
def stubs_run(student_folder) -> subprocess.CompletedProcess:
    """`pytest` on the untouched stubs: the public tests of every layers question."""
    return run_pytest(student_folder)


@pytest.fixture(scope="module")
def wrong_answer(student_folder, tmp_path_factory) -> Path:
    """The student folder with the wrong answer to q8, and q8's hidden tests: the public ones use no Hypothesis,
    and a falsifying example must show as a student would see it in a public test."""
    folder = shutil.copytree(student_folder, tmp_path_factory.mktemp("wrong") / LAYERS)
    for name, path in kit_files(question_test_files(["q8_output_size"], ("hidden",)), STUDENT_ENGINE).items():
        if name.startswith("assignments/") and not (folder / name).exists():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, folder / name)
    reference = (KIT_ROOT / "solutions" / "q8_output_size.py").read_text()
    assert reference.count(RIGHT_FORMULA) == 1, "the q8 reference changed: update RIGHT_FORMULA"
    (folder / "q8_output_size.py").write_text(reference.replace(RIGHT_FORMULA, WRONG_FORMULA))
    return folder


@pytest.fixture(scope="module")
def wrong_answer_run(wrong_answer) -> subprocess.CompletedProcess:
    """`pytest` on q8's public and hidden tests with the wrong answer."""
    return run_pytest(wrong_answer, "assignments/q8_output_size/test_public.py",
                      "assignments/q8_output_size/test_hidden.py")


def failures(output: str) -> dict[str, list[str]]:
    """The FAILURES section's lines, by the test they are about."""
    section = output.split(" FAILURES ")[1].split("\n=")[0]
    blocks: dict[str, list[str]] = {}
    for line in section.splitlines()[1:]:
        heading = HEADING.match(line)
        if heading:
            current = blocks.setdefault(heading.group(1), [])
        else:
            current.append(line)
    return blocks


def assert_no_kit_internals(output: str) -> None:
    assert "autograder/" not in output
    assert not re.search(r"^\s*def test_", output, re.MULTILINE)
    assert "Traceback" not in output and "grade of" not in output


# -- the stubs -----------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_the_stubs_fail_on_a_few_screens_with_one_line_per_repeated_failure(stubs_run):
    output = stubs_run.stdout
    assert stubs_run.returncode == 1, output[-3000:]
    assert len(output.splitlines()) < 250, output  # 5,169 lines before student mode
    blocks = failures(output)
    public_tests = sum(map(int, re.findall(r"public tests: +0\.00 of [\d.]+ points \(0 of (\d+) tests passed\)", output)))
    assert public_tests >= 70  # every public test of the layers questions, as the closing summary counts them
    assert len(blocks) == public_tests and all(len(lines) <= MOST_LINES_PER_FAILURE for lines in blocks.values())
    conv2d = [lines for name, lines in blocks.items() if name.startswith("test_conv2d_")]
    assert sum(len(lines) > 1 for lines in conv2d) == 1  # shown once in full, then one line per test
    assert blocks["test_conv2d_gradients_match_torch"] == [
        "Same error as test_conv2d_slide_example_gives_133_75_100_101 above: "
        "NotImplementedError: conv2d: not implemented yet; replace this line with your code"]
    assert "short test summary info" not in output
    assert_no_kit_internals(output)


@pytest.mark.slow
def test_the_stubs_summary_gives_public_points_and_says_hidden_tests_count(stubs_run):
    output = stubs_run.stdout
    assert re.search(r"^q1_conv +public tests:  0\.00 of 20 points \(0 of \d+ tests passed\)$", output, re.MULTILINE)
    points = sum(q.points for q in load_config().assignments[LAYERS].questions.values())
    assert re.search(rf"^total +public tests:  0\.00 of {points:g} points; hidden tests also count toward your grade$",
                     output, re.MULTILINE)


# -- a wrong answer ------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_wrong_answer_shows_the_sentence_the_failing_input_and_what_the_code_printed(wrong_answer_run):
    output = wrong_answer_run.stdout
    assert wrong_answer_run.returncode == 1, output[-3000:]
    blocks = failures(output)
    assert blocks["test_conv_output_size_kernel_5_on_28_pixels_gives_24"] == [
        "conv_output_size(28, 5): expected 24, got 25",
        "Your code printed (last call):",
        "  conv_output_size: the kernel covers 4 pixels"]
    hypothesis = "\n".join(blocks["test_conv_output_size_matches_conv2d"])
    assert re.search(r"^conv_output_size\(size=\d+, .*\): expected \d+, got \d+$", hypothesis, re.MULTILINE)
    assert re.search(r"^(Falsifying example|Failing test case): test_conv_output_size_matches_conv2d\($",
                     hypothesis, re.MULTILINE), hypothesis
    assert "dims=" in hypothesis and "  conv_output_size: the kernel covers" in hypothesis
    assert all(len(lines) <= MOST_LINES_PER_FAILURE for lines in blocks.values())
    assert any(re.fullmatch(r"\.\.\. \(\d+ lines cut\) \.\.\.", line) for lines in blocks.values() for line in lines)
    assert_no_kit_internals(output)


@pytest.mark.slow
def test_a_wrong_answers_summary_counts_the_public_tests_only(wrong_answer_run):
    output = wrong_answer_run.stdout
    assert re.search(r"^q8_output_size +public tests: +\d+\.\d\d of 10 points \((\d+) of 14 tests passed\)$",
                     output, re.MULTILINE), output[-2000:]
    assert "hidden tests also count toward your grade" in output


@pytest.mark.slow
def test_the_kits_own_mode_still_shows_the_traceback_and_the_grade(wrong_answer):
    run = run_pytest(wrong_answer, "--feedback=full", "assignments/q8_output_size/test_public.py",
                     "-k", "test_conv_output_size_kernel_5_on_28_pixels_gives_24")
    assert run.returncode == 1, run.stdout[-3000:]
    assert "def test_conv_output_size_kernel_5_on_28_pixels_gives_24(student):" in run.stdout
    assert "assignments/checks.py:" in run.stdout and "student output (last call)" in run.stdout
    assert "grade of ." in run.stdout


# -- the pieces ----------------------------------------------------------------------------------------------
def test_clip_cuts_the_middle_and_says_how_much():
    text = "\n".join(f"line {n}" for n in range(20))
    assert clip(text, 5, 100).splitlines() == ["line 0", "line 1", "line 2", "... (16 lines cut) ...", "line 19"]
    assert clip("x" * 1000, 5, 100) == "x" * 46 + " ... (931 characters cut) ... " + "x" * 23
    assert clip("short\ntext", 5, 100) == "short\ntext"


def test_a_student_error_behind_an_assertion_is_the_same_failure_whatever_the_call():
    def reported(call: str) -> AssertionError:
        try:
            raise errors.student_error(call, ["NotImplementedError"], "relu: not implemented yet", "line 7")
        except errors.StudentError:
            try:
                raise AssertionError(f"{call}: expected a tensor") from None
            except AssertionError as exc:
                return exc
    first, second = reported("relu(x)"), reported("relu(y)")
    assert failure_key(first, str(first)) == failure_key(second, str(second))
    assert failure_key(AssertionError("a"), "a") != failure_key(AssertionError("b"), "b")
    assert repeat_line("test_relu_a", second, str(second)) == \
        "Same error as test_relu_a above: NotImplementedError: relu: not implemented yet"
