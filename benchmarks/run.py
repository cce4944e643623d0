"""Grading speed: medians over repeated runs, and warm/cold (and kit/Otter) ratios measured side by side.

    python benchmarks/run.py           # every figure, a few minutes on 2 cores
    python benchmarks/run.py --quick   # small counts (CI: checks that it runs, not how fast)
    python benchmarks/run.py --only cluster   # one section (sandbox, grading, cluster, student, otter, training)
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the kit this file belongs to, not an installed one

import torch  # noqa: E402

from autograder.release import checks as release_checks  # noqa: E402
from autograder.course.config import DEFAULT_CONFIG, KIT_ROOT, Limits, load_config
from autograder.grading.environment import pytest_env
from autograder.course.layout import question_test_files  # noqa: E402
from autograder.batches.grade import EXAMPLES, grade_batch  # noqa: E402
from autograder.sandbox.supervisor import Sandbox  # noqa: E402
from autograder.sandbox.zygote import ZYGOTE_ENV, Zygote  # noqa: E402
from otter_check import otter_run_seconds  # noqa: E402

PERFECT = EXAMPLES / "perfect"
ONE_TEST = "assignments/q8_output_size/test_public.py::test_conv_output_size_kernel_5_on_28_pixels_gives_24"
BEFORE_PORTABLE = "45b146a"  # the kit before the portable student path and its start-up work (2026-11-29)
TARGETS = {"no-op call (us)": 1000, "start-up per submission in a batch (s)": 0.5,
           "batch speed-up, warm vs one pytest each": 3.0, "speed-up per submission vs otter run": 1.0,
           "local Dask cluster (2 workers) vs --jobs 2, submissions/min": 0.9}


def report(name: str, values: list[float], unit: str) -> float:
    value = statistics.median(values)
    print(f"  {name:<58} {value:>10.3f} {unit:<6} (median of {len(values)})", flush=True)
    return value


def timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


# -- sandbox round trip ---------------------------------------------------------------
NOOP_MODULE = "def noop():\n    return None\n\ndef same(x):\n    return x\n"


def round_trips(calls: int, starts: int) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="bench-"))
    (folder / "bench_module.py").write_text(NOOP_MODULE)
    tensor, figures = torch.randn(1, 3, 32, 32), {}
    zygote = Zygote()
    try:
        for kind in ("cold", "warm"):
            if kind == "warm":
                os.environ[ZYGOTE_ENV] = zygote.path
            start_times, noop, carrying = [], [], []
            for _ in range(starts):
                sandbox = Sandbox({"bench_module.py": folder / "bench_module.py"}, Limits())
                start_times.append(timed(lambda: sandbox.request("import", "import", module="bench_module")))
                for _ in range(calls):
                    noop.append(timed(lambda: sandbox.request("call", "noop()", target="bench_module", attr="noop",
                                                              args=(), kwargs={})))
                    carrying.append(timed(lambda: sandbox.request("call", "same(x)", target="bench_module",
                                                                  attr="same", args=(tensor,), kwargs={})))
                sandbox.close()
            figures[f"worker start, {kind} (s)"] = report(f"worker start, {kind}", start_times, "s")
            figures[f"no-op call, {kind} worker (us)"] = report(f"no-op call, {kind} worker", [t * 1e6 for t in noop], "us")
            report(f"call carrying a 1x3x32x32 tensor, {kind} worker", [t * 1e6 for t in carrying], "us")
    finally:
        os.environ.pop(ZYGOTE_ENV, None)
        zygote.close()
        shutil.rmtree(folder)
    figures["no-op call (us)"] = figures["no-op call, warm worker (us)"]
    return figures


# -- grading ----------------------------------------------------------------------------
def grade_copies(copies: int, questions: list[str], tests: list[str] | None, warm: bool) -> float:
    """Seconds to grade `copies` copies of the perfect example, 2 jobs, in a fresh folder."""
    config = load_config(DEFAULT_CONFIG)
    out = Path(tempfile.mkdtemp(prefix="bench-graded-"))
    try:
        sources = [PERFECT] * copies
        seconds = timed(lambda: grade_batch(sources, out, config, DEFAULT_CONFIG, questions, jobs=2, tests=tests,
                                            warm=warm))
        statuses = {(out / name / "results.json").exists() for name in os.listdir(out) if (out / name).is_dir()}
        assert statuses == {True}, "a submission got no results"
    finally:
        shutil.rmtree(out)
    return seconds


def submissions(args, questions_landed: list[str]) -> dict:
    """End to end and start-up of one submission; batches warm and cold, side by side."""
    figures = {}
    if not args.quick:
        for kind in ("cold", "warm"):
            values = [grade_copies(1, questions_landed, None, kind == "warm") for _ in range(args.full_repeats)]
            report(f"perfect example, all {len(questions_landed)} questions, {kind}, end to end", values, "s")
    one = [str(KIT_ROOT / ONE_TEST)]
    for kind in () if args.quick else ("cold", "warm, alone (servers started for it)"):
        values = [grade_copies(1, ["q8_output_size"], one, kind != "cold") for _ in range(args.repeats)]
        report(f"start-up (a submission graded on one one-call test), {kind}", values, "s")
    per_submission = grade_copies(args.copies, ["q8_output_size"], one, True) / args.copies
    figures["start-up per submission in a batch (s)"] = report(
        f"start-up per submission in a batch of {args.copies}, warm, 2 jobs", [per_submission], "s")
    public_q8 = [str(p) for p in question_test_files(["q8_output_size"], ("public",))]
    warm = grade_copies(args.copies, ["q8_output_size"], public_q8, True)
    cold = grade_copies(args.cold_copies, ["q8_output_size"], public_q8, False)
    rate_warm, rate_cold = 60 * args.copies / warm, 60 * args.cold_copies / cold
    print(f"  batch of the perfect example on q8's public tests, 2 jobs: warm ({args.copies} copies) "
          f"{rate_warm:.1f}/min, one pytest each ({args.cold_copies} copies) {rate_cold:.1f}/min")
    figures["batch speed-up, warm vs one pytest each"] = report("batch speed-up, warm vs one pytest each",
                                                               [rate_warm / rate_cold], "x")
    figures["kit per submission, warm batch (s)"] = warm / args.copies
    return figures


BUILD_STUDENT_FOLDER = """
import sys, zipfile
from pathlib import Path
from autograder.release import build as release
from autograder.course.config import DEFAULT_CONFIG, load_config
plan = release.plan(load_config(DEFAULT_CONFIG), DEFAULT_CONFIG, "layers")
zipfile.ZipFile(release.write_zip(Path(sys.argv[1]) / "student.zip", release.student_files(plan))).extractall(sys.argv[1])
"""


# -- on a Dask cluster --------------------------------------------------------------------
def noop() -> None:
    return None


def on_a_cluster(args) -> dict:
    """Submissions per minute on a local Dask cluster against --jobs 2 on this machine (both from a cold start:
    servers, cluster), the dispatch overhead of a task, and 1 against 2 workers."""
    from distributed import Client

    from autograder.batches.inputs import Submission
    from autograder.batches.clusters import start_cluster
    from autograder.batches.dask_grading import DaskExecutor
    from autograder.batches.grade import Job, grade_work

    config = load_config(DEFAULT_CONFIG)
    copies = 2 if args.quick else args.copies
    public_q8 = [str(p) for p in question_test_files(["q8_output_size"], ("public",))]
    work = [Job(Submission(f"copy-{i}", PERFECT), ["q8_output_size"]) for i in range(copies)]

    def batch(executor=None) -> float:
        out = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
        try:
            return timed(lambda: grade_work(work, out, config, DEFAULT_CONFIG, jobs=2, tests=public_q8, figures=False,
                                            executor=executor))
        finally:
            shutil.rmtree(out)

    sizes = (2,) if args.quick else (2, 1)
    rates: dict[str, list[float]] = {"--jobs 2": [], "cluster, 2 workers": [],
                                     **({} if args.quick else {"cluster, 1 worker": []})}
    dispatch: list[float] = []
    for _ in range(args.repeats):
        rates["--jobs 2"].append(60 * copies / batch())
        for workers in sizes:
            started = time.perf_counter()
            with start_cluster("local", workers) as cluster, Client(cluster) as client:
                seconds = time.perf_counter() - started + batch(DaskExecutor(client, DEFAULT_CONFIG))
                rates[f"cluster, {workers} worker{'s' if workers > 1 else ''}"].append(60 * copies / seconds)
                if workers == 2:
                    dispatch += [timed(lambda: client.submit(noop, pure=False).result()) for _ in range(50)]
    medians = {name: report(f"{copies} submissions (q8 public tests), {name}, end to end", values, "/min")
               for name, values in rates.items()}
    report("dispatch overhead of one Dask task (submit to result, no-op)", [t * 1e3 for t in dispatch], "ms")
    ratio = medians["cluster, 2 workers"] / medians["--jobs 2"]
    print(f"  ratio cluster (2 workers) / --jobs 2: {ratio:.2f} (target >= 0.9)")
    if "cluster, 1 worker" in medians:
        print(f"  ratio 2 workers / 1 worker: {medians['cluster, 2 workers'] / medians['cluster, 1 worker']:.2f}")
    return {"local Dask cluster (2 workers) vs --jobs 2, submissions/min": ratio}


def student_folder(kit: Path, into: Path) -> Path:
    """The layers student folder that kit's own release code writes, with kit's reference solutions dropped in."""
    into.mkdir(parents=True)
    packages = os.pathsep.join(dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib")))
    subprocess.run([sys.executable, "-S", "-c", BUILD_STUDENT_FOLDER, str(into)], cwd=kit, check=True,
                   env=pytest_env(("PYTHONPATH",), PYTHONPATH=os.pathsep.join([str(kit), packages])))
    for solution in (kit / "solutions").glob("q*.py"):
        if (into / "layers" / solution.name).exists():
            shutil.copy(solution, into / "layers" / solution.name)
    return into / "layers"


def student_loop(args, config) -> float:
    """`pytest` in the unzipped layers student folder, as students type it, on the Linux and the portable worker;
    with --baseline, also the folder of that revision (a git worktree), the runs interleaved."""
    root = Path(tempfile.mkdtemp(prefix="bench-student-"))
    try:
        current = student_folder(KIT_ROOT, root / "current")
        runs = {"linux worker": (current, {}), "portable worker": (current, {"AUTOGRADER_WORKER": "portable"})}
        if args.baseline:
            worktree = root / "baseline-kit"
            subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(worktree), args.baseline],
                           cwd=KIT_ROOT, check=True)
            runs[f"{args.baseline} (before)"] = (student_folder(worktree, root / "baseline"), {})
        times: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.repeats):
            for name, (folder, extra) in runs.items():
                env = {**release_checks.student_env(), **extra}
                times[name].append(timed(lambda: subprocess.run([*release_checks.pytest_command(), "-q"], cwd=folder,
                                                                env=env, stdout=subprocess.DEVNULL, check=True)))
        medians = {name: report(f"student loop, layers public tests, {name}", values, "s")
                   for name, values in times.items()}
        if args.baseline:
            before = medians.pop(f"{args.baseline} (before)")
            for name, value in medians.items():
                print(f"  ratio {name} / before: {value / before:.2f} (target <= 0.5)")
        return medians["linux worker"]
    finally:
        if args.baseline:
            subprocess.run(["git", "worktree", "remove", "--force", str(root / "baseline-kit")], cwd=KIT_ROOT)
        shutil.rmtree(root, ignore_errors=True)


def otter_comparison(args, warm_per_submission: float) -> dict:
    """otter run against the kit on the same q8 checks: one cold process each, and the kit's warm batch."""
    otter = otter_run_seconds(PERFECT / "q8_output_size.py", args.repeats)
    if otter is None:
        return {}
    otter_median = report("otter run, q8 public checks (autograder zip, no Docker)", otter, "s")
    public_q8 = [str(p) for p in question_test_files(["q8_output_size"], ("public",))]
    cold = report("kit, q8 public tests, one cold pytest",
                  [grade_copies(1, ["q8_output_size"], public_q8, False) for _ in range(args.repeats)], "s")
    print(f"  kit, q8 public tests, per submission in the warm batch above: {warm_per_submission:.3f} s")
    print(f"  ratio otter run / kit: {otter_median / cold:.2f}x (cold, one process each), "
          f"{otter_median / warm_per_submission:.2f}x (kit's warm batch)")
    return {"speed-up per submission vs otter run": otter_median / warm_per_submission}


