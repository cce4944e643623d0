"""pytest plugin: the `student` fixture, --submission, the points marker and graded results."""
from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import pytest
import torch

from autograder.sandbox import errors
from autograder.course.layout import is_public_test, question_of_test
from autograder.course.config import DEFAULT_CONFIG, KIT_ROOT, ConfigError, HypothesisSettings, load_config
from autograder.sandbox.isolation import NAMESPACES, PROTECTS, Level, detect_level
from autograder.sandbox.proxy import Student
from autograder.models.devices import DeviceUnavailable, resolve_device
from autograder.grading.results import TestOutcome, gradescope_results, question_scores
from autograder.sandbox.supervisor import Sandbox
from autograder.grading.submission import OpenedSubmission, SubmissionError, locate

if sys.version_info < (3, 11):  # Hypothesis raises the backport's exception groups there (a dependency of it)
    from exceptiongroup import BaseExceptionGroup

CONFIG_KEY = pytest.StashKey[object]()
SANDBOX_KEY = pytest.StashKey[Sandbox]()
OUTCOMES_KEY = pytest.StashKey[dict]()
NOTES_KEY = pytest.StashKey[list]()
LEADERBOARD_KEY = pytest.StashKey[list]()
START_KEY = pytest.StashKey[float]()
HYPOTHESIS_PLUGIN = "hypothesispytest"  # the name of Hypothesis's pytest plugin (its entry point)
SHOWN_KEY = pytest.StashKey[dict]()   # student mode: what made a test fail -> the first test that showed it
FEEDBACK_STYLES = ("full", "student")


def pytest_addoption(parser):
    group = parser.getgroup("autograder")
    group.addoption("--submission", default=str(KIT_ROOT / "solutions"),
                    help="submission to grade: a folder or a .zip (default: the reference solutions/)")
    group.addoption("--grading-config", default=str(DEFAULT_CONFIG), help="course settings (default: grading.yml)")
    group.addoption("--results", default=None, help="write Gradescope results.json here")
    group.addoption("--feedback", choices=FEEDBACK_STYLES, default="full",
                    help="how failed graded tests are shown. full (default, for staff): pytest's report with "
                         "tracebacks and the grade. student (set by student.zip's pytest.ini): per failed test only "
                         "the grader's message, the failing input and what the code printed, one line for a failure "
                         "already shown, and the public tests' points, which are not the grade")


def pytest_configure(config):
    config.addinivalue_line("markers", "points(n): weight of a graded test within its question (default 1)")
    try:
        grading = load_config(config.getoption("grading_config"))
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[CONFIG_KEY] = grading
    config.stash[OUTCOMES_KEY] = {}
    config.stash[NOTES_KEY] = []
    config.stash[LEADERBOARD_KEY] = []
    config.stash[START_KEY] = time.monotonic()
    if not student_feedback(config):  # hidden tests apply @settings at import: the profile must come first
        use_grading_profile(config)


def pytest_collection_finish(session):
    """A student's run imports Hypothesis (a second and more) only if a collected test uses it; the public tests
    apply no @settings at import (a kit test checks), so the profile can wait until now. Without such a test,
    Hypothesis's own pytest plugin goes too: its closing summary would import Hypothesis all the same."""
    if "hypothesis" in sys.modules:
        use_grading_profile(session.config)
    elif session.config.pluginmanager.has_plugin(HYPOTHESIS_PLUGIN):
        session.config.pluginmanager.unregister(name=HYPOTHESIS_PLUGIN)


def use_grading_profile(config) -> None:
    """Register the kit's Hypothesis profile and load it, unless the command line names another."""
    from hypothesis import settings

    settings.register_profile("grading", grading_profile(config.stash[CONFIG_KEY].hypothesis))
    if config.getoption("hypothesis_profile", None) is None:
        settings.load_profile("grading")


