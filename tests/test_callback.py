"""The callback endpoint end to end: encrypted requests to the real app."""
from __future__ import annotations

import time

from sqlalchemy import func, select

from bot.models import Attachment, Complaint, InboundMessage
from tests.helpers import NUMBER, file_complaint


def count(services, model) -> int:
    with services.db.session() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_get_verification_returns_exactly_the_echostr(wecom):
    response = wecom.verify_url("1616140317555161061")
    assert response.status_code == 200
    assert response.content == b"1616140317555161061"


def test_get_verification_with_plus_in_echostr_survives_url_decoding(wecom):
    # Try plaintexts until the ciphertext has a '+', which naive decoding turns into a space.
    for attempt in range(200):
        plain = f"echo-{attempt}"
        if "+" in wecom.encrypt(plain):
            break
    response = wecom.verify_url(plain)
    assert response.status_code == 200 and response.text == plain


def test_every_message_is_logged_with_its_reply(wecom, services):
    reply = wecom.text("zhangsan", "3号楼201的灯坏了")
    assert reply.status_code == 200 and reply.text
    with services.db.session() as session:
        logged = session.execute(select(InboundMessage)).scalar_one()
    assert logged.status == "handled" and logged.reply == reply.text
    assert logged.from_user == "zhangsan" and logged.content == "3号楼201的灯坏了"
    assert reply.xml()["ToUserName"] == "zhangsan"


def test_a_complaint_is_numbered_and_stored(wecom, services):
    number, _ = file_complaint(wecom, "zhangsan", "3号楼201的灯坏了")
    with services.db.session() as session:
        complaint = session.execute(select(Complaint)).scalar_one()
    assert complaint.number == number
    assert complaint.description == "3号楼201的灯坏了" and complaint.occupant_id == "zhangsan"


def test_complaint_numbers_count_up_within_a_day(wecom):
    first, _ = file_complaint(wecom, "u1", "5号楼的空调坏了")
    second, _ = file_complaint(wecom, "u2", "食堂二楼水龙头漏水")
    assert first[:-3] == second[:-3]
    assert int(second[-3:]) == int(first[-3:]) + 1


def test_retried_message_gets_same_reply_and_is_processed_once(wecom, services):
    first = wecom.text("lisi", "食堂的饭菜有异味", msg_id=777001)
    again = wecom.text("lisi", "食堂的饭菜有异味", msg_id=777001)
    assert again.status_code == 200 and again.text == first.text
    assert count(services, InboundMessage) == 1
    # Processed once: the dialog moved one step, so the next answer is read as the location.
    assert "3号楼201" in file_complaint_continue(wecom, "lisi")


def file_complaint_continue(wecom, user):
    from tests.helpers import answer_for

    reply = wecom.text(user, answer_for("具体在什么地方")).text
    while "请您核对" not in reply:
        reply = wecom.text(user, answer_for(reply)).text
    return reply


def test_retried_event_is_processed_once(wecom, services):
    created = int(time.time())
    first = wecom.event("lisi", "enter_agent", create_time=created)
    again = wecom.event("lisi", "enter_agent", create_time=created)
    assert first.text and again.text == first.text
    assert count(services, InboundMessage) == 1


def test_card_clicks_with_different_buttons_are_different_events(wecom, services):
    created = int(time.time())
    wecom.event("lisi", "template_card_event", create_time=created, TaskId="t1", EventKey="accept")
    wecom.event("lisi", "template_card_event", create_time=created, TaskId="t1", EventKey="reject")
    assert count(services, InboundMessage) == 2


def test_image_is_attached_to_latest_complaint_and_downloaded(wecom, services, worker, fake_wecom):
    fake_wecom.add_media("MEDIA1", b"\xff\xd8jpeg-bytes", filename="leak.jpg", content_type="image/jpeg")
    number, _ = file_complaint(wecom, "wangwu", "3号楼201宿舍漏水")
    reply = wecom.image("wangwu", "MEDIA1")
    assert number in reply.text
    worker.run_once()
    with services.db.session() as session:
        attachment = session.execute(select(Attachment)).scalar_one()
        assert attachment.status == "stored"
        with open(attachment.path, "rb") as stored:
            assert stored.read() == b"\xff\xd8jpeg-bytes"


