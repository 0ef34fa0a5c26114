"""Security checks that the callback, chat and console suites do not already
make: text in encodings WeCom never uses, the very same request replayed,
staff buttons and commands from occupants, one occupant asking about another's
complaint, forged console sessions and characters no browser sends, HTML and
SQL-looking text kept as text everywhere — and a fuzz test of the callback."""
from __future__ import annotations

import base64
import html
import io
import itertools
import re
import threading
from urllib.parse import quote

import requests
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import select, update
from wechatpy.enterprise import parse_message

from bot import complaints as c
from bot.inbound import Inbound
from bot.models import Complaint, InboundMessage, Survey, utcnow
from bot.wecom.callback_sender import build_xml, encrypt
from tests.conftest import AES_KEY
from tests.console_fixtures import CONSOLE, Console, is_login_redirect, logged_in, settings
from tests.live_app import app_factory
from tests.security_support import (CORP_ID, TABLES, Snapshot, assert_clean_refusal, count, envelope, reply_text,
                                    sealed, signed, stored_descriptions, tables_of, text_xml)
from tests.workflow_fixtures import (DIRECTORY, DUTY, ENGINEERING, KEFU, LEAK, LI, NAMES, NEIGHBOUR, OCCUPANT,
                                     SUPERVISOR, complaint_of, deliver, events_of, file_directly, put, register, say,
                                     texts)

assert settings and app_factory  # imported fixtures

MSG_IDS = itertools.count(7 * 10**17)


def url_of(live) -> str:
    return f"{live.url}/wecom/callback"


# -- encodings WeCom never uses ------------------------------------------------------------------------------------
def _inner(content: str = "3号楼201的灯坏了", user: str = "enc.user") -> str:
    return text_xml(user, content, next(MSG_IDS))


NOT_UTF8 = {
    "gbk": _inner().encode("gbk"),
    "utf-16": _inner().encode("utf-16"),
    "latin-1": _inner("café").encode("latin-1"),
    "cut-character": _inner().encode("utf-8")[:-30] + b"\xe7\x81" + b"</Content></xml>",
    "gbk-declared": ('<?xml version="1.0" encoding="GBK"?>' + _inner()).encode("gbk"),
    "surrogate": _inner("\ud800").encode("utf-8", "surrogatepass"),
}
XML_FORBIDS = {"nul": "a\x00b", "soh": "a\x01b", "escape": "a\x1bb", "non-character": "a\ufffeb",
               "nul-reference": "&#0;", "soh-reference": "&#x1;"}


def test_an_inner_message_that_is_not_utf8_is_refused_and_nothing_is_stored(live, services):
    before = Snapshot.of(services)
    for case, plaintext in NOT_UTF8.items():
        assert_clean_refusal(sealed(plaintext).send(url_of(live)), 400, case=case)
    assert Snapshot.of(services) == before


def test_characters_xml_forbids_are_refused_inside_the_message(live, services):
    for case, content in XML_FORBIDS.items():
        plaintext = _inner().replace("<![CDATA[3号楼201的灯坏了]]>", content)
        assert content in plaintext
        assert_clean_refusal(sealed(plaintext).send(url_of(live)), 400, case=case)
    assert count(services, InboundMessage) == 0


def test_a_byte_order_mark_before_the_inner_message_is_read_like_any_message(live, services):
    response = sealed("\ufeff" + _inner("宿舍没有热水")).send(url_of(live))
    assert response.status_code == 200
    with services.db.session() as session:
        row = session.execute(select(InboundMessage)).scalar_one()
    assert (row.from_user, row.content, row.status) == ("enc.user", "宿舍没有热水", "handled")


ENVELOPES_READ = {  # still well-formed XML: WeCom's message is read
    "utf8-bom": lambda e: b"\xef\xbb\xbf" + envelope(e).encode(),
    "utf-16": lambda e: envelope(e).encode("utf-16"),
}
ENVELOPES_REFUSED = {
    "gbk": lambda e: ('<?xml version="1.0" encoding="GBK"?><xml><ToUserName>企业</ToUserName>'
                      f"<Encrypt>{e}</Encrypt></xml>").encode("gbk"),  # an encoding the parser refuses
    "nul": lambda e: envelope(e).encode().replace(b"<Encrypt>", b"<Encrypt>\x00"),
    "invalid-utf8": lambda e: envelope(e).encode().replace(b"<xml>", b"<xml>\xc3\x28"),
}


