"""The `autograder` command: build the generated files, grade submissions, train reference models."""
from __future__ import annotations

import argparse
import contextlib
import shlex
import sys
import time
from pathlib import Path

from autograder.course.config import DATASETS, DEFAULT_CONFIG, KIT_ROOT, ConfigError, load_config
from autograder.course.generator import generated_files, write_all
from autograder.course.markers import MarkerError
from autograder.course.layout import question_ids


def build(args) -> int:
    unknown = sorted(set(args.questions) - set(question_ids()))
    if unknown:
        print(f"error: no master file assignments/{unknown[0]}/master.py; masters: {', '.join(question_ids())}.",
              file=sys.stderr)
        return 2
    try:
        if args.check:
            stale = [p for p, text in generated_files(only=args.questions).items()
                     if not p.exists() or p.read_text() != text]
            for path in stale:
                print(f"out of date: {path.relative_to(KIT_ROOT)}")
            print("run `autograder build` and commit the result." if stale else "generated files are up to date.")
            return 1 if stale else 0
        changed = write_all(only=args.questions)
    except MarkerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in changed:
        print(f"wrote {path.relative_to(KIT_ROOT)}")
    print(f"{len(changed)} file(s) changed." if changed else "everything is up to date.")
    return 0


def grade(args) -> int:
    from autograder.batches.inputs import AssignmentError, InputError, find_submissions, one_each, question_files
    from autograder.batches.manifest import MANIFEST_NAME
    from autograder.batches.shards import ShardError, parse_shard, shard

    config = load_config(args.config)
    if args.jobs < 1:
        return fail(f"--jobs {args.jobs}: grade at least one submission at a time (e.g. --jobs 2).")
    if args.assignment and args.assignment not in config.assignments:
        return fail(f"no assignment {args.assignment!r} in {args.config}; choose from {', '.join(config.assignments)}.")
    if args.resume and not (args.out / MANIFEST_NAME).exists():
        return fail(f"nothing to resume in {args.out}/ (no {MANIFEST_NAME}); run without --resume.")
    if not args.submissions:
        return grade_examples(args, config)
    try:
        k, n = parse_shard(args.shard) if args.shard else (1, 1)
        if args.one:  # Gradescope's /autograder/submission: one student's upload, whatever it holds
            submissions, warnings = one_each([Path(s) for s in args.submissions])
        else:
            submissions, warnings = find_submissions([Path(s) for s in args.submissions], question_files(config))
        work = shard(plan_work(submissions, config, args.assignment), k, n)
    except (InputError, AssignmentError, ShardError) as exc:
        return fail(str(exc))
    if n > 1:
        print(f"slice {k} of {n}: {len(work)} submission(s)", file=sys.stderr)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return run_batch(args, config, work)


def plan_work(submissions, config, assignment: str | None):
    """Each submission with the assignment whose files it holds (or --assignment); a submission holding no
    question file takes the one assignment of the rest of the batch."""
    from autograder.batches.inputs import AssignmentError, assignment_for, held_files, question_files
    from autograder.batches.grade import Job

    known = question_files(config)
    chosen = {s.name: assignment or assignment_for(held_files(s.source, known), config, s.name) for s in submissions}
    found = set(chosen.values()) - {None}
    if None in chosen.values():
        if len(found) != 1 and len(config.assignments) != 1:
            name = next(n for n, a in chosen.items() if a is None)
            raise AssignmentError(f"{name} holds no question file, so its assignment is unknown; give --assignment "
                                  f"NAME (one of: {', '.join(config.assignments)}).")
        default = found.pop() if found else next(iter(config.assignments))
        chosen = {n: a or default for n, a in chosen.items()}
    return [Job(s, list(config.assignments[chosen[s.name]].questions), chosen[s.name]) for s in submissions]


def grade_examples(args, config) -> int:
    """The README's main job: the bundled examples, out of every question (they hold every question's files).
    The example that needs the reference checkpoints waits for their training, which runs while the others
    are graded."""
    from autograder.batches.inputs import Submission
    from autograder.batches.grade import Job, default_submissions
    from autograder.models.background_training import BackgroundTraining
    from autograder.course.layout import SOLUTIONS
    from autograder.models.reference_manifest import stale_references

    questions = list(config.questions)
    sources = default_submissions()
    work = [Job(Submission(path.name, path), questions) for path in sources]
    stale = stale_references(config, config.checkpoint_models(questions))
    if not stale:
        return run_batch(args, config, work)
    waiting = frozenset(p.name for p in sources if p.resolve() == SOLUTIONS.resolve())
    with BackgroundTraining(Path(args.config), stale, reason=f"for the example {', '.join(sorted(waiting))}") as training:
        return run_batch(args, config, work, training, waiting)


