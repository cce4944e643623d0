"""The staff checkout's pytest set-up (never shipped in a release): when the run grades the kit's own solutions/,
the reference checkpoints its accuracy questions need are trained first, once per dataset (the grading engine
never trains)."""
from pathlib import Path

import pytest

from autograder.course.config import KIT_ROOT
from autograder.grading.plugin import CONFIG_KEY, question_of


@pytest.fixture(scope="session", autouse=True)
def reference_checkpoints(request, pytestconfig):
    """Train, before the first test, the reference checkpoints solutions/ lacks or holds for other data."""
    if Path(pytestconfig.getoption("submission")).resolve() != (KIT_ROOT / "solutions").resolve():
        return
    grading = pytestconfig.stash[CONFIG_KEY]
    names = grading.checkpoint_models({question_of(item) for item in request.session.items} - {None})
    if names:
        from autograder.models.devices import resolve_device
        from autograder.models.references import ensure_reference_checkpoints

        with pytestconfig.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
            ensure_reference_checkpoints(grading, names, resolve_device(grading.device))
