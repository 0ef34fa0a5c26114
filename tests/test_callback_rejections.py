"""Callbacks that must be refused before any work is done: wrong signature,
oversize or hostile XML, replays, ciphertexts that are not ours. And the public
WeCom test vectors, which a correct implementation must accept."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from bot.models import InboundMessage
from bot.wecom.callback_sender import build_xml, encrypt, sign
from tests.live_app import AES_KEY, TOKEN, app_factory  # noqa: F401

VECTORS = json.loads((Path(__file__).parent / "data" / "wecom_vectors.json").read_text(encoding="utf-8"))
VECTOR_SETS = ["A_official_doc", "C_wechatpy_tests"]

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE xml [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<xml><ToUserName>ww_test_corp</ToUserName><Encrypt>&lol9;</Encrypt></xml>"""


def text_xml(user: str = "zhangsan", content: str = "3号楼201的灯坏了", msg_id: int = 4242) -> str:
    return build_xml({"ToUserName": "ww_test_corp", "FromUserName": user, "CreateTime": int(time.time()),
                      "MsgType": "text", "Content": content, "MsgId": msg_id, "AgentID": 1000002})


def logged(services) -> int:
    with services.db.session() as session:
        return session.execute(select(func.count()).select_from(InboundMessage)).scalar_one()


def assert_refused(response, status: int, services) -> None:
    """The status, no trace of our internals, and nothing stored."""
    response = getattr(response, "response", response)
    assert response.status_code == status, response.text
    assert "Traceback" not in response.text and 'File "' not in response.text
    assert logged(services) == 0


def envelope(encrypted: str) -> str:
    return build_xml({"ToUserName": "ww_test_corp", "Encrypt": encrypted, "AgentID": "1000002"})


def signed_post(url: str, encrypted: str, *, token: str = TOKEN, timestamp: str | None = None,
                body: str | None = None) -> requests.Response:
    timestamp = timestamp or str(int(time.time()))
    nonce = "123456789"
    params = {"msg_signature": sign(token, timestamp, nonce, encrypted), "timestamp": timestamp, "nonce": nonce}
    return requests.post(url, params=params, data=(body or envelope(encrypted)).encode("utf-8"),
                         headers={"Content-Type": "text/xml"}, timeout=10)


# -- signatures ------------------------------------------------------------------
def test_forged_signature_is_refused_and_nothing_stored(wecom, services):
    assert_refused(wecom.raw(text_xml(), signature="0" * 40), 403, services)


def test_signature_made_with_another_token_is_refused(wecom, live, services):
    encrypted = wecom.encrypt(text_xml())
    assert_refused(signed_post(wecom.url, encrypted, token="not-our-token"), 403, services)


def test_missing_signature_is_refused(wecom, services):
    encrypted = wecom.encrypt(text_xml())
    params = {"timestamp": str(int(time.time())), "nonce": "1"}
    response = requests.post(wecom.url, params=params, data=envelope(encrypted).encode(), timeout=10)
    assert_refused(response, 403, services)
    assert_refused(wecom.raw(text_xml(), signature=""), 403, services)


def test_get_with_bad_signature_is_refused(wecom, services):
    timestamp, nonce, echostr = str(int(time.time())), "42", wecom.encrypt("1616140317555161061")
    params = {"msg_signature": "f" * 40, "timestamp": timestamp, "nonce": nonce, "echostr": echostr}
    response = requests.get(wecom.url, params=params, timeout=10)
    assert response.status_code == 403 and "1616140317555161061" not in response.text
    assert "Traceback" not in response.text
    missing = requests.get(wecom.url, params={"timestamp": timestamp, "nonce": nonce, "echostr": echostr},
                           timeout=10)
    assert missing.status_code == 403


def test_get_with_echostr_for_another_corp_is_refused(wecom):
    timestamp, nonce = str(int(time.time())), "42"
    echostr = encrypt("1616140317555161061", AES_KEY, "ww_other_corp")
    params = {"msg_signature": sign(TOKEN, timestamp, nonce, echostr), "timestamp": timestamp,
              "nonce": nonce, "echostr": echostr}
    response = requests.get(wecom.url, params=params, timeout=10)
    assert response.status_code == 403 and "1616140317555161061" not in response.text


