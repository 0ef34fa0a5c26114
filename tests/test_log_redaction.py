"""No phone number, ID number, name or secret in the logs: the masking itself,
its installation by setup_logging (on a fresh root logger, and on the
handlers that were there before — pytest's own capture among them), a live
app logging at DEBUG through failures, and the command line refusing a broken
configuration without printing its secrets."""
from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot import log_redaction
from bot.log_redaction import RedactingFilter, redact, register_secrets, register_settings
from bot.runtime import setup_logging
from bot.wecom.client import WeComClient
from tests.conftest import AES_KEY, TOKEN
from tests.workflow_fixtures import NEIGHBOUR, deliver, register, settings

assert settings  # the module's directory (imported fixture)

EXAMPLE = Path(__file__).resolve().parent.parent / "config.yaml"
CLI = Path(sys.executable).with_name("complaint-bot")


@pytest.fixture(autouse=True)
def no_registered_secrets():
    log_redaction.forget_secrets()
    yield
    log_redaction.forget_secrets()


# -- the masks ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, masked", [
    ("电话13812345678，请回电", "电话138****5678，请回电"),
    ("手机 +86 138 1234 5678", "手机 +86 138****5678"),
    ("8613812345678", "86138****5678"),
    ("座机010-11112222或0755 12345678", "座机010-****2222或0755 ****5678"),
    ("身份证110101199003071234与11010119900307123X", "身份证110101********1234与110101********123X"),
    ("我叫张伟，姓名：欧阳娜娜", "我叫张*，姓名：欧***"),
    ("GET /cgi-bin/gettoken?corpid=ww1&corpsecret=abc-123 HTTP/1.1",
     "GET /cgi-bin/gettoken?corpid=ww1&corpsecret=*** HTTP/1.1"),
    ("/cgi-bin/message/send?access_token=fake-token-9f HTTP/1.1", "/cgi-bin/message/send?access_token=*** HTTP/1.1"),
    ("password=hunter2&token=tk1&encoding_aes_key=abc&secret=s",
     "password=***&token=***&encoding_aes_key=***&secret=***"),
    ('{"access_token": "tok-1", "expires_in": 7200}', '{"access_token": "***", "expires_in": 7200}'),
    ("postgresql://bot:hunter2@db:5432/complaints", "postgresql://bot:***@db:5432/complaints"),
])
def test_personal_data_and_secrets_are_masked(text, masked):
    assert redact(text) == masked


@pytest.mark.parametrize("text", [
    "消息 #7000000000000000001 的 MsgId", "时间戳 1732000000", "投诉 TS20241126-007 已受理", "重复回调 msg:4242",
    "推送 #12 失败（WeCom message/send failed: errcode=45009 errmsg=busy）", "3号楼201卫生间漏水",
    "msg_signature=0a1b2c&timestamp=1732000000&nonce=123456",
])
def test_what_is_needed_to_trace_a_message_is_left_alone(text):
    assert redact(text) == text


def test_registered_secrets_are_masked_wherever_they_appear():
    register_secrets(["Sup3r s3cret/value+1", "ab", None])
    text = "key Sup3r s3cret/value+1, quoted Sup3r%20s3cret%2Fvalue%2B1, plus Sup3r+s3cret%2Fvalue%2B1; ab"
    assert redact(text) == "key ***, quoted ***, plus ***; ab"  # too short a secret would mask ordinary words


def test_the_configured_secrets_are_registered(settings):
    console = settings.console.model_copy(update={"admin_password": "Console-Pw-1", "secret_key": "Session-Key-1"})
    register_settings(settings.model_copy(update={"console": console,
                                                  "database_url": "postgresql+psycopg://bot:db-Pa55word@db/x"}))
    values = [settings.wecom.secret, TOKEN, AES_KEY, "Console-Pw-1", "Session-Key-1", "db-Pa55word"]
    assert redact(" | ".join(values)) == " | ".join(["***"] * len(values))


