"""A fake WeCom API for tests and the demo: a real HTTP server on loopback
that speaks the real endpoints and JSON shapes, records every call, and can be
told to fail, stall or expire its tokens, or answer every call slowly
(``latency``: a WeCom having a bad day).

    with FakeWeCom() as wecom:
        client = WeComClient(wecom.base_url, wecom.corp_id, wecom.secret, wecom.agent_id, redis)

Run it alone with ``python -m bot.wecom.fake_server --port 8900``.
"""
from __future__ import annotations

import argparse
import itertools
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import quote

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

logger = logging.getLogger("bot.wecom.fake")

MESSAGE_TYPES = {"text", "markdown", "textcard", "template_card", "image", "news"}
# Only interactive cards get a response_code back (used to update the card later).
INTERACTIVE_CARDS = {"button_interaction", "vote_interaction", "multiple_interaction"}
TOKEN_LIFETIME = 7200


@dataclass
class Call:
    method: str
    path: str
    params: dict
    body: dict | None
    at: float
    response: dict | None = None
    status: int = 200


@dataclass
class _Failure:
    errcode: int | None
    http_status: int | None
    delay: float
    remaining: int


@dataclass
class _User:
    userid: str
    name: str
    department: list[int]
    is_leader_in_dept: list[int]
    mobile: str | None = None


@dataclass
class _State:
    """Everything the fake knows; guarded by FakeWeCom._lock."""
    current_token: str | None = None
    token_expires_at: float = 0.0
    expired_tokens: set = field(default_factory=set)
    media: dict = field(default_factory=dict)
    departments: dict = field(default_factory=dict)
    users: dict = field(default_factory=dict)
    oauth_codes: dict = field(default_factory=dict)
    out_of_range: set = field(default_factory=set)
    response_codes: set = field(default_factory=set)
    failures: dict = field(default_factory=dict)


class _Answer(Exception):
    """Raised by a handler to answer with a WeCom error JSON (HTTP 200)."""

    def __init__(self, errcode: int, errmsg: str):
        super().__init__(errmsg)
        self.errcode = errcode
        self.errmsg = errmsg


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-"):
        logger.debug("%s %s -> %s", self.command, self.path.split("?")[0], code)


