"""`complaint-bot demo`: the real service on embedded defaults (SQLite in a
temporary folder, the embedded Redis-compatible store) and the project's fake
WeCom API; a simulated occupant sends real encrypted callbacks and the
conversation is printed as a transcript."""
from __future__ import annotations

import base64
import os
import secrets
import shutil
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import click
from sqlalchemy import func, select

from bot.complaints import event_label
from bot.config import Settings
from bot.models import Attachment, Complaint, ComplaintEvent, InboundMessage, OutboxMessage
from bot.server import make_server, shutdown
from bot.services import Services, build_services
from bot.wecom.callback_sender import CallbackSender
from bot.wecom.fake_server import FakeWeCom
from bot.worker import Worker

DEMO_DIRECTORY = {
    "departments": [
        {"name": "工程维修部", "members": ["li.shifu"], "leader": "wang.zhuren"},
        {"name": "保洁绿化部", "members": ["zhao.baojie"], "leader": "sun.zhuren"},
        {"name": "餐饮服务部", "members": ["chen.chushi"], "leader": "zhou.jingli"},
        {"name": "安全保卫部", "members": ["wu.baoan"], "leader": "zheng.kezhang"},
        {"name": "客户服务中心", "members": ["kefu.xiaoliu"], "leader": "he.zhuren"},
    ],
    "supervisors": ["lin.fuxiaozhang"],
    "customer_service": ["kefu.xiaoliu"],
    "duty": ["wu.baoan", "li.shifu"],
}
DEMO_ROUTES = {"房屋质量": "工程维修部", "设备设施": "工程维修部", "物业配套": "客户服务中心",
               "管理服务": "客户服务中心", "管理费用": "客户服务中心", "突发事件": "安全保卫部"}

OCCUPANT = "zhang.xy"
OCCUPANT_NAME = "张同学（学员）"


class Transcript:
    def __init__(self):
        self.scene_no = 0

    def scene(self, title: str) -> None:
        self.scene_no += 1
        click.echo()
        click.secho(f"【{self.scene_no}】{title}", bold=True)

    def user(self, who: str, what: str) -> None:
        click.echo(f"  👤 {who}：{what}")

    def bot(self, text: str | None) -> None:
        if not text:
            click.echo("  🤖 助手：（不需要回复）")
            return
        lines = text.splitlines() or [""]
        click.echo(f"  🤖 助手：{lines[0]}")
        for line in lines[1:]:
            click.echo(f"          {line}")

    def note(self, text: str) -> None:
        click.secho(textwrap.indent(text, "  ℹ️  "), dim=True)


class DemoStack:
    """Service + worker + fake WeCom, all real, in one process."""

    def __init__(self, workdir: Path):
        self.fake = FakeWeCom(corp_id="ww_demo_corp", secret=secrets.token_hex(8)).start()
        self.token = secrets.token_hex(8)
        self.aes_key = base64.b64encode(os.urandom(32)).decode().rstrip("=")
        settings = Settings.model_validate({
            "wecom": {"corp_id": self.fake.corp_id, "agent_id": self.fake.agent_id, "secret": self.fake.secret,
                      "token": self.token, "encoding_aes_key": self.aes_key, "api_base_url": self.fake.base_url},
            "database_url": f"sqlite:///{workdir / 'demo.db'}",
            "data_dir": str(workdir),
            "outbox": {"poll_seconds": 0.1},
            "service": {"name": "党校后勤服务中心", "phone": "010-12345678", "duty_phone": "010-87654321"},
            "directory": DEMO_DIRECTORY,
            "routing": {"by_category": DEMO_ROUTES, "default": "客户服务中心"},
            "out_of_scope": [{"name": "教学安排", "keywords": ["课程安排", "教学", "考试", "成绩", "课表"],
                              "office": "教务处", "phone": "010-12340000"}],
        })
        self.services: Services = build_services(settings)
        self.services.db.upgrade()
        self.server = make_server(self.services, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.effective_port}/wecom/callback"
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        self.worker = Worker(self.services).start()
        self.wecom = CallbackSender(self.url, self.token, self.aes_key, self.fake.corp_id, self.fake.agent_id)

    def wait_for(self, condition, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.05)
        return False

    def count(self, model, *where) -> int:
        with self.services.db.session() as session:
            return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()

    def pending_pushes(self) -> int:
        return self.count(OutboxMessage, OutboxMessage.status == "pending")

    def close(self) -> None:
        self.worker.stop()
        shutdown(self.server)
        self.thread.join(5)
        self.services.close()
        self.fake.stop()


