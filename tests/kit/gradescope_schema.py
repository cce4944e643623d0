"""Gradescope's results.json as a JSON Schema, and what the kit promises on top of it."""
# The specification: https://gradescope-autograders.readthedocs.io/en/latest/specs/ (sections "Output format",
# "Output String Formatting", "Test case status", "Controlling Test Case Visibility", "Controlling standard
# output visibility") and https://gradescope-autograders.readthedocs.io/en/latest/leaderboards/.
# Every field there is optional, except that a score is needed on the top level or on every test.

VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
STRING_FORMAT = {"enum": ["text", "html", "simple_format", "md", "ansi"]}
POINTS = {"type": "number", "minimum": 0}

TEST = {
    "type": "object",
    "properties": {
        "score": POINTS,
        "max_score": POINTS,
        "status": {"enum": ["passed", "failed"]},
        "name": {"type": "string"},
        "name_format": STRING_FORMAT,
        "number": {"type": "string"},
        "output": {"type": "string"},
        "output_format": STRING_FORMAT,
        "tags": {"type": "array", "items": {"type": "string"}},
        "visibility": VISIBILITY,
        "extra_data": {"type": "object"},
    },
    "additionalProperties": False,
}

LEADERBOARD_ENTRY = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "value": {"type": ["number", "string"]},
        "order": {"enum": ["asc", "desc"]},  # "desc" when left out: higher ranks higher
    },
    "required": ["name", "value"],
    "additionalProperties": False,
}

GRADESCOPE_RESULTS = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "score": POINTS,  # overrides the total of the tests when given
        # Not in the specification (Gradescope takes an assignment's points from its settings); the kit writes
        # it for its gradebook and feedback.md.
        "max_score": POINTS,
        "execution_time": {"type": "number", "minimum": 0},  # seconds
        "output": {"type": "string"},
        "output_format": STRING_FORMAT,
        "test_output_format": STRING_FORMAT,
        "test_name_format": STRING_FORMAT,
        "visibility": VISIBILITY,
        "stdout_visibility": VISIBILITY,
        "extra_data": {"type": "object"},
        "tests": {"type": "array", "items": TEST},
        "leaderboard": {"type": "array", "items": LEADERBOARD_ENTRY},
    },
    "anyOf": [
        {"required": ["score"]},
        {"required": ["tests"], "properties": {"tests": {"items": {"required": ["score"]}}}},
    ],
    "additionalProperties": False,
}

# -- the kit's promises -------------------------------------------------------------------------------------
KIT_GRADED_TEST = {
    "required": ["name", "score", "max_score", "status", "output", "visibility"],
    "properties": {"visibility": {"enum": ["visible", "hidden", "after_due_date", "after_published"]}},
}
KIT_STAFF_TEST = {  # the sandbox level: instructors only, worth nothing
    "required": ["name", "output", "visibility"],
    "properties": {"visibility": {"const": "hidden"}},
    "not": {"anyOf": [{"required": ["score"]}, {"required": ["max_score"]}, {"required": ["status"]}]},
}
QUESTION_TOTAL = {
    "type": "object",
    "required": ["score", "max_score", "title"],
    "properties": {"score": POINTS, "max_score": POINTS, "title": {"type": "string"}},
    "additionalProperties": False,
}
SANDBOX = {
    "type": "object",
    "required": ["level", "reason"],
    "properties": {"level": {"enum": ["namespaces", "users", "none"]}, "reason": {"type": "string"}},
    "additionalProperties": False,
}
KIT_RESULTS = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "allOf": [GRADESCOPE_RESULTS, {
        "required": ["score", "max_score", "execution_time", "output", "output_format", "test_output_format",
                     "test_name_format", "tests", "extra_data"],
        "properties": {
            # plain text in a fixed-width block: tables stay aligned, student prints are never read as markup
            "output_format": {"const": "text"},
            "test_output_format": {"const": "text"},
            "test_name_format": {"const": "text"},
            "tests": {"items": {"oneOf": [KIT_GRADED_TEST, KIT_STAFF_TEST]}},
            "extra_data": {
                "required": ["questions"],
                "properties": {"questions": {"type": "object", "additionalProperties": QUESTION_TOTAL},
                               "sandbox": SANDBOX},
            },
            "leaderboard": {"items": {"properties": {"name": {"maxLength": 12}}}},  # a column header
        },
    }],
}
