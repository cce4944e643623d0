"""Links in a submission: followed while they stay inside it, refused (and said so) when they lead out."""
import json
import os
import stat
import zipfile
from pathlib import Path

import pytest
import yaml

from autograder.course.config import DEFAULT_CONFIG, KIT_ROOT, load_config
from autograder.batches.grade import grade_batch
from autograder.grading.submission import MAX_LINK_HOPS, OpenedSubmission, SubmissionError, locate, unpack

SOLUTIONS = KIT_ROOT / "solutions"
HIDDEN_TEST = KIT_ROOT / "assignments" / "q8_output_size" / "test_hidden.py"
QUESTIONS = ["q2_relu", "q8_output_size"]
PUBLIC_TESTS = [str(KIT_ROOT / "assignments" / qid / "test_public.py") for qid in QUESTIONS]
EXPECTED = [f"{qid}.py" for qid in QUESTIONS]
OUTSIDE = "is a link to a file outside your submission"
FIX = "Submit the file itself, not a link."


def link(path: Path, target: str | Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)
    return path


def write(path: Path, text: str = "x = 1\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def add_link(archive: zipfile.ZipFile, name: str, target: str) -> None:
    """A zip member stored as a Unix symbolic link, as `zip --symlinks` writes it."""
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive.writestr(info, target)


@pytest.fixture
def tree(tmp_path):
    """A submission folder and, beside it, a folder it must never reach into."""
    (tmp_path / "submission").mkdir()
    write(tmp_path / "outside" / "q2_relu.py", "the reference\n")
    return tmp_path / "submission", tmp_path / "outside"


# -- folders ------------------------------------------------------------------
@pytest.mark.parametrize("target", ["absolute", "relative"])
def test_a_link_to_a_file_outside_is_refused_naming_the_link_not_its_target(tree, target):
    root, outside = tree
    where = root / "hw" / "q2_relu.py"
    link(where, outside / "q2_relu.py" if target == "absolute" else os.path.relpath(outside / "q2_relu.py",
                                                                                       where.parent))
    located = locate(root, EXPECTED)
    assert "q2_relu.py" not in located.files and "q2_relu.py" not in located.missing
    assert located.refused == {"q2_relu.py": f"hw/q2_relu.py was refused: it {OUTSIDE}, and the grader does not "
                                             f"follow such links. {FIX}"}
    assert str(outside) not in located.refused["q2_relu.py"] and "outside/" not in located.refused["q2_relu.py"]


def test_a_chain_of_links_that_ends_outside_is_refused(tree):
    root, outside = tree
    link(root / "step.py", outside / "q2_relu.py")
    link(root / "q2_relu.py", "step.py")
    assert OUTSIDE in locate(root, EXPECTED).refused["q2_relu.py"]


def test_a_chain_of_links_that_stays_inside_is_followed_to_its_file(tree):
    root, _ = tree
    real = write(root / "drafts" / "relu_v3.py")
    link(root / "latest.py", "drafts/relu_v3.py")
    link(root / "q2_relu.py", root / "latest.py")
    located = locate(root, EXPECTED)
    assert located.files == {"q2_relu.py": real.resolve()} and not located.refused


def test_a_link_to_nothing_or_a_loop_of_links_is_missing_not_refused(tree):
    root, _ = tree
    link(root / "q2_relu.py", "nowhere.py")
    link(root / "q8_output_size.py", "q8_output_size.py")
    located = locate(root, EXPECTED)
    assert located.missing == EXPECTED and not located.files and not located.refused


def test_a_link_to_a_folder_outside_is_not_searched_and_says_so(tree):
    root, outside = tree
    link(root / "hw", outside)
    located = locate(root, EXPECTED)
    assert located.missing == EXPECTED and not located.files
    assert located.notes == ["hw/ was not searched: it is a link to a folder outside your submission, and the "
                             "grader does not follow such links. Submit the files themselves, not a link."]


def test_a_link_to_a_folder_inside_finds_each_file_once_where_it_really_is(tree):
    root, _ = tree
    real = write(root / "drafts" / "q2_relu.py")
    link(root / "current", "drafts")
    located = locate(root, EXPECTED)
    assert located.files == {"q2_relu.py": real.resolve()} and not located.notes


def test_a_real_copy_is_graded_before_a_shallower_link_that_leads_outside(tree):
    root, outside = tree
    link(root / "q2_relu.py", outside / "q2_relu.py")
    real = write(root / "hw" / "q2_relu.py")
    located = locate(root, EXPECTED)
    assert located.files["q2_relu.py"] == real.resolve() and not located.refused
    assert located.notes == ["q2_relu.py: graded hw/q2_relu.py; ignored q2_relu.py (a link to outside your "
                             "submission)."]


def test_a_submission_folder_reached_through_a_link_is_searched_as_usual(tree, tmp_path):
    root, _ = tree
    real = write(root / "q2_relu.py")
    located = locate(link(tmp_path / "alias", root), EXPECTED)
    assert located.files == {"q2_relu.py": real.resolve()} and located.missing == ["q8_output_size.py"]


# -- zips ---------------------------------------------------------------------
def zip_with_links(path: Path, links: dict[str, str], files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
        for name, target in links.items():
            add_link(archive, name, target)
    return path


def test_zip_links_inside_become_copies_and_links_outside_are_left_out(tmp_path):
    archive = zip_with_links(tmp_path / "alice.zip", files={"alice/src/relu.py": "mine\n", "alice/src/b.py": "b\n"},
                             links={"alice/q2_relu.py": "src/relu.py",          # inside: a copy
                                    "alice/chain.py": "q2_relu.py",             # a link to a link inside
                                    "alice/q8_output_size.py": "../../solutions/q8_output_size.py",
                                    "alice/abs.py": str(SOLUTIONS / "q2_relu.py"),
                                    "alice/escape.py": "src/../../../x.py",
                                    "alice/up": "..",                           # a folder link, to the top
                                    "alice/via_folder.py": "up/alice/src/relu.py",
                                    "alice/src_link": "src",                    # a folder inside: left out
                                    "alice/dangling.py": "src/none.py",
                                    "alice/loop.py": "loop.py"})
    into = tmp_path / "unpacked"
    into.mkdir()
    outside = unpack(archive, into)
    assert sorted(outside) == ["alice/abs.py", "alice/escape.py", "alice/q8_output_size.py"]
    for name in ("q2_relu.py", "chain.py", "via_folder.py"):
        copy = into / "alice" / name
        assert copy.read_text() == "mine\n" and not copy.is_symlink(), name
    assert not any(p.is_symlink() for p in into.rglob("*"))
    for name in ("src_link", "dangling.py", "loop.py", "up"):
        assert not (into / "alice" / name).exists(), name
    located = locate(into, EXPECTED, outside)
    assert located.files == {"q2_relu.py": (into / "alice" / "q2_relu.py").resolve()}
    assert located.refused == {"q8_output_size.py": f"alice/q8_output_size.py was refused: it {OUTSIDE}, and "
                                                    f"the grader does not follow such links. {FIX}"}


def test_a_long_chain_of_zip_links_counts_as_a_loop(tmp_path):
    chain = {f"l{i}.py": f"l{i + 1}.py" for i in range(MAX_LINK_HOPS + 1)}
    archive = zip_with_links(tmp_path / "chain.zip", links={"q2_relu.py": "l0.py", **chain},
                             files={f"l{MAX_LINK_HOPS + 1}.py": "end\n"})
    into = tmp_path / "unpacked"
    into.mkdir()
    assert unpack(archive, into) == []
    assert not (into / "q2_relu.py").exists() and (into / "l1.py").read_text() == "end\n"


def test_links_in_a_zip_cannot_multiply_its_size_past_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr("autograder.grading.submission.MAX_UNZIPPED_BYTES", 1000)
    archive = zip_with_links(tmp_path / "bomb.zip", files={"big.py": "x" * 600},
                             links={f"copy{i}.py": "big.py" for i in range(3)})
    into = tmp_path / "unpacked"
    into.mkdir()
    with pytest.raises(SubmissionError, match="too large"):
        unpack(archive, into)


def test_an_opened_zip_reports_its_outside_links_and_cleans_up(tmp_path):
    archive = zip_with_links(tmp_path / "bob.zip", files={}, links={"q2_relu.py": "/etc/passwd"})
    opened = OpenedSubmission(archive)
    with opened as root:
        assert opened.outside_links == ["q2_relu.py"] and not any(root.iterdir())
    assert not root.exists()


# -- whole submissions, graded in one batch -------------------------------------
LEAKER = '''

def receptive_field(layers):
    """Shows what q2_relu.py holds: a link to the hidden tests, if the grader followed it."""
    text = open("q2_relu.py").read()
    print(text)
    raise RuntimeError(text)
'''


def folder(root: Path, name: str) -> Path:
    (root / name).mkdir()
    return root / name


def submissions(root: Path) -> list[Path]:
    """One submission per way of linking, each refusing (or following) the links it holds."""
    reference = folder(root, "linked_to_reference")                      # (a) top level and nested
    link(reference / "q2_relu.py", SOLUTIONS / "q2_relu.py")
    nested = reference / "hw" / "week1" / "q8_output_size.py"
    link(nested, os.path.relpath(SOLUTIONS / "q8_output_size.py", nested.parent))

    linked_folder = folder(root, "linked_folder")                        # a folder link to the solutions
    link(linked_folder / "hw", SOLUTIONS)

    zipped = zip_with_links(root / "zipped_links.zip",                   # (b) a zip with link members
                            files={"alice/src/q8.py": (SOLUTIONS / "q8_output_size.py").read_text()},
                            links={"alice/q2_relu.py": str(SOLUTIONS / "q2_relu.py"),
                                   "alice/q8_output_size.py": "src/q8.py"})

    leaking = folder(root, "reads_hidden_test")                          # (c) a link to a hidden test
    link(leaking / "q2_relu.py", HIDDEN_TEST)
    write(leaking / "q8_output_size.py", (SOLUTIONS / "q8_output_size.py").read_text() + LEAKER)

    inside = folder(root, "linked_inside")                               # (d) links that stay inside
    write(inside / "drafts" / "relu_final.py", (SOLUTIONS / "q2_relu.py").read_text())
    write(inside / "drafts" / "output_size.py", (SOLUTIONS / "q8_output_size.py").read_text())
    link(inside / "q2_relu.py", "drafts/relu_final.py")
    link(inside / "latest.py", inside / "drafts" / "output_size.py")
    link(inside / "q8_output_size.py", "latest.py")
    return [reference, linked_folder, zipped, leaking, inside]


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Every case graded together, on the public tests of q2 and q8 with 5 examples each."""
    root = tmp_path_factory.mktemp("links")
    settings = yaml.safe_load(DEFAULT_CONFIG.read_text())
    settings["hypothesis"]["max_examples"] = 5
    config_path = root / "grading.yml"
    config_path.write_text(yaml.safe_dump(settings))
    graded = grade_batch(submissions(root), root / "graded", load_config(config_path), config_path, QUESTIONS,
                         jobs=2, tests=PUBLIC_TESTS)
    texts = {g.name: (root / "graded" / g.name / "results.json").read_text() +
             (root / "graded" / g.name / "feedback.md").read_text() for g in graded}
    return {g.name: g.results for g in graded}, texts


def scores(results: dict) -> dict[str, float]:
    return {qid: entry["score"] for qid, entry in results["extra_data"]["questions"].items()}


def outputs(results: dict, qid: str, status: str = "failed") -> list[str]:
    return [t["output"] for t in results["tests"] if t["name"].startswith(f"{qid} ›") and t["status"] == status]


def assert_refused(results: dict, text: str, qid: str, where: str) -> None:
    """The question scores 0, each of its tests says the link was refused, and so does the top of the feedback."""
    message = f"{where} was refused: it {OUTSIDE}"
    assert scores(results)[qid] == 0
    assert outputs(results, qid) and not outputs(results, qid, "passed")
    assert all(message in output and FIX in output for output in outputs(results, qid)), outputs(results, qid)
    assert message in results["output"] and message in text


@pytest.mark.slow
def test_every_case_is_graded_and_no_grader_path_reaches_the_student(batch):
    results, texts = batch
    assert set(results) == {"linked_to_reference", "linked_folder", "zipped_links", "reads_hidden_test",
                            "linked_inside"}
    for name, text in texts.items():
        assert str(KIT_ROOT) not in text and "solutions/" not in text, name
        assert "internal error" not in text, name


@pytest.mark.slow
def test_a_question_file_linked_to_the_reference_scores_zero_at_top_level_and_nested(batch):
    results, texts = batch
    graded = results["linked_to_reference"]
    assert graded["score"] == 0
    assert_refused(graded, texts["linked_to_reference"], "q2_relu", "q2_relu.py")
    assert_refused(graded, texts["linked_to_reference"], "q8_output_size", "hw/week1/q8_output_size.py")


@pytest.mark.slow
def test_a_folder_linked_to_the_solutions_exposes_nothing(batch):
    results, texts = batch
    graded = results["linked_folder"]
    assert graded["score"] == 0
    assert "hw/ was not searched: it is a link to a folder outside your submission" in graded["output"]
    assert "Missing: q2_relu.py" in graded["output"] and "Missing: q8_output_size.py" in graded["output"]


@pytest.mark.slow
def test_a_zip_link_member_is_refused_when_it_leads_out_and_copied_when_it_stays_in(batch):
    results, texts = batch
    graded = results["zipped_links"]
    assert_refused(graded, texts["zipped_links"], "q2_relu", "alice/q2_relu.py")
    assert scores(graded)["q8_output_size"] == 10 and not outputs(graded, "q8_output_size")


@pytest.mark.slow
def test_a_link_to_a_hidden_test_shows_none_of_it(batch):
    results, texts = batch
    graded = results["reads_hidden_test"]
    assert_refused(graded, texts["reads_hidden_test"], "q2_relu", "q2_relu.py")
    failed = outputs(graded, "q8_output_size")
    assert failed and all("receptive_field" in output and "No such file" in output for output in failed), failed
    public = (KIT_ROOT / "assignments" / "q8_output_size" / "test_public.py").read_text()
    secret = [line.strip() for line in HIDDEN_TEST.read_text().splitlines()
              if len(line.strip()) > 30 and line.strip() not in public]
    assert len(secret) > 20
    for name, text in texts.items():
        leaked = [line for line in secret if line in text or json.dumps(line)[1:-1] in text]
        assert not leaked, f"{name} shows lines of the hidden test: {leaked[:3]}"


@pytest.mark.slow
def test_links_that_stay_inside_the_submission_are_graded_normally(batch):
    results, _ = batch
    graded = results["linked_inside"]
    assert graded["score"] == graded["max_score"] == 20, graded["output"]
    assert "refused" not in json.dumps(graded) and "Missing" not in graded["output"]
