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
from datetime import timedelta
from pathlib import Path

import click
from sqlalchemy import func, select

from bot.complaints import NUMBER_PATTERN, event_label, status_label
from bot.config import Settings
from bot.models import Attachment, Complaint, InboundMessage, OutboxMessage, utcnow
from bot.scheduler import tick
from bot.server import make_server, shutdown
from bot.services import Services, build_services
from bot.wecom.callback_sender import CallbackSender
from bot.wecom.fake_server import FakeWeCom
from bot.worker import Worker

DEMO_DIRECTORY = {
    "people": {"li.shifu": "李师傅", "zhang.shifu": "张师傅", "wang.zhuren": "王主任", "lin.fuxiaozhang": "林副校长",
               "wu.baoan": "吴保安", "kefu.xiaoliu": "客服小刘", "zheng.kezhang": "郑科长"},
    "departments": [
        {"name": "工程维修部", "members": ["li.shifu", "zhang.shifu"], "leader": "wang.zhuren",
         "staff_words": ["维修工", "师傅", "电工"]},
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
DEMO_PASSWORD = "demo"
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

    def __init__(self, workdir: Path, configured: Settings | None = None):
        """The demo's built-in settings, or ``configured`` (config.yaml) with
        only WeCom, the database and the files swapped for throwaway ones."""
        self.fake = FakeWeCom(corp_id="ww_demo_corp", secret=secrets.token_hex(8)).start()
        self.token = secrets.token_hex(8)
        self.aes_key = base64.b64encode(os.urandom(32)).decode().rstrip("=")
        settings = self._on_fake_wecom(configured, workdir) if configured else Settings.model_validate({
            "wecom": {"corp_id": self.fake.corp_id, "agent_id": self.fake.agent_id, "secret": self.fake.secret,
                      "token": self.token, "encoding_aes_key": self.aes_key, "api_base_url": self.fake.base_url},
            "database_url": f"sqlite:///{workdir / 'demo.db'}",
            "data_dir": str(workdir),
            "outbox": {"poll_seconds": 0.1},
            "service": {"name": "党校后勤服务中心", "phone": "010-12345678", "duty_phone": "010-87654321"},
            "directory": DEMO_DIRECTORY,
            "routing": {"by_category": DEMO_ROUTES, "default": "客户服务中心"},
            # The demo moves its clock ahead by hours; at night quiet hours would hold every push back.
            "time_limits": {"quiet_hours": None},
            "console": {"admin_password": DEMO_PASSWORD, "secure_cookies": False, "secret_key": secrets.token_hex(16)},
            "faq": [{"name": "食堂开放时间", "keywords": [["食堂", "餐厅"], ["几点", "开门", "开饭", "时间"]],
                     "answer": "食堂开放时间：早餐 6:30-8:30，午餐 11:30-13:00，晚餐 17:30-19:00。"}],
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

    def _on_fake_wecom(self, configured: Settings, workdir: Path) -> Settings:
        wecom = configured.wecom.model_copy(update={
            "corp_id": self.fake.corp_id, "agent_id": self.fake.agent_id, "secret": self.fake.secret,
            "token": self.token, "encoding_aes_key": self.aes_key, "api_base_url": self.fake.base_url})
        return configured.model_copy(update={
            "wecom": wecom, "database_url": f"sqlite:///{workdir / 'chat.db'}", "data_dir": str(workdir),
            # A shared Redis may hold the real deployment's dialogs: keep to a prefix of our own.
            "redis_prefix": f"{configured.redis_prefix}chat-{self.token}:"})

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


def run_demo(keep: bool = False, serve: bool = False) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="complaint-bot-demo-"))
    stack = DemoStack(workdir)
    show = Transcript()
    try:
        click.secho("后勤投诉助手 · 演示", bold=True)
        click.echo(f"服务：{stack.url}（真实 Flask + waitress，SQLite：{workdir / 'demo.db'}）")
        click.echo(f"模拟企业微信 API：{stack.fake.base_url}；所有回调都按企业微信的方式加密签名。")
        Scenes(stack, show).play()
        closing(stack, show, serve)
    finally:
        stack.close()
        if keep:
            click.echo(f"\n演示数据保留在 {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    click.echo("\n演示结束。")
    return 0


def closing(stack: DemoStack, show: Transcript, serve: bool) -> None:
    """The week's report, and where the console is."""
    from bot.reports import build_report, render_text

    services = stack.services
    today = utcnow().astimezone(services.tz).date()
    show.scene("本周汇总（complaint-bot report 同样的内容）")
    with services.db.session() as session:
        report = build_report(session, services, today - timedelta(days=6), today)
    click.echo(render_text(report, include_people=True))
    console = stack.url.replace("/wecom/callback", "/console/")
    click.echo(f"\n管理后台：{console}（本地管理员密码：{DEMO_PASSWORD}）")
    if not serve:
        click.echo("演示结束后服务随之停止；加 --serve 可让服务继续运行，便于在浏览器里查看。")
        return
    click.echo("服务继续运行中，按 Ctrl+C 结束。")
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass


class Scenes:
    def __init__(self, stack: DemoStack, show: Transcript):
        self.stack = stack
        self.show = show
        self.wecom = stack.wecom
        self.pushes_seen = 0
        self.photos = 0

    def play(self) -> None:
        self.channel()
        number = self.full_intake()
        self.question_without_a_draft()
        self.staff_workflow(number)
        self.follow_up_visit(number)
        angry = self.angry_complaint()
        self.reminders_and_escalation(angry)
        self.emergency()
        self.emergency_during_another_dialog()
        self.withdrawal()
        self.bad_input()
        self.summary()

    # -- helpers ----------------------------------------------------------
    def say(self, who: str, user: str, text: str, **kwargs) -> str | None:
        self.show.user(who, text)
        reply = self.wecom.text(user, text, **kwargs).text
        self.show.bot(reply)
        self.pushes()
        return reply

    def photo(self, who: str, user: str) -> None:
        self.photos += 1
        media_id = f"DEMO_PHOTO_{self.photos}"
        self.stack.fake.add_media(media_id, b"\xff\xd8\xff\xe0demo-jpeg", filename=f"photo{self.photos}.jpg")
        self.show.user(who, "[图片]")
        self.show.bot(self.wecom.image(user, media_id).text)

    def pushes(self) -> None:
        """What the bot pushed to other people meanwhile (through the outbox)."""
        self.stack.wait_for(lambda: self.stack.pending_pushes() == 0, timeout=5)
        sent = self.stack.fake.sent()
        for body in sent[self.pushes_seen:]:
            card = body.get("template_card", {}).get("main_title", {}).get("title")
            content = (body.get("text") or body.get("markdown") or {}).get("content") or f"[卡片] {card}"
            self.show.note(f"推送给 {body.get('touser')}：" + str(content).replace("\n", " ｜ "))
        self.pushes_seen = len(sent)

    def number_in(self, text: str | None) -> str:
        match = NUMBER_PATTERN.search(text or "")
        return match.group(0) if match else ""

    # -- scenes -----------------------------------------------------------
    def channel(self) -> None:
        self.show.scene("管理员在企业微信后台保存回调地址：企业微信发来验证请求")
        answer = self.wecom.verify_url("8123456789012345678")
        self.show.note(f"GET /wecom/callback → HTTP {answer.status_code}，原样返回解密后的 echostr：{answer.text}")
        self.show.scene("学员打开应用")
        self.show.user(OCCUPANT_NAME, "（进入应用）")
        self.show.bot(self.wecom.event(OCCUPANT, "enter_agent").text)

    def full_intake(self) -> None:
        self.show.scene("一次完整的登记：说清了问题和地点，直接核对；其余细节随时补、随时改")
        who = OCCUPANT_NAME
        self.say(who, OCCUPANT, "食堂二楼的洗手池堵了，水排不下去", msg_id=880001)
        self.show.note("企业微信没等到回复，用同一个 MsgId 重试：")
        self.say(who, OCCUPANT, "食堂二楼的洗手池堵了，水排不下去", msg_id=880001)
        self.show.note("回复与第一次相同，对话没有前进两步。")
        self.say(who, OCCUPANT, "哦不对，是一食堂二楼，不是二食堂")
        self.photo(who, OCCUPANT)
        self.say(who, OCCUPANT, "今天中午开始的，电话138 1234 5678")
        reply = self.say(who, OCCUPANT, "确认")
        stored = self.stack.wait_for(lambda: self.stack.count(Attachment, Attachment.status == "stored") >= 1)
        self.show.note(f"投诉 {self.number_in(reply)} 已登记；照片" + ("已从企业微信下载保存。" if stored else "下载中。"))
        return self.number_in(reply)

    def staff_workflow(self, number: str) -> None:
        self.show.scene("工作人员在企业微信里处理：受理 → 原因 → 方案 → 领导批示（先驳回一次）→ 完成")
        repairer, colleague, leader = ("李师傅（工程维修部）", "li.shifu"), ("张师傅（工程维修部）", "zhang.shifu"), \
            ("林副校长（主管领导）", "lin.fuxiaozhang")
        self.show_card(repairer[1])
        self.click(*repairer, number, "accept")
        self.click(*colleague, number, "accept")
        self.say(*repairer, f"原因 {number} 下水管被油污和饭粒堵住了")
        self.say(*repairer, f"方案 {number} 用疏通机疏通下水管")
        self.show_card(leader[1])
        self.click(*leader, number, "reject")
        self.say(*leader, f"驳回 {number} 只疏通还会再堵，请同时清理存水弯、加装过滤网")
        self.say(*repairer, f"方案 {number} 疏通下水管、清理存水弯并加装过滤网，今天下班前完成")
        self.click(*leader, number, "approve")
        self.say(*repairer, f"完成 {number} 已疏通并加装过滤网，试水正常")
        self.photo(*repairer)
        self.say(OCCUPANT_NAME, OCCUPANT, f"进度 {number}")

    def click(self, who: str, user: str, number: str, action: str) -> None:
        """A button on the newest card this person received for the complaint."""
        card = [body["template_card"] for body in self.stack.fake.sent(msgtype="template_card", touser=user)
                if body["template_card"]["task_id"].startswith(number)][-1]
        label = next(b["text"] for b in card["button_list"] if b["key"].startswith(action))
        self.show.user(who, f"[点击卡片按钮“{label}”]")
        self.wecom.event(user, "template_card_event", EventKey=f"{action}:{number}", TaskId=card["task_id"],
                         CardType="button_interaction", ResponseCode=self.stack.fake.new_response_code())
        self.pushes()

    def show_card(self, user: str) -> None:
        card = self.stack.fake.sent(msgtype="template_card", touser=user)[-1]["template_card"]
        facts = "，".join(f"{f['keyname']}：{f['value']}" for f in card.get("horizontal_content_list", []))
        buttons = " ".join(f"[{b['text']}]" for b in card["button_list"])
        self.show.note(f"{self.stack.services.directory().name_of(user)} 收到的卡片：{card['main_title']['title']}"
                       f"（{card['main_title']['desc']}）\n{card.get('sub_title_text', '')}\n{facts}\n{buttons}")

    def angry_complaint(self) -> str:
        self.show.scene("生气的住户：先照顾情绪，赔偿诉求如实记录、不做承诺")
        who, user = "王老师（住户）", "wang.ls"
        self.say(who, user, "3号楼502卫生间天花板漏水三天了，水都滴到床上了，说了好几次都没人管，太过分了！必须赔我被子！")
        return self.number_in(self.say(who, user, "确认"))

    def later(self, label: str, working: timedelta) -> None:
        """Run the scheduler as if `working` working time had passed."""
        calendar = self.stack.services.calendar
        moment = calendar.add(utcnow(), working)
        self.show.note(f"⏩ 加速时钟：{label}（模拟时间 {moment.astimezone(self.stack.services.tz):%m-%d %H:%M}）")
        tick(self.stack.services, now=moment)
        self.pushes()

    def reminders_and_escalation(self, number: str) -> None:
        self.show.scene(f"没人受理 {number}：时限前提醒，超时后逐级督办（加速时钟）")
        self.later("受理时限（2 个工作小时）用掉 80%", timedelta(hours=1, minutes=40))
        self.later("超过受理时限", timedelta(hours=2, minutes=5))
        self.later("超时 2 小时", timedelta(hours=4, minutes=10))
        self.later("再跑一次定时任务：每条提醒只发一次", timedelta(hours=4, minutes=20))

    def follow_up_visit(self, number: str) -> None:
        self.show.scene(f"回访：{number} 处理完毕两个工作小时后，问投诉人是否真的解决了（加速时钟）")
        self.later("完成后 2 个工作小时", timedelta(hours=2, minutes=5))
        self.say(OCCUPANT_NAME, OCCUPANT, "没修好，还是堵，水还是下不去")
        self.say(OCCUPANT_NAME, OCCUPANT, f"进度 {number}")

    def emergency(self) -> None:
        self.show.scene("紧急情况：先给安全提示和值班电话，立即通知值班人员和领导，再补问地点")
        who, user = "刘学员", "liu.xy"
        self.say(who, user, "电梯里有人被困住了，快来人！")
        self.say(who, user, "学员公寓B座")

    def question_without_a_draft(self) -> None:
        self.show.scene("问问题不是投诉：直接回答，不开登记")
        self.say(OCCUPANT_NAME, OCCUPANT, "请问食堂晚上几点开饭？")
        self.say(OCCUPANT_NAME, OCCUPANT, "好的，谢谢")

    def emergency_during_another_dialog(self) -> None:
        self.show.scene("正在登记别的事时发生紧急情况：先处理紧急情况，再回到刚才的登记")
        who, user = "赵老师（教职工）", "zhao.ls"
        self.say(who, user, "5号楼三层会议室的投影仪坏了")
        self.say(who, user, "楼道里冒烟了，好像着火了！")
        self.say(who, user, "就在5号楼三层东头")
        self.say(who, user, "确认")

    def withdrawal(self) -> None:
        self.show.scene("登记后又自己解决了：撤销")
        for text in ("学员公寓B座312的台灯不亮", "确认"):
            reply = self.say(OCCUPANT_NAME, OCCUPANT, text)
        self.say(OCCUPANT_NAME, OCCUPANT, "我的投诉")
        self.say(OCCUPANT_NAME, OCCUPANT, f"撤销 {self.number_in(reply)}")

    def bad_input(self) -> None:
        self.show.scene("不认识的消息类型与伪造的请求")
        self.show.user(OCCUPANT_NAME, "[小程序卡片]")
        unknown = ("<xml><ToUserName><![CDATA[{0}]]></ToUserName><FromUserName><![CDATA[{1}]]></FromUserName>"
                   "<CreateTime>{2}</CreateTime><MsgType><![CDATA[miniprogram]]></MsgType><MsgId>880099</MsgId>"
                   "<AgentID>{3}</AgentID></xml>").format(self.stack.fake.corp_id, OCCUPANT, int(time.time()),
                                                         self.stack.fake.agent_id)
        self.show.bot(self.wecom.raw(unknown).text)
        forged = self.wecom.raw("<xml><FromUserName>x</FromUserName></xml>", signature="0" * 40)
        self.show.note(f"伪造签名的请求：HTTP {forged.status_code} {forged.response.text}（未做任何处理）")

    def summary(self) -> None:
        self.show.scene("数据库里留下了什么")
        with self.stack.services.db.session() as session:
            for complaint in session.execute(select(Complaint).order_by(Complaint.id)).scalars():
                flags = "（紧急）" if complaint.emergency else ""
                self.show.note(f"{complaint.number}{flags} {status_label(complaint.status)} · {complaint.category} · "
                               f"{complaint.location} · {complaint.department}")
                for event in complaint.events:
                    self.show.note(f"    · {event_label(event.kind)}（{event.actor}）")
        self.show.note(f"消息日志 {self.stack.count(InboundMessage)} 条；已发推送 {len(self.stack.fake.sent())} 条；"
                       f"待发 {self.stack.pending_pushes()} 条。")
