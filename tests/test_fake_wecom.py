"""The test tooling itself: the fake WeCom API (spoken to with plain requests)
and the CallbackSender (checked against WeCom's public crypto vectors and a
small receiver built on wechatpy)."""
from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from flask import Flask, request
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException
from werkzeug.serving import make_server

from bot.wecom.callback_sender import CallbackSender, build_xml, decrypt, encrypt, parse_xml, sign

VECTORS = json.loads((Path(__file__).parent / "data" / "wecom_vectors.json").read_text(encoding="utf-8"))
VECTOR_SETS = ["A_official_doc", "C_wechatpy_tests"]


def api(fake, path: str, method: str = "GET", **kwargs) -> requests.Response:
    return requests.request(method, f"{fake.base_url}/cgi-bin/{path}", timeout=5, **kwargs)


def token_of(fake) -> str:
    return api(fake, "gettoken", params={"corpid": fake.corp_id, "corpsecret": fake.secret}).json()["access_token"]


def send(fake, body: dict, token: str | None = None) -> dict:
    token = token or token_of(fake)
    return api(fake, "message/send", "POST", params={"access_token": token}, json=body).json()


def text_body(fake, **overrides) -> dict:
    return {"touser": "alice", "msgtype": "text", "agentid": fake.agent_id, "text": {"content": "hi"}, **overrides}


# -- fake WeCom: tokens ---------------------------------------------------
def test_gettoken_returns_the_same_token_while_valid(fake_wecom):
    first, second = token_of(fake_wecom), token_of(fake_wecom)
    assert first == second and fake_wecom.tokens_issued == 2


def test_gettoken_rejects_a_wrong_secret_with_40001(fake_wecom):
    answer = api(fake_wecom, "gettoken", params={"corpid": fake_wecom.corp_id, "corpsecret": "nope"}).json()
    assert answer["errcode"] == 40001 and fake_wecom.tokens_issued == 0


def test_token_checks(fake_wecom):
    token = token_of(fake_wecom)
    assert send(fake_wecom, text_body(fake_wecom), token="made-up")["errcode"] == 40014
    fake_wecom.expire_tokens()
    assert send(fake_wecom, text_body(fake_wecom), token=token)["errcode"] == 42001
    assert token_of(fake_wecom) != token
    no_token = api(fake_wecom, "message/send", "POST", json=text_body(fake_wecom)).json()
    assert no_token["errcode"] == 41001


# -- fake WeCom: message/send validation ----------------------------------
@pytest.mark.parametrize("overrides, errcode", [
    ({"touser": ""}, 40035),
    ({"msgtype": "voice"}, 40008),
    ({"agentid": 1}, 40056),
    ({"text": {"content": ""}}, 44004),
])
def test_message_send_validates_the_body(fake_wecom, overrides, errcode):
    assert send(fake_wecom, text_body(fake_wecom, **overrides))["errcode"] == errcode
    assert fake_wecom.sent() == []


def test_message_send_requires_agentid(fake_wecom):
    body = text_body(fake_wecom)
    del body["agentid"]
    assert send(fake_wecom, body)["errcode"] == 41011


def test_party_only_message_is_accepted(fake_wecom):
    answer = send(fake_wecom, text_body(fake_wecom, touser="", toparty="2"))
    assert answer["errcode"] == 0 and "response_code" not in answer


def test_response_code_only_for_interactive_cards(fake_wecom):
    def card(card_type):
        return text_body(fake_wecom, msgtype="template_card", template_card={"card_type": card_type})

    assert "response_code" in send(fake_wecom, card("button_interaction"))
    assert "response_code" not in send(fake_wecom, card("text_notice"))


def test_sent_filters_by_msgtype_and_recipient(fake_wecom):
    token = token_of(fake_wecom)
    send(fake_wecom, text_body(fake_wecom, touser="alice|bob"), token)
    send(fake_wecom, text_body(fake_wecom, touser="carol", msgtype="markdown", markdown={"content": "**x**"}), token)
    send(fake_wecom, text_body(fake_wecom, touser=""), token)  # refused: not in sent()

    assert len(fake_wecom.sent()) == 2
    assert [b["touser"] for b in fake_wecom.sent(touser="bob")] == ["alice|bob"]
    assert [b["touser"] for b in fake_wecom.sent(msgtype="markdown")] == ["carol"]


