"""Configuration: the example file, environment overrides, errors that name
the key and the file, and the commands that read it."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import inspect

from bot.cli import main
from bot.config import ENV_OVERRIDES, ConfigError, Settings, load_settings, normalize_database_url
from bot.db import Database

EXAMPLE = Path(__file__).resolve().parent.parent / "config.yaml"
# No variable of the developer's shell may leak into these tests.
CLEAN_ENV = {var: None for var in [*ENV_OVERRIDES, "COMPLAINT_BOT_CONFIG"]}


def example() -> dict:
    return yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))


def write(tmp_path: Path, data: dict | str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path, env: dict | None = None) -> str:
    with pytest.raises(ConfigError) as raised:
        load_settings(path, env=env or {})
    message = str(raised.value)
    assert str(path) in message  # every error names the file
    assert "Traceback" not in message
    return message


# -- the example file --------------------------------------------------------------
def test_example_config_at_the_repo_root_validates():
    settings = load_settings(EXAMPLE, env={})
    assert isinstance(settings, Settings)
    assert settings.source == str(EXAMPLE)
    assert settings.wecom.agent_id == 1000002 and len(settings.wecom.encoding_aes_key) == 43
    assert settings.redis_url is None  # empty in the example: the embedded store
    assert settings.callback.max_body_bytes == 262144
    assert settings.outbox.per_member_per_minute == 30


def test_example_config_documents_every_override_variable():
    text = EXAMPLE.read_text(encoding="utf-8")
    assert all(var in text for var in ENV_OVERRIDES)


# -- environment overrides -------------------------------------------------------------
def test_environment_wins_over_the_file(tmp_path):
    env = {
        "WECOM_CORP_ID": "ww_from_env",
        "WECOM_AGENT_ID": "1000099",
        "WECOM_SECRET": "secret-from-env",
        "WECOM_TOKEN": "token-from-env",
        "WECOM_ENCODING_AES_KEY": "Z" * 43,
        "WECOM_API_BASE_URL": "http://127.0.0.1:9999/",
        "DATABASE_URL": "postgres://bot:pw@db.internal:5432/complaints",
        "REDIS_URL": "redis://cache.internal:6379/2",
    }
    settings = load_settings(EXAMPLE, env=env)
    assert settings.wecom.corp_id == "ww_from_env"
    assert settings.wecom.agent_id == 1000099
    assert settings.wecom.secret == "secret-from-env"
    assert settings.wecom.token == "token-from-env"
    assert settings.wecom.encoding_aes_key == "Z" * 43
    assert settings.wecom.api_base_url == "http://127.0.0.1:9999"
    assert settings.database_url == "postgresql+psycopg://bot:pw@db.internal:5432/complaints"
    assert settings.redis_url == "redis://cache.internal:6379/2"
    # The rest still comes from the file.
    assert settings.server.port == 8080 and settings.redis_prefix == "cb:"


def test_empty_environment_variables_do_not_override(tmp_path):
    settings = load_settings(EXAMPLE, env={"WECOM_TOKEN": "", "DATABASE_URL": ""})
    assert settings.wecom.token == example()["wecom"]["token"]
    assert settings.database_url == example()["database_url"]


def test_secrets_may_live_only_in_the_environment(tmp_path):
    data = example()
    del data["wecom"]["secret"], data["wecom"]["token"]
    path = write(tmp_path, data)
    settings = load_settings(path, env={"WECOM_SECRET": "s3cret", "WECOM_TOKEN": "tok"})
    assert (settings.wecom.secret, settings.wecom.token) == ("s3cret", "tok")


def test_environment_fills_a_section_missing_from_the_file(tmp_path):
    data = example()
    del data["wecom"]
    env = {"WECOM_CORP_ID": "ww1", "WECOM_AGENT_ID": "7", "WECOM_SECRET": "s", "WECOM_TOKEN": "t",
           "WECOM_ENCODING_AES_KEY": "a" * 43}
    assert load_settings(write(tmp_path, data), env=env).wecom.agent_id == 7


def test_config_file_chosen_by_environment_variable(tmp_path):
    data = example()
    data["server"]["port"] = 9090
    path = write(tmp_path, data, "elsewhere.yaml")
    assert load_settings(env={"COMPLAINT_BOT_CONFIG": str(path)}).server.port == 9090


# -- errors name the key and the file ---------------------------------------------------
@pytest.mark.parametrize("key", ["abc", "a" * 44, "a" * 42 + "!"], ids=["short", "long", "not-base64"])
def test_bad_encoding_aes_key_names_the_key_and_the_file(tmp_path, key):
    data = example()
    data["wecom"]["encoding_aes_key"] = key
    message = error_of(write(tmp_path, data))
    assert "wecom.encoding_aes_key" in message


def test_bad_encoding_aes_key_from_the_environment_is_reported_too():
    message = error_of(EXAMPLE, env={"WECOM_ENCODING_AES_KEY": "too-short"})
    assert "wecom.encoding_aes_key" in message and "43" in message


def test_unknown_key_is_named(tmp_path):
    data = example()
    data["callback"]["max_body_byte"] = 1024  # a typo
    data["colour"] = "blue"
    message = error_of(write(tmp_path, data))
    assert "callback.max_body_byte" in message and "colour" in message
    assert "不认识" in message


def test_missing_secret_mentions_the_environment_variable(tmp_path):
    data = example()
    del data["wecom"]["secret"]
    message = error_of(write(tmp_path, data))
    assert "wecom.secret" in message and "WECOM_SECRET" in message


def test_value_out_of_range_is_named(tmp_path):
    data = example()
    data["callback"]["max_body_bytes"] = 10
    data["server"]["port"] = 70000
    message = error_of(write(tmp_path, data))
    assert "callback.max_body_bytes" in message and "server.port" in message


def test_api_base_url_without_scheme_is_named(tmp_path):
    data = example()
    data["wecom"]["api_base_url"] = "qyapi.weixin.qq.com"
    assert "wecom.api_base_url" in error_of(write(tmp_path, data))


def test_unknown_timezone_is_named(tmp_path):
    data = example()
    data["timezone"] = "Mars/Olympus"
    assert "timezone" in error_of(write(tmp_path, data))


def test_unsupported_database_is_named(tmp_path):
    data = example()
    data["database_url"] = "mysql://root@localhost/db"
    assert "database_url" in error_of(write(tmp_path, data))


def test_yaml_syntax_error_names_the_file_and_the_line(tmp_path):
    path = write(tmp_path, "wecom:\n  corp_id: ww1\n  agent_id: [1000002\nserver:\n  port: 8080\n")
    message = error_of(path)
    assert "YAML" in message and "行" in message


def test_top_level_that_is_not_a_mapping(tmp_path):
    assert "mapping" in error_of(write(tmp_path, "- just\n- a list\n"))


def test_missing_file_is_named(tmp_path):
    message = error_of(tmp_path / "nowhere.yaml")
    assert "找不到" in message


def test_file_that_is_not_utf8_is_named(tmp_path):
    path = tmp_path / "gbk.yaml"
    text = EXAMPLE.read_text(encoding="utf-8")
    path.write_bytes(text.encode("gbk"))  # as saved by an editor set to the Chinese ANSI code page
    assert "UTF-8" in error_of(path)


def test_utf8_with_bom_is_accepted(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(EXAMPLE.read_text(encoding="utf-8").encode("utf-8-sig"))
    assert load_settings(path, env={}).wecom.agent_id == 1000002


# -- database addresses ----------------------------------------------------------------
@pytest.mark.parametrize("given, expected", [
    ("postgres://u:p@h:5432/d", "postgresql+psycopg://u:p@h:5432/d"),
    ("postgresql://u@h/d", "postgresql+psycopg://u@h/d"),
    ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
    ("sqlite:///data/complaints.db", "sqlite:///data/complaints.db"),
])
def test_database_url_is_normalised(given, expected):
    assert normalize_database_url(given) == expected
    assert load_settings(EXAMPLE, env={"DATABASE_URL": given}).database_url == expected


# -- the command line ---------------------------------------------------------------------
def invoke(*args, env: dict | None = None):
    return CliRunner().invoke(main, list(args), env={**CLEAN_ENV, **(env or {})})


def test_check_config_prints_ok(tmp_path):
    result = invoke("check-config", "--config", str(EXAMPLE))
    assert result.exit_code == 0, result.output
    assert "OK" in result.output and str(EXAMPLE) in result.output


def test_check_config_finds_the_file_through_the_environment(tmp_path):
    result = invoke("check-config", env={"COMPLAINT_BOT_CONFIG": str(EXAMPLE)})
    assert result.exit_code == 0 and "OK" in result.output


@pytest.mark.parametrize("breakage", ["bad-key", "missing-secret", "yaml", "missing-file", "gbk"])
def test_check_config_prints_the_error_and_exits_with_2(tmp_path, breakage):
    data = example()
    if breakage == "bad-key":
        data["wecom"]["encoding_aes_key"] = "short"
        path, expected = write(tmp_path, data), "wecom.encoding_aes_key"
    elif breakage == "missing-secret":
        del data["wecom"]["secret"]
        path, expected = write(tmp_path, data), "WECOM_SECRET"
    elif breakage == "yaml":
        path, expected = write(tmp_path, "wecom: [\n"), "YAML"
    elif breakage == "missing-file":
        path, expected = tmp_path / "absent.yaml", "找不到"
    else:
        path, expected = tmp_path / "gbk.yaml", "UTF-8"
        path.write_bytes(EXAMPLE.read_text(encoding="utf-8").encode("gbk"))
    result = invoke("check-config", "--config", str(path))
    assert result.exit_code == 2
    assert expected in result.output and str(path) in result.output
    assert "OK" not in result.stdout
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)


def test_check_config_reports_an_environment_override_error():
    result = invoke("check-config", "--config", str(EXAMPLE), env={"WECOM_ENCODING_AES_KEY": "short"})
    assert result.exit_code == 2 and "wecom.encoding_aes_key" in result.output


def test_db_upgrade_creates_the_schema_on_a_temporary_sqlite(tmp_path):
    data = example()
    url = f"sqlite:///{tmp_path / 'fresh' / 'complaints.db'}"
    data["database_url"] = url
    path = write(tmp_path, data)
    for _ in range(2):  # and running it again changes nothing
        result = invoke("db", "upgrade", "--config", str(path))
        assert result.exit_code == 0, result.output
    database = Database(url)
    try:
        assert database.is_up_to_date()
        assert database.current_revision() in result.output
        tables = set(inspect(database.engine).get_table_names())
        assert {"message_log", "outbox", "complaints", "attachments"} <= tables
    finally:
        database.dispose()


def test_db_upgrade_on_the_suites_database(tmp_path, database_url):
    data = example()
    data["database_url"] = database_url
    result = invoke("db", "upgrade", "--config", str(write(tmp_path, data)))
    assert result.exit_code == 0, result.output
    database = Database(normalize_database_url(database_url))
    try:
        assert database.is_up_to_date()
    finally:
        database.dispose()


def test_db_upgrade_with_a_broken_config_exits_with_2(tmp_path):
    result = invoke("db", "upgrade", "--config", str(tmp_path / "absent.yaml"))
    assert result.exit_code == 2 and "找不到" in result.output


@pytest.mark.parametrize("breakage, file, expected", [
    ("twice", "categories.yaml", "灯泡"),
    ("no-columns", "labelled/ours.tsv", "缺少列"),
    ("unknown-category", "labelled/ours.tsv", "设施设备"),
])
def test_check_config_refuses_broken_classifier_files_naming_them(tmp_path, breakage, file, expected):
    words = tmp_path / "words"
    (words / "labelled").mkdir(parents=True)
    if breakage == "twice":
        (words / file).write_text("关键词:\n  设备设施:\n    灯泡: 3\n    灯泡: 4\n", encoding="utf-8")
    elif breakage == "no-columns":
        (words / file).write_text("句子\t类别\n灯坏了\t设备设施\n", encoding="utf-8")
    else:
        (words / file).write_text("text\tcategories\temergency\tlocation\tmood\tcompensation\n"
                                  "灯坏了\t设施设备\t0\t-\t-\t0\n", encoding="utf-8")
    data = example()
    data["classifier_dir"] = str(words)
    result = invoke("check-config", "--config", str(write(tmp_path, data)))
    assert result.exit_code == 2, result.output
    assert expected in result.output and file.split("/")[-1] in result.output
    assert "Traceback" not in result.output