def test_the_outer_envelope_is_either_well_formed_xml_or_refused(live, services):
    for case, body in ENVELOPES_REFUSED.items():
        encrypted = encrypt(_inner("楼道灯不亮"), AES_KEY, CORP_ID)
        assert_clean_refusal(signed(encrypted, body=body(encrypted)).send(url_of(live)), 400, case=case)
    assert count(services, InboundMessage) == 0
    for case, body in ENVELOPES_READ.items():
        encrypted = encrypt(_inner("楼道灯不亮"), AES_KEY, CORP_ID)
        assert_clean_refusal(signed(encrypted, body=body(encrypted)).send(url_of(live)), 200, case=case)
    assert count(services, InboundMessage, InboundMessage.content == "楼道灯不亮") == 2


def test_a_query_string_in_another_encoding_never_matches_its_signature(live, services):
    request = sealed(_inner(), nonce="测试")  # signed over the real characters…
    query = "&".join(f"{key}={quote(value.encode('gbk'))}" for key, value in request.params.items())
    response = requests.post(f"{url_of(live)}?{query}", data=request.body, timeout=10)  # …sent as GBK bytes
    assert_clean_refusal(response, 403)
    raw_bytes = requests.post(f"{url_of(live)}?msg_signature=%FF%FE&timestamp=%FF&nonce=%00", data=request.body,
                              timeout=10)
    assert_clean_refusal(raw_bytes, 403)
    assert count(services, InboundMessage) == 0


def _damaged(encrypted: str, how: str) -> str:
    raw = bytearray(base64.b64decode(encrypted))
    if how == "last-block":
        raw[-1] ^= 0x55  # the padding
    elif how == "length-field":
        raw[0] ^= 0x80  # CBC: flips a bit of the length in the next block
    elif how == "cut-block":
        del raw[-16:]
    return base64.b64encode(bytes(raw)).decode()


def test_a_valid_signature_over_a_damaged_ciphertext_is_refused(live, services):
    for how in ("last-block", "length-field", "cut-block"):
        encrypted = _damaged(encrypt(_inner(), AES_KEY, CORP_ID), how)
        assert_clean_refusal(signed(encrypted).send(url_of(live)), 400, 403, case=how)
    assert count(services, InboundMessage) == 0


# -- the very same request again ------------------------------------------------------------------------------------
def _at_confirmation(wecom, user: str) -> None:
    """A complete first message goes straight to the summary, 请您核对."""
    reply = say(wecom, user, LEAK)
    assert "请您核对" in reply, reply


def test_the_very_same_request_sent_again_is_stored_once_and_answered_alike(wecom, live, services):
    _at_confirmation(wecom, OCCUPANT)
    confirm = sealed(text_xml(OCCUPANT, "确认", next(MSG_IDS)), nonce="424242")
    answers = [reply_text(wecom, confirm.send(url_of(live))) for _ in range(3)]
    assert "已为您登记" in answers[0] and answers == [answers[0]] * 3
    assert count(services, Complaint) == 1
    assert count(services, InboundMessage, InboundMessage.content == "确认") == 1


