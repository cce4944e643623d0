"""Releases: each assignment's zips are built and pass every check, and each check can fail."""
import json
import re
import shutil
import zipfile
from pathlib import Path

import pytest

from autograder.release import checks as release_checks
from autograder.cli import main
from autograder.course.config import DEFAULT_CONFIG, KIT_ROOT, load_config
from autograder.release.mutation import MutationReport, all_mutants, sample_mutants
from autograder.release.build import make_release
from autograder.release.contents import ReleaseError, plan

pytestmark = pytest.mark.slow

LAYERS = "layers"
OTHERS = [name for name in load_config().assignments if name != LAYERS]
OTHER_MUTANTS = 15  # fewer mutants per question for the other assignments, to keep this file's time down


@pytest.fixture(scope="session")
def layers(tmp_path_factory):
    """The release of the layers assignment with the Otter track: its folder, checks and printed report."""
    out = tmp_path_factory.mktemp("dist")
    printed: list[str] = []
    checks = make_release(LAYERS, out, DEFAULT_CONFIG, otter=True, say=printed.append)
    return out / LAYERS, checks, "\n".join(printed)


def names_in(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def test_the_layers_release_passes_every_check(layers):
    folder, checks, printed = layers
    assert all(check.ok for check in checks), printed
    assert {p.name for p in folder.iterdir()} >= {"student.zip", "autograder.zip", "solutions.zip", "otter"}
    expected = ["no solution code", "`pytest` on the stubs", "`pytest` with the reference dropped in",
                "the reference gets full marks", "the stubs get zero", "test power", "`otter run`"]
    for words in expected:
        assert any(words in check.name for check in checks), f"no check named like {words!r}:\n{printed}"


def test_the_student_zip_holds_stubs_statements_public_tests_and_the_kit(layers):
    folder, _, _ = layers
    names = names_in(folder / "student.zip")
    questions = list(load_config().assignments[LAYERS].questions)
    for qid in questions:
        assert f"{LAYERS}/{qid}.py" in names
        assert f"{LAYERS}/assignments/{qid}/test_public.py" in names
    for name in ("README.md", "requirements.txt", "pytest.ini", "conftest.py", "grading.yml",
                 "autograder/grading/plugin.py", "assignments/conftest.py"):
        assert f"{LAYERS}/{name}" in names
    assert not [n for n in names if "test_hidden" in n or n.endswith((".pt", "oracles.py", "master.py", "wrong_answers.yml"))
                or "solutions/" in n or "/alternatives/" in n]
    handout = zipfile.ZipFile(folder / "student.zip").read(f"{LAYERS}/README.md").decode()
    assert "```bash\npytest\n```" in handout
    assert all(f"## `{qid}.py`" in handout for qid in questions)


def test_the_autograder_zip_is_laid_out_for_gradescope(layers):
    folder, _, _ = layers
    archive = zipfile.ZipFile(folder / "autograder.zip")
    names = archive.namelist()
    assert {"setup.sh", "run_autograder", "kit/grading.yml", "kit/pyproject.toml"} <= set(names)
    assert "kit/assignments/q1_conv/test_hidden.py" in names
    assert archive.getinfo("run_autograder").external_attr >> 16 & 0o111
    assert "/autograder/results/results.json" in archive.read("run_autograder").decode()
    assert names_in(folder / "solutions.zip") == sorted(f"solutions/{q}.py" for q in load_config().assignments[LAYERS].questions)


def test_the_report_gives_the_mutation_score_of_every_question(layers):
    _, checks, printed = layers
    reports = [r for check in checks for r in check.power]
    assert sorted(r.question for r in reports) == sorted(load_config().assignments[LAYERS].questions)
    for report in reports:
        assert f"  {report.question}" in printed and "mutants killed" in printed
        assert not report.unkilled_tests and not report.failures.get("reference")
        assert 0 < len(report.tested) <= 40 and report.score >= 0.8, report.question
        for survivor in report.survivors:
            assert f"survivor {survivor.name}" in printed


def test_otter_gives_a_student_notebook_and_an_autograder_zip(layers):
    folder, checks, _ = layers
    otter = folder / "otter"
    assert (otter / "student" / f"{LAYERS}.ipynb").exists()
    assert list((otter / "autograder").glob("*.zip"))
    cells = json.loads((otter / "student" / f"{LAYERS}.ipynb").read_text())["cells"]
    assert any("".join(c["source"]).startswith("%%question q2_relu") for c in cells)
    assert not list((otter / "student" / "kit").rglob("test_hidden*.py"))


# -- every check can fail ------------------------------------------------------------------------------
def test_the_leak_scan_finds_solutions_hidden_tests_checkpoints_and_copied_code(layers, tmp_path):
    folder, _, _ = layers
    assert release_checks.leak_scan(folder / "student.zip") == []
    leaky = tmp_path / "student.zip"
    shutil.copy(folder / "student.zip", leaky)
    solution = (KIT_ROOT / "solutions" / "q8_output_size.py").read_text()
    body = solution[solution.index("    covered = dilation"):solution.index("    return room // stride + 1")]
    with zipfile.ZipFile(leaky, "a") as archive:
        archive.writestr("layers/notes.txt", solution)                                   # a renamed solution
        archive.writestr("layers/extra/test_more.py", (KIT_ROOT / "assignments/q2_relu/test_hidden.py").read_text())
        archive.writestr("layers/lenet.pt", b"weights")
        archive.writestr("layers/helpers.py", "def f(size, padding, stride, kernel_size, dilation):\n" + body)
    problems = "\n".join(release_checks.leak_scan(leaky))
    assert "notes.txt is a copy of solutions/q8_output_size.py" in problems
    assert "test_more.py is a copy of assignments/q2_relu/test_hidden.py" in problems
    assert "lenet.pt is a checkpoint" in problems
    assert "helpers.py holds solution code of assignments/q8_output_size/master.py" in problems


def test_a_stub_that_passes_or_fails_for_another_reason_is_reported():
    results = {"tests": [
        {"name": "a", "status": "failed", "max_score": 1,
         "output": "f(1) raised NotImplementedError: f: not implemented yet"},
        {"name": "b", "status": "failed", "max_score": 1, "output": "lenet.pt was not found in your submission: save it"},
        {"name": "c", "status": "passed", "max_score": 1, "output": ""},
        {"name": "d", "status": "failed", "max_score": 1, "output": "f(1) raised ZeroDivisionError"},
        {"name": "Grading sandbox (staff only)", "output": "sandbox level: namespaces", "visibility": "hidden"}]}
    assert [line.split(":")[0] for line in release_checks.failed_cleanly(results)] == ["c", "d"]
    assert release_checks.failed_cleanly({"tests": []}) == ["no test ran"]


def test_a_gradescope_run_that_loses_points_fails_the_check(layers, tmp_path):
    folder, _, _ = layers
    the_plan = plan(load_config(), DEFAULT_CONFIG, LAYERS)
    check = release_checks.check_gradescope(the_plan, folder / "autograder.zip", tmp_path, {}, full_marks=True)
    assert not check.ok and "the reference loses points" in check.problems[0]


def test_a_hidden_test_that_no_mutant_fails_fails_the_release(monkeypatch, tmp_path):
    the_plan = plan(load_config(), DEFAULT_CONFIG, LAYERS)
    mutants, total = sample_mutants("q2_relu", 3)
    weak = MutationReport("q2_relu", total, mutants, {mutants[0].name: ["test_a"]}, ["test_a", "test_b"], set())
    monkeypatch.setattr(release_checks, "measure_test_power", lambda *args: [weak])
    check = release_checks.check_power(the_plan, ["q2_relu"], tmp_path)
    assert not check.ok and "fail on no mutant of the reference" in check.problems[0] and "test_b" in check.problems[0]
    table = release_checks.power_table([weak])
    assert re.search(r"1 / 3 +mutants killed \(33%\)", table) and f"survivor {mutants[1].name}" in table


# -- mutants -----------------------------------------------------------------------------------------
def test_mutants_edit_only_solution_code_with_the_three_kinds_of_edit():
    mutants = all_mutants("q8_output_size")
    kinds = {m.change.split(":")[0] for m in mutants}
    assert {"constant + 1", "constant - 1", "swapped operator", "dropped argument"} <= kinds
    master = (KIT_ROOT / "assignments" / "q8_output_size" / "master.py").read_text().splitlines()
    inside = release_checks._significant  # noqa: SLF001 - the leak scan's notion of a code line
    for mutant in mutants:
        assert mutant.solution != (KIT_ROOT / "solutions" / "q8_output_size.py").read_text()
        assert inside(master[mutant.line - 1]), mutant.label()
        compile(mutant.solution, mutant.name, "exec")
    assert len({m.solution for m in mutants}) == len(mutants)


def test_the_sample_is_the_same_every_time_and_capped():
    first, total = sample_mutants("q1_conv", 40)
    again, _ = sample_mutants("q1_conv", 40)
    assert total > 40 and len(first) == 40 and [m.name for m in first] == [m.name for m in again]


# -- the other assignments, and the command ------------------------------------------------------------
@pytest.mark.parametrize("name", OTHERS)
def test_other_assignments_release_or_say_which_reference_checkpoint_to_train(name, tmp_path):
    the_plan = plan(load_config(), DEFAULT_CONFIG, name)
    missing = release_checks.missing_checkpoints(the_plan)
    if missing:
        with pytest.raises(ReleaseError, match="run `autograder train"):
            make_release(name, tmp_path, DEFAULT_CONFIG, say=lambda line: None, allow_synthetic_data=True)
        return
    printed: list[str] = []
    checks = make_release(name, tmp_path, DEFAULT_CONFIG, mutants=OTHER_MUTANTS, say=printed.append,
                          allow_synthetic_data=True)
    assert all(check.ok for check in checks), "\n".join(printed)


def test_checkpoints_graded_on_synthetic_images_are_not_released_unless_asked(monkeypatch, tmp_path, capsys):
    config = tmp_path / "grading.yml"
    config.write_text(re.sub(r"(?m)^  name: \w+", "  name: synthetic", DEFAULT_CONFIG.read_text()))
    for target in ("autograder.release.build.write_zip", "autograder.release.checks.missing_checkpoints"):
        monkeypatch.setattr(target, lambda *args, **kwargs: pytest.fail("the refusal built or checked something"))
    out = tmp_path / "dist"
    assert main(["release", "lenet", "--out", str(out), "--config", str(config)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "data.name is 'synthetic'" in error, error
    assert "data.name: cifar10" in error and "--allow-synthetic-data" in error
    assert not out.exists()


def test_the_command_names_the_assignments_when_given_an_unknown_one(capsys, tmp_path):
    assert main(["release", "nosuch", "--out", str(tmp_path)]) == 2
    assert "no assignment 'nosuch'" in capsys.readouterr().err
