"""`.basepod` parsing: every documented field works, and mistakes name the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from basepod_agent.protocol.deploys import BasepodConfig
from basepod_agent.services.basepod_file import (
    BasepodFileError,
    load_basepod,
    parse_basepod,
)

EXAMPLE = Path(__file__).resolve().parents[3] / "resources" / "basepod.example.toml"


def test_the_documented_example_parses_and_sets_every_field():
    config = parse_basepod(EXAMPLE.read_text())
    assert config.port == 8080
    assert config.command == ["gunicorn", "--bind", "0.0.0.0:8080", "app:app"]
    assert config.build.dockerfile == "docker/Dockerfile.prod"
    assert config.build.context is None  # "." normalises to the default
    assert config.build.args == {"VERSION": "1.4.2", "NODE_ENV": "production"}
    assert (config.health.path, config.health.interval_seconds, config.health.timeout_seconds,
            config.health.failure_threshold) == ("/healthz", 15, 3, 3)
    assert config.env == {"LOG_LEVEL": "info", "WEB_CONCURRENCY": "2"}


def test_the_example_documents_every_field_of_the_schema():
    text = EXAMPLE.read_text()
    sections = {"build": BasepodConfig.model_fields["build"].annotation,
                "health": BasepodConfig.model_fields["health"].annotation}
    for name in BasepodConfig.model_fields:
        assert name in text, name
    for section, model in sections.items():
        for name in model.model_fields:
            assert f"{name} =" in text or f"[{section}.{name}]" in text, f"{section}.{name}"


def test_an_empty_file_means_all_defaults():
    config = parse_basepod("")
    assert config == BasepodConfig()
    assert config.command is None and config.port is None and config.build.args == {}


def test_a_command_string_is_split_like_a_shell_without_running_one():
    config = parse_basepod("""command = "sh -c 'npm run migrate && npm start'" """)
    assert config.command == ["sh", "-c", "npm run migrate && npm start"]


def test_missing_file_gives_none_and_present_file_is_loaded(tmp_path):
    assert load_basepod(tmp_path) is None
    (tmp_path / ".basepod").write_text("port = 3000\n")
    assert load_basepod(tmp_path).port == 3000


@pytest.mark.parametrize("text, expected", [
    ("buidl = 1", "unknown key 'buidl' (did you mean 'build'?)"),
    ("[build]\nargz = {}", "unknown key 'argz' in [build] (did you mean 'args'?)"),
    ("[health]\nretries = 3", "unknown key 'retries' in [health]"),
    ("[build.args]\nVERSION = 2", "build.args.VERSION: must be a string"),
    ('port = "8080"', "port: must be a whole number"),
    ("port = 0", "port: input should be greater than or equal to 1"),
    ("port = 70000", "port: input should be less than or equal to 65535"),
    ("command = 5", "command: must be a string or a list of strings"),
    ('command = ["a", 1]', "command.1: must be a string"),
    ("command = []", "command: must have 1 to 64 arguments"),
    ("command = \"a 'b\"", "command: cannot be split into arguments"),
    ("[health]\nfailure_threshold = 2.5", "health.failure_threshold: must be a whole number"),
    ('[health]\ninterval_seconds = "10"', "health.interval_seconds: must be a number"),
    ('[health]\npath = "healthz"', "health.path: string should match"),
    ("[env]\nDEBUG = true", "env.DEBUG: must be a string"),
    ('[env]\n"1BAD" = "x"', "environment variable name '1BAD' is invalid"),
    ('[build]\ndockerfile = "../Dockerfile"', "build.dockerfile: path must not contain '..'"),
    ('[build]\ncontext = "/etc"', "build.context: path must be relative"),
    ('build = "x"', "build: must be a table"),
    ("port = ", "is not valid TOML"),
])
def test_mistakes_are_reported_with_the_field_and_the_problem(text, expected):
    with pytest.raises(BasepodFileError) as caught:
        parse_basepod(text)
    assert expected in str(caught.value)
    assert str(caught.value).startswith("`.basepod`")


def test_every_problem_is_reported_at_once():
    with pytest.raises(BasepodFileError) as caught:
        parse_basepod('port = "x"\nbuidl = 1\n[build.args]\nA = 1\n')
    assert len(caught.value.problems) == 3


def test_oversized_or_non_utf8_files_are_refused(tmp_path):
    (tmp_path / ".basepod").write_bytes(b"# " + b"x" * 70_000)
    with pytest.raises(BasepodFileError, match="larger than"):
        load_basepod(tmp_path)
    (tmp_path / ".basepod").write_bytes(b"port = 1 # \xff\n")
    with pytest.raises(BasepodFileError, match="UTF-8"):
        load_basepod(tmp_path)
