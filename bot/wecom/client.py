"""A thin client for the WeCom server API (qyapi.weixin.qq.com/cgi-bin/...).

We do not use wechatpy's client: it retries an expired token forever and sets
no timeouts. Here every request has a timeout, the token lives in Redis so all
processes share one, and a stale token is renewed at most once per call.
"""
from __future__ import annotations

import json as jsonlib
import logging
import re
from dataclasses import dataclass
from email.message import Message
from typing import Any, Callable

import requests

logger = logging.getLogger("bot.wecom")

# Our own code for "the HTTP exchange itself failed" (connection, timeout,
# non-200 status, unreadable body). WeCom never uses it.
TRANSPORT_ERRCODE = -2

# The token we sent is no good: renew it and try again (once).
TOKEN_ERRCODES = {
    40014,  # invalid access_token
    42001,  # access_token expired
    40001,  # "invalid credential" when it answers an API call (not gettoken)
}

RETRIABLE_ERRCODES = {
    -1,  # system busy, try again later
    TRANSPORT_ERRCODE,  # ours: network / HTTP failure
    45009,  # API call frequency / daily quota exceeded
    45033,  # too many concurrent calls to this API
    45047,  # message sending frequency limit reached
    40014,  # invalid access_token (a fresh token will fix it)
    42001,  # access_token expired (a fresh token will fix it)
}

# Known codes that no retry can fix: the caller must give up (and tell someone).
FINAL_ERRCODES = {
    81013,  # UserID, PartyID and TagID all invalid or outside the app's visible range
    82001,  # every given member/department/tag is invalid
    40001,  # invalid secret on gettoken (configuration error)
    40003,  # invalid UserID
    40007,  # invalid media_id (unknown or expired media)
    40008,  # invalid msgtype
    40013,  # invalid CorpID
    40029,  # invalid or already used OAuth code
    40031,  # UserID list contains a user who is not in the contacts
    40035,  # invalid parameter
    40056,  # invalid agentid
    40058,  # parameter does not meet the API's requirements
    41011,  # missing agentid
    44004,  # empty text content
    45002,  # message content too long
    48002,  # the app has no permission for this API
    50002,  # member outside the app's permission range
    60003,  # department not found
    60011,  # no permission for the given member/department/tag
    60111,  # UserID not found
    86001,  # invalid chatid
    301002,  # no permission to operate the given app
}


