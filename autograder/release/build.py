"""`autograder release`: build an assignment's zips, run every check on them, hand them out only if all pass."""
from __future__ import annotations

import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from autograder.release.contents import (Plan, ReleaseError, autograder_files, plan, solution_files, student_files,
                                         write_zip)
from autograder.course.config import load_config
from autograder.release.checks import (Check, ReleaseCheck, check_gradescope, check_power, check_student_zip, leak_scan,
                                       missing_checkpoints, power_groups, power_table, reference_files, stub_files)
from autograder.release.mutation import all_mutants
from autograder.release.otter import check_otter


def make_release(name: str, out: Path, config_path: Path, otter: bool = False, jobs: int = 2,
                 mutants: int | None = None, say=print, allow_synthetic_data: bool = False) -> list:
    """Build the assignment's zips, check them, and move them to out/<name>/ only if every check passes.

    Zips that fail a check go to out/<name>.rejected/ for a look. Returns the checks; raises
    ReleaseError when the release cannot even be built, or would grade checkpoints on the synthetic
    images without `allow_synthetic_data`.
    """
    started = time.monotonic()
    the_plan = plan(load_config(config_path), Path(config_path), name)
    if the_plan.checkpoints and the_plan.config.data.name == "synthetic" and not allow_synthetic_data:
        raise ReleaseError(  # checked before anything is built; one line
            f"{config_path}: data.name is 'synthetic', so {', '.join(the_plan.checkpoints)} would be graded on "
            "the kit's synthetic images, not on the CIFAR-10 the statements tell students to train on; set "
            "data.name: cifar10 there (and fetch it with `autograder data --download`), or pass "
            "--allow-synthetic-data for a trial release graded on synthetic images (its README says so).")
    problems = missing_checkpoints(the_plan)
    if problems:
        raise ReleaseError("\n".join(problems))
    staging, final, rejected = out / f"{name}.building", out / name, out / f"{name}.rejected"
    for folder in (staging, final, rejected):
        shutil.rmtree(folder, ignore_errors=True)
    zips = {kind: write_zip(staging / f"{kind}.zip", files(the_plan)) for kind, files in
            (("student", student_files), ("autograder", autograder_files), ("solutions", solution_files))}
    say(f"release {name}: {', '.join(f'{z.name} ({z.stat().st_size >> 10} KiB)' for z in zips.values())}; checking")
    with tempfile.TemporaryDirectory(prefix=f"release-{name}-") as work:
        results = run_checks(the_plan, zips, Path(work), staging if otter else None, jobs, mutants)
    for check in results:
        detail = ", ".join(filter(None, [check.detail, f"{check.seconds:.0f} s" if check.seconds else ""]))
        say(f"  {'ok  ' if check.ok else 'FAIL'} {check.name}" + (f" ({detail})" if detail else ""))
        for problem in check.problems:
            say("         " + problem.replace("\n", "\n         "))
    reports = [r for check in results for r in check.power]
    if reports:
        say(power_table(reports, mutants))
    passed = all(check.ok for check in results)
    staging.rename(final if passed else rejected)
    say(f"{'released' if passed else 'NOT released'} {name} in {time.monotonic() - started:.0f} s: "
        f"{final if passed else rejected}/" + ("" if passed else " holds the zips that failed; fix the problems above."))
    return results


def run_checks(plan: Plan, zips: dict[str, Path], work: Path, otter_into: Path | None, jobs: int,
               mutants: int | None = None) -> list:
    """Every check of the release (release_checks), `jobs` at a time (each runs its own processes)."""
    for question in plan.questions:  # here, not in the threads below (see mutate.all_mutants)
        all_mutants(question)

    def timed(check: ReleaseCheck) -> list:
        begun = time.monotonic()
        try:
            result = check.run(work / check.name)
        except Exception as exc:  # noqa: BLE001 - a broken check fails the release with its reason, never silently
            result = Check(f"{check.name} ({plan.name})", [f"the check itself failed: "
                                                                  f"{type(exc).__name__}: {exc}"])
        result = result if isinstance(result, list) else [result]
        for done in result:
            done.seconds = time.monotonic() - begun
        return result
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return [done for results in pool.map(timed, release_checks(plan, zips, otter_into, jobs, mutants))
                for done in results]


def release_checks(plan: Plan, zips: dict[str, Path], otter_into: Path | None, jobs: int,
                   mutants: int | None = None) -> list[ReleaseCheck]:
    """Every check of a release, the leak scan first: the student zip holds no answers, the hidden tests kill
    the mutants, the reference gets full marks and the stubs none through both zips, and Otter's track agrees."""
    reference, stubs = reference_files(plan), stub_files(plan)
    leaks = "student.zip: no solution code, hidden tests, checkpoints or grader state"
    every = [ReleaseCheck("leak scan", lambda workdir: Check(leaks, leak_scan(zips["student"])))]
    if otter_into is not None:
        every.append(ReleaseCheck("otter", partial(check_otter, plan, otter_into)))
    every += [ReleaseCheck(f"power{i}", partial(check_power, plan, group, limit=mutants))
              for i, group in enumerate(power_groups(plan.questions, jobs))]
    return every + [
        ReleaseCheck("gs-reference", partial(check_gradescope, plan, zips["autograder"], submission=reference,
                                             full_marks=True)),
        ReleaseCheck("student-reference", partial(check_student_zip, plan, zips["student"], with_reference=True)),
        ReleaseCheck("gs-stubs", partial(check_gradescope, plan, zips["autograder"], submission=stubs,
                                         full_marks=False)),
        ReleaseCheck("student-stubs", partial(check_student_zip, plan, zips["student"], with_reference=False))]