# -- size --------------------------------------------------------------------------
def test_body_over_the_limit_is_refused_with_413(app_factory):
    app = app_factory(**{"callback.max_body_bytes": 2048})
    small = app.sender.text("zhangsan", "灯坏了")
    assert small.status_code == 200  # the limit does not refuse ordinary messages
    with app.services.db.session() as session:
        session.execute(InboundMessage.__table__.delete())
    big = app.sender.text("zhangsan", "漏水" * 600)  # ~3.6 kB plaintext, more once encrypted
    assert_refused(big, 413, app.services)


def test_chunked_body_over_the_limit_is_refused(app_factory):
    app = app_factory(**{"callback.max_body_bytes": 2048})
    encrypted = app.sender.encrypt(text_xml(content="漏水" * 600))
    timestamp, nonce = str(int(time.time())), "7"
    params = {"msg_signature": sign(TOKEN, timestamp, nonce, encrypted), "timestamp": timestamp, "nonce": nonce}
    body = envelope(encrypted).encode()
    chunks = (body[i:i + 500] for i in range(0, len(body), 500))  # a generator: no Content-Length
    response = requests.post(app.callback_url, params=params, data=chunks, timeout=10)
    assert response.status_code == 413, response.text
    assert logged(app.services) == 0


# -- hostile or broken XML -----------------------------------------------------------
@pytest.mark.parametrize("body", [
    "<xml><Encrypt>abc</Encrypt>",                   # not closed
    "this is not xml at all",
    "",
    "<xml><Encrypt>abc</Encrypt></xml><xml/>",       # junk after the root
    b"<xml><Encrypt>\xff\xfe\xfd</Encrypt></xml>",  # bytes that are not UTF-8
], ids=["unclosed", "not-xml", "empty", "trailing-junk", "bad-bytes"])
def test_malformed_outer_xml_is_refused_with_400(wecom, services, body):
    assert_refused(wecom.raw(text_xml(), body=body), 400, services)


def test_outer_xml_without_encrypt_is_refused_with_400(wecom, services):
    assert_refused(wecom.raw(text_xml(), body="<xml><ToUserName>ww_test_corp</ToUserName></xml>"), 400,
                   services)


def test_billion_laughs_is_refused_and_the_server_keeps_answering(wecom, services):
    assert_refused(wecom.raw(text_xml(), body=BILLION_LAUGHS), 400, services)
    assert wecom.text("zhangsan", "宿舍没有热水").status_code == 200
    assert logged(services) == 1


def test_external_entity_in_outer_xml_is_refused(wecom, services):
    body = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            "<xml><Encrypt>&e;</Encrypt></xml>")
    response = wecom.raw(text_xml(), body=body)
    assert_refused(response, 400, services)
    assert "root:" not in response.response.text


def test_dtd_inside_the_encrypted_xml_is_refused(wecom, services):
    inner = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY who "zhangsan">]>'
             "<xml><ToUserName><![CDATA[ww_test_corp]]></ToUserName><FromUserName>&who;</FromUserName>"
             f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
             "<Content><![CDATA[hi]]></Content><MsgId>1</MsgId><AgentID>1000002</AgentID></xml>")
    assert_refused(wecom.raw(inner), 400, services)


def test_billion_laughs_inside_the_encrypted_xml_is_refused(wecom, services):
    assert_refused(wecom.raw(BILLION_LAUGHS), 400, services)
    assert wecom.text("zhangsan", "楼道灯不亮").status_code == 200


def test_encrypted_xml_that_is_malformed_is_refused(wecom, services):
    assert_refused(wecom.raw("<xml><FromUserName>zhangsan</FromUserName>"), 400, services)


# -- replays -------------------------------------------------------------------------
@pytest.mark.parametrize("offset", [-1000, 1000])
def test_timestamp_outside_the_replay_window_is_refused(wecom, services, offset):
    assert_refused(wecom.raw(text_xml(), timestamp=int(time.time()) + offset), 403, services)


def test_timestamp_that_is_not_a_number_is_refused(wecom, services):
    assert_refused(wecom.raw(text_xml(), timestamp="yesterday"), 403, services)


def test_timestamp_inside_the_window_is_accepted(wecom, services):
    assert wecom.raw(text_xml(), timestamp=int(time.time()) - 60).status_code == 200
    assert logged(services) == 1


def test_replay_window_zero_accepts_an_old_timestamp(app_factory):
    app = app_factory(**{"callback.replay_window_seconds": 0})
    reply = app.sender.raw(text_xml(), timestamp=int(time.time()) - 100_000)
    assert reply.status_code == 200 and reply.text
    assert logged(app.services) == 1


