"""Reference checkpoints trained in the background: progress, the files it leaves, stopping, failing."""
from __future__ import annotations

import contextlib
import dataclasses
import io
import re
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from autograder.course.config import DEFAULT_CONFIG, load_config
from autograder.models import references
from autograder.models.background_training import BAR, BackgroundTraining, EpochBar, Progress, TrainingFailed
from autograder.models.reference_manifest import data_fingerprint, stale_references
from autograder.course.registry import load_registry

MODELS = ["lenet", "simple_nn"]  # never efficientnet here: minutes on a CPU


def tiny_config(folder: Path, train_size: int = 200, seed: int = 0, name: str = "grading.yml") -> Path:
    """grading.yml with a small synthetic dataset, on the CPU."""
    settings = yaml.safe_load(DEFAULT_CONFIG.read_text())
    settings["device"] = "cpu"
    settings["data"]["synthetic"] = {"train_size": train_size, "test_size": 100, "seed": seed}
    path = folder / name
    path.write_text(yaml.safe_dump(settings))
    return path


def leftovers(solutions: Path) -> list[str]:
    """Checkpoints and half-written files in the folder."""
    return sorted(p.name for p in solutions.iterdir() if p.suffix in (".pt", ".partial"))


def until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z" if Path(f"/proc/{pid}").exists() else False


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Both small models trained for 2 epochs in the background; what it printed, and its state before."""
    folder = tmp_path_factory.mktemp("reference")
    config_path, solutions = tiny_config(folder), folder / "solutions"
    config = load_config(config_path)
    before = stale_references(config, MODELS, solutions)
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), BackgroundTraining(config_path, MODELS, solutions, epochs=2) as training:
        until(lambda: training.records, 60)
        seen_before_wait = list(training.records)
        training.wait()
    return training, config, solutions, before, seen_before_wait, stderr.getvalue()


def test_progress_arrives_and_the_checkpoints_are_written(trained):
    training, config, solutions, _, seen_before_wait, stderr = trained
    assert seen_before_wait, "the reader thread records progress before wait()"
    assert training.done()
    epochs = [(r["model"], r["epoch"], r["epochs"]) for r in training.records if "epoch" in r]
    assert epochs == [(m, k, 2) for m in MODELS for k in (1, 2)]
    assert [r["model"] for r in training.records if r.get("done")] == MODELS
    assert all(r["seconds"] >= 0 and 0 <= r["accuracy"] <= 1 for r in training.records if "epoch" in r)
    manifest = json.loads((solutions / "checkpoints.json").read_text())
    for name in MODELS:
        state = torch.load(solutions / f"{name}.pt", weights_only=True)
        assert state.keys() == load_registry().model(name).build().state_dict().keys()
        assert manifest[name] | data_fingerprint(config) == manifest[name]
        assert manifest[name]["epochs"] == 2 and manifest[name]["seed"] == 0
    assert leftovers(solutions) == ["lenet.pt", "simple_nn.pt"]
    assert "wrote" in (solutions / "training.log").read_text(), "stray stdout goes to the log, not the protocol"


def test_the_terminal_is_told_what_is_trained_and_how_far(trained):
    stderr = trained[-1]
    first, *rest = stderr.splitlines()
    assert first.startswith("training the reference checkpoints for the examples in the background (lenet 2 "
                            "epochs, simple_nn 2; once: cached in ")
    finished = [line for line in rest if line.endswith("% test accuracy]")]  # off a terminal: a line a model...
    assert [line.split(" [")[0] for line in finished] == ["reference lenet: 2/2 epochs", "reference simple_nn: 2/2 epochs"]
    during = [line for line in rest if line not in finished]  # ...and one per epoch seen before it ends
    assert all(re.fullmatch(r"reference (lenet|simple_nn): 1/2 epochs \[\S+<\S+\]", line) for line in during), during


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_bar_counts_down_from_the_mean_epoch():
    progress = Progress(epochs=15, done_epochs=3, started=0.0, first=15.0, last=45.0, first_seconds=14.0)
    assert progress.clock(50.0) == "00:50<02:55"  # 12 epochs of 15 s, 5 s of the next one gone
    assert Progress(epochs=15, done_epochs=1, started=0.0, first=20.0, last=20.0, first_seconds=14.0).clock(
        20.0) == "00:20<03:16"  # after one epoch: its training time, as the child measured it
    assert Progress(epochs=15, started=0.0).clock(9.0) == "00:09<?"
    screen = Terminal()
    with EpochBar(total=15, initial=3, desc="reference efficientnet", bar_format=BAR, file=screen,
                  clock=progress.clock(50.0), ncols=80):
        pass
    assert "reference efficientnet:  20%|" in screen.getvalue() and "| 3/15 epochs [00:50<02:55]" in screen.getvalue()


def test_stale_references_are_missing_or_trained_on_other_data(trained, tmp_path):
    _, config, solutions, before, _, _ = trained
    assert before == MODELS
    assert stale_references(config, MODELS, solutions) == []
    assert stale_references(load_config(tiny_config(tmp_path, seed=1)), MODELS, solutions) == MODELS
    assert stale_references(config, MODELS, tmp_path) == MODELS


def test_stop_in_the_middle_leaves_nothing_behind(tmp_path):
    solutions = tmp_path / "solutions"
    training = BackgroundTraining(tiny_config(tmp_path, train_size=300), ["lenet"], solutions, epochs=200)
    pid = training._process.pid
    assert until(lambda: training.records, 60), (solutions / "training.log").read_text()
    started = time.monotonic()
    training.stop()
    assert time.monotonic() - started < 2
    assert training.done() and gone(pid)
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)  # nothing of its process group is left
    assert leftovers(solutions) == [] and not (solutions / "checkpoints.json").exists()
    with pytest.raises(TrainingFailed, match=r"^training the reference lenet failed \(stopped\)"):
        training.wait()


def test_an_unreadable_config_fails_with_one_line_naming_the_model(tmp_path):
    with BackgroundTraining(tmp_path / "missing.yml", ["simple_nn"], tmp_path / "solutions") as training:
        with pytest.raises(TrainingFailed) as failed:
            training.wait()
    message = str(failed.value)
    assert "\n" not in message
    assert message.startswith("training the reference simple_nn failed (exit status 1); ")
    assert "missing.yml: cannot read it" in message and "training.log ends: " in message


def test_an_unknown_model_fails_after_the_ones_before_it(tmp_path):
    solutions = tmp_path / "solutions"
    with BackgroundTraining(tiny_config(tmp_path), ["lenet", "resnet"], solutions, epochs=1) as training:
        with pytest.raises(TrainingFailed, match=r"^training the reference resnet failed \(exit status 1\); .*"
                                                 r"no recipe for a model 'resnet'"):
            training.wait()
    assert leftovers(solutions) == ["lenet.pt"]


def test_nothing_to_train_starts_nothing(tmp_path, capsys):
    training = BackgroundTraining(tmp_path / "grading.yml", [], tmp_path / "solutions")
    assert training.done()
    training.wait()
    training.stop()
    assert capsys.readouterr().err == "" and not (tmp_path / "solutions").exists()


def niceness(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])
    except (OSError, IndexError):
        return None


@pytest.mark.skipif(sys.platform != "linux", reason="the kernel's parent-death signal")
def test_the_child_dies_with_the_grader(tmp_path):
    config_path, solutions = tiny_config(tmp_path), tmp_path / "solutions"
    grader = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path\n"
         "from autograder.models.background_training import BackgroundTraining\n"
         f"t = BackgroundTraining(Path({str(config_path)!r}), ['lenet'], Path({str(solutions)!r}), epochs=200)\n"
         "print(t._process.pid, flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    child = int(grader.stdout.readline())
    assert until(lambda: niceness(child) == 10, 10)  # die_with_parent comes next, before torch is imported
    time.sleep(0.2)
    grader.send_signal(signal.SIGKILL)
    grader.wait()
    assert until(lambda: gone(child), 1), "the child outlived the grader"  # not a second later, at a broken pipe


def test_ensure_reference_checkpoints_trains_only_the_stale_ones(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(references, "SOLUTIONS", tmp_path)
    simple_nn = load_registry().models["simple_nn"]
    monkeypatch.setitem(load_registry().models, "simple_nn",
                        dataclasses.replace(simple_nn, recipe=dataclasses.replace(simple_nn.recipe, epochs=1)))
    config = load_config(tiny_config(tmp_path))
    references.ensure_reference_checkpoints(config, ["simple_nn"], torch.device("cpu"))
    assert (tmp_path / "simple_nn.pt").exists() and stale_references(config, ["simple_nn"], tmp_path) == []
    written = (tmp_path / "simple_nn.pt").stat().st_mtime_ns
    references.ensure_reference_checkpoints(config, ["simple_nn"], torch.device("cpu"))
    assert (tmp_path / "simple_nn.pt").stat().st_mtime_ns == written
    assert capsys.readouterr().err.count("training the reference simple_nn") == 1