def test_the_same_request_from_four_connections_at_once_registers_one_complaint(wecom, live, services):
    _at_confirmation(wecom, OCCUPANT)
    confirm = sealed(text_xml(OCCUPANT, "确认", next(MSG_IDS)))
    responses: list[requests.Response] = []
    threads = [threading.Thread(target=lambda: responses.append(confirm.send(url_of(live), requests.Session())))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [r.status_code for r in responses] == [200] * 4
    answers = {reply_text(wecom, r) for r in responses}
    assert len(answers) == 1 and "已为您登记" in answers.pop()
    assert count(services, Complaint) == 1 and len(events_of(services, complaint_number(services))) == 1


def complaint_number(services) -> str:
    with services.db.session() as session:
        return session.execute(select(Complaint.number)).scalar_one()


def test_a_msgid_seen_before_keeps_its_first_content(wecom, live, services):
    msg_id = next(MSG_IDS)
    first = reply_text(wecom, sealed(text_xml(NEIGHBOUR, "5号楼302的门锁坏了", msg_id)).send(url_of(live)))
    again = sealed(text_xml(NEIGHBOUR, "撤销 TS20240101-001", msg_id), nonce="99").send(url_of(live))
    assert reply_text(wecom, again) == first
    with services.db.session() as session:
        assert list(session.execute(select(InboundMessage.content)).scalars()) == ["5号楼302的门锁坏了"]


# -- staff buttons and commands from occupants -----------------------------------------------------------------------
def _state(services, number: str) -> tuple:
    complaint = complaint_of(services, number)
    return complaint.status, complaint.department, complaint.assignee, [e.kind for e in complaint.events]


VICTIM, VICTIM_PLACE = "7号楼512卫生间水管漏水", "7号楼512"  # someone else's complaint


def victims_complaint(services, **fields) -> str:
    return file_directly(services, NEIGHBOUR, VICTIM, location=VICTIM_PLACE, **fields)


def _leaks(reply: str) -> list[str]:
    """What an occupant must not learn about someone else's complaint."""
    words = [VICTIM, VICTIM_PLACE, ENGINEERING, *NAMES.values(), *c.STATUS_LABELS.values(), "您现在可以", "不能处理"]
    return [word for word in words if word in reply]


STAFF_COMMANDS = ("原因 {n} 接口老化", "方案 {n} 更换接口", "等待 {n} 等配件", "恢复 {n}", "驳回 {n} 不行", "详情 {n}",
                  "受理 {fullwidth}", "受理 {lower}", "同意{n}")


def test_an_occupant_typing_a_staff_command_changes_nothing_and_learns_nothing(wecom, services):
    number = victims_complaint(services)
    put(services, number, c.SOLUTION_PENDING)
    before = _state(services, number)
    fullwidth = number.translate(str.maketrans("TS0123456789-", "ＴＳ０１２３４５６７８９－"))
    for command in STAFF_COMMANDS:
        reply = say(wecom, OCCUPANT, command.format(n=number, fullwidth=fullwidth, lower=number.lower()))
        assert _leaks(reply) == [], (command, reply)
        say(wecom, OCCUPANT, "取消")  # the words started an intake dialog: end it before the next command
    assert _state(services, number) == before


CARD_ACTIONS = ("accept", "approve", "complete", "invalid", "transfer", "reject")


def test_a_forged_task_card_click_from_an_occupant_changes_nothing_and_tells_nothing(
        wecom, services, worker, fake_wecom):
    number = victims_complaint(services)
    say(wecom, LI, f"受理 {number}")
    say(wecom, LI, f"方案 {number} 更换接口")
    before = _state(services, number)
    for action in CARD_ACTIONS:
        reply = wecom.event(OCCUPANT, "template_card_event", EventKey=f"{action}:{number}", TaskId=f"{number}-task",
                            CardType="button_interaction", ResponseCode=fake_wecom.new_response_code())
        assert reply.status_code == 200 and reply.text is None, action
    deliver(services, worker)
    assert texts(fake_wecom, OCCUPANT) == [services.texts("staff_unknown_button")] * len(CARD_ACTIONS)
    assert _state(services, number) == before


def test_the_duty_roster_may_still_accept_an_emergency_by_its_card(wecom, services, worker, fake_wecom):
    number = file_directly(services, NEIGHBOUR, "3号楼电梯困人", category="突发事件", location="3号楼", emergency=True)
    wecom.event(DUTY, "template_card_event", EventKey=f"accept:{number}", TaskId=f"{number}-task-1",
                CardType="button_interaction", ResponseCode=fake_wecom.new_response_code())
    assert complaint_of(services, number).assignee == DUTY


# -- one occupant, another's complaint -------------------------------------------------------------------------------
NEVER_ISSUED = "TS19990101-999"


def test_asking_about_someone_elses_complaint_reads_like_a_number_that_never_existed(wecom, services):
    theirs = victims_complaint(services, phone="13812345678")
    before = _state(services, theirs)
    for word in ("查询", "进度", "详情", "补充", "撤销"):
        about_theirs = say(wecom, OCCUPANT, f"{word} {theirs} 其实是我家")
        about_nothing = say(wecom, OCCUPANT, f"{word} {NEVER_ISSUED} 其实是我家")
        assert about_theirs.replace(theirs, "N") == about_nothing.replace(NEVER_ISSUED, "N"), word
        assert about_theirs == services.texts("complaint_not_found", number=theirs), word
        assert "13812345678" not in about_theirs and _leaks(about_theirs) == [], word
    assert _state(services, theirs) == before


def _visit_waiting(wecom, services) -> str:
    """A complaint of NEIGHBOUR handled to the end, its visit sent."""
    number = file_directly(services, NEIGHBOUR, "5号楼302空调不制冷", category="设备设施", location="5号楼302")
    for person, command in ((LI, f"受理 {number}"), (LI, f"方案 {number} 更换压缩机"), (SUPERVISOR, f"同意 {number}"),
                            (LI, f"完成 {number} 已更换压缩机")):
        assert "不能" not in say(wecom, person, command), command
    with services.db.session() as session:
        session.execute(update(Survey).values(status="sent", sent_at=utcnow()))
    return number


def test_a_forged_visit_click_for_someone_elses_complaint_is_ignored(wecom, services, worker, fake_wecom):
    number = _visit_waiting(wecom, services)
    for choice in ("1", "0"):  # 很不满意 / 还没解决 would reopen it
        wecom.event(OCCUPANT, "template_card_event", EventKey=f"survey:{number}:{choice}",
                    TaskId=f"{number}-survey", CardType="button_interaction")
    deliver(services, worker)
    assert texts(fake_wecom, OCCUPANT) == [services.texts("survey_unknown")] * 2
    assert complaint_of(services, number).status == c.RESOLVED
    wecom.event(NEIGHBOUR, "template_card_event", EventKey=f"survey:{number}:5", TaskId=f"{number}-survey",
                CardType="button_interaction")
    assert complaint_of(services, number).status == c.CLOSED  # the owner's own click counts


# -- console sessions ------------------------------------------------------------------------------------------------
def _session_cookie(secret_key: str, data: dict) -> str:
    app = Flask(__name__)
    app.secret_key = secret_key
    return SecureCookieSessionInterface().get_signing_serializer(app).dumps(data)


def _with_cookie(url: str, value: str) -> Console:
    console = Console(url)
    console.http.cookies.set("session", value)
    return console


COOKIES = [  # (signed with, session data, opens the console)
    ("the-key", {"userid": LI}, True),  # what the server itself signs: so the forgeries below are fair ones
    ("another-key", {"userid": LI}, False),
    ("another-key", {"userid": "__local_admin__"}, False),
    ("the-key", {"userid": NEIGHBOUR}, False),  # the right key, someone who is not staff
    ("the-key", {"userid": "__local_admin__"}, False),  # the right key, without the password's fingerprint
    (None, "not-a-cookie", False),
]


def test_a_forged_session_cookie_opens_nothing(app_factory):
    app = app_factory(**{**CONSOLE, "console.secret_key": "the-key", "directory": DIRECTORY})
    number = file_directly(app.services, NEIGHBOUR, LEAK)
    for key, data, opens in COOKIES:
        console = _with_cookie(app.url, _session_cookie(key, data) if key else data)
        for path in ("/console/", f"/console/complaints/{number}", "/console/complaints/export.xlsx"):
            response = console.get(path)
            assert (response.status_code == 200) == opens and is_login_redirect(response) != opens, (key, data, path)


def test_leaving_the_directory_ends_a_staff_members_session(app_factory, fake_wecom):
    options = {**CONSOLE, "console.secret_key": "shared-secret", "directory": DIRECTORY}
    first = app_factory(**options)
    li = logged_in(first.url, LI, fake_wecom)
    without_li = [{**d, "members": [m for m in d["members"] if m != LI]} for d in DIRECTORY["departments"]]
    second = app_factory(**{**options, "directory": {**DIRECTORY, "departments": without_li}})
    cookie = li.http.cookies["session"]
    assert _with_cookie(first.url, cookie).get("/console/").status_code == 200
    assert is_login_redirect(_with_cookie(second.url, cookie).get("/console/"))


NUL_REQUESTS = [("/console/complaints", {"q": "\x00"}), ("/console/complaints", {"status": "a\x00"}),
                ("/console/complaints/export.xlsx", {"department": "\x00"}), ("/console/complaints/TS\x00", {})]


def test_a_nul_character_in_a_console_request_is_refused_not_failed(live, services):
    admin = logged_in(live.url, "admin")
    for path, params in NUL_REQUESTS:
        response = admin.get(quote(path), params=params)
        assert response.status_code == 400 and "请求中含有无效字符。" in response.text, (path, params)
    assert admin.get("/console/complaints").status_code == 200


def test_a_nul_character_in_a_console_form_changes_nothing(live, services, fake_wecom):
    number = file_directly(services, NEIGHBOUR, LEAK)
    li = logged_in(live.url, LI, fake_wecom)
    response = li.act(number, "invalid", text="不属于\x00后勤")
    assert response.status_code == 400
    assert _state(services, number)[0] == c.PENDING


def test_dates_at_the_ends_of_the_calendar_are_ignored(live, services):
    number = file_directly(services, NEIGHBOUR, LEAK)
    admin = logged_in(live.url, "admin")
    for dates in ({"from": "0001-01-01"}, {"to": "9999-12-31"}, {"from": "0001-01-01", "to": "9999-12-31"}):
        assert admin.listed(**dates) == [number], dates
        assert admin.get("/console/complaints/export.xlsx", params=dates).status_code == 200


def test_an_attachment_id_beyond_any_integer_is_not_found(live):
    admin = logged_in(live.url, "admin")
    assert admin.get(f"/console/attachments/{10**30}").status_code == 404


SQL_LIKE = ("%", "_", "\\", "' OR '1'='1", "'; DROP TABLE complaints; --", "\") OR 1=1 --")


def test_search_text_like_sql_or_wildcards_stays_within_the_viewers_scope(live, services, fake_wecom):
    engineering = file_directly(services, NEIGHBOUR, LEAK)
    desk = file_directly(services, NEIGHBOUR, "前台%办理_入住太慢", category="管理服务", location="1号楼大厅")
    kefu = logged_in(live.url, KEFU, fake_wecom)
    for q in SQL_LIKE:
        listed = kefu.listed(q=q)
        assert engineering not in listed and set(listed) <= {desk}, q
    assert kefu.listed(q="%") == [desk] and tables_of(services) >= TABLES


# -- HTML and SQL-looking text, from the chat to every page ----------------------------------------------------------
HOSTILE = ("3号楼201卫生间水管漏水]]></Content><MsgType>image</MsgType><script>alert(1)</script>"
           "<img src=x onerror=alert(2)>'; DROP TABLE complaints; --")


def test_html_and_sql_in_a_complaint_are_kept_verbatim_and_shown_as_text(wecom, live, services, fake_wecom):
    number, _ = register(wecom, fake_wecom, NEIGHBOUR, HOSTILE)
    assert stored_descriptions(services) == [HOSTILE] and tables_of(services) >= TABLES
    progress = wecom.text(NEIGHBOUR, f"进度 {number}").xml()  # the passive reply carries it as text, "]]>" and all
    assert progress["MsgType"] == "text" and HOSTILE[:100] in progress["Content"]
    assert HOSTILE in say(wecom, LI, f"详情 {number}")
    page = logged_in(live.url, "admin").page(f"/console/complaints/{number}")
    assert "<script>alert(1)" not in page and "<img src=x" not in page and "</Content><MsgType>" not in page
    assert html.escape(HOSTILE, quote=False) in page.replace("&#39;", "'").replace("&#34;", '"')
    assert _exported_description(live, number) == HOSTILE


def _exported_description(live, number: str) -> str:
    response = logged_in(live.url, "admin").get("/console/complaints/export.xlsx", params={"q": number})
    cell = load_workbook(io.BytesIO(response.content)).active.cell(row=2, column=9)
    assert cell.data_type == "s"
    return cell.value


# -- fuzzing the callback --------------------------------------------------------------------------------------------
FUZZ = dict(deadline=None, derandomize=True, database=None, print_blob=False,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                   HealthCheck.data_too_large, HealthCheck.filter_too_much])
ALLOWED = {200, 400, 403, 413, 503}
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="

