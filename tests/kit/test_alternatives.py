"""Alternative solutions hold only what a student writes into the stub; course/alternatives.py composes them
(text and ast only: tests/kit/test_grading.py grades the composed submissions)."""
import ast
import copy
import textwrap

import pytest

from autograder.course.alternatives import alternative_file, compose, compose_alternative, definitions
from autograder.course.generator import build
from autograder.course.layout import alternative_solutions, master_file, question_ids, shown

ALTERNATIVES = [(qid, folder) for qid in question_ids() for folder in alternative_solutions(qid)]

STUB = textwrap.dedent('''\
    """Statement."""
    import math

    LIMIT = 3


    @decorated
    def area(r):
        """Docstring."""
        raise NotImplementedError("area: not implemented yet; replace this line with your code")


    class Net:
        def forward(self, x):
            raise NotImplementedError("Net.forward: not implemented yet; replace this line with your code")
''')


def code(node: ast.AST) -> str:
    """A definition's code without its docstrings (or its comments and layout), to compare two of them."""
    node = copy.deepcopy(node)
    for inner in ast.walk(node):
        if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and ast.get_docstring(inner):
            inner.body = inner.body[1:]
    return ast.dump(node)


def test_composition_replaces_definitions_and_places_imports_and_helpers():
    alternative = textwrap.dedent('''\
        """Written differently: with a helper."""
        from math import pi
        import math


        def _square(r):
            return r * r


        def area(r):
            return pi * _square(r)  # a comment stays


        def _unused():
            return math.e
    ''')
    assert compose(STUB, alternative, "alt.py") == textwrap.dedent('''\
        # Alternative solution alt.py, composed with the stub by autograder/course/alternatives.py.
        """Statement."""
        import math
        from math import pi

        LIMIT = 3


        def _square(r):
            return r * r


        def area(r):
            return pi * _square(r)  # a comment stays


        class Net:
            def forward(self, x):
                raise NotImplementedError("Net.forward: not implemented yet; replace this line with your code")


        def _unused():
            return math.e
    ''')


@pytest.mark.parametrize("alternative, message", [
    ("def area(r:\n    return r\n", r"alt\.py:1: does not parse"),
    ('"""Doc."""\nprint("hello")\n', r"alt\.py:2: a top-level Expr statement.*Move the code into a function"),
    ("LIMIT, OTHER = 4, 5\n", r"alt\.py:1: a top-level Assign statement.*assign one name at a time"),
    ("def area(r):\n    return 1\n\n\ndef area(r):\n    return 2\n", r"alt\.py:5: area is defined twice"),
])
def test_a_broken_alternative_is_a_clear_error(alternative, message):
    with pytest.raises(ValueError, match=message):
        compose(STUB, alternative, "alt.py")


def test_the_error_names_the_alternative_file(tmp_path):
    alternative_file("q8_output_size", tmp_path).write_text("for layer in []:\n    pass\n")
    with pytest.raises(ValueError, match=rf"{tmp_path}/q8_output_size\.py:1: a top-level For statement"):
        compose_alternative("q8_output_size", tmp_path)


@pytest.mark.parametrize("qid, folder", ALTERNATIVES, ids=[f"{q}-{f.name}" for q, f in ALTERNATIVES])
def test_an_alternative_holds_only_its_own_definitions_and_fills_them_into_the_stub(qid, folder):
    path, master = alternative_file(qid, folder), master_file(qid).read_text()
    source = path.read_text()
    assert ast.get_docstring(ast.parse(source)), f"{shown(path)}: no docstring; say how it is written differently"
    own = definitions(source)
    stub, reference = definitions(build(master, sanitize=True)), definitions(build(master, sanitize=False))

    def same(name, module):
        return name in module and code(own[name]) == code(module[name])
    copies = [name for name in own if same(name, reference) or same(name, stub)]
    assert not copies, (f"{shown(path)}: {', '.join(copies)}: the same code as the stub's or the reference "
                        "solution's; an alternative holds only what it writes differently: remove it (the composed "
                        "submission takes the stub's)")
    composed = compose_alternative(qid, folder)
    compile(composed, shown(path), "exec")
    assert composed.startswith(f"# Alternative solution {shown(path)}, composed")
    assert ast.get_docstring(ast.parse(composed)) == ast.get_docstring(ast.parse(build(master, sanitize=True)))
    filled = definitions(composed)
    assert {name: code(filled[name]) for name in own} == {name: code(node) for name, node in own.items()}
    replaced = [name for name in own if "NotImplementedError" in ast.unparse(stub.get(name, ast.Pass()))]
    assert replaced, f"{shown(path)}: fills in none of the stub's unwritten functions"
    assert not any("NotImplementedError" in ast.unparse(filled[name]) for name in replaced)