class WeComError(Exception):
    """A refusal from WeCom (errcode > 0, -1) or a transport failure (-2)."""

    def __init__(self, errcode: int, errmsg: str, path: str = ""):
        super().__init__(f"WeCom {path or 'API'} failed: errcode={errcode} errmsg={errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.path = path

    @property
    def retriable(self) -> bool:
        # Unknown codes count as retriable: a push WeCom refuses must keep being
        # retried until it goes; only codes known to be final give up.
        return self.errcode not in FINAL_ERRCODES


@dataclass(frozen=True)
class Media:
    content: bytes
    filename: str | None
    content_type: str


class WeComClient:
    def __init__(self, base_url: str, corp_id: str, secret: str, agent_id: int, redis, key_prefix: str = "",
                 timeout: tuple[float, float] | float = (3.05, 10.0), session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self.corp_id = corp_id
        self.agent_id = int(agent_id)
        self.timeout = timeout
        self._secret = secret
        self._redis = redis
        self._session = session or requests.Session()
        self.token_key = f"{key_prefix}wecom:token:{corp_id}:{self.agent_id}"

    # -- access token -----------------------------------------------------
    def access_token(self, force_refresh: bool = False) -> str:
        if not force_refresh:
            cached = self._redis.get(self.token_key)
            if cached:
                return cached
        return self._fetch_token()

    def has_token(self) -> bool:
        """A token is at hand: a call now needs no gettoken round trip first."""
        return bool(self._redis.get(self.token_key))

    def _renew_token(self, stale: str) -> str:
        # Another process may already have replaced the stale token; reuse
        # theirs instead of asking WeCom again.
        cached = self._redis.get(self.token_key)
        if cached and cached != stale:
            return cached
        return self._fetch_token()

    def _fetch_token(self) -> str:
        response = self._http("GET", "gettoken", params={"corpid": self.corp_id, "corpsecret": self._secret})
        answer = self._checked_json(response, "gettoken")
        token = answer.get("access_token")
        if not token:
            raise WeComError(TRANSPORT_ERRCODE, "gettoken answered without access_token", "gettoken")
        # Expire early so no process uses a token WeCom is about to drop.
        ttl = max(int(answer.get("expires_in", 7200)) - 300, 60)
        self._redis.set(self.token_key, token, ex=ttl)
        logger.info("fetched a new WeCom access token (ttl %ss)", ttl)
        return token

    # -- generic call -----------------------------------------------------
    def call(self, method: str, path: str, *, params: dict | None = None, json: Any = None, timeout=None) -> dict:
        return self._with_token(method, path, params, json, lambda response: self._checked_json(response, path),
                                timeout)

    def _with_token(self, method: str, path: str, params: dict | None, json: Any,
                    parse: Callable[[requests.Response], Any], timeout=None) -> Any:
        token = self.access_token()
        try:
            return parse(self._http(method, path, params={**(params or {}), "access_token": token}, json=json,
                                    timeout=timeout))
        except WeComError as err:
            if err.errcode not in TOKEN_ERRCODES:
                raise
            logger.warning("WeCom %s rejected the token (errcode %s); renewing once", path, err.errcode)
        token = self._renew_token(stale=token)
        return parse(self._http(method, path, params={**(params or {}), "access_token": token}, json=json,
                                timeout=timeout))

    def _http(self, method: str, path: str, *, params: dict, json: Any = None, timeout=None) -> requests.Response:
        url = f"{self.base_url}/cgi-bin/{path}"
        data, headers = None, None
        if json is not None:
            # Send real UTF-8 rather than \\u escapes: WeCom counts byte limits on it.
            data = jsonlib.dumps(json, ensure_ascii=False).encode("utf-8")
            headers = {"Content-Type": "application/json; charset=utf-8"}
        try:
            response = self._session.request(method, url, params=params, data=data, headers=headers,
                                             timeout=timeout or self.timeout)
        except requests.RequestException as exc:
            message = _redact(f"{type(exc).__name__}: {exc}")
            logger.warning("WeCom %s transport error: %s", path, message)
            raise WeComError(TRANSPORT_ERRCODE, message, path) from None
        if response.status_code != 200:
            logger.warning("WeCom %s answered HTTP %s", path, response.status_code)
            raise WeComError(TRANSPORT_ERRCODE, f"HTTP {response.status_code}", path)
        return response

    def _checked_json(self, response: requests.Response, path: str) -> dict:
        try:
            answer = response.json()
        except ValueError:
            raise WeComError(TRANSPORT_ERRCODE, "response is not JSON", path) from None
        if not isinstance(answer, dict):
            raise WeComError(TRANSPORT_ERRCODE, "response is not a JSON object", path)
        errcode = answer.get("errcode", 0)
        if errcode != 0:
            errmsg = str(answer.get("errmsg", ""))
            logger.warning("WeCom %s refused: errcode=%s errmsg=%s", path, errcode, errmsg)
            raise WeComError(int(errcode), errmsg, path)
        return answer

    # -- messages ---------------------------------------------------------
    def send_message(self, payload: dict) -> dict:
        return self.call("POST", "message/send", json=self._with_agent(payload))

    def update_template_card(self, payload: dict) -> dict:
        return self.call("POST", "message/update_template_card", json=self._with_agent(payload))

    def _with_agent(self, payload: dict) -> dict:
        payload.setdefault("agentid", self.agent_id)
        return payload

    # -- media ------------------------------------------------------------
    def get_media(self, media_id: str) -> Media:
        return self._with_token("GET", "media/get", {"media_id": media_id}, None, self._parse_media)

    def _parse_media(self, response: requests.Response) -> Media:
        content_type = response.headers.get("Content-Type", "application/octet-stream")
        # WeCom reports errors on media/get as JSON with HTTP 200.
        if content_type.split(";")[0].strip().lower() in ("application/json", "text/plain"):
            self._checked_json(response, "media/get")
            raise WeComError(TRANSPORT_ERRCODE, "media/get answered JSON without an error", "media/get")
        filename = _filename(response.headers.get("Content-Disposition", ""))
        return Media(content=response.content, filename=filename, content_type=content_type)

    # -- contacts and OAuth -----------------------------------------------
    def department_list(self) -> list[dict]:
        return self.call("GET", "department/list").get("department", [])

    def user_list(self, department_id: int) -> list[dict]:
        return self.call("GET", "user/list", params={"department_id": department_id}).get("userlist", [])

    def user_get(self, userid: str, timeout=None) -> dict:
        """One member. Since June 2022 a new self-built app gets no ``mobile`` here
        unless the member consented through OAuth (snsapi_privateinfo)."""
        return self.call("GET", "user/get", params={"userid": userid}, timeout=timeout)

    def oauth_userinfo(self, code: str) -> dict:
        answer = self.call("GET", "auth/getuserinfo", params={"code": code})
        # The old API spells it UserId, the new one userid: offer both.
        userid = answer.get("userid") or answer.get("UserId")
        if userid:
            answer.setdefault("userid", userid)
            answer.setdefault("UserId", userid)
        return answer


_SECRET_PARAMS = re.compile(r"(access_token|corpsecret)=[^&\s'\")]+")


def _redact(text: str) -> str:
    """requests puts the full URL in its messages; keep secrets out of logs."""
    return _SECRET_PARAMS.sub(r"\1=***", text)


def _filename(content_disposition: str) -> str | None:
    if not content_disposition:
        return None
    header = Message()
    header["Content-Disposition"] = content_disposition
    name = header.get_filename()
    if not name:
        return None
    try:
        # http.client decodes header bytes as latin-1; WeCom sends UTF-8 names.
        return name.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return name
