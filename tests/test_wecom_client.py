"""WeComClient against the fake WeCom server (real HTTP on loopback) and a real Redis."""
from __future__ import annotations

import logging
import socket
import time

import pytest
import requests

from bot.wecom.client import FINAL_ERRCODES, RETRIABLE_ERRCODES, WeComClient, WeComError
from tests.wecom_fixtures import make_client, wecom_client  # noqa: F401

TEXT = {"touser": "alice", "msgtype": "text", "text": {"content": "你好"}}


def text_to(user: str) -> dict:
    return {**TEXT, "touser": user}


def paths(fake, path: str) -> list:
    return [call for call in fake.calls if call.path == path]


# -- token ----------------------------------------------------------------
def test_token_is_cached_in_redis_and_shared_between_clients(fake_wecom, redis_client, key_prefix):
    first = make_client(fake_wecom, redis_client, key_prefix)
    second = make_client(fake_wecom, redis_client, key_prefix)

    first.send_message(text_to("alice"))
    second.send_message(text_to("bob"))

    assert fake_wecom.tokens_issued == 1
    key = f"{key_prefix}wecom:token:{fake_wecom.corp_id}:{fake_wecom.agent_id}"
    assert redis_client.get(key) == first.access_token() == second.access_token()
    assert 7200 - 300 - 5 <= redis_client.ttl(key) <= 7200 - 300


def test_force_refresh_asks_wecom_again(wecom_client, fake_wecom):
    wecom_client.access_token()
    wecom_client.access_token(force_refresh=True)
    assert fake_wecom.tokens_issued == 2


def test_expired_token_is_renewed_and_the_call_retried(wecom_client, fake_wecom):
    wecom_client.send_message(text_to("alice"))
    fake_wecom.expire_tokens()

    wecom_client.send_message(text_to("bob"))

    assert fake_wecom.tokens_issued == 2
    assert [c.response["errcode"] for c in paths(fake_wecom, "message/send")] == [0, 42001, 0]
    assert len(fake_wecom.sent(touser="bob")) == 1


@pytest.mark.parametrize("errcode", [40014, 42001, 40001])
def test_token_rejection_is_retried_exactly_once(wecom_client, fake_wecom, errcode):
    fake_wecom.fail_next("message/send", errcode=errcode)
    wecom_client.send_message(text_to("alice"))
    assert len(paths(fake_wecom, "message/send")) == 2


def test_second_expiry_in_the_same_call_raises(wecom_client, fake_wecom):
    fake_wecom.fail_next("message/send", errcode=42001, times=2)

    with pytest.raises(WeComError) as caught:
        wecom_client.send_message(text_to("alice"))

    assert caught.value.errcode == 42001 and caught.value.retriable
    assert len(paths(fake_wecom, "message/send")) == 2
    assert fake_wecom.tokens_issued == 2
    assert fake_wecom.sent() == []


def test_renewal_reuses_a_token_another_process_already_fetched(fake_wecom, redis_client, key_prefix):
    other = make_client(fake_wecom, redis_client, key_prefix)
    good_token = other.access_token()
    redis_client.set(other.token_key, "stale-token")

    def other_process_renews(response, *args, **kwargs):
        if "message/send" in response.url and "stale-token" in response.url:
            redis_client.set(other.token_key, good_token)

    session = requests.Session()
    session.hooks["response"].append(other_process_renews)
    client = make_client(fake_wecom, redis_client, key_prefix, session=session)

    client.send_message(text_to("alice"))

    assert fake_wecom.tokens_issued == 1
    assert len(fake_wecom.sent(touser="alice")) == 1


def test_wrong_secret_is_final_and_not_retried(fake_wecom, redis_client, key_prefix):
    client = make_client(fake_wecom, redis_client, key_prefix, secret="wrong")

    with pytest.raises(WeComError) as caught:
        client.send_message(text_to("alice"))

    assert caught.value.errcode == 40001 and not caught.value.retriable
    assert len(paths(fake_wecom, "gettoken")) == 1
    assert paths(fake_wecom, "message/send") == []


