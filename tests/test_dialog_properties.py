"""Random conversations: whatever a person sends, in whatever order, the bot
answers every message and never falls over."""
from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.models import InboundMessage
from tests.dialog_support import Image

COMMANDS = ["取消", "重来", "重新开始", "上一步", "帮助", "人工", "继续", "修改", "确认", "我的投诉", "进度",
            "撤销", "补充", "进度 TS20200101-001", "撤销 TS20200101-001", "补充 TS20200101-001 还没修"]
SMALL_WORDS = ["是", "不是", "好", "好了", "跳过", "没有", "嗯", "ok", "1", "2", "5", "9", "你好"]
PHONES = ["13812345678", "+86 138-1234-5678", "010-12345678", "１３８１２３４５６７８", "12345", "1381234567",
          "0755-123456", "abc"]
PLACES = ["3号楼201", "学员公寓B座412", "食堂二楼", "9号楼", "x", "图书馆门口"]
SENTENCES = ["空调坏了", "3号楼201的灯坏了三天了", "9号楼电梯里有人被困住了，快来人", "有人被困在电梯里了",
             "3号楼201的插座担心会漏电", "3号楼没有停电，但是楼道灯一直闪", "你们太垃圾了，必须赔偿我的损失！！",
             "请问考试成绩在哪查", "3号楼201 aircon 坏了😡😡", "食堂二楼水龙头漏水"]
EMOJI = ["😡", "🙏🙏", "👍", "🔥🔥🔥", "🏠 3号楼"]


@dataclass(frozen=True)
class Voice:
    """A voice message WeCom could not transcribe."""


xml_safe_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\n\t"),
                        max_size=60)
turn = st.one_of(
    st.sampled_from(COMMANDS), st.sampled_from(SMALL_WORDS), st.sampled_from(PHONES), st.sampled_from(PLACES),
    st.sampled_from(SENTENCES), st.sampled_from(EMOJI), xml_safe_text,
    st.builds(Image, st.text("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=1, max_size=12)),
    st.just(Voice()),
)
counter = itertools.count()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(turns=st.lists(turn, min_size=1, max_size=8))
def test_every_message_of_any_conversation_gets_a_proper_answer(wecom, services, turns):
    user = f"prop-{next(counter)}-{uuid.uuid4().hex[:6]}"  # each example talks as someone new
    for sent in turns:
        if isinstance(sent, Image):
            reply = wecom.image(user, sent.media_id)
        elif isinstance(sent, Voice):
            reply = wecom.voice(user, f"VOICE{uuid.uuid4().hex[:8]}")
        else:
            reply = wecom.text(user, sent)
        assert reply.status_code == 200, (sent, reply)
        text = reply.text
        assert text and text.strip(), f"no answer to {sent!r} in {turns!r}"
        assert "Traceback" not in text and "Error" not in text
        assert "系统处理时遇到了一点问题" not in text, f"{sent!r} in {turns!r} failed inside"
    with services.db.session() as session:
        statuses = session.execute(select(InboundMessage.status, InboundMessage.error)
                                   .where(InboundMessage.from_user == user)).all()
    assert len(statuses) == len(turns)
    assert all(status == "handled" for status, _ in statuses), statuses
