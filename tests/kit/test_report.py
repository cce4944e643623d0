"""report.html from a fabricated batch: its figures, that it needs nothing outside it, and how a browser shows it."""
from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
from pathlib import Path

import pytest

from autograder.reports.plots import plot_scores
from autograder.reports.report import ReportRow, write_report
from autograder.grading.results import points

TITLE = "CNN exercise: batch of the fabricated class"
QUESTIONS = {"q1_conv": 20.0, "q2_relu": 10.0}
SHAPE_MESSAGE = "Expected shape (2, 3, 4, 4), got (2, 3, 5, 5)"
HOSTILE_NAME = "<script>document.write('<i id=pwned></i>')</script>mallory"
BROKEN_REASON = "the grading process ran past its 600 s limit"
CHROMIUM_SECONDS = 60
# Chromium refuses to start as root without --no-sandbox; a fresh --user-data-dir keeps it off ~/.config and away
# from another run's profile lock; --disable-dev-shm-usage because Debian's launcher fails to test /dev/shm's size
# where findmnt prints two lines, and a small /dev/shm (Docker's 64 MB) crashes the renderer.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage",
                  "--hide-scrollbars", "--disable-extensions", "--force-device-scale-factor=1"]


def entry(question: str, name: str, passed: bool, output: str = "") -> dict:
    """A tests[] entry worth one point."""
    return {"name": f"{question} › public › {name}", "score": 1.0 if passed else 0.0, "max_score": 1.0,
            "status": "passed" if passed else "failed", "output": output, "visibility": "visible"}


def results(index: int) -> dict:
    """results.json of student index: shape test fails for two in three (mostly with one message), the gradient
    test for index % 5 == 0 with a traceback whose first line repeats, relu always passes."""
    shape_ok, gradient_ok = index % 3 == 0, index % 5 != 0
    shape_output = "" if shape_ok else (SHAPE_MESSAGE if index % 4 else "ValueError: negative stride") + "\nmore"
    tests = [entry("q1_conv", "test_conv_shape", shape_ok, shape_output),
             entry("q1_conv", "test_conv_gradient", gradient_ok, "" if gradient_ok else "\n  Gradient off\nx"),
             entry("q2_relu", "test_relu", True),
             {"name": "Grading sandbox (staff only)", "output": "namespaces", "visibility": "hidden"}]
    q1 = 10.0 * shape_ok + 10.0 * gradient_ok
    return {"score": q1 + 10.0, "max_score": 30.0, "tests": tests,
            "extra_data": {"questions": {"q1_conv": {"score": q1, "max_score": 20.0, "title": "Conv"},
                                         "q2_relu": {"score": 10.0, "max_score": 10.0, "title": "ReLU"}}},
            "leaderboard": [{"name": "LeNet acc", "value": round(0.5 + index / 100, 4)}]}


def broken() -> dict:
    """What results.broken_results writes: no tests, every question 0."""
    return {"score": 0.0, "max_score": 30.0, "tests": [], "output": "could not be graded",
            "extra_data": {"questions": {q: {"score": 0.0, "max_score": p, "title": q} for q, p in QUESTIONS.items()}}}


def batch() -> list[ReportRow]:
    """30 submissions: 27 graded (student_00 .. student_26, the hostile name last) and 3 broken."""
    rows = [ReportRow(f"student_{i:02d}", results(i), "ok") for i in range(26)]
    rows.append(ReportRow(HOSTILE_NAME, results(26), "ok"))
    rows += [ReportRow(f"broken_{i}", broken(), BROKEN_REASON) for i in range(3)]
    return rows


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    return write_report(tmp_path_factory.mktemp("report") / "report.html", batch(), TITLE)


def expected_figures() -> list[str]:
    totals = [row.results["score"] for row in batch()]
    return ["30 submissions", f"mean {points(statistics.mean(totals))} / 30",
            f"median {points(statistics.median(totals))} / 30", "27 graded ok", "3 broke"]