def grading_profile(hypothesis: HypothesisSettings):
    """Derandomized, no database, no deadline; grading.yml's example count, with or without shrinking."""
    from hypothesis import HealthCheck, Phase, settings

    phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if hypothesis.shrink else [])
    return settings(max_examples=hypothesis.max_examples, derandomize=True, database=None, deadline=None,
                    print_blob=False, phases=phases,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def question_of(item) -> str | None:
    """The question a test grades: assignments/<question id>/test_public|hidden[_<topic>].py; None for kit tests."""
    return question_of_test(Path(str(item.path)))


def pytest_collection_modifyitems(config, items):
    known = config.stash[CONFIG_KEY].questions
    for item in items:
        qid = question_of(item)
        if qid is not None and qid not in known:
            raise pytest.UsageError(f"{item.path}: no question {qid!r} in grading.yml; add it to an assignment "
                                    "or rename its folder.")


@pytest.fixture(scope="session")
def device(pytestconfig) -> torch.device:
    """The grader's device (grading.yml `device`)."""
    try:
        return resolve_device(pytestconfig.stash[CONFIG_KEY].device)
    except DeviceUnavailable as exc:
        raise pytest.UsageError(f"grading.yml: {exc}") from None


@pytest.fixture(scope="session")
def grading_config(pytestconfig):
    """The course settings (grading.yml, or --grading-config) as a GradingConfig."""
    return pytestconfig.stash[CONFIG_KEY]


@pytest.fixture(scope="session")
def report_dir(pytestconfig, tmp_path_factory) -> Path:
    """Where tests write figures for the student (next to results.json when --results is given)."""
    results = pytestconfig.getoption("results")
    folder = Path(results).parent if results else tmp_path_factory.mktemp("report")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def student(request, pytestconfig, device):
    """The submission under test, running in a sandboxed worker: `student.<question>.<function>(...)`."""
    grading = pytestconfig.stash[CONFIG_KEY]
    graded = {question_of(item) for item in request.session.items}
    loaded = grading.with_compared(graded)
    expected = [name for qid, question in grading.questions.items() if qid in loaded
                for name in (f"{qid}.py", *question.checkpoints)]
    try:
        opened = OpenedSubmission(pytestconfig.getoption("submission"))
        with opened as root:
            located = locate(root, expected, opened.outside_links)
            pytestconfig.stash[NOTES_KEY].extend(located.notes)
            pytestconfig.stash[NOTES_KEY].extend(f"Missing: {name} (expected in your submission)."
                                                 for name in located.missing)
            refused = {**located.refused, **oversize_checkpoints(located.files, grading)}  # links out, too big
            pytestconfig.stash[NOTES_KEY].extend(refused.values())
            files = {name: path for name, path in located.files.items() if name not in refused}
            sandbox = Sandbox(files, grading.limits, device.type)
    except SubmissionError as exc:
        raise errors.MissingFile(str(exc)) from None
    pytestconfig.stash[SANDBOX_KEY] = sandbox
    yield Student(sandbox, refused)
    sandbox.close()


def oversize_checkpoints(files: dict[str, Path], grading) -> dict[str, str]:
    """Checkpoints too big to load, by name, with the reason (they are not copied to the worker)."""
    limit = grading.limits.checkpoint_mb
    names = {n for q in grading.questions.values() for n in q.checkpoints}
    sizes = {name: path.stat().st_size for name, path in files.items() if name in names}
    return {name: f"{name} is {size / 2**20:.0f} MiB, more than the {limit} MiB limit for a checkpoint; "
                  "it was not loaded. Submit the state_dict only: torch.save(model.state_dict(), ...)."
            for name, size in sizes.items() if size > limit << 20}


# -- feedback -----------------------------------------------------------------
def feedback_text(exc: BaseException) -> str:
    """What a student reads for a failed test: the message and the falsifying example, no traceback."""
    if isinstance(exc, BaseExceptionGroup):  # Hypothesis: flaky or several distinct failures
        first = exc.exceptions[0]
        prefix = ("Your code did not give the same result when run again on the same input.\n"
                  if "unreliable" in str(exc) or "Flaky" in type(exc).__name__ else "")
        return prefix + feedback_text(first)
    if isinstance(exc, (AssertionError, pytest.fail.Exception)):
        text = str(exc).split("\nassert ")[0]  # the test's message, without pytest's rewritten expression
    elif isinstance(exc, (errors.StudentError, errors.SandboxError)):
        text = str(exc)
    else:
        text = (f"The grader hit an internal error in this test ({type(exc).__name__}: {exc}). "
                "This is not your fault: please tell the course staff.")
    notes = [re.sub(r"\n\s*student=student,", "", n) for n in student_notes(getattr(exc, "__notes__", []))]
    return "\n".join([text.strip(), *notes]).strip()


def student_notes(notes: list[str]) -> list[str]:
    """Hypothesis's notes without its reproduce hint (for test authors) and its explain phase ("Explanation:", then
    a note per indented line), which lists lines of the kit and of torch: student code runs in the worker, untraced."""
    kept, explaining = [], False
    for note in notes:
        explaining = note.startswith("Explanation:") or explaining and note[:1].isspace()
        if not explaining and not note.startswith("You can reproduce"):
            kept.append(note)
    return kept


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    qid = question_of(item)
    if qid is None or report.when == "teardown" and report.passed:
        return report
    sandbox = item.config.stash.get(SANDBOX_KEY, None)
    if report.when == "setup" and sandbox is not None:
        sandbox.last_output = ""
    outcomes = item.config.stash[OUTCOMES_KEY]
    marker = item.get_closest_marker("points")
    outcome = outcomes.setdefault(item.nodeid, TestOutcome(
        question=qid, name=item.name, weight=float(marker.args[0]) if marker else 1.0,
        public=is_public_test(Path(str(item.path))), status="passed"))
    for key, value in report.user_properties if report.when == "call" else ():
        if key == "report":  # record_property("report", text): shown whether the test passes or not
            outcome.report = str(value)
        elif key == "leaderboard":  # record_property("leaderboard", {"name": ..., "value": ...})
            item.config.stash[LEADERBOARD_KEY].append(dict(value))
    if report.skipped and outcome.status == "passed":
        outcome.status = "skipped"
    elif report.failed:
        outcome.status = "failed"
        message = feedback_text(call.excinfo.value) if call.excinfo else str(report.longrepr)
        printed = sandbox.last_output.strip() if sandbox is not None and report.when == "call" else ""
        text = message + (f"\n\nYour code printed (last call):\n{printed}" if printed else "")
        if printed:
            report.sections.append(("student output (last call)", printed))
        outcome.feedback = (outcome.feedback + "\n" + text).strip()
        if student_feedback(item.config):
            show_to_student(report, item, call.excinfo.value if call.excinfo else None, message, printed)
    return report


# -- student mode (--feedback=student) ----------------------------------------
MESSAGE_LINES, PRINTED_LINES = 9, 5     # at most, per failed test: with the heading, about 15 lines
MESSAGE_WIDTH, PRINTED_WIDTH = 600, 200  # characters per line


def student_feedback(config) -> bool:
    return config.getoption("feedback") == "student"


def show_to_student(report, item, exc: BaseException | None, message: str, printed: str) -> None:
    """Student mode: the failed report shows the grader's message and the code's output, or, for a failure an
    earlier test already showed, one line naming that test; no traceback, no captured output of the grader."""
    key = failure_key(exc, message)
    first = item.config.stash.setdefault(SHOWN_KEY, {}).setdefault(key, item.name)
    report.longrepr = student_text(exc, message, printed) if first == item.name else repeat_line(first, exc, message)
    report.sections = []


def student_error_in(exc: BaseException | None) -> errors.StudentError | None:
    """The exception the student's code raised that failed the test, also behind the assertion that reports it."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, errors.StudentError):
            return exc
        exc = exc.exceptions[0] if isinstance(exc, BaseExceptionGroup) else exc.__cause__ or exc.__context__
    return None


def failure_key(exc: BaseException | None, message: str) -> str:
    """Two failures are the same for a student when their code raised the same error, or the messages match."""
    error = student_error_in(exc)
    return f"{error.remote_type}: {error.message}\n{error.traceback}" if error else message


def student_text(exc: BaseException | None, message: str, printed: str) -> str:
    """A failed test as a student reads it: the grader's message (with the failing input), then their output."""
    lines = [clip(message, MESSAGE_LINES, MESSAGE_WIDTH)]
    if printed:
        lines += ["Your code printed (last call):", clip(printed, PRINTED_LINES, PRINTED_WIDTH, indent="  ")]
    if is_internal_error(exc):
        lines.append("(`pytest --feedback=full` shows the grader's traceback, for the course staff.)")
    return "\n".join(lines)


def repeat_line(first: str, exc: BaseException | None, message: str) -> str:
    """One line for a failure an earlier test showed in full."""
    error = student_error_in(exc)
    if error is not None:
        line = f"Same error as {first} above: {error.remote_type}: {error.message}".splitlines()[0]
    else:
        line = f"Same failure as {first} above: " + message.splitlines()[0]
    return clip_line(line, PRINTED_WIDTH)


def is_internal_error(exc: BaseException | None) -> bool:
    """Whether the test failed on an error of the grader itself (feedback_text asks to tell the staff)."""
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    expected = (AssertionError, pytest.fail.Exception, errors.StudentError, errors.SandboxError)
    return exc is not None and not isinstance(exc, expected)


def clip(text: str, max_lines: int, width: int, indent: str = "") -> str:
    """text in at most max_lines lines of at most `width` characters: the middle of anything longer is cut,
    on a line that says how much."""
    rows = [indent + clip_line(row, width) for row in text.splitlines()]
    if len(rows) > max_lines:
        tail = (max_lines - 1) // 3
        head = max_lines - 1 - tail
        rows = [*rows[:head], f"{indent}... ({len(rows) - head - tail} lines cut) ...", *rows[len(rows) - tail:]]
    return "\n".join(rows)


def clip_line(line: str, width: int) -> str:
    """line, or its start and end around a note of how many characters were cut from its middle."""
    if len(line) <= width:
        return line
    keep = width - 30
    head, tail = keep * 2 // 3, keep // 3
    return f"{line[:head]} ... ({len(line) - head - tail} characters cut) ... {line[-tail:]}"


def sandbox_level(config) -> Level:
    """The sandbox level student code ran at: what its worker reported if one was started, else this machine's."""
    detected = detect_level()
    sandbox = config.stash.get(SANDBOX_KEY, None)
    name = (sandbox.isolation if sandbox is not None else {}).get("level")
    if name not in PROTECTS or name == detected.name:
        return detected
    fix = "" if name == NAMESPACES else detected.fix or "`autograder doctor` on the grading machine says why"
    return Level(name, sandbox.isolation.get("reason") or "as its worker reported", fix)


def pytest_sessionfinish(session):
    config = session.config
    grading = config.stash[CONFIG_KEY]
    outcomes = list(config.stash[OUTCOMES_KEY].values())
    questions = sorted({o.question for o in outcomes}, key=list(grading.questions).index)
    path = config.getoption("results")
    if path:
        results = gradescope_results(outcomes, grading, questions, time.monotonic() - config.stash[START_KEY],
                                     config.stash[NOTES_KEY], config.stash[LEADERBOARD_KEY], sandbox_level(config))
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")


def pytest_terminal_summary(terminalreporter, config):
    outcomes = list(config.stash[OUTCOMES_KEY].values())
    if not outcomes:
        return
    if student_feedback(config):
        write_public_points(terminalreporter, config, [o for o in outcomes if o.public])
    else:
        write_grade(terminalreporter, config, outcomes)
    if config.getoption("results"):  # a grading run: the log is for staff (students' own runs skip this line)
        terminalreporter.write_line(sandbox_level(config).describe())


def scores_by_question(config, outcomes: list[TestOutcome]) -> dict[str, dict]:
    grading = config.stash[CONFIG_KEY]
    questions = sorted({o.question for o in outcomes}, key=list(grading.questions).index)
    return question_scores(outcomes, grading, questions)


def write_grade(terminalreporter, config, outcomes: list[TestOutcome]) -> None:
    """The grade of a full run: points per question and in total."""
    scores = scores_by_question(config, outcomes)
    terminalreporter.section(f"grade of {config.getoption('submission')}")
    for note in config.stash[NOTES_KEY]:
        terminalreporter.write_line(note)
    for qid, entry in scores.items():
        terminalreporter.write_line(f"{qid:<24} {entry['score']:>7.2f} / {entry['max_score']:g}")
    total = sum(e["score"] for e in scores.values())
    terminalreporter.write_line(f"{'total':<24} {total:>7.2f} / {sum(e['max_score'] for e in scores.values()):g}")


def write_public_points(terminalreporter, config, outcomes: list[TestOutcome]) -> None:
    """Student mode's closing summary: what the public tests alone are worth, never called a grade."""
    scores = scores_by_question(config, outcomes)
    terminalreporter.section("public tests only")
    for note in config.stash[NOTES_KEY]:
        terminalreporter.write_line(note)
    for qid, entry in scores.items():
        passed = sum(o.status == "passed" for o, _ in entry["tests"])
        terminalreporter.write_line(f"{qid:<24} public tests: {entry['score']:>5.2f} of {entry['max_score']:g} points "
                                    f"({passed} of {len(entry['tests'])} tests passed)")
    total, most = sum(e["score"] for e in scores.values()), sum(e["max_score"] for e in scores.values())
    terminalreporter.write_line(f"{'total':<24} public tests: {total:>5.2f} of {most:g} points; "
                                "hidden tests also count toward your grade")