def run_batch(args, config, work, training=None, after_training=frozenset()) -> int:
    from autograder.batches.clusters import ClusterError
    from autograder.reports.gradebook import batch_questions, summary_table
    from autograder.batches.grade import grade_work

    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        try:
            executor = cluster_executor(args, stack)
        except ClusterError as exc:
            return fail(str(exc))
        outcome = grade_work(work, args.out, config, Path(args.config), jobs=args.jobs, warm=not args.cold,
                             resume=args.resume, training=training, after_training=after_training, executor=executor)
    graded = outcome.graded
    print(summary_table(graded, batch_questions(graded, config)))
    reused = sum(g.reused for g in graded)
    print(f"\n{len(graded) - reused} submission(s) graded in {time.monotonic() - started:.1f} s"
          + (f", {reused} current from before" if reused else "")
          + f"; reports in {args.out}/ (results.json and feedback.md per submission, gradebook.csv, scores.png, "
            "report.html).")
    if outcome.interrupted:
        again = shlex.join(["autograder", *args.argv, *([] if args.resume else ["--resume"])])
        print(f"interrupted: {len(graded)} of {outcome.total} submission(s) have results; nothing was written for "
              f"those in progress. Continue with:\n  {again}", file=sys.stderr)
        return 130
    return 0


def cluster_executor(args, stack: contextlib.ExitStack):
    """A DaskExecutor on the cluster the flags name (closed with stack), or None to grade on this machine."""
    if not (args.scheduler or args.cluster):
        return None
    from autograder.batches.clusters import ClusterError, start_cluster
    try:
        from distributed import Client

        from autograder.batches.dask_grading import DaskExecutor
    except ImportError:
        raise ClusterError('grading on a cluster needs Dask: pip install -e ".[cluster]"') from None
    where = args.scheduler
    if args.cluster == "local" and args.gpus_per_submission:
        from autograder.batches.dask_grading import gpu_count
        if gpu_count() < args.gpus_per_submission * args.workers:
            raise ClusterError(f"--gpus-per-submission {args.gpus_per_submission} with --workers {args.workers}: this "
                               f"machine has {gpu_count()} GPU(s); ask for fewer workers, or grade without the flag.")
    if args.cluster:
        cluster = stack.enter_context(start_cluster(args.cluster, args.workers, args.cluster_config,
                                                    gpus_per_worker=args.gpus_per_submission))
        where = cluster
    try:
        client = stack.enter_context(Client(where, timeout="20s"))
    except OSError as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {args.scheduler}: {exc}") from None
    print(f"waiting for the cluster's workers ({client.dashboard_link or where})", file=sys.stderr)
    client.wait_for_workers(1, timeout=None if args.cluster not in (None, "local") else 60)
    resources = {"GPU": args.gpus_per_submission} if args.gpus_per_submission else None
    if resources:
        workers = client.scheduler_info()["workers"].values()
        offered = [w.get("resources", {}).get("GPU", 0) for w in workers]
        if max(offered, default=0) < args.gpus_per_submission:
            raise ClusterError(f"--gpus-per-submission {args.gpus_per_submission}: no worker of the cluster offers "
                               f"that many GPUs ({len(offered)} worker(s), GPUs offered: {offered or 'none'}); start "
                               f"workers with `dask worker ... --resources GPU=1`, or grade without the flag.")
    return DaskExecutor(client, Path(args.config), resources)


def regrade(args) -> int:
    """Grade an output folder again after a fix; keep the results before it and say what changed."""
    from autograder.batches.inputs import Student, Submission
    from autograder.batches.grade import Job
    from autograder.batches.manifest import MANIFEST_NAME, Manifest
    from autograder.batches.regrade import CHANGES, PREVIOUS, changes_markdown, compare, keep_previous, load_results

    config = load_config(args.config)
    if args.jobs < 1:
        return fail(f"--jobs {args.jobs}: grade at least one submission at a time (e.g. --jobs 2).")
    manifest = Manifest(args.out)
    if not manifest.entries:
        return fail(f"{args.out}/ has no {MANIFEST_NAME}: grade into it first (autograder grade ... --out {args.out}).")
    gone = [e.source for e in manifest.entries.values() if not Path(e.source).exists()]
    if gone:
        return fail(f"{gone[0]} is gone ({len(gone)} submission(s) missing); put it back where it was graded from.")
    names = list(manifest.entries)
    if not manifest.regrading:  # an interrupted regrade keeps the baseline it took first
        keep_previous(args.out, names)
        manifest.regrading = True
        manifest.save()
    work = [Job(Submission(name, Path(e.source), tuple(Student(**s) for s in e.students)), e.questions, e.assignment)
            for name, e in manifest.entries.items()]
    args.resume = not args.all
    code = run_batch(args, config, work)
    if code:
        return code
    changes = compare(load_results(args.out / PREVIOUS, names), load_results(args.out, names))
    (args.out / CHANGES).write_text(changes_markdown(changes))
    print("\n" + changes_markdown(changes, limit=20) + f"(all of it in {args.out / CHANGES}; the results before "
          f"the regrade are in {args.out / PREVIOUS}/)")
    manifest = Manifest(args.out)
    manifest.regrading = False
    manifest.save()
    return 0