def text_of(html: str) -> str:
    """The page's text as a person reads it: tags dropped, whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_report_needs_nothing_outside_it(report):
    html = report.read_text()
    assert "http://" not in html and "https://" not in html
    sources = re.findall(r'src="([^"]*)"', html)
    assert len(sources) == 2 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "<script" not in html and "<link" not in html


def test_report_shows_the_batch_figures(report):
    text = text_of(report.read_text())
    for figure in expected_figures():
        assert figure in text, figure


def test_report_ranks_tests_by_pass_rate_with_the_most_common_failure(report):
    text = text_of(report.read_text())
    # shape passes for i % 3 == 0: 9 of 27; of the 18 failures, 4 (i = 4, 8, 16, 20) say negative stride
    shape = f"q1_conv › public › test_conv_shape q1_conv 9/27 33 % 14 of 18: {SHAPE_MESSAGE}"
    gradient = "q1_conv › public › test_conv_gradient q1_conv 21/27 78 % 6 of 6: Gradient off"
    relu = "q2_relu › public › test_relu q2_relu 27/27 100 % —"
    assert shape in text and gradient in text and relu in text
    assert text.index(shape) < text.index(gradient) < text.index(relu)
    assert "sandbox" not in text


def test_report_lists_broken_gradings_and_the_leaderboard_best_first(report):
    html = report.read_text()
    text = text_of(html)
    assert all(f"broken_{i} {BROKEN_REASON}" in text for i in range(3))
    assert "LeNet acc: top 20 of 27" in text
    ranked = re.findall(r"<td class=\"number\">(\d+)</td><td>([^<]*)</td><td class=\"number\">([\d.]+)</td>", html)
    assert [r[0] for r in ranked] == [str(n) for n in range(1, 21)]
    assert ranked[0][1:] == (HOSTILE_NAME.replace("<", "&lt;").replace(">", "&gt;").replace("'", "&#x27;"), "0.76")
    assert [r[1] for r in ranked[1:4]] == ["student_25", "student_24", "student_23"]
    assert "student_06" not in [r[1] for r in ranked]  # 21st of 27


def test_report_escapes_student_strings(report):
    html = report.read_text()
    assert HOSTILE_NAME not in html
    assert "&lt;script&gt;document.write(&#x27;&lt;i id=pwned&gt;&lt;/i&gt;&#x27;)&lt;/script&gt;mallory" in html


def chromium() -> str:
    """The chromium binary; the test is skipped without it, except in CI (.ci/run installs it)."""
    binary = shutil.which("chromium")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("no chromium binary: .ci/run installs the Debian package chromium")
        pytest.skip("no chromium binary (apt-get install chromium)")
    return binary


def run_chromium(page: Path, profile: Path, *arguments: str) -> str:
    command = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *arguments, page.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=CHROMIUM_SECONDS, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_chromium_renders_the_report(report, tmp_path):
    dom = run_chromium(report, tmp_path / "profile-dom", "--dump-dom")
    text = text_of(dom)
    for figure in expected_figures():
        assert figure in text, figure
    assert f"14 of 18: {SHAPE_MESSAGE}" in text
    assert 'id="pwned"' not in dom and "id=pwned&gt;" in dom  # the name is text: its script never ran
    screenshot = tmp_path / "report.png"
    run_chromium(report, tmp_path / "profile-shot", f"--screenshot={screenshot}", "--window-size=1280,2400")
    pixels = pyplot_image(screenshot)
    assert pixels.shape[:2] == (2400, 1280)
    assert pixels.std() > 0.05
    assert (pixels[..., :3] < 0.95).any(axis=-1).mean() > 0.03  # text, table rules and histograms (6 % here)


def test_chromium_runs_scripts_so_the_escaping_check_means_something(tmp_path):
    page = tmp_path / "unescaped.html"
    page.write_text(f"<!DOCTYPE html><html><body><p>{HOSTILE_NAME}</p></body></html>")
    assert 'id="pwned"' in run_chromium(page, tmp_path / "profile", "--dump-dom")


def pyplot_image(path: Path):
    from matplotlib import image

    return image.imread(path)


@pytest.mark.parametrize("count", [1, 500])
def test_scores_picture_keeps_its_size(tmp_path, count):
    totals = [float((7 * i) % 151) for i in range(count)]
    pixels = pyplot_image(plot_scores(totals, 150.0, tmp_path / "scores.png"))
    assert pixels.shape[:2] == (450, 800)
