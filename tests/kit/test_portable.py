"""The student's loop on macOS and Windows: the unzipped student.zip of `layers`, run with the Linux-only pieces
taken away (portable/sitecustomize.py), gives the same verdicts as the Linux worker."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from student_folder import unzipped_student_folder

from autograder.course.config import KIT_ROOT, load_config
from autograder.grading.environment import pytest_env

pytestmark = pytest.mark.slow

WITHOUT_LINUX = Path(__file__).parent / "portable"  # its sitecustomize.py hides resource, fork, setsid, /proc...
HANGS = "\n\ndef receptive_field(layers):\n    while True:\n        pass\n"
EXITS = "\n\ndef leaky_relu(x, negative_slope=0.01):\n    import os\n    os._exit(0)\n"


def student_folder(root: Path, name: str, solutions: list[str], appended: dict[str, str] = {}) -> Path:
    """The layers student folder as students unzip it, with the reference of these questions dropped in (the
    others keep their stubs), a 2 s limit per call, and some functions replaced by misbehaving ones."""
    (root / name).mkdir()
    folder = unzipped_student_folder(root / name)
    for qid in solutions:
        shutil.copy(KIT_ROOT / "solutions" / f"{qid}.py", folder / f"{qid}.py")
    for qid, code in appended.items():
        with open(folder / f"{qid}.py", "a") as module:
            module.write(code)
    settings = yaml.safe_load((folder / "grading.yml").read_text())
    settings["limits"]["call_seconds"] = 2
    (folder / "grading.yml").write_text(yaml.safe_dump(settings))
    return folder


def start(folder: Path, portable: bool) -> tuple[subprocess.Popen, Path]:
    """`pytest` in the folder, as a student runs it (portable: on a Python without Linux's pieces)."""
    results = folder.parent / f"results-{'portable' if portable else 'linux'}.json"
    env = pytest_env(("PYTHONPATH", "AUTOGRADER_WORKER"), **({"PYTHONPATH": str(WITHOUT_LINUX)} if portable else {}))
    process = subprocess.Popen([sys.executable, "-m", "pytest", "-q", f"--results={results}"], cwd=folder, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)
    return process, results


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory):
    """Per folder and path: {test name: (status, output)} and the sandbox reason, both paths run side by side."""
    root = tmp_path_factory.mktemp("student")
    layers = list(load_config().assignments["layers"].questions)
    folders = {"reference": student_folder(root, "reference", layers),
               "stubs and misbehaving": student_folder(root, "others", ["q2_relu", "q8_output_size"],
                                                       {"q8_output_size": HANGS, "q2_relu": EXITS})}
    found = {}
    for name, folder in folders.items():
        runs = {portable: start(folder, portable) for portable in (False, True)}
        for portable, (process, results) in runs.items():
            printed = process.communicate(timeout=600)[0]
            assert results.exists(), printed[-3000:]
            graded = json.loads(results.read_text())
            found[name, portable] = ({t["name"]: (t["status"], t["output"]) for t in graded["tests"] if "status" in t},
                                     graded["extra_data"]["sandbox"]["reason"])
    return found


@pytest.mark.parametrize("name", ["reference", "stubs and misbehaving"])
def test_the_portable_worker_gives_the_linux_verdicts(verdicts, name):
    linux, portable = verdicts[name, False][0], verdicts[name, True][0]
    assert {t: s for t, (s, _) in portable.items()} == {t: s for t, (s, _) in linux.items()}
    assert len(linux) > 50


def test_the_portable_run_really_had_no_linux_pieces(verdicts):
    assert verdicts["reference", True][1].startswith("the portable worker (this Python lacks resource, fork or /proc)")
    assert not verdicts["reference", False][1].startswith("the portable worker")


def test_the_reference_passes_and_the_stubs_fail_on_both_paths(verdicts):
    for portable in (False, True):
        assert all(status == "passed" for status, _ in verdicts["reference", portable][0].values())
        stubs = {name: (status, output) for name, (status, output) in verdicts["stubs and misbehaving", portable][0]
                 .items() if not name.startswith(("q2_relu", "q8_output_size"))}
        assert stubs and all(status == "failed" and "not implemented yet" in output for status, output in stubs.values())


def test_a_hang_and_an_exit_fail_only_their_tests_with_the_same_message(verdicts):
    for portable in (False, True):
        failed = {name: output for name, (status, output) in verdicts["stubs and misbehaving", portable][0].items()
                  if status == "failed" and name.startswith(("q2_relu", "q8_output_size"))}
        hangs = {n: o for n, o in failed.items() if n.startswith("q8_output_size")}
        exits = {n: o for n, o in failed.items() if n.startswith("q2_relu")}
        assert hangs and exits, failed.keys()
        assert all("did not finish within 2 s (the time limit per call)" in o for o in hangs.values()), hangs
        assert all("your code ended the process (exit status 0" in o for o in exits.values()), exits