class FakeWeCom:
    def __init__(self, corp_id: str = "ww_fake_corp", secret: str = "fake-secret", agent_id: int = 1000002,
                 host: str = "127.0.0.1", port: int = 0, latency: float = 0.0):
        self.corp_id = corp_id
        self.secret = secret
        self.agent_id = agent_id
        self.calls: list[Call] = []
        self.tokens_issued = 0
        self.latency = latency  # seconds every API call waits before it is answered
        self._host, self._port = host, port
        self._lock = threading.RLock()
        self._state = _State()
        self._ids = itertools.count(secrets.randbelow(10**9) + 10**9)
        self._server = None
        self._thread: threading.Thread | None = None
        self._routes: dict[tuple[str, str], Callable[[Request], Any]] = {
            ("GET", "gettoken"): self._gettoken,
            ("POST", "message/send"): self._message_send,
            ("POST", "message/update_template_card"): self._update_template_card,
            ("GET", "media/get"): self._media_get,
            ("GET", "department/list"): self._department_list,
            ("GET", "user/list"): self._user_list,
            ("GET", "user/get"): self._user_get,
            ("GET", "auth/getuserinfo"): self._getuserinfo,
        }
        self.add_department(1, "企业", parentid=0)

    # -- lifecycle --------------------------------------------------------
    def start(self) -> "FakeWeCom":
        self._server = make_server(self._host, self._port, self._wsgi, threaded=True, request_handler=_QuietHandler)
        # A short poll interval makes stop() quick: shutdown() waits for one poll.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-wecom", daemon=True)
        self._thread.start()
        logger.info("fake WeCom listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> "FakeWeCom":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeWeCom is not started")
        return f"http://{self._host}:{self._server.server_port}"

    # -- test controls ----------------------------------------------------
    def set_latency(self, seconds: float) -> None:
        """Answer every API call only after this many seconds (0: at once)."""
        self.latency = max(0.0, float(seconds))

    def fail_next(self, path: str, *, errcode: int | None = None, http_status: int | None = None,
                  delay: float = 0.0, times: int = 1) -> None:
        with self._lock:
            self._state.failures.setdefault(path, []).append(_Failure(errcode, http_status, delay, times))

    def expire_tokens(self) -> None:
        with self._lock:
            if self._state.current_token:
                self._state.expired_tokens.add(self._state.current_token)
            self._state.current_token = None

    def add_media(self, media_id: str, content: bytes, filename: str = "photo.jpg",
                  content_type: str = "image/jpeg") -> None:
        with self._lock:
            self._state.media[media_id] = (content, filename, content_type)

    def add_department(self, id: int, name: str, parentid: int = 1) -> None:
        with self._lock:
            self._state.departments[int(id)] = {"id": int(id), "name": name, "parentid": int(parentid),
                                                "order": 100000000 - int(id)}

    def add_user(self, userid: str, name: str, department_ids, is_leader_in_dept=None, mobile=None) -> None:
        departments = [int(d) for d in department_ids]
        leaders = list(is_leader_in_dept) if is_leader_in_dept is not None else [0] * len(departments)
        with self._lock:
            self._state.users[userid] = _User(userid, name, departments, leaders, mobile)

    def add_oauth_code(self, code: str, userid: str) -> None:
        with self._lock:
            self._state.oauth_codes[code] = userid

    def set_out_of_range(self, *userids: str) -> None:
        with self._lock:
            self._state.out_of_range.update(userids)

    def new_response_code(self) -> str:
        """A card response code as WeCom puts into a template_card_event callback."""
        code = f"rc-{secrets.token_hex(8)}"
        with self._lock:
            self._state.response_codes.add(code)
        return code

    # -- inspection -------------------------------------------------------
    def sent(self, msgtype: str | None = None, touser: str | None = None) -> list[dict]:
        return [call.body for call in self._successful("message/send")
                if (msgtype is None or call.body.get("msgtype") == msgtype)
                and (touser is None or touser in _split(call.body.get("touser")))]

    def card_updates(self) -> list[dict]:
        return [call.body for call in self._successful("message/update_template_card")]

    def _successful(self, path: str) -> list[Call]:
        with self._lock:
            calls = list(self.calls)
        return [c for c in calls if c.path == path and c.status == 200 and (c.response or {}).get("errcode") == 0]

    # -- HTTP plumbing ----------------------------------------------------
    def _wsgi(self, environ, start_response):
        request = Request(environ)
        path = request.path.removeprefix("/cgi-bin/")
        call = Call(request.method, path, request.args.to_dict(), _json_body(request), time.time())
        response = self._respond(request, path, call)
        with self._lock:
            self.calls.append(call)
        return response(environ, start_response)

    def _respond(self, request: Request, path: str, call: Call) -> Response:
        if self.latency:
            time.sleep(self.latency)
        failure = self._take_failure(path)
        if failure and failure.delay:
            time.sleep(failure.delay)
        if failure and failure.http_status:
            call.status = failure.http_status
            return Response(f"fake failure {failure.http_status}", status=failure.http_status, mimetype="text/plain")
        if failure and failure.errcode is not None:
            return self._json(call, {"errcode": failure.errcode, "errmsg": "injected failure"})
        handler = self._routes.get((request.method, path))
        if handler is None:
            call.status = 404
            return Response("not found", status=404, mimetype="text/plain")
        try:
            if path != "gettoken":
                self._check_token(request.args.get("access_token"))
            result = handler(request)
        except _Answer as answer:
            return self._json(call, {"errcode": answer.errcode, "errmsg": answer.errmsg})
        if isinstance(result, Response):
            return result
        return self._json(call, {"errcode": 0, "errmsg": "ok", **result})

    def _take_failure(self, path: str) -> _Failure | None:
        with self._lock:
            queue = self._state.failures.get(path) or []
            if not queue:
                return None
            failure = queue[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                queue.pop(0)
            return failure

    @staticmethod
    def _json(call: Call, payload: dict) -> Response:
        call.response = payload
        return Response(json.dumps(payload, ensure_ascii=False), mimetype="application/json")

    def _check_token(self, token: str | None) -> None:
        with self._lock:
            state = self._state
            if not token:
                raise _Answer(41001, "access_token missing")
            if token == state.current_token and time.time() < state.token_expires_at:
                return
            if token in state.expired_tokens or token == state.current_token:
                raise _Answer(42001, "access_token expired")
        raise _Answer(40014, "invalid access_token")

    # -- endpoints --------------------------------------------------------
    def _gettoken(self, request: Request) -> dict:
        if request.args.get("corpid") != self.corp_id:
            raise _Answer(40013, "invalid corpid")
        if request.args.get("corpsecret") != self.secret:
            raise _Answer(40001, "invalid credential")
        with self._lock:
            state = self._state
            # Like WeCom: while a token is valid, asking again returns the same one.
            if not state.current_token or time.time() >= state.token_expires_at:
                state.current_token = f"fake-token-{secrets.token_hex(12)}"
                state.token_expires_at = time.time() + TOKEN_LIFETIME
            self.tokens_issued += 1
            return {"access_token": state.current_token, "expires_in": TOKEN_LIFETIME}

    def _message_send(self, request: Request) -> dict:
        body = _require_json(request)
        self._check_agent(body)
        msgtype = body.get("msgtype")
        if msgtype not in MESSAGE_TYPES:
            raise _Answer(40008, f"invalid message type: {msgtype}")
        if not isinstance(body.get(msgtype), dict):
            raise _Answer(40035, f"invalid parameter: missing {msgtype} object")
        _check_content(msgtype, body[msgtype])
        invalid = self._check_recipients(body)
        answer = {"invaliduser": "|".join(invalid), "msgid": f"fake-msg-{next(self._ids)}"}
        if msgtype == "template_card" and body["template_card"].get("card_type") in INTERACTIVE_CARDS:
            answer["response_code"] = self.new_response_code()
        return answer

    def _check_agent(self, body: dict) -> None:
        if "agentid" not in body:
            raise _Answer(41011, "missing agentid")
        if str(body["agentid"]) != str(self.agent_id):
            raise _Answer(40056, "invalid agentid")

    def _check_recipients(self, body: dict) -> list[str]:
        users = _split(body.get("touser"))
        parties, tags = _split(body.get("toparty")), _split(body.get("totag"))
        if not (users or parties or tags):
            raise _Answer(40035, "invalid parameter: touser, toparty and totag are all empty")
        with self._lock:
            invalid = [u for u in users if u in self._state.out_of_range]
        if len(invalid) == len(users) and not (parties or tags):
            raise _Answer(81013, "user & party & tag all invalid")
        return invalid

    def _update_template_card(self, request: Request) -> dict:
        body = _require_json(request)
        self._check_agent(body)
        if not (body.get("userids") or body.get("partyids") or body.get("tagids") or body.get("atall")):
            raise _Answer(40035, "invalid parameter: no recipients")
        if not (isinstance(body.get("button"), dict) or isinstance(body.get("template_card"), dict)):
            raise _Answer(40035, "invalid parameter: need button or template_card")
        with self._lock:
            if body.get("response_code") not in self._state.response_codes:
                raise _Answer(40035, "invalid response_code")
            # A response code can be used only once.
            self._state.response_codes.discard(body["response_code"])
        return {"invaliduser": []}

    def _media_get(self, request: Request) -> Response:
        with self._lock:
            stored = self._state.media.get(request.args.get("media_id", ""))
        if stored is None:
            raise _Answer(40007, "invalid media_id")
        content, filename, content_type = stored
        response = Response(content, content_type=content_type)
        response.headers["Content-Disposition"] = _content_disposition(filename)
        return response

    def _department_list(self, request: Request) -> dict:
        with self._lock:
            departments = sorted(self._state.departments.values(), key=lambda d: d["id"])
        root = request.args.get("id", type=int)
        if root is not None:
            departments = [d for d in departments if d["id"] in _subtree(departments, root)]
        return {"department": [dict(d) for d in departments]}

    def _user_list(self, request: Request) -> dict:
        department_id = request.args.get("department_id", type=int)
        with self._lock:
            if department_id not in self._state.departments:
                raise _Answer(60003, "department not found")
            users = [u for u in self._state.users.values() if department_id in u.department]
        return {"userlist": [_user_json(u) for u in users]}

    def _user_get(self, request: Request) -> dict:
        with self._lock:
            user = self._state.users.get(request.args.get("userid", ""))
        if user is None:
            raise _Answer(60111, "invalid string value `userid`")
        return _user_json(user)

    def _getuserinfo(self, request: Request) -> dict:
        with self._lock:
            # OAuth codes can be used only once.
            userid = self._state.oauth_codes.pop(request.args.get("code", ""), None)
        if userid is None:
            raise _Answer(40029, "invalid code")
        return {"UserId": userid, "DeviceId": ""}


def _json_body(request: Request) -> dict | None:
    if request.method != "POST":
        return None
    try:
        body = json.loads(request.get_data(as_text=True) or "null")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _require_json(request: Request) -> dict:
    body = _json_body(request)
    if body is None:
        raise _Answer(47001, "data format error")
    return body


def _check_content(msgtype: str, content: dict) -> None:
    if msgtype in ("text", "markdown") and not content.get("content"):
        raise _Answer(44004, "empty content")
    if msgtype == "textcard" and not (content.get("title") and content.get("description") and content.get("url")):
        raise _Answer(41033, "missing title, description or url")
    if msgtype == "template_card" and not content.get("card_type"):
        raise _Answer(40035, "invalid parameter: missing card_type")
    if msgtype == "image" and not content.get("media_id"):
        raise _Answer(41006, "missing media_id")
    if msgtype == "news" and not content.get("articles"):
        raise _Answer(41016, "missing articles")


def _split(recipients) -> list[str]:
    return [r for r in str(recipients or "").split("|") if r]


def _subtree(departments: list[dict], root: int) -> set[int]:
    ids, grew = {root}, True
    while grew:
        children = {d["id"] for d in departments if d["parentid"] in ids} - ids
        ids |= children
        grew = bool(children)
    return ids


def _user_json(user: _User) -> dict:
    data = {"userid": user.userid, "name": user.name, "department": list(user.department),
            "is_leader_in_dept": list(user.is_leader_in_dept), "status": 1}
    if user.mobile:
        data["mobile"] = user.mobile
    return data


def _content_disposition(filename: str) -> str:
    if filename.isascii():
        return f'attachment; filename="{filename}"'
    return f"attachment; filename*=UTF-8''{quote(filename)}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run a fake WeCom API on loopback.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--corp-id", default="ww_fake_corp")
    parser.add_argument("--secret", default="fake-secret")
    parser.add_argument("--agent-id", type=int, default=1000002)
    parser.add_argument("--latency", type=float, default=0.0, help="answer every call after this many seconds")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    fake = FakeWeCom(args.corp_id, args.secret, args.agent_id, port=args.port, latency=args.latency).start()
    logger.info("corp_id=%s secret=%s agent_id=%s latency=%ss — Ctrl+C to stop", fake.corp_id, fake.secret,
                fake.agent_id, fake.latency)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
