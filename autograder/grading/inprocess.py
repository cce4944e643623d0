"""The kit's tests against code loaded into the test process itself (reference mutants, notebook cells).

Loaded as a pytest plugin after autograder.grading.plugin (`-p autograder.grading.inprocess`), it replaces the
`student` fixture: calls go to modules in this process through the same proxies, bans and error
mapping as the sandboxed worker, but with no process boundary. It is for trusted code (mutants of
the reference) and for Otter, whose design runs student code in the grading process anyway.
"""
from __future__ import annotations

import ast
import importlib.util
import json
import signal
import sys
import tempfile
import threading
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, Phase, settings

from autograder.sandbox import errors
from autograder.sandbox import protocol
from autograder.sandbox.proxy import Student
from autograder.course.layout import is_public_test
from autograder.grading.plugin import CONFIG_KEY, OUTCOMES_KEY, question_of
from autograder.sandbox.supervisor import Sandbox
from autograder.sandbox.worker import Worker, describe

REFERENCE = "reference"


class InProcessSandbox:
    """Sandbox's interface (request, limits, generation) over modules of this process."""

    generation = 1
    last_output = ""

    def __init__(self, modules: dict[str, ModuleType], broken: dict[str, str], limits):
        self.limits, self.broken = limits, broken
        self.scratch = Path(tempfile.gettempdir())
        self.worker = Worker(self.scratch, limits.message_mb << 20)
        self.worker.modules.update(modules)

    def request(self, op: str, label: str, time_limit: float | None = None, **args):
        module = args.get("target") if isinstance(args.get("target"), str) else None
        if module in self.broken:
            raise errors.ImportFailed(f"importing {module}.py failed: {self.broken[module]}")
        try:
            return protocol.to_wire(getattr(self.worker, f"op_{op}")(**args), self.worker.keep)
        except errors.SandboxError:
            raise
        except BaseException as exc:  # noqa: BLE001 - mapped exactly as the worker's replies are
            raise Sandbox._failure(self, label, describe(exc, self.scratch)) from None

    def close(self) -> None:
        self.worker.handles.clear()


def load_module(question: str, path: Path, probe=None) -> ModuleType:
    """Import a file as module `question` (the name student code expects), registered while it runs.

    With probe, every statement inside a function first calls probe(first line, last line) of its
    own lines (a compound statement's header): a cheap line coverage of this one file.
    """
    spec = importlib.util.spec_from_file_location(question, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[question] = module
    if probe is None:
        spec.loader.exec_module(module)
        return module
    tree = with_probes(ast.parse(path.read_text()))
    module.__dict__[PROBE] = probe
    exec(compile(tree, str(path), "exec"), module.__dict__)
    return module


PROBE = "__kit_probe__"


def with_probes(tree: ast.Module) -> ast.Module:
    """Put `__kit_probe__(first, last)` before each statement of every function body (docstrings aside)."""
    done: set[int] = set()
    for function in [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]:
        for node in ast.walk(function):
            for field in ("body", "orelse", "finalbody"):
                statements = getattr(node, field, None)
                if id(statements) in done or not (isinstance(statements, list) and statements
                                                   and isinstance(statements[0], ast.stmt)):
                    continue
                probed = [part for stmt in statements for part in (*_probe(stmt), stmt)]
                setattr(node, field, probed)
                done.add(id(probed))
    return ast.fix_missing_locations(tree)


def _probe(stmt: ast.stmt) -> list[ast.stmt]:
    """The probe of one statement: its lines, or a compound statement's header lines."""
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
        return []
    body = getattr(stmt, "body", None)
    last = body[0].lineno - 1 if isinstance(body, list) and body else stmt.end_lineno
    call = ast.Call(ast.Name(PROBE, ast.Load()), [ast.Constant(stmt.lineno), ast.Constant(max(last, stmt.lineno))], [])
    return [ast.copy_location(ast.Expr(call), stmt)]


def pytest_addoption(parser):
    parser.getgroup("autograder").addoption(
        "--in-process", default=None, help="JSON manifest of a mutation run (default: the modules a Provided "
                                           "plugin hands over)")


class Provided:
    """Modules a caller in this process hands to a pytest run (pytest.main(..., plugins=[Provided(...)]): a
    notebook's cells), and the outcomes it reads back from `records` once the run ends."""

    def __init__(self, modules: dict[str, ModuleType]):
        self.modules = dict(modules)
        self.records: list[dict] = []


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    path = config.getoption("in_process")
    manifest = json.loads(Path(path).read_text()) if path else {}
    provided = next((p for p in config.pluginmanager.get_plugins() if isinstance(p, Provided)), Provided({}))
    run = InProcessRun(manifest, config.stash[CONFIG_KEY].limits, provided)
    # the grading profile (same examples, same order); in mutation runs the student fixture is per test
    # and a test stops at its first failing example, without shrinking
    checks = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture]
    faster = dict(phases=[Phase.explicit, Phase.generate], report_multiple_bugs=False) if manifest else {}
    settings.register_profile("in-process", parent=settings.get_profile("grading"), suppress_health_check=checks,
                              **faster)
    settings.load_profile("in-process")
    config.pluginmanager.register(run, "autograder-in-process-run")
    # registered after autograder.grading.plugin, so this `student` fixture replaces the sandboxed one
    config.pluginmanager.register(MutantFixtures(run) if manifest else ProvidedFixtures(run), "autograder-in-process")


