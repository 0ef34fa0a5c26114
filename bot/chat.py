"""`complaint-bot chat`: talk to the configured bot in the terminal as an
occupant. The real service, dialog engine and storage run underneath, with
the configuration's texts, FAQ, routing, directory and word lists; only WeCom
(a local fake), the database and the files are throwaway. Every line you
type is sent as an encrypted WeCom callback."""
from __future__ import annotations

import itertools
import shutil
import tempfile
from pathlib import Path

import click

from bot.config import Settings
from bot.demo import DemoStack, Scenes, Transcript

HELP = "输入文字和助手对话；/图片 发一张照片；/退出 结束。"


def run_chat(settings: Settings | None = None, user: str = "chat.user", lines=None) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="complaint-bot-chat-"))
    stack = DemoStack(workdir, configured=settings)
    show = Transcript()
    photos = itertools.count(1)
    scenes = Scenes(stack, show)
    click.echo(f"后勤投诉助手 · 终端对话（{HELP}）")
    try:
        for line in lines if lines is not None else _prompt_forever():
            line = line.strip()
            if line in ("/退出", "/quit", "/exit"):
                break
            if not line:
                continue
            if line in ("/图片", "/photo"):
                media_id = f"CHAT_PHOTO_{next(photos)}"
                stack.fake.add_media(media_id, b"\xff\xd8chat-photo", filename=f"{media_id}.jpg")
                reply = stack.wecom.image(user, media_id)
            else:
                reply = stack.wecom.text(user, line)
            show.bot(reply.text if reply.status_code == 200 else f"（HTTP {reply.status_code}）")
            scenes.pushes()
    finally:
        stack.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _prompt_forever():
    while True:
        try:
            yield click.prompt("您", prompt_suffix="：", default="", show_default=False)
        except (EOFError, click.Abort):
            return
