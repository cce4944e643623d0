"""grading.yml: typed settings with defaults; every mistake is an error naming the key."""
import dataclasses

import pytest

from autograder.course.config import DEFAULT_CONFIG, ConfigError, GradingConfig, Limits, load_config


def write(tmp_path, text):
    path = tmp_path / "grading.yml"
    path.write_text(text)
    return path


def test_the_course_config_loads_and_lists_its_questions():
    config = load_config(DEFAULT_CONFIG)
    assert "q8_output_size" in config.questions
    assert config.assignment_of("q8_output_size") == "layers"


def test_missing_settings_take_their_defaults(tmp_path):
    config = load_config(write(tmp_path, "assignments:\n  a:\n    questions:\n      q1_conv: {points: 3}\n"))
    assert config.limits == Limits() and config.device == "auto"
    assert config.questions["q1_conv"].points == 3.0


def test_every_setting_has_a_description():
    for kind in (GradingConfig, Limits):
        for field in dataclasses.fields(kind):
            assert field.metadata.get("help"), f"{kind.__name__}.{field.name} has no description"


@pytest.mark.parametrize("text, message", [
    ("limits:\n  call_secs: 3\n", r"limits: unknown key 'call_secs'; known keys: call_seconds"),
    ("limits:\n  call_seconds: fast\n", r"limits.call_seconds: expected a number, got 'fast'"),
    ("limits:\n  memory_mb: 1.5\n", r"limits.memory_mb: expected a whole number"),
    ("limits:\n  call_seconds: 0\n", r"limits.call_seconds: must be at least 0.1"),
    ("device: gpu\n", r"device: must be one of auto, cpu, cuda; got 'gpu'"),
    ("hypothesis:\n  max_examples: true\n", r"hypothesis.max_examples: expected a whole number"),
    ("assignments:\n  a:\n    questions:\n      q1: {points: -1}\n", r"assignments.a.questions.q1.points: must be"),
    ("assignments:\n  a:\n    questions: {q1: {}}\n  b:\n    questions: {q1: {}}\n", r"question 'q1' is in"),
    ("limits: [1, 2]\n", r"limits: expected a mapping"),
    ("device: [\n", r"not valid YAML"),
])
def test_a_bad_setting_is_an_error_that_names_it(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(write(tmp_path, text))
    assert "grading.yml" in str(caught.value)


def test_a_question_id_without_a_master_is_an_error_naming_the_closest_id(tmp_path):
    text = DEFAULT_CONFIG.read_text().replace("q8_output_size:", "q8_output_sise:")
    with pytest.raises(ConfigError, match=r"assignments.layers.questions.q8_output_sise: no master file "
                                          r"assignments/q8_output_sise/master.py; did you mean 'q8_output_size'\?"):
        load_config(write(tmp_path, text))


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read it"):
        load_config(tmp_path / "nope.yml")


@pytest.mark.parametrize("text, message", [
    ("thresholds:\n  synthetic:\n    lenett: {overall: 0.5}\n", r"thresholds\.synthetic\.lenett: did you mean 'lenet'\?"),
    ("thresholds:\n  synthetic:\n    lenet_over_simple_nn: {overall: 0.5}\n",
     r"thresholds\.synthetic\.lenet_over_simple_nn: expected a number, at least 0"),
    ("thresholds:\n  synthetic:\n    lenet: 0.5\n", r"thresholds\.synthetic\.lenet: expected \{overall: \.\.\., per_class"),
    ("assignments:\n  a:\n    questions:\n      q6_lenet: {checkpoints: [resnet.pt]}\n",
     r"q6_lenet\.checkpoints: resnet\.pt is not a model of assignments/q6_lenet/models\.yml"),
])
def test_thresholds_and_checkpoints_name_the_models_of_the_registry(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, text))


def test_a_models_yml_mistake_names_the_file_and_key(tmp_path):
    from autograder.course.registry import load_registry

    folder = tmp_path / "assignments" / "q6_lenet"
    folder.mkdir(parents=True)
    (folder / "models.yml").write_text("models:\n  lenet: {factory: LeNet, recipe: {learning_rate: 0.1}}\n")
    with pytest.raises(ConfigError, match=r"q6_lenet/models\.yml: models\.lenet\.recipe: unknown key 'learning_rate'"):
        load_registry(tmp_path)
    registry = load_registry()
    assert registry.model("lenet").question == "q6_lenet" and registry.comparisons["lenet_over_simple_nn"] == \
        ("lenet", "simple_nn")