class MutantFixtures:
    """`student` per test, so that the reference and the mutants can take turns."""

    def __init__(self, run: InProcessRun):
        self.run = run

    @pytest.fixture
    def variant(self) -> str:
        return REFERENCE

    @pytest.fixture
    def student(self, variant):
        """The variant's modules, called in this process through the kit's usual proxies."""
        return Student(self.run.sandbox(variant))


class ProvidedFixtures:
    """`student` for the session: the modules the caller provided."""

    def __init__(self, run: InProcessRun):
        self.run = run

    @pytest.fixture(scope="session")
    def student(self):
        return Student(self.run.sandbox(REFERENCE))


class InProcessRun:
    """One pytest session's in-process grading: the manifest of a mutation run (or the provided modules), each
    variant's sandbox, the reference's line coverage per test, and which mutants the tests have killed."""

    def __init__(self, manifest: dict, limits, provided: Provided):
        self.manifest, self.limits, self.provided = manifest, limits, provided
        self.variants = [REFERENCE, *manifest.get("mutants", {})]
        self.sandboxes: dict[str, InProcessSandbox] = {}
        self.killed: set[str] = set()      # mutants some test failed on
        self.killers: set[str] = set()     # tests that failed on some mutant
        self.coverage: dict[str, set] = {}  # test -> the reference's (first, last) lines it ran
        self.recording: set | None = None

    def sandbox(self, variant: str) -> InProcessSandbox:
        if variant not in self.sandboxes:
            self.sandboxes[variant] = self._sandbox(variant)
        return self.sandboxes[variant]

    def _sandbox(self, variant: str) -> InProcessSandbox:
        if not self.manifest:
            return InProcessSandbox(self.provided.modules, {}, self.limits)
        if variant == REFERENCE:
            files, probe = self.manifest["reference"], self._record
        else:
            mutant = self.manifest["mutants"][variant]
            files, probe = {mutant["question"]: mutant["path"]}, None
        modules, broken = {}, {}
        for question, path in files.items():
            try:
                modules[question] = load_module(question, Path(path), probe)
            except Exception as exc:  # noqa: BLE001 - a mutant that cannot even be imported fails every test
                broken[question] = f"{type(exc).__name__}: {exc}"
        return InProcessSandbox(modules, broken, self.limits)

    def _record(self, first: int, last: int) -> None:
        if self.recording is not None:
            self.recording.add((first, last))

    def split_nodeid(self, nodeid: str) -> tuple[str, str]:
        """(test without the variant, variant) of a node id such as
        assignments/q2_relu/test_hidden.py::test_x[3-@q2_relu.m007]."""
        for variant in self.variants[1:]:
            tag = f"@{variant}"
            if tag in nodeid:
                return nodeid.replace(f"-{tag}", "").replace(f"{tag}-", "").replace(f"[{tag}]", ""), variant
        return (nodeid.replace(f"-@{REFERENCE}", "").replace(f"@{REFERENCE}-", "").replace(f"[@{REFERENCE}]", ""),
                REFERENCE)

    def pytest_generate_tests(self, metafunc):
        """Mutation runs: each test runs on the reference, then on the mutants of its own question."""
        mutants = self.manifest.get("mutants", {})
        question = question_of(metafunc.definition)
        if mutants and "variant" in metafunc.fixturenames and question:
            variants = [REFERENCE, *(name for name, m in mutants.items() if m["question"] == question)]
            metafunc.parametrize("variant", variants, ids=[f"@{v}" for v in variants])

    def pytest_collection_modifyitems(self, config, items):
        """Mutation runs may be limited to some tests (`only_tests`: names without the variant)."""
        only = self.manifest.get("only_tests")
        if only is not None:
            config.hook.pytest_deselected(items=[i for i in items if self.split_nodeid(i.nodeid)[0] not in only])
            items[:] = [i for i in items if self.split_nodeid(i.nodeid)[0] in only]

    def pytest_collection_finish(self, session):
        """With `collect_to` in the manifest: write every graded test, its question, weight and part there."""
        path = self.manifest.get("collect_to")
        if path:
            tests = [{"test": item.nodeid, "question": question_of(item), "public": is_public_test(item.path),
                      "weight": float(m.args[0]) if (m := item.get_closest_marker("points")) else 1.0}
                     for item in session.items if question_of(item)]
            Path(path).write_text(json.dumps(tests))

    def pytest_runtest_setup(self, item):
        """Mutation runs: skip a (test, mutant) pair whose answer cannot matter or cannot differ.

        Skipped: a mutant the test never reaches (its edited lines did not run when the test ran on the
        reference); a mutant already killed, when the test already kills another mutant; with
        `until_killed`, any mutant once the test kills one.
        """
        test, variant = self.split_nodeid(item.nodeid)
        if variant == REFERENCE:
            return
        site = self.manifest["mutants"][variant]["site"]
        ran = self.coverage.get(test, ())
        if site is not None and not any(first <= site[1] and site[0] <= last for first, last in ran):
            pytest.skip("not reached: the test does not run the edited lines")
        if test in self.killers and (variant in self.killed or self.manifest.get("until_killed")):
            pytest.skip("decided: this test already kills a mutant, and this mutant is already killed")

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item):
        """Mutation runs: a time limit per test (nothing else would stop a mutant that loops), and the
        reference's lines each test runs."""
        seconds = self.manifest.get("seconds_per_test")
        if not seconds or threading.current_thread() is not threading.main_thread():
            return (yield)
        test, variant = self.split_nodeid(item.nodeid)

        def expire(signum, frame):
            raise errors.CallTimeout(f"the test took longer than {seconds} s")
        previous = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        if variant == REFERENCE:
            self.recording = self.coverage.setdefault(test, set())
        try:
            return (yield)
        finally:
            self.recording = None
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    def pytest_runtest_logreport(self, report):
        if report.failed and report.when in ("setup", "call"):
            test, variant = self.split_nodeid(report.nodeid)
            if variant != REFERENCE:
                self.killed.add(variant)
                self.killers.add(test)

    def pytest_sessionfinish(self, session):
        """Every (test, variant) outcome, handed to the caller's Provided; with the coverage, written to the
        manifest's `out`."""
        records = []
        for nodeid, outcome in session.config.stash[OUTCOMES_KEY].items():
            test, variant = self.split_nodeid(nodeid)
            records.append({"variant": variant, "question": outcome.question, "test": test, "public": outcome.public,
                            "weight": outcome.weight, "status": outcome.status, "feedback": outcome.feedback})
        self.provided.records = records
        if self.manifest.get("out"):
            coverage = {test: sorted(spans) for test, spans in self.coverage.items()}
            Path(self.manifest["out"]).write_text(json.dumps({"records": records, "coverage": coverage}))
        for sandbox in self.sandboxes.values():
            sandbox.close()