tags = st.one_of(st.sampled_from(["Encrypt", "ToUserName", "FromUserName", "MsgType", "Content", "MsgId", "Event",
                                  "AgentID", "CreateTime", "MediaId", "EventKey", "TaskId"]),
                 st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True))
prologues = st.sampled_from(["", '<?xml version="1.0"?>', '<?xml version="1.0" encoding="GBK"?>',
                             '<!DOCTYPE xml [<!ENTITY e "x">]>', "\ufeff"])


@st.composite
def xml_documents(draw) -> str:
    fields = draw(st.lists(st.tuples(tags, st.text(max_size=40)), max_size=6))
    inner = "".join(f"<{tag}>{draw(st.sampled_from([html.escape(value), f'<![CDATA[{value}]]>', value]))}</{tag}>"
                    for tag, value in fields)
    document = f"{draw(prologues)}<xml>{inner}</xml>"
    return document[:draw(st.integers(len(document) - 3, len(document)))]  # sometimes cut short


def xml_text(text: str) -> str:
    """Text that can be encoded at all (hypothesis also draws lone surrogates)."""
    return text.encode("utf-8", "replace").decode("utf-8")


def utf8(text: str) -> bytes:
    return xml_text(text).encode("utf-8")


def check_answer(response: requests.Response) -> None:
    assert response.status_code in ALLOWED, (response.status_code, response.text[:300])
    assert "Traceback" not in response.text and 'File "' not in response.text