# -- errors ---------------------------------------------------------------
def test_errcode_is_checked_on_every_answer(wecom_client, fake_wecom):
    fake_wecom.fail_next("department/list", errcode=60011)
    with pytest.raises(WeComError) as caught:
        wecom_client.department_list()
    assert (caught.value.errcode, caught.value.errmsg, caught.value.path) == (60011, "injected failure",
                                                                              "department/list")
    assert not caught.value.retriable


def test_busy_and_rate_limits_are_retriable(wecom_client, fake_wecom):
    for errcode in (-1, 45009, 45033, 45047):
        fake_wecom.fail_next("message/send", errcode=errcode)
        with pytest.raises(WeComError) as caught:
            wecom_client.send_message(text_to("alice"))
        assert caught.value.errcode == errcode and caught.value.retriable


def test_http_500_is_a_retriable_transport_error(wecom_client, fake_wecom):
    fake_wecom.fail_next("message/send", http_status=500)
    with pytest.raises(WeComError) as caught:
        wecom_client.send_message(text_to("alice"))
    assert caught.value.errcode == -2 and caught.value.retriable
    assert len(paths(fake_wecom, "message/send")) == 1


def test_slow_answer_times_out_as_retriable(fake_wecom, redis_client, key_prefix):
    client = make_client(fake_wecom, redis_client, key_prefix, timeout=(1.0, 0.3))
    client.access_token()
    fake_wecom.fail_next("message/send", delay=1.5)

    started = time.monotonic()
    with pytest.raises(WeComError) as caught:
        client.send_message(text_to("alice"))

    assert time.monotonic() - started < 1.2
    assert caught.value.errcode == -2 and caught.value.retriable


def test_connection_refused_is_retriable_and_logs_no_secret(redis_client, key_prefix, caplog):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = WeComClient(f"http://127.0.0.1:{port}", "corp", "top-secret-value", 1, redis_client,
                         key_prefix=key_prefix, timeout=(0.5, 0.5))

    with caplog.at_level(logging.WARNING, logger="bot.wecom"), pytest.raises(WeComError) as caught:
        client.access_token()

    assert caught.value.errcode == -2 and caught.value.retriable
    assert "top-secret-value" not in caplog.text + str(caught.value)


class _HtmlAdapter(requests.adapters.BaseAdapter):
    """Answers every request with HTTP 200 and an HTML page (a captive proxy)."""

    def send(self, request, **kwargs):
        response = requests.Response()
        response.status_code, response.url, response._content = 200, request.url, b"<html>proxy</html>"
        response.headers["Content-Type"] = "text/html"
        return response

    def close(self):
        pass


def test_non_json_answer_is_a_transport_error(redis_client, key_prefix):
    session = requests.Session()
    session.mount("http://", _HtmlAdapter())
    client = WeComClient("http://wecom.invalid", "corp", "s", 1, redis_client, key_prefix=key_prefix,
                         session=session)
    with pytest.raises(WeComError) as caught:
        client.access_token()
    assert caught.value.errcode == -2 and caught.value.retriable


def test_retriable_classification():
    assert not RETRIABLE_ERRCODES & (FINAL_ERRCODES - {40001})
    assert WeComError(99999, "new code").retriable  # unknown: keep trying
    assert WeComError(-2, "transport").retriable
    assert not WeComError(81013, "out of range").retriable


# -- messages -------------------------------------------------------------
def test_send_message_sets_agentid_and_returns_msgid(wecom_client, fake_wecom):
    answer = wecom_client.send_message(text_to("alice"))
    assert answer["msgid"] and answer["invaliduser"] == ""
    [body] = fake_wecom.sent(msgtype="text", touser="alice")
    assert body["agentid"] == fake_wecom.agent_id and body["text"]["content"] == "你好"


