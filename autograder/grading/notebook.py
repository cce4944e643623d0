"""What an Otter notebook of the kit imports: the `%%question` cell magic and `kit_test`, its test cases' body."""
from __future__ import annotations

import ast
import contextlib
import io
import linecache
import sys
import types
from pathlib import Path

from autograder.course.config import KIT_ROOT


def question_cell(line: str, cell: str) -> None:
    """%%question <id>: run the cell as module <id> (as if it were <id>.py) and share its names.

    A bare `...` left in a function (where Otter put the stub) raises NotImplementedError naming the
    function, as the kit's stubs do, so an unfinished function never passes for a finished one.
    """
    from IPython import get_ipython

    question = line.strip()
    filename = f"<notebook cell {question}>"
    linecache.cache[filename] = (len(cell), None, cell.splitlines(keepends=True), filename)
    module = types.ModuleType(question)
    module.__file__, module.__kit_question__ = filename, True
    sys.modules[question] = module
    tree = ast.fix_missing_locations(_UnfinishedRaises().visit(ast.parse(cell, filename)))
    exec(compile(tree, filename, "exec"), module.__dict__)
    shell = get_ipython()
    shell.user_ns[question] = module
    shell.user_ns.update({k: v for k, v in vars(module).items() if not k.startswith("_")})


class _UnfinishedRaises(ast.NodeTransformer):
    """`...` as a statement inside a function -> raise NotImplementedError("<qualified name>: ...")."""

    def __init__(self):
        self.names: list[str] = []
        self.in_function = 0

    def _scope(self, node, function: bool):
        self.names.append(node.name)
        self.in_function += function
        self.generic_visit(node)
        self.in_function -= function
        self.names.pop()
        return node

    def visit_FunctionDef(self, node):
        return self._scope(node, True)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        return self._scope(node, False)

    def visit_Expr(self, node):
        if self.in_function and isinstance(node.value, ast.Constant) and node.value.value is Ellipsis:
            message = f"{'.'.join(self.names)}: not implemented yet; replace the ... with your code"
            raise_node = ast.Raise(ast.Call(ast.Name("NotImplementedError", ast.Load()), [ast.Constant(message)], []))
            return ast.copy_location(raise_node, node)
        return node


def _register_magic() -> None:
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.register_magic_function(question_cell, magic_kind="cell", magic_name="question")


_register_magic()
_outcomes: dict[tuple, dict] = {}   # (test file, (question, id of its module)...) -> {test: record}
_files: dict[tuple, types.ModuleType] = {}   # (path, modification time) -> a question loaded from a file


def kit_test(env: dict, question: str, test: str) -> None:
    """An Otter test case: run the kit's test (file::name) on the notebook's `%%question` modules.

    A question this one compares with (grading.yml compares_with) may come as a file next to the
    notebook instead, e.g. q6_lenet.py from an earlier assignment. The whole test file runs once
    per version of the modules (running a cell again makes a new one); the other cases of the file
    read its outcomes.
    """
    from autograder.grading import inprocess
    from autograder.course.config import load_config

    modules = {name: m for name, m in env.items() if getattr(m, "__kit_question__", False)}
    for other in load_config(KIT_ROOT / "grading.yml").questions[question].compares_with:
        path = Path(f"{other}.py").resolve()
        if other not in modules and path.exists():
            stamp = (path, path.stat().st_mtime_ns)
            if stamp not in _files:
                _files[stamp] = inprocess.load_module(other, path)
            modules[other] = _files[stamp]
    file = test.split("::")[0]
    key = (file, *sorted((name, id(m)) for name, m in modules.items()))
    if key not in _outcomes:
        _outcomes[key] = {"modules": modules, **_run_file(file, modules)}
    record = _outcomes[key].get(test)
    if record is None:
        raise AssertionError(f"the kit ran no test {test}; is the kit folder next to this notebook complete?")
    if record["status"] == "failed":
        raise AssertionError(record["feedback"])


def _run_file(file: str, modules: dict) -> dict[str, dict]:
    import pytest

    from autograder.grading import inprocess

    args = [str(KIT_ROOT / file), "-q", "--no-header", "-p", "autograder.grading.inprocess", f"--rootdir={KIT_ROOT}",
            f"--grading-config={KIT_ROOT / 'grading.yml'}", "-p", "no:cacheprovider", "--capture=sys"]
    provided = inprocess.Provided(modules)
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        pytest.main(args, plugins=[provided])
    records = {r["test"]: r for r in provided.records}
    if not records:
        raise AssertionError(f"the kit's tests in {file} did not run:\n{printed.getvalue()[-2000:]}")
    return records