def still_serving(live, wecom) -> None:
    assert requests.get(f"{live.url}/healthz", timeout=5).status_code == 200
    reply = wecom.text("after.fuzz", "3号楼201的灯坏了")
    assert reply.status_code == 200 and reply.text


def test_fuzz_unsigned_requests_are_refused_and_store_nothing(live, wecom, services):
    @hypothesis_settings(max_examples=200, **FUZZ)
    @given(query=st.dictionaries(st.sampled_from(["msg_signature", "timestamp", "nonce", "echostr", "x"]),
                                 st.text(max_size=60), max_size=4),
           body=st.one_of(st.binary(max_size=2048), xml_documents().map(utf8)),
           method=st.sampled_from(["POST", "POST", "GET"]))
    def one_request(query, body, method):
        response = requests.request(method, url_of(live), params={k: xml_text(v) for k, v in query.items()}, data=body,
                                    timeout=15)
        check_answer(response)
        assert response.status_code in {400, 403, 413}
        assert count(services, InboundMessage) == 0

    one_request()
    still_serving(live, wecom)


def test_fuzz_signed_envelopes_around_random_ciphertext_are_refused(live, wecom, services):
    @hypothesis_settings(max_examples=150, **FUZZ)
    @given(encrypted=st.one_of(st.binary(max_size=512).map(lambda b: base64.b64encode(b).decode()),
                               st.text(alphabet=B64, max_size=200), st.text(max_size=60).map(xml_text)))
    def one_request(encrypted):
        response = signed(encrypted).send(url_of(live))
        check_answer(response)
        assert response.status_code in {400, 403}
        assert count(services, InboundMessage) == 0

    one_request()
    still_serving(live, wecom)