def record(msg: str, *args, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("bot.test", logging.WARNING, __file__, 1, msg, args, exc_info)


def test_the_filter_masks_the_message_its_arguments_and_the_exception():
    try:
        raise RuntimeError("无法处理：我叫李雷，手机13700001111")
    except RuntimeError:
        entry = record("来自 %s 的消息：%s", "lin.ju", "电话13812345678", exc_info=sys.exc_info())
    assert RedactingFilter().filter(entry) is True
    text = logging.Formatter().format(entry)
    assert "lin.ju" in text and "138****5678" in text and "137****1111" in text and "李*" in text
    assert "13812345678" not in text and "13700001111" not in text and "李雷" not in text
    assert RedactingFilter().filter(entry) and entry.getMessage() == "来自 lin.ju 的消息：电话138****5678"


def test_a_record_whose_format_does_not_fit_its_arguments_is_kept_masked():
    entry = record("两个参数 %s %s", "13812345678")
    assert RedactingFilter().filter(entry) is True
    assert "13812345678" not in entry.getMessage() and "138****5678" in entry.getMessage()


# -- installing it --------------------------------------------------------------------------------------------------
@pytest.fixture
def restore_root_filters():
    """setup_logging masks the handlers already there (pytest's among them): undo that afterwards."""
    root = logging.getLogger()
    before = {handler: list(handler.filters) for handler in root.handlers}
    yield
    for handler, filters in before.items():
        handler.filters[:] = filters


@contextlib.contextmanager
def bare_root():
    """The root logger without handlers, as in a fresh process (pytest's are put back afterwards)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    for handler in handlers:
        root.removeHandler(handler)
    try:
        yield root
    finally:
        for handler in root.handlers[:]:
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)


def test_setup_logging_on_a_fresh_process_writes_masked_lines(fake_wecom, redis_client, key_prefix):
    stream = io.StringIO()
    with bare_root() as root:
        setup_logging("DEBUG", stream=stream)
        setup_logging("DEBUG", stream=stream)  # twice changes nothing
        assert len(root.handlers) == 1 and [type(f) for f in root.handlers[0].filters] == [RedactingFilter]
        token = _talk_to_wecom(fake_wecom, redis_client, key_prefix)
    written = stream.getvalue()
    assert "corpsecret=***" in written and "access_token=***" in written and "138****5678" in written
    assert fake_wecom.secret not in written and token not in written and "13812345678" not in written


def _talk_to_wecom(fake_wecom, redis_client, key_prefix) -> str:
    register_secrets([fake_wecom.secret])
    client = WeComClient(fake_wecom.base_url, fake_wecom.corp_id, fake_wecom.secret, fake_wecom.agent_id,
                         redis_client, key_prefix=key_prefix)
    token = client.access_token()  # urllib3 logs the URL, corpsecret and all, at DEBUG
    client.send_message({"touser": NEIGHBOUR, "msgtype": "text", "text": {"content": "x"}})
    logging.getLogger("bot.test").warning("联系电话 %s", "13812345678")
    return token


def test_setup_logging_masks_the_handlers_already_there(caplog, restore_root_filters):
    setup_logging()
    logging.getLogger("bot.test").warning("回电 13812345678")
    assert caplog.messages == ["回电 138****5678"]


# -- a live app, logging everything ---------------------------------------------------------------------------------
PHONE, OTHER_PHONE, ID_NUMBER = "13912345678", "13700001111", "110101199003071234"


def _break_text_handling(monkeypatch) -> None:
    """A handler failure whose exception repeats what the person wrote."""
    from handlers import routing

    def broken(ctx):
        raise RuntimeError(f"无法处理：{ctx.message.content}")

    monkeypatch.setitem(routing.MESSAGE_HANDLERS, "text", broken)


def _make_noise(wecom, services, worker, fake_wecom, monkeypatch) -> None:
    register(wecom, fake_wecom, NEIGHBOUR, "我叫张伟，3号楼201卫生间水管漏水，电话13812345678", phone=PHONE)
    fake_wecom.fail_next("message/send", http_status=500)
    fake_wecom.fail_next("message/send", errcode=45009)
    fake_wecom.expire_tokens()  # a renewal: gettoken again, corpsecret in its URL
    deliver(services, worker)
    assert wecom.raw("<xml/>", signature="0" * 40).status_code == 403
    _break_text_handling(monkeypatch)
    wecom.text(NEIGHBOUR, f"我叫李雷，手机{OTHER_PHONE}，身份证{ID_NUMBER}")


def test_nothing_personal_or_secret_reaches_the_log_of_a_live_app(wecom, services, worker, fake_wecom, caplog,
                                                                 monkeypatch, restore_root_filters):
    setup_logging("DEBUG")
    register_settings(services.settings)
    caplog.set_level(logging.DEBUG)
    _make_noise(wecom, services, worker, fake_wecom, monkeypatch)
    logged = "\n".join(caplog.handler.format(entry) for entry in caplog.records)
    for evidence in ("corpsecret=***", "access_token=***", "处理消息 #", "推送 #", "拒绝回调", "137****1111",
                     "110101********1234", "我叫李*"):
        assert evidence in logged, evidence  # the paths that could leak were taken
    forbidden = [PHONE, OTHER_PHONE, ID_NUMBER, "13812345678", "李雷", fake_wecom.secret, TOKEN, AES_KEY,
                 services.wecom.access_token()]
    assert [value for value in forbidden if value in logged] == []


# -- the command line ------------------------------------------------------------------------------------------------
SECRETS = {"secret": "Cli-App-Secret-0001", "token": "T" * 33, "encoding_aes_key": "Not43CharactersButSecretAnyway",
           "admin_password": "Console-Pw-0002"}


def _run_cli(tmp_path, *args: str, config: dict | str) -> subprocess.CompletedProcess:
    path = tmp_path / "config.yaml"
    path.write_text(config if isinstance(config, str) else yaml.safe_dump(config, allow_unicode=True),
                    encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECOM_", "CONSOLE_", "DATABASE_", "REDIS_"))}
    env["CONSOLE_ADMIN_PASSWORD"] = SECRETS["admin_password"]
    return subprocess.run([str(CLI), *args, "--config", str(path)], capture_output=True, text=True, env=env,
                          timeout=60)


def _broken_config() -> dict:
    config = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    config["wecom"].update({key: SECRETS[key] for key in ("secret", "token", "encoding_aes_key")})
    return config


@pytest.mark.parametrize("command", [("serve",), ("worker",), ("check-config",)])
def test_a_start_with_a_broken_configuration_names_the_keys_and_prints_no_secret(tmp_path, command):
    result = _run_cli(tmp_path, *command, config=_broken_config())
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "wecom.encoding_aes_key" in output and "wecom.token" in output
    assert [value for value in SECRETS.values() if value in output] == []


def test_a_yaml_error_on_the_line_of_a_secret_does_not_quote_it(tmp_path):
    text = EXAMPLE.read_text(encoding="utf-8").replace("secret: replace-with-your-app-secret",
                                                       f'secret: "{SECRETS["secret"]}')
    result = _run_cli(tmp_path, "serve", config=text)
    assert result.returncode == 2 and "YAML" in result.stderr
    assert SECRETS["secret"] not in result.stdout + result.stderr