def test_image_without_any_complaint_starts_one(wecom, services):
    reply = wecom.image("newcomer", "MEDIA2")
    assert "什么问题" in reply.text
    assert count(services, Complaint) == 0
    number, _ = file_complaint(wecom, "newcomer", "3号楼201的窗户关不上")
    with services.db.session() as session:
        assert session.execute(select(Attachment.media_id)).scalar_one() == "MEDIA2"


def test_voice_with_recognition_is_read_like_text(wecom, services):
    reply = wecom.voice("zhao", "VOICE1", recognition="会议室的投影仪坏了")
    assert "收到" in reply.text and "什么地方" in reply.text  # which 会议室?


def test_voice_without_recognition_asks_to_type(wecom, services):
    reply = wecom.voice("zhao", "VOICE2")
    assert "打字" in reply.text
    assert count(services, Complaint) == 0


def test_every_known_type_gets_a_polite_answer(wecom):
    assert "位置" in wecom.location("qian", 39.9, 116.3, "学员公寓").text
    assert "链接" in wecom.link("qian", "标题", "描述", "http://example.invalid/x").text
    assert wecom.event("qian", "click", EventKey="help").text
    view = wecom.event("qian", "view", EventKey="http://example.invalid")
    assert view.status_code == 200 and view.text is None


def test_unknown_message_type_gets_a_polite_reply(wecom, services):
    xml = ("<xml><ToUserName><![CDATA[ww_test_corp]]></ToUserName><FromUserName><![CDATA[sun]]></FromUserName>"
           "<CreateTime>{0}</CreateTime><MsgType><![CDATA[miniprogram]]></MsgType><MsgId>998877</MsgId>"
           "<AgentID>1000002</AgentID></xml>").format(int(time.time()))
    reply = wecom.raw(xml)
    assert reply.status_code == 200 and "看不懂" in reply.text
    assert count(services, InboundMessage) == 1


def test_unknown_event_is_stored_and_answered_quietly(wecom, services):
    reply = wecom.event("sun", "some_future_event")
    assert reply.status_code == 200
    assert count(services, InboundMessage) == 1


def test_long_reply_is_split_and_the_rest_goes_through_the_outbox(wecom, services, monkeypatch):
    from handlers import routing
    from handlers.context import Outcome

    monkeypatch.setitem(routing.MESSAGE_HANDLERS, "link", lambda ctx: Outcome("很长的回复" * 300))
    reply = wecom.link("qian", "t", "d", "http://example.invalid")
    assert len(reply.text.encode("utf-8")) <= 2048
    from bot.models import OutboxMessage
    assert count(services, OutboxMessage) >= 1


def test_twenty_thousand_characters_are_stored_and_answered(wecom, services):
    reply = wecom.text("zhou", "漏" * 20000)
    assert reply.status_code == 200 and reply.text
    with services.db.session() as session:
        assert len(session.execute(select(InboundMessage.content)).scalar_one()) == 20000


def test_handler_failure_still_stores_and_answers_kindly(wecom, services, monkeypatch):
    from handlers import routing

    def broken(ctx):
        raise RuntimeError("boom")

    monkeypatch.setitem(routing.MESSAGE_HANDLERS, "text", broken)
    reply = wecom.text("wu", "楼道灯不亮")
    assert reply.status_code == 200
    assert "记录" in reply.text and "boom" not in reply.text
    with services.db.session() as session:
        logged = session.execute(select(InboundMessage)).scalar_one()
    assert logged.status == "failed" and "boom" in logged.error


def test_health_and_readiness(live):
    import requests

    assert requests.get(f"{live.url}/healthz", timeout=5).json()["status"] == "ok"
    ready = requests.get(f"{live.url}/readyz", timeout=5)
    assert ready.status_code == 200 and ready.json() == {"status": "ok", "database": "ok", "redis": "ok"}