def gradebook(args) -> int:
    """Merge the output folders of several slices (--shard) into one: results, gradebook, report, manifest."""
    from autograder.reports.gradebook import batch_questions, summary_table
    from autograder.batches.shards import ShardError, merge_outputs

    config = load_config(args.config)
    try:
        graded = merge_outputs(args.outs, args.out, config)
    except ShardError as exc:
        return fail(str(exc))
    print(summary_table(graded, batch_questions(graded, config)))
    print(f"\n{len(graded)} submission(s) from {len(args.outs)} folder(s) merged into {args.out}/ (gradebook.csv, "
          "report.html, scores.png, manifest.json).")
    return 0


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def doctor(args) -> int:
    """What this machine gives the sandbox: the level, why, and what to change for a stronger one."""
    from autograder.sandbox.isolation import PROTECTS, USERS, detect_level, unreadable_for_workers

    level = detect_level()
    print(f"sandbox level: {level.name}\n  why: {level.reason}\n  protects: {PROTECTS[level.name]}")
    if level.fix:
        print(f"  stronger: {level.fix}")
    problems = list(level.problems)
    if args.fix:  # at any level: a later run may be without namespaces, or as another user
        for path, mode in unreadable_for_workers():
            print(f"  fixed: chmod {mode} {path}")
            path.chmod(path.stat().st_mode | (0o005 if mode == "o+rx" else 0o001))
        problems = []
    for problem in problems:
        print(f"  problem: {problem} (or run `autograder doctor --fix`)")
    if level.name == USERS and not problems:
        print("  student code can import the Python environment and the kit's engine as its own user.")
    return 1 if problems else 0


def release(args) -> int:
    from autograder.release.build import make_release
    from autograder.release.contents import ReleaseError

    try:
        checks = make_release(args.assignment, args.out, Path(args.config), otter=args.otter, jobs=args.jobs,
                              mutants=args.mutants, allow_synthetic_data=args.allow_synthetic_data)
    except ReleaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0 if all(check.ok for check in checks) else 1


def add_release_command(commands) -> None:
    parser = commands.add_parser("release", help="build and check an assignment's student, Gradescope and "
                                                 "solutions zips")
    parser.add_argument("assignment", help="an assignment of grading.yml, e.g. layers")
    parser.add_argument("--out", type=Path, default=Path("dist"), help="zips go to OUT/ASSIGNMENT/ (default: dist/)")
    parser.add_argument("--otter", action="store_true", help="also build and check the Otter notebook track")
    parser.add_argument("--jobs", type=int, default=2, help="checks run at once (default: 2)")
    parser.add_argument("--mutants", type=int, help="mutants tried per question (default: 40)")
    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="course settings (default: grading.yml)")
    parser.add_argument("--allow-synthetic-data", action="store_true",
                        help="release an assignment with checkpoints although grading.yml grades them on the "
                             "synthetic images (data.name: synthetic), e.g. for a trial run")
    parser.set_defaults(run=release)


def add_model_commands(commands) -> None:
    """`autograder data`, `train` and `calibrate` (datasets and reference checkpoints of the model questions)."""
    from autograder import model_commands

    def with_config(function):
        return lambda args: function(args, load_config(args.config))

    data_parser = commands.add_parser("data", help="check (or --download) the dataset of the model questions")
    data_parser.add_argument("--data", choices=DATASETS, help="dataset (default: data.name in grading.yml)")
    data_parser.add_argument("--download", action="store_true", help="fetch CIFAR-10 through torchvision (internet)")
    data_parser.add_argument("--preview", help="also write a PNG with example images of every class")
    train_parser = commands.add_parser("train", help="train a reference model with the kit's recipe")
    train_parser.add_argument("model", help="lenet, simple_nn or efficientnet (or the question id q7_efficientnet)")
    train_parser.add_argument("--data", choices=DATASETS, help="dataset (default: data.name in grading.yml)")
    train_parser.add_argument("--epochs", type=int, help="epochs (default: the recipe's)")
    train_parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    train_parser.add_argument("--seed", type=int, default=0)
    train_parser.add_argument("--out", type=Path, help="checkpoint file (default: solutions/<model>.pt)")
    calibrate_parser = commands.add_parser("calibrate", help="train the reference several times; suggest thresholds")
    calibrate_parser.add_argument("targets", nargs="+", metavar="QUESTION", help="question ids or model names")
    calibrate_parser.add_argument("--data", choices=DATASETS, help="dataset (default: data.name in grading.yml)")
    calibrate_parser.add_argument("--seeds", type=int, default=3, help="training runs per model (default: 3)")
    calibrate_parser.add_argument("--epochs", type=int, help="epochs (default: the recipe's)")
    calibrate_parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    for sub, function in ((data_parser, model_commands.data_command), (train_parser, model_commands.train_command),
                          (calibrate_parser, model_commands.calibrate_command)):
        sub.add_argument("--config", default=str(DEFAULT_CONFIG), help="course settings (default: grading.yml)")
        sub.set_defaults(run=with_config(function))


