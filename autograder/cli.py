"""The `autograder` command: build the generated files, grade submissions, train reference models."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .config import DATASETS, DEFAULT_CONFIG, KIT_ROOT, ConfigError, load_config
from .generator import MarkerError, generated_files, question_ids, write_all


def build(args) -> int:
    unknown = sorted(set(args.questions) - set(question_ids()))
    if unknown:
        print(f"error: no master file assignments/{unknown[0]}.py; masters: {', '.join(question_ids())}.",
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
    from .grade import default_submissions, grade_batch, summary_table

    config = load_config(args.config)
    if args.assignment:
        if args.assignment not in config.assignments:
            print(f"error: no assignment {args.assignment!r} in {args.config}; "
                  f"choose from {', '.join(config.assignments)}.", file=sys.stderr)
            return 2
        questions = list(config.assignments[args.assignment].questions)
    else:
        questions = list(config.questions)
    sources = [Path(s) for s in args.submissions] or default_submissions()
    if not args.submissions:  # the examples grade the kit's reference: make its checkpoints once
        prepare_reference_checkpoints(config, questions)
    missing = [s for s in sources if not s.exists()]
    if missing:
        print(f"error: no such submission: {', '.join(map(str, missing))} (give folders or .zip files).",
              file=sys.stderr)
        return 2
    started = time.monotonic()
    graded = grade_batch(sources, args.out, config, Path(args.config), questions, jobs=args.jobs, warm=not args.cold)
    print(summary_table(graded, questions))
    print(f"\n{len(graded)} submission(s) graded in {time.monotonic() - started:.1f} s; "
          f"reports in {args.out}/ (results.json and feedback.md per submission, gradebook.csv, scores.png).")
    return 0


def prepare_reference_checkpoints(config, questions: list[str]) -> None:
    """Train the reference checkpoints (solutions/*.pt) these questions need, if missing or stale."""
    names = config.checkpoint_models(questions)
    if names:
        from .model_commands import ensure_reference_checkpoints, pick_device
        ensure_reference_checkpoints(config, names, pick_device(config.device))


def doctor(args) -> int:
    """What this machine gives the sandbox: the level, why, and what to change for a stronger one."""
    from .isolation import PROTECTS, USERS, detect_level, unreadable_for_workers

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
    from .release import ReleaseError, make_release

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
    from . import model_commands

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="autograder", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="regenerate solutions/ and student_template/ from assignments/")
    build_parser.add_argument("questions", nargs="*", help="question ids to build (default: every master)")
    build_parser.add_argument("--check", action="store_true", help="only report generated files that are out of date")
    build_parser.set_defaults(run=build)
    grade_parser = commands.add_parser("grade", help="grade submissions (default: the bundled examples)")
    grade_parser.add_argument("submissions", nargs="*", help="submission folders or .zip files")
    grade_parser.add_argument("--out", type=Path, default=Path("graded"), help="report folder (default: graded/)")
    grade_parser.add_argument("--jobs", type=int, default=2, help="submissions graded at once (default: 2)")
    grade_parser.add_argument("--assignment", help="grade only this assignment's questions (default: all)")
    grade_parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="course settings (default: grading.yml)")
    grade_parser.add_argument("--cold", action="store_true",
                              help="start Python, torch and pytest afresh for every submission (slower; see Speed)")
    grade_parser.set_defaults(run=grade)
    doctor_parser = commands.add_parser("doctor", help="say how far this machine can confine student code, and how "
                                                       "to get more")
    doctor_parser.add_argument("--fix", action="store_true", help="make the Python environment readable by the "
                                                                  "workers' users (chmod o+x on folders above it)")
    doctor_parser.set_defaults(run=doctor)
    add_model_commands(commands)
    add_release_command(commands)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