# -- ciphertexts that are not ours -------------------------------------------------------
def test_ciphertext_for_another_corp_is_refused_with_403(wecom, services):
    encrypted = encrypt(text_xml(), AES_KEY, "ww_other_corp")
    assert_refused(signed_post(wecom.url, encrypted), 403, services)


@pytest.mark.parametrize("garbage", [
    "bm90IHJlYWxseSBhIGNpcGhlcnRleHQ=",                # base64, but not AES blocks
    "!!! not base64 at all !!!",
    "A" * 64,                                          # whole blocks that decrypt to junk
], ids=["short-base64", "not-base64", "junk-blocks"])
def test_garbage_ciphertext_with_a_valid_signature_is_refused_with_400(wecom, services, garbage):
    assert_refused(signed_post(wecom.url, garbage), 400, services)


def test_ciphertext_made_with_another_key_is_refused(wecom, services):
    other_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
    encrypted = encrypt(text_xml(), other_key, "ww_test_corp")
    response = signed_post(wecom.url, encrypted)
    assert response.status_code in (400, 403)
    assert_refused(response, response.status_code, services)


# -- the public vectors -------------------------------------------------------------------
def vector_app(app_factory, name: str, **overrides):
    vector = VECTORS[name]
    return vector, app_factory(**{"wecom.token": vector["token"], "wecom.encoding_aes_key": vector["encoding_aes_key"],
                                  "wecom.corp_id": vector["corp_id"], **overrides})


@pytest.mark.parametrize("name", VECTOR_SETS)
def test_public_vector_get_verification_returns_exactly_the_plaintext(app_factory, name):
    vector, app = vector_app(app_factory, name)
    response = requests.get(app.callback_url, params=vector["verify_get"] | {"expected_plaintext": None},
                            timeout=10)
    assert response.status_code == 200
    assert response.content == vector["verify_get"]["expected_plaintext"].encode()


@pytest.mark.parametrize("name", VECTOR_SETS)
def test_public_vector_post_is_accepted_and_logged(app_factory, name):
    vector, app = vector_app(app_factory, name, **{"callback.replay_window_seconds": 0})
    post = vector["message_post"]
    body = f"<xml><ToUserName><![CDATA[{vector['corp_id']}]]></ToUserName><Encrypt><![CDATA[{post['encrypt']}]]></Encrypt></xml>"
    params = {"msg_signature": post["msg_signature"], "timestamp": post["timestamp"], "nonce": post["nonce"]}
    response = requests.post(app.callback_url, params=params, data=body.encode(), timeout=10)
    assert response.status_code == 200, response.text
    expected_from = post.get("expected_from") or "mycreate"
    with app.services.db.session() as session:
        row = session.execute(select(InboundMessage)).scalar_one()
    assert row.from_user == expected_from
    assert row.status == "handled"
    if "expected_plaintext" in post:
        assert row.raw_xml == post["expected_plaintext"]
    if "expected_content" in post:
        assert row.content == post["expected_content"]
    if "expected_msg_id" in post:
        assert row.dedup_key == f"msg:{post['expected_msg_id']}"


@pytest.mark.parametrize("name", VECTOR_SETS)
def test_public_vector_post_is_a_replay_under_the_default_window(app_factory, name):
    vector, app = vector_app(app_factory, name)
    post = vector["message_post"]
    body = f"<xml><Encrypt><![CDATA[{post['encrypt']}]]></Encrypt></xml>"
    params = {"msg_signature": post["msg_signature"], "timestamp": post["timestamp"], "nonce": post["nonce"]}
    response = requests.post(app.callback_url, params=params, data=body.encode(), timeout=10)
    assert_refused(response, 403, app.services)


@pytest.mark.parametrize("name", VECTOR_SETS)
def test_public_vector_with_one_character_changed_is_refused(app_factory, name):
    vector, app = vector_app(app_factory, name, **{"callback.replay_window_seconds": 0})
    post = vector["message_post"]
    params = {"msg_signature": post["msg_signature"], "timestamp": post["timestamp"],
              "nonce": str(int(post["nonce"]) + 1)}
    body = f"<xml><Encrypt><![CDATA[{post['encrypt']}]]></Encrypt></xml>"
    response = requests.post(app.callback_url, params=params, data=body.encode(), timeout=10)
    assert_refused(response, 403, app.services)
