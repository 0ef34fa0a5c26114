"""Who is looking: a WeCom web login (OAuth code exchange) or the local
administrator password for trial use. Every page needs a login."""
from __future__ import annotations

import functools
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import quote

from flask import current_app, g, redirect, request, session, url_for

from bot.directory import Directory
from bot.services import Services

LOCAL_ADMIN = "__local_admin__"
OAUTH_URL = ("https://open.weixin.qq.com/connect/oauth2/authorize?appid={corp}&redirect_uri={back}"
             "&response_type=code&scope=snsapi_base&state={state}&agentid={agent}#wechat_redirect")


@dataclass(frozen=True)
class Viewer:
    userid: str
    name: str
    local_admin: bool = False

    def sees_everything(self, directory: Directory) -> bool:
        return self.local_admin or directory.sees_everything(self.userid)

    def may_handle(self, directory: Directory, complaint) -> bool:
        return self.local_admin or directory.may_handle_complaint(self.userid, complaint)

    def may_see(self, directory: Directory, complaint) -> bool:
        return (self.sees_everything(directory) or self.may_handle(directory, complaint)
                or directory.may_approve(self.userid, complaint.department))


def services() -> Services:
    return current_app.extensions["services"]


def viewer() -> Viewer | None:
    userid = session.get("userid")
    if not userid:
        return None
    if userid == LOCAL_ADMIN:
        # A changed or removed password ends the sessions it opened.
        current = _password_mark(services().settings.console.admin_password)
        if not current or not hmac.compare_digest(session.get("password_mark", ""), current):
            return None
        return Viewer(LOCAL_ADMIN, "本地管理员", local_admin=True)
    directory = services().directory()
    if not directory.is_staff(userid):
        return None  # removed from the directory since logging in
    return Viewer(userid, directory.name_of(userid))


def login_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        g.viewer = viewer()
        if g.viewer is None:
            return redirect(url_for("console.login", next=request.full_path))
        return view(*args, **kwargs)
    return wrapped


def check_password(given: str) -> bool:
    expected = services().settings.console.admin_password
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def oauth_redirect(state: str) -> str:
    settings = services().settings
    back = settings.server.public_url.rstrip("/") + url_for("console.oauth")
    return OAUTH_URL.format(corp=settings.wecom.corp_id, back=quote(back, safe=""), state=state,
                            agent=settings.wecom.agent_id)


def start_session(userid: str) -> None:
    session.clear()
    session["userid"] = userid
    if userid == LOCAL_ADMIN:
        session["password_mark"] = _password_mark(services().settings.console.admin_password)
    session.permanent = True


def _password_mark(password: str | None) -> str:
    """A fingerprint of the password (never the password) kept in the session."""
    if not password:
        return ""
    return hashlib.sha256(("complaint-bot console:" + password).encode()).hexdigest()


def safe_next(target: str | None) -> str:
    """Only local paths: a login must not bounce anyone to another site."""
    if target and target.startswith("/console") and not target.startswith("//"):
        return target
    return url_for("console.dashboard")