# -- fake WeCom: recording and injected failures --------------------------
def test_calls_are_recorded_from_concurrent_clients(fake_wecom):
    token = token_of(fake_wecom)
    threads = [threading.Thread(target=send, args=(fake_wecom, text_body(fake_wecom, touser=f"u{i}"), token))
               for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    sends = [c for c in fake_wecom.calls if c.path == "message/send"]
    assert len(sends) == 20 and len(fake_wecom.sent()) == 20
    call = sends[0]
    assert (call.method, call.status, call.params["access_token"]) == ("POST", 200, token)
    assert call.body["msgtype"] == "text" and call.response["errcode"] == 0 and call.at > 0


def test_fail_next_errcode_http_status_and_delay(fake_wecom):
    token = token_of(fake_wecom)
    fake_wecom.fail_next("message/send", errcode=45009, times=2)
    fake_wecom.fail_next("message/send", http_status=502)
    fake_wecom.fail_next("message/send", delay=0.3)

    assert send(fake_wecom, text_body(fake_wecom), token)["errcode"] == 45009
    assert send(fake_wecom, text_body(fake_wecom), token)["errcode"] == 45009
    broken = api(fake_wecom, "message/send", "POST", params={"access_token": token}, json=text_body(fake_wecom))
    assert broken.status_code == 502
    started = time.monotonic()
    assert send(fake_wecom, text_body(fake_wecom), token)["errcode"] == 0
    assert time.monotonic() - started >= 0.3
    assert [c.status for c in fake_wecom.calls if c.path == "message/send"] == [200, 200, 502, 200]


def test_media_get_headers_and_json_error(fake_wecom):
    fake_wecom.add_media("m1", b"bytes", filename="a.jpg")
    token = token_of(fake_wecom)
    found = api(fake_wecom, "media/get", params={"access_token": token, "media_id": "m1"})
    missing = api(fake_wecom, "media/get", params={"access_token": token, "media_id": "zz"})

    assert found.content == b"bytes" and found.headers["Content-Type"] == "image/jpeg"
    assert found.headers["Content-Disposition"] == 'attachment; filename="a.jpg"'
    assert missing.status_code == 200 and missing.json()["errcode"] == 40007


def test_department_list_can_start_at_a_subtree(fake_wecom):
    fake_wecom.add_department(2, "后勤处")
    fake_wecom.add_department(3, "维修科", parentid=2)
    fake_wecom.add_department(4, "教务处")
    answer = api(fake_wecom, "department/list", params={"access_token": token_of(fake_wecom), "id": 2}).json()
    assert sorted(d["id"] for d in answer["department"]) == [2, 3]


def test_command_line_entry_serves_in_the_foreground():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "bot.wecom.fake_server", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        answer = _poll_gettoken(f"http://127.0.0.1:{port}")
        assert answer["errcode"] == 0 and answer["expires_in"] == 7200
    finally:
        process.terminate()
        process.wait(timeout=10)


def _poll_gettoken(base_url: str) -> dict:
    deadline = time.monotonic() + 15
    while True:
        try:
            return requests.get(f"{base_url}/cgi-bin/gettoken", params={"corpid": "ww_fake_corp",
                                                                         "corpsecret": "fake-secret"},
                                timeout=2).json()
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


# -- crypto: public vectors -----------------------------------------------
def _random_prefix(encrypted: str, encoding_aes_key: str) -> str:
    """The 16 random bytes WeCom put in front of the message (AES-CBC, IV = key[:16])."""
    key = base64.b64decode(encoding_aes_key + "=")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    return (decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize())[:16].decode()


@pytest.mark.parametrize("name", VECTOR_SETS)
def test_vectors_verify_url(name):
    vector = VECTORS[name]
    get = vector["verify_get"]
    assert sign(vector["token"], get["timestamp"], get["nonce"], get["echostr"]) == get["msg_signature"]
    assert decrypt(get["echostr"], vector["encoding_aes_key"], vector["corp_id"]) == get["expected_plaintext"]


@pytest.mark.parametrize("name", VECTOR_SETS)
def test_vectors_message_decrypt_and_encrypt(name):
    vector = VECTORS[name]
    post = vector["message_post"]
    key, corp_id = vector["encoding_aes_key"], vector["corp_id"]
    assert sign(vector["token"], post["timestamp"], post["nonce"], post["encrypt"]) == post["msg_signature"]

    plaintext = decrypt(post["encrypt"], key, corp_id)
    fields = parse_xml(plaintext)
    if "expected_plaintext" in post:
        assert plaintext == post["expected_plaintext"]
    else:
        assert (fields["Content"], fields["FromUserName"], fields["MsgId"]) == (
            post["expected_content"], post["expected_from"], post["expected_msg_id"])

    # With WeCom's random prefix, our encryption reproduces the vector byte for byte.
    prefix = _random_prefix(post["encrypt"], key)
    assert encrypt(plaintext, key, corp_id, random_prefix=prefix) == post["encrypt"]


def test_decrypt_rejects_another_corp():
    vector = VECTORS["A_official_doc"]
    with pytest.raises(InvalidCorpIdException):
        decrypt(vector["message_post"]["encrypt"], vector["encoding_aes_key"], "ww_someone_else")


# -- CallbackSender against a receiver built on wechatpy -------------------
RECEIVER_TOKEN = "receiver-token"
RECEIVER_KEY = VECTORS["C_wechatpy_tests"]["encoding_aes_key"]
RECEIVER_CORP = "ww_receiver_corp"


@pytest.fixture
def receiver():
    """A stand-in for our app: verifies, decrypts, records, and echoes texts
    back as an encrypted passive reply (events get an empty body)."""
    crypto = WeChatCrypto(RECEIVER_TOKEN, RECEIVER_KEY, RECEIVER_CORP)
    app = Flask("receiver")
    app.received = []

    @app.route("/callback", methods=["GET", "POST"])
    def callback():
        args = request.args
        try:
            if request.method == "GET":
                return crypto.check_signature(args["msg_signature"], args["timestamp"], args["nonce"],
                                              args["echostr"])
            plaintext = crypto.decrypt_message(request.get_data(), args["msg_signature"], args["timestamp"],
                                               args["nonce"])
        except InvalidSignatureException:
            return "bad signature", 403
        fields = parse_xml(plaintext)
        app.received.append(fields)
        if fields["MsgType"] != "text":
            return ""
        reply = build_xml({"ToUserName": fields["FromUserName"], "FromUserName": RECEIVER_CORP,
                           "CreateTime": int(time.time()), "MsgType": "text",
                           "Content": "收到：" + fields["Content"]})
        return crypto.encrypt_message(reply, args["nonce"])

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    app.url = f"http://127.0.0.1:{server.server_port}/callback"
    yield app
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def sender(receiver):
    return CallbackSender(receiver.url, RECEIVER_TOKEN, RECEIVER_KEY, RECEIVER_CORP)


def test_verify_url_survives_plus_and_slash_in_echostr(sender):
    # Each echostr is random base64; 30 of them contain '+' and '/' with near certainty.
    for i in range(30):
        assert sender.verify_url(f"echo-{i}").text == f"echo-{i}"


def test_text_round_trip_with_passive_reply(sender, receiver):
    reply = sender.text("alice", "宿舍没有热水 ]]> <b>", msg_id=42, create_time=1700000000)

    assert reply.status_code == 200
    assert reply.text == "收到：宿舍没有热水 ]]> <b>"
    assert reply.xml()["ToUserName"] == "alice"
    [fields] = receiver.received
    assert fields == {"ToUserName": RECEIVER_CORP, "FromUserName": "alice", "CreateTime": "1700000000",
                      "MsgType": "text", "Content": "宿舍没有热水 ]]> <b>", "MsgId": "42", "AgentID": "1000002"}


def test_message_ids_are_unique_and_increasing(sender, receiver):
    sender.text("alice", "one")
    sender.text("alice", "two")
    first, second = (int(f["MsgId"]) for f in receiver.received)
    assert second == first + 1 and first >= 10**18


def test_media_messages(sender, receiver):
    sender.image("alice", "img-1")
    sender.voice("alice", "voice-1")
    sender.voice("alice", "voice-2", recognition="水管漏了")
    sender.location("alice", 23.1, 113.3, "三号宿舍楼")
    sender.link("alice", "标题", "描述", "http://example.invalid/x")
    sender.file("alice", "file-1", title="报修单.pdf")

    image, voice, recognized, location, link, file = receiver.received
    assert (image["MsgType"], image["MediaId"], image["PicUrl"]) == ("image", "img-1", "http://fake/p.jpg")
    assert "Recognition" not in voice and recognized["Recognition"] == "水管漏了"
    assert (location["Location_X"], location["Location_Y"], location["Label"], location["Scale"]) == (
        "23.1", "113.3", "三号宿舍楼", "15")
    assert (link["Title"], link["Url"]) == ("标题", "http://example.invalid/x")
    assert (file["MsgType"], file["Title"]) == ("file", "报修单.pdf")


def test_events_carry_their_fields(sender, receiver):
    reply = sender.event("alice", "template_card_event", EventKey="accept", TaskId="t1",
                         CardType="button_interaction", ResponseCode="rc-1",
                         SelectedItems={"SelectedItem": {"QuestionKey": "q", "OptionIds": {"OptionId": ["a", "b"]}}})
    sender.event("alice", "enter_agent", EventKey="")

    assert reply.status_code == 200 and reply.xml() is None and reply.text is None
    card, enter = receiver.received
    assert (card["MsgType"], card["Event"], card["TaskId"], card["ResponseCode"]) == (
        "event", "template_card_event", "t1", "rc-1")
    assert card["SelectedItems"]["SelectedItem"]["OptionIds"]["OptionId"] == ["a", "b"]
    assert "MsgId" not in card and card["AgentID"] == "1000002"
    assert enter["Event"] == "enter_agent"


def test_raw_lets_a_test_forge_the_signature_or_body(sender, receiver):
    plaintext = build_xml({"ToUserName": RECEIVER_CORP, "FromUserName": "eve", "CreateTime": 1,
                           "MsgType": "text", "Content": "x", "MsgId": 1, "AgentID": 1000002})
    assert sender.raw(plaintext, signature="0" * 40).status_code == 403
    assert sender.raw(plaintext, body="<xml><Encrypt><![CDATA[AAAA]]></Encrypt></xml>").status_code == 403
    assert sender.raw(plaintext, timestamp=1409659813, nonce="n").text == "收到：x"
    assert receiver.received[-1]["FromUserName"] == "eve"


def test_reply_with_a_wrong_signature_is_refused(sender):
    reply = sender.text("alice", "hello")
    forged = reply.response.text.replace("<MsgSignature><![CDATA[", "<MsgSignature><![CDATA[0")
    reply.response._content = forged.encode()
    with pytest.raises(ValueError, match="MsgSignature"):
        reply.xml()


def test_latency_holds_every_call_and_zero_answers_at_once(fake_wecom):
    """The slow-WeCom benchmark relies on it: each call waits ``latency`` seconds."""
    url = f"{fake_wecom.base_url}/cgi-bin/gettoken"
    params = {"corpid": fake_wecom.corp_id, "corpsecret": fake_wecom.secret}
    fake_wecom.set_latency(0.6)
    started = time.monotonic()
    assert requests.get(url, params=params, timeout=5).json()["errcode"] == 0
    waited = time.monotonic() - started
    fake_wecom.set_latency(0)
    assert waited >= 0.6  # a lower bound only: the fake must not answer before its latency
    assert fake_wecom.latency == 0