def add_cluster_flags(parser) -> None:
    from autograder.batches.clusters import CLUSTER_KINDS

    group = parser.add_argument_group("on a Dask cluster (pip install -e \".[cluster]\")")
    where = group.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS", help="grade on this running cluster, e.g. tcp://host:8786")
    where.add_argument("--cluster", choices=CLUSTER_KINDS, help="start a cluster: local (this machine) or through "
                                                                "a batch system (dask-jobqueue)")
    group.add_argument("--workers", type=int, default=2, help="workers of a started cluster (default: 2)")
    group.add_argument("--cluster-config", type=Path, help="the batch system's settings (YAML; see "
                                                           "examples/clusters/)")
    group.add_argument("--gpus-per-submission", type=int, default=0, help="GPUs each submission needs (a Dask "
                                                                          "resource: workers offer --resources GPU=N)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="autograder", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="regenerate solutions/ and student_template/ from assignments/")
    build_parser.add_argument("questions", nargs="*", help="question ids to build (default: every master)")
    build_parser.add_argument("--check", action="store_true", help="only report generated files that are out of date")
    build_parser.set_defaults(run=build)
    grade_parser = commands.add_parser("grade", help="grade submissions (default: the bundled examples)")
    grade_parser.add_argument("submissions", nargs="*", help="submission folders or .zip files, or folders of them "
                                                             "(a Gradescope export, an LMS download, a folder of "
                                                             "repositories)")
    grade_parser.add_argument("--out", type=Path, default=Path("graded"), help="report folder (default: graded/)")
    grade_parser.add_argument("--jobs", type=int, default=2, help="submissions graded at once (default: 2)")
    grade_parser.add_argument("--assignment", help="grade every submission out of this assignment (default: the "
                                                   "assignment whose files each submission holds)")
    grade_parser.add_argument("--one", action="store_true",
                              help="each path is one submission, whatever it holds (an empty folder is graded "
                                   "too): Gradescope's run_autograder uses it")
    grade_parser.add_argument("--resume", action="store_true",
                              help="grade only the submissions without a current result in OUT (same content, "
                                   "same tests and settings; see OUT/manifest.json)")
    grade_parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="course settings (default: grading.yml)")
    grade_parser.add_argument("--cold", action="store_true",
                              help="start Python, torch and pytest afresh for every submission (slower; see Speed)")
    add_cluster_flags(grade_parser)
    grade_parser.add_argument("--shard", metavar="K/N", help="grade only the K-th of N slices of the batch (Slurm job "
                                                           "arrays, Kubernetes indexed Jobs); merge the output "
                                                           "folders with `autograder gradebook`")
    grade_parser.set_defaults(run=grade)
    regrade_parser = commands.add_parser("regrade", help="grade an output folder again after a fix; keep the "
                                                         "previous results and say what changed")
    regrade_parser.add_argument("out", type=Path, help="an output folder of `autograder grade` (holds manifest.json)")
    regrade_parser.add_argument("--all", action="store_true", help="grade every submission again, even those whose "
                                                                   "result is current")
    regrade_parser.add_argument("--jobs", type=int, default=2, help="submissions graded at once (default: 2)")
    regrade_parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="course settings (default: grading.yml)")
    regrade_parser.add_argument("--cold", action="store_true", help="start Python afresh for every submission")
    add_cluster_flags(regrade_parser)
    regrade_parser.set_defaults(run=regrade)
    gradebook_parser = commands.add_parser("gradebook", help="merge the output folders of a batch graded in slices "
                                                             "(--shard K/N)")
    gradebook_parser.add_argument("outs", nargs="+", type=Path, help="the --out folders of the slices")
    gradebook_parser.add_argument("--out", type=Path, required=True, help="the merged folder")
    gradebook_parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="course settings (default: grading.yml)")
    gradebook_parser.set_defaults(run=gradebook)
    doctor_parser = commands.add_parser("doctor", help="say how far this machine can confine student code, and how "
                                                       "to get more")
    doctor_parser.add_argument("--fix", action="store_true", help="make the Python environment readable by the "
                                                                  "workers' users (chmod o+x on folders above it)")
    doctor_parser.set_defaults(run=doctor)
    add_model_commands(commands)
    add_release_command(commands)
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # to say how to continue an interrupted batch
    try:
        return args.run(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