def legal_text(max_size: int) -> st.SearchStrategy:
    """Text XML may carry (no control characters, surrogates or non-characters)."""
    return st.text(st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff"),
                   max_size=max_size)


field_text = st.one_of(legal_text(40), st.text(max_size=20),
                       st.sampled_from(["", " ", "0", "-1", "１２", "1e3", "99999999999999999999", "x" * 300]))
MESSAGE_TYPES = ["text", "image", "voice", "video", "file", "location", "link", "event", "miniprogram"]
EVENTS = ["enter_agent", "click", "view", "location", "template_card_event", "subscribe"]


def mostly(usual: st.SearchStrategy) -> st.SearchStrategy:
    """Usually a value WeCom would send, now and then any text at all."""
    return st.sampled_from([usual] * 7 + [field_text]).flatmap(lambda chosen: chosen)


@st.composite
def inner_messages(draw) -> str:
    fields = {"ToUserName": CORP_ID,
              "FromUserName": draw(mostly(st.sampled_from(["fuzz.a", "fuzz.b", OCCUPANT, LI, SUPERVISOR]))),
              "CreateTime": draw(mostly(st.integers(0, 2**32))),
              "MsgType": draw(mostly(st.sampled_from(MESSAGE_TYPES))),
              "MsgId": draw(mostly(st.just(next(MSG_IDS))))}
    optional = {"Content": mostly(legal_text(80)), "Event": mostly(st.sampled_from(EVENTS)),
                "EventKey": mostly(st.sampled_from(["help", "accept:TS20240101-001", "survey:TS20240101-001:5"])),
                "TaskId": field_text, "MediaId": field_text, "Recognition": mostly(legal_text(40)),
                "AgentID": mostly(st.just(1000002)), "Location_X": mostly(st.floats(-90, 90))}
    for name, strategy in optional.items():
        if draw(st.booleans()):
            fields[name] = draw(strategy)
    names = draw(st.permutations(list(fields)))
    kept = [name for name in names if draw(st.integers(0, 9)) < 9]  # now and then one is left out
    return build_xml({name: fields[name] for name in kept})