def run_demo(keep: bool = False) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="complaint-bot-demo-"))
    stack = DemoStack(workdir)
    show = Transcript()
    try:
        click.secho("后勤投诉助手 · 演示", bold=True)
        click.echo(f"服务：{stack.url}（真实 Flask + waitress，SQLite：{workdir / 'demo.db'}）")
        click.echo(f"模拟企业微信 API：{stack.fake.base_url}；所有回调都按企业微信的方式加密签名。")
        foundation_scenes(stack, show)
        summary(stack, show)
    finally:
        stack.close()
        if keep:
            click.echo(f"\n演示数据保留在 {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    click.echo("\n演示结束。")
    return 0


def foundation_scenes(stack: DemoStack, show: Transcript) -> None:
    wecom = stack.wecom
    show.scene("管理员在企业微信后台保存回调地址：企业微信发来验证请求")
    answer = wecom.verify_url("8123456789012345678")
    show.note(f"GET /wecom/callback → HTTP {answer.status_code}，原样返回解密后的 echostr：{answer.text}")

    show.scene("学员打开应用")
    show.user(OCCUPANT_NAME, "（进入应用）")
    show.bot(wecom.event(OCCUPANT, "enter_agent").text)

    show.scene("学员反映问题")
    text = "3号楼201卫生间天花板漏水，水都滴到床上了"
    show.user(OCCUPANT_NAME, text)
    first = wecom.text(OCCUPANT, text, msg_id=880001)
    show.bot(first.text)

    show.scene("企业微信没等到回复，用同一个 MsgId 重试")
    show.user(OCCUPANT_NAME, f"{text}（重试）")
    again = wecom.text(OCCUPANT, text, msg_id=880001)
    show.bot(again.text)
    show.note(f"回复与第一次相同；投诉只登记了 {stack.count(Complaint)} 条。")

    show.scene("学员补一张照片")
    stack.fake.add_media("DEMO_PHOTO_1", b"\xff\xd8\xff\xe0demo-jpeg", filename="leak.jpg")
    show.user(OCCUPANT_NAME, "[图片]")
    show.bot(wecom.image(OCCUPANT, "DEMO_PHOTO_1").text)
    stored = stack.wait_for(lambda: stack.count(Attachment, Attachment.status == "stored") == 1)
    show.note("后台已从企业微信下载照片并保存到投诉名下。" if stored else "照片下载尚未完成（后台会继续重试）。")

    show.scene("学员发来一种助手不认识的消息")
    show.user(OCCUPANT_NAME, "[小程序卡片]")
    unknown = ("<xml><ToUserName><![CDATA[{0}]]></ToUserName><FromUserName><![CDATA[{1}]]></FromUserName>"
               "<CreateTime>{2}</CreateTime><MsgType><![CDATA[miniprogram]]></MsgType><MsgId>880002</MsgId>"
               "<AgentID>{3}</AgentID></xml>").format(stack.fake.corp_id, OCCUPANT, int(time.time()),
                                                     stack.fake.agent_id)
    show.bot(wecom.raw(unknown).text)

    show.scene("有人伪造签名调用回调地址")
    forged = wecom.raw("<xml><FromUserName>x</FromUserName></xml>", signature="0" * 40)
    show.note(f"HTTP {forged.status_code}：{forged.response.text}（未做任何处理）")


def summary(stack: DemoStack, show: Transcript) -> None:
    show.scene("数据库里留下了什么")
    with stack.services.db.session() as session:
        for complaint in session.execute(select(Complaint).order_by(Complaint.id)).scalars():
            show.note(f"投诉 {complaint.number}：{complaint.description}")
            events = session.execute(select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint.id)
                                     .order_by(ComplaintEvent.id)).scalars()
            for event in events:
                show.note(f"    · {event_label(event.kind)}（{event.actor}）")
    show.note(f"消息日志 {stack.count(InboundMessage)} 条；待发推送 "
              f"{stack.count(OutboxMessage, OutboxMessage.status == 'pending')} 条。")
