"""README.md of student.zip: what to write, how to check it, what to submit, then every statement."""
from __future__ import annotations

import ast

from .config import KIT_ROOT

CHECK_COMMAND = "pytest"   # what the handout tells students to run in the unzipped folder


def statement(question: str) -> str:
    """The question's statement: the module docstring of its master file."""
    return ast.get_docstring(ast.parse((KIT_ROOT / "assignments" / f"{question}.py").read_text())) or ""


def handout(plan) -> str:
    """README.md of student.zip: what to write, how to check it, what to submit, then every statement."""
    questions = plan.config.assignments[plan.name].questions
    total = sum(q.points for q in questions.values())
    own = [f"{q}.py" for q in plan.questions] + [c for q in plan.questions for c in questions[q].checkpoints]
    borrowed = [f for q in plan.loaded if q not in plan.questions
                for f in (f"{q}.py", *plan.config.questions[q].checkpoints)]
    lines = [f"# {plan.title}", "",
             f"This assignment has {_count(len(plan.questions))}, {total:g} points in all:", ""]
    lines += [f"- `{q}.py`: {questions[q].title} ({questions[q].points:g} points)" for q in plan.questions]
    lines += ["", "## What to do", "",
              "Write your code in the files named above, in this folder, where the stubs raise "
              "`NotImplementedError`. Each docstring is the specification: arguments, shapes, examples. "
              "Keep the names of functions, classes and arguments.", "",
              "## Check your work", "", "Once, in a terminal in this folder (a virtual environment is best):", "",
              "```bash", "python -m pip install -r requirements.txt", "```", "",
              "Then, after every change:", "", "```bash", CHECK_COMMAND, "```", "",
              "This runs the public tests on the files in this folder. A failed test shows the input it "
              "failed on, what was expected and what your code returned. Hidden tests, which try many "
              "more generated inputs, decide your grade as well, so passing the public tests is a good "
              "sign, not a promise.", "", "## Submit", "", f"Upload {_listing(own)}."]
    if borrowed:
        earlier = sorted({plan.config.assignment_of(q) for q in plan.loaded if q not in plan.questions})
        lines += ["", f"Add {_listing(borrowed)} from your {_listing(earlier)} assignment as well: the tests "
                      "compare your new work with it."]
    for q in plan.questions:
        lines += ["", f"## `{q}.py`: {questions[q].title} ({questions[q].points:g} points)", "", statement(q)]
    return "\n".join(lines) + "\n"


def _count(questions: int) -> str:
    return "one question" if questions == 1 else f"{questions} questions"


def _listing(names: list[str]) -> str:
    quoted = [f"`{n}`" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]
