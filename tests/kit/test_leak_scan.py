"""The leak scan and what student.zip holds: no solution line, no answer-shaped module (no release is built)."""
import ast
import math
import types
from pathlib import Path, PurePosixPath

import pytest
import torch

from autograder.course.config import DEFAULT_CONFIG, KIT_ROOT, load_config
from autograder.course.generator import build
from autograder.release.contents import GRADER_ONLY, autograder_files, plan, student_files
from autograder.release.checks import distinctive, distinctive_solution_lines, scan_files
from autograder.course.registry import load_registry
from assignments.accuracy_checks import own_metrics

ASSIGNMENTS = list(load_config().assignments)
BOILERPLATE = ["return x", "pass", "import torch", ")", "]", "model.eval()", "super().__init__()",
               "with torch.no_grad():", "optimizer.zero_grad()", "x = torch.flatten(x, 1)",
               "for inputs, labels in loader:", "predictions, labels = [], []",
               'f"pixels padded by {padding} on each side")', "# total_loss / total_examples, a comment"]


def contents(files: dict) -> dict[str, bytes]:
    """A release's file listing (text or a path to copy) as the bytes its zip would hold."""
    return {name: value.read_bytes() if isinstance(value, Path) else value.encode() for name, value in files.items()}


def the_plan(name: str):
    return plan(load_config(), DEFAULT_CONFIG, name)


def reference_q6():
    module = types.ModuleType("q6_lenet")
    exec(build((KIT_ROOT / "assignments" / "q6_lenet" / "master.py").read_text(), sanitize=False), module.__dict__)
    return module


# -- the single-line rule ---------------------------------------------------------------------------
@pytest.mark.parametrize("line, master", [("return total_loss / total_examples", "q6_lenet"),
                                          ("flat = labels.long() * num_classes + predictions.long()", "q6_lenet"),
                                          ("count = -(-room // stride) + 1", "q3_max_pool")])
def test_one_distinctive_solution_line_in_a_shipped_file_is_flagged(line, master):
    # the line alone, indented and spaced otherwise, with a comment, among code of the file's own
    code = f"def helper(a, b):\n    print(a, b)\n        {line.replace(' ', '  ')}   # shortcut\n    return a\n"
    problems = scan_files({"lenet/tests/helpers.py": code.encode()})
    assert problems == [f"student.zip: lenet/tests/helpers.py holds a distinctive solution line of "
                        f"assignments/{master}/master.py: {(line.replace(' ', '  ') + '   # shortcut')!r}."]


@pytest.mark.parametrize("line", BOILERPLATE)
def test_boilerplate_is_not_a_distinctive_line_even_where_a_solution_has_it(line):
    assert not distinctive(line)
    assert scan_files({"lenet/tests/helpers.py": f"{line}\n".encode()}) == []


def test_distinctive_lines_come_from_solutions_and_not_from_stubs_or_statements():
    lines = distinctive_solution_lines()
    assert "returntotal_loss/total_examples" in lines
    assert all(len(line) >= 24 for line in lines)
    assert "super().__init__()" not in lines and "withtorch.no_grad():" not in lines


def test_a_grader_only_module_or_oracle_in_student_zip_is_flagged():
    problems = "\n".join(scan_files({"lenet/autograder/models/accuracy.py": b"# renamed\n",
                                     "lenet/assignments/q6_lenet/oracles.py": b"# emptied\n"}))
    assert "lenet/autograder/models/accuracy.py is a grader-only engine module" in problems
    assert "lenet/assignments/q6_lenet/oracles.py is a grader-only test oracle" in problems


# -- what the real zips hold --------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["layers", "lenet"])
def test_the_real_student_files_pass_the_leak_scan(name):
    assert scan_files(contents(student_files(the_plan(name)))) == []


def test_the_efficientnet_student_files_pass_the_leak_scan():
    assert scan_files(contents(student_files(the_plan("efficientnet")))) == []


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_answer_shaped_modules_ship_to_the_grader_only(name):
    student = {str(PurePosixPath(*PurePosixPath(n).parts[1:])) for n in student_files(the_plan(name))}
    grader = {n.removeprefix("kit/") for n in autograder_files(the_plan(name))}
    for module in GRADER_ONLY:
        path = f"autograder/{module.replace('.', '/')}.py"
        assert path not in student and path in grader
    assert not [n for n in student if PurePosixPath(n).name == "oracles.py"]
    if name == "lenet":
        assert "assignments/q6_lenet/oracles.py" in grader
    assert {"autograder/grading/plugin.py", "autograder/sandbox/worker.py", "autograder/__init__.py"} <= student
    assert not {"autograder/release/build.py", "autograder/release/mutation.py", "autograder/cli.py"} & student


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_what_student_zip_imports_when_loaded_is_in_it(name):
    files = {str(PurePosixPath(*PurePosixPath(n).parts[1:])): v for n, v in student_files(the_plan(name)).items()}
    for path, value in files.items():
        if not path.endswith(".py") or not isinstance(value, Path):
            continue
        for node in ast.parse(value.read_text()).body:  # imports run on loading; those inside functions may not
            if isinstance(node, ast.ImportFrom) and node.level:  # the library's and the question's own modules
                package = PurePosixPath(path).parents[node.level - 1]
                base = package.joinpath(*(node.module or "").split(".")) if node.module else package
                found = [f"{base}.py", *(f"{base}/{a.name}.py" for a in node.names), f"{base}/__init__.py"]
                assert any(n in files for n in found), f"{name}: {path} imports {'.' * node.level}{node.module or ''}"
                continue
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            for module in modules:
                first, *rest = module.split(".")
                if first == "autograder" and rest:
                    assert f"autograder/{'/'.join(rest)}.py" in files or f"autograder/{'/'.join(rest)}/__init__.py" \
                        in files, f"{name}: {path} imports {module}"
                elif first == "assignments":
                    assert f"{'/'.join([first, *rest])}.py" in files, f"{name}: {path} imports {module}"


# -- scoring checkpoints without the grader's metrics (student.zip) ------------------------------------
def test_every_registered_model_is_built_by_its_questions_stub_and_its_models_yml_ships():
    """The student's run builds each checkpoint's model with the student's own class (the registry's factory)."""
    for name, model in load_registry().models.items():
        stub = ast.parse((KIT_ROOT / "student_template" / f"{model.question}.py").read_text())
        assert model.factory in {n.name for n in stub.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}, name
    shipped = student_files(the_plan("efficientnet"))
    assert {"efficientnet/assignments/q6_lenet/models.yml", "efficientnet/assignments/q7_efficientnet/models.yml"} \
        <= set(shipped)


def test_a_local_run_scores_classes_with_the_students_own_metrics_once_they_work():
    from autograder.models import accuracy

    predictions, labels = torch.tensor([3, 1, 1, 9, 0, 0, 2]), torch.tensor([3, 1, 2, 9, 0, 5, 2])
    confusion, per_class, note = own_metrics(types.SimpleNamespace(q6_lenet=reference_q6()), predictions, labels)
    expected = accuracy.confusion_matrix(predictions.numpy(), labels.numpy(), 10)
    assert (confusion == expected).all() and "your own confusion_matrix" in note
    assert [a for a in per_class if not math.isnan(a)] == [a for a in accuracy.per_class_accuracy(expected)
                                                           if not math.isnan(a)]
    transposed = reference_q6()
    right = transposed.confusion_matrix
    transposed.confusion_matrix = lambda p, t, n: right(p, t, n).T
    assert own_metrics(types.SimpleNamespace(q6_lenet=transposed), predictions, labels)[:2] == (None, None)