def test_recipient_outside_visible_range_is_final_81013(wecom_client, fake_wecom):
    fake_wecom.set_out_of_range("alice")

    with pytest.raises(WeComError) as caught:
        wecom_client.send_message(text_to("alice"))
    assert caught.value.errcode == 81013 and not caught.value.retriable

    answer = wecom_client.send_message(text_to("alice|bob"))
    assert answer["invaliduser"] == "alice"


def test_template_card_update_uses_the_response_code_once(wecom_client, fake_wecom):
    card = {"card_type": "button_interaction", "main_title": {"title": "工单"}, "task_id": "t1",
            "button_list": [{"text": "受理", "key": "accept"}]}
    code = wecom_client.send_message({"touser": "alice", "msgtype": "template_card",
                                      "template_card": card})["response_code"]
    update = {"userids": ["alice"], "response_code": code, "button": {"replace_name": "已受理"}}

    wecom_client.update_template_card(dict(update))
    with pytest.raises(WeComError) as caught:
        wecom_client.update_template_card(dict(update))

    assert not caught.value.retriable
    assert [u["button"]["replace_name"] for u in fake_wecom.card_updates()] == ["已受理"]
    assert fake_wecom.card_updates()[0]["agentid"] == fake_wecom.agent_id


# -- media ----------------------------------------------------------------
def test_media_download(wecom_client, fake_wecom):
    fake_wecom.add_media("m1", b"\xff\xd8jpeg-bytes", filename="crack.jpg")
    media = wecom_client.get_media("m1")
    assert (media.content, media.filename, media.content_type) == (b"\xff\xd8jpeg-bytes", "crack.jpg", "image/jpeg")


def test_media_with_chinese_filename(wecom_client, fake_wecom):
    fake_wecom.add_media("m2", b"%PDF", filename="报修单.pdf", content_type="application/pdf")
    assert wecom_client.get_media("m2").filename == "报修单.pdf"


def test_media_error_comes_as_json_with_http_200(wecom_client, fake_wecom):
    with pytest.raises(WeComError) as caught:
        wecom_client.get_media("unknown")
    assert caught.value.errcode == 40007 and not caught.value.retriable


def test_media_download_renews_an_expired_token(wecom_client, fake_wecom):
    fake_wecom.add_media("m1", b"data")
    wecom_client.access_token()
    fake_wecom.expire_tokens()
    assert wecom_client.get_media("m1").content == b"data"
    assert fake_wecom.tokens_issued == 2


# -- contacts and OAuth ---------------------------------------------------
def test_contact_calls(wecom_client, fake_wecom):
    fake_wecom.add_department(2, "后勤处")
    fake_wecom.add_department(3, "维修科", parentid=2)
    fake_wecom.add_user("zhang", "张科长", [3], is_leader_in_dept=[1], mobile="13800000000")
    fake_wecom.add_user("li", "李师傅", [3, 2])

    departments = wecom_client.department_list()
    users = {u["userid"]: u for u in wecom_client.user_list(3)}

    assert {(d["id"], d["name"], d["parentid"]) for d in departments} >= {(2, "后勤处", 1), (3, "维修科", 2)}
    assert users["zhang"]["is_leader_in_dept"] == [1] and users["zhang"]["name"] == "张科长"
    assert users["li"]["department"] == [3, 2] and users["li"]["is_leader_in_dept"] == [0, 0]
    assert [c.params["department_id"] for c in paths(fake_wecom, "user/list")] == ["3"]


def test_user_list_of_unknown_department_raises(wecom_client):
    with pytest.raises(WeComError) as caught:
        wecom_client.user_list(404)
    assert caught.value.errcode == 60003


def test_oauth_userinfo_gives_userid_under_both_spellings(wecom_client, fake_wecom):
    fake_wecom.add_oauth_code("code-1", "alice")
    info = wecom_client.oauth_userinfo("code-1")
    assert info["userid"] == info["UserId"] == "alice"

    with pytest.raises(WeComError) as caught:  # a code is good for one use only
        wecom_client.oauth_userinfo("code-1")
    assert caught.value.errcode == 40029 and not caught.value.retriable