def training(args, config) -> None:
    from autograder.models.data import load
    from autograder.course.registry import load_registry
    from autograder.models.training import train
    train_set, test_set = load(config.data, "train"), load(config.data, "test")
    if args.quick:
        train_set = dataclasses.replace(train_set, images=train_set.images[:512], labels=train_set.labels[:512])
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        lenet = load_registry().model("lenet")
        history = train(lenet.build(), lenet.recipe, train_set, test_set, 1 if args.quick else 2, torch.device(device),
                        progress=False)
        report(f"LeNet training, {len(train_set)} synthetic images, {device} (data on {device})",
               history.seconds, "s/epoch")
    if len(devices) == 1:
        print("  (no CUDA device here: GPU training not measured)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts, no target checks (CI)")
    parser.add_argument("--repeats", type=int, help="runs per median (default 3, quick 1)")
    parser.add_argument("--full-repeats", type=int, default=1,
                        help="runs per median of the whole perfect example (default 1: about a minute each)")
    parser.add_argument("--copies", type=int, help="submissions in the warm batches (default 50, quick 2)")
    parser.add_argument("--cold-copies", type=int, help="submissions in the cold batch (default 10, quick 1)")
    parser.add_argument("--baseline", default=None if "--quick" in (argv or sys.argv) else BEFORE_PORTABLE,
                        help=f"also time the student loop of this git revision (default {BEFORE_PORTABLE}, the kit "
                             "before the portable worker; none with --quick)")
    parser.add_argument("--only", nargs="+", choices=("sandbox", "grading", "cluster", "student", "otter", "training"),
                        help="run only these sections (default: all)")
    args = parser.parse_args(argv)
    args.repeats = args.repeats or (1 if args.quick else 3)
    args.copies = args.copies or (2 if args.quick else 50)
    args.cold_copies = args.cold_copies or (1 if args.quick else 10)
    config = load_config(DEFAULT_CONFIG)
    landed = [q for q in config.questions if (KIT_ROOT / "solutions" / f"{q}.py").exists()]
    load = os.getloadavg()
    print(f"{os.cpu_count()} CPUs, load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, torch {torch.__version__}",
          flush=True)
    if not args.quick:  # the perfect example links to solutions/: train its checkpoints once, before timing
        from autograder.models.devices import resolve_device
        from autograder.models.references import ensure_reference_checkpoints
        ensure_reference_checkpoints(config, config.checkpoint_models(landed), resolve_device(config.device))
    figures = {}

    def otter() -> None:  # compared with the warm batch of the grading section
        if "kit per submission, warm batch (s)" not in figures:
            figures.update(submissions(args, landed))
        figures.update(otter_comparison(args, figures["kit per submission, warm batch (s)"]))

    sections = {
        "sandbox": lambda: figures.update(round_trips(20 if args.quick else 300, 1 if args.quick else 3)),
        "grading": lambda: figures.update(submissions(args, landed)),
        "cluster": lambda: figures.update(on_a_cluster(args)),
        "student": lambda: student_loop(args, config),
        "otter": otter,
        "training": lambda: training(args, config),
    }
    for name in args.only or sections:
        print(name)
        sections[name]()
    if not args.quick:
        print("targets")
        for name, target in TARGETS.items():
            if name in figures:
                below = name.endswith("(us)") or name.endswith("(s)")
                met = figures[name] < target if below else figures[name] >= target
                print(f"  {name:<58} {figures[name]:>10.3f} target {'<' if below else '>='} {target:g}: "
                      f"{'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