def stored(services, plaintext: str) -> InboundMessage | None:
    key = Inbound(parse_message(plaintext), plaintext).dedup_key
    with services.db.session() as session:
        return session.execute(select(InboundMessage).where(InboundMessage.dedup_key == key)).scalar_one_or_none()


def plaintexts() -> st.SearchStrategy:
    """Mostly messages shaped like WeCom's, else any XML or any bytes at all."""
    kinds = {"message": inner_messages().map(xml_text), "xml": xml_documents().map(xml_text),
             "bytes": st.binary(max_size=300)}
    return st.sampled_from(["message", "message", "message", "xml", "bytes"]).map(kinds.get).flatmap(lambda k: k)


def test_fuzz_decryptable_messages_are_answered_and_every_200_is_stored(live, wecom, services):
    @hypothesis_settings(max_examples=250, **FUZZ)
    @given(plaintext=plaintexts())
    def one_request(plaintext):
        response = sealed(plaintext).send(url_of(live))
        check_answer(response)
        assert response.status_code in {200, 400, 403}
        if response.status_code == 200:
            text = plaintext if isinstance(plaintext, str) else plaintext.decode("utf-8")
            assert stored(services, text) is not None, text

    one_request()
    still_serving(live, wecom)


def xml_allows(text: str) -> bool:
    return all(ch in "\t\n\r" or "\x20" <= ch <= "\ud7ff" or "\ue000" <= ch <= "\ufffd" or ch >= "\U00010000"
               for ch in text)


contents = st.one_of(st.text(max_size=200),
                     st.builds(lambda piece, times: piece * times, st.text(min_size=1, max_size=8),
                               st.integers(1, 2500))).map(xml_text)


def test_fuzz_any_text_is_stored_as_sent_and_handled(live, wecom, services):
    @hypothesis_settings(max_examples=150, **FUZZ)
    @given(content=contents, user=st.sampled_from(["fuzz.a", "fuzz.b", "fuzz.c"]))
    def one_message(content, user):
        msg_id = next(MSG_IDS)
        response = sealed(text_xml(user, content, msg_id)).send(url_of(live))
        check_answer(response)
        assert response.status_code == (200 if xml_allows(content) else 400)
        if response.status_code == 200:
            row = _logged(services, f"msg:{msg_id}")
            assert row.content == (re.sub(r"\r\n?", "\n", content).strip() or None)
            assert row.status == "handled", row.error

    one_message()
    still_serving(live, wecom)


def _logged(services, dedup_key: str) -> InboundMessage:
    with services.db.session() as session:
        return session.execute(select(InboundMessage).where(InboundMessage.dedup_key == dedup_key)).scalar_one()
