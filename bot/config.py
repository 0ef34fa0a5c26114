"""Configuration: config.yaml + environment overrides, validated by pydantic.

A bad value stops start-up with a message that names the key and the file,
e.g. ``config.yaml: wecom.encoding_aes_key — 必须是 43 个字符``.
"""
from __future__ import annotations

import base64
import binascii
import os
import re
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DEFAULT_CONFIG_FILE = "config.yaml"
WECOM_API_HOST = "https://qyapi.weixin.qq.com"

# Environment variables that override a key of the file: secrets and endpoints
# must be settable without writing them into a file.
ENV_OVERRIDES = {
    "WECOM_CORP_ID": ("wecom", "corp_id"),
    "WECOM_AGENT_ID": ("wecom", "agent_id"),
    "WECOM_SECRET": ("wecom", "secret"),
    "WECOM_TOKEN": ("wecom", "token"),
    "WECOM_ENCODING_AES_KEY": ("wecom", "encoding_aes_key"),
    "WECOM_API_BASE_URL": ("wecom", "api_base_url"),
    "DATABASE_URL": ("database_url",),
    "REDIS_URL": ("redis_url",),
    "CONSOLE_ADMIN_PASSWORD": ("console", "admin_password"),
    "CONSOLE_SECRET_KEY": ("console", "secret_key"),
}


# The complaint categories of the plan; the classifier answers with these names.
CATEGORIES = ("房屋质量", "物业配套", "设备设施", "管理服务", "管理费用", "突发事件")


class ConfigError(Exception):
    """Raised with a readable, Chinese explanation naming the key and the file."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WeComSettings(_Section):
    corp_id: str = Field(min_length=1)
    agent_id: int
    secret: str = Field(min_length=1)
    token: str = Field(min_length=1, max_length=32)
    encoding_aes_key: str
    api_base_url: str = WECOM_API_HOST

    @field_validator("encoding_aes_key")
    @classmethod
    def _aes_key_is_43_base64_chars(cls, value: str) -> str:
        if len(value) != 43:
            raise ValueError("必须是 43 个字符（企业微信后台“接收消息”页生成的 EncodingAESKey）")
        try:
            base64.b64decode(value + "=", validate=True)
        except binascii.Error:
            raise ValueError("不是合法的 Base64 字符串") from None
        return value

    @field_validator("api_base_url")
    @classmethod
    def _url_has_scheme(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("必须以 http:// 或 https:// 开头")
        return value.rstrip("/")


class CallbackSettings(_Section):
    replay_window_seconds: int = Field(300, ge=0)  # 0 turns the check off
    max_body_bytes: int = Field(256 * 1024, ge=1024)
    reply_budget_seconds: float = Field(4.0, gt=0, le=4.8)  # WeCom gives up after 5 s
    user_lock_wait_seconds: float = Field(4.0, gt=0)
    user_lock_hold_seconds: float = Field(10.0, gt=0)  # under WeCom's 15 s of retries: a dead turn is passed


class OutboxSettings(_Section):
    poll_seconds: float = Field(1.0, gt=0)
    backoff_base_seconds: float = Field(2.0, gt=0)
    backoff_max_seconds: float = Field(600.0, gt=0)
    per_member_per_minute: int = Field(30, ge=1)
    per_member_per_hour: int = Field(1000, ge=1)
    claim_seconds: float = Field(60.0, gt=0)
    batch_size: int = Field(20, ge=1)


class ServerSettings(_Section):
    host: str = "0.0.0.0"
    port: int = Field(8080, ge=1, le=65535)
    threads: int = Field(8, ge=1)
    public_url: str = "http://127.0.0.1:8080"


class ServiceSettings(_Section):
    name: str = "后勤服务中心"
    phone: str = "0000-00000000"
    duty_phone: str = "0000-00000000"


class DialogSettings(_Section):
    idle_minutes: float = Field(30, gt=0)  # after this, ask whether to continue
    keep_hours: float = Field(72, gt=0)  # an unfinished complaint is forgotten after this
    max_failures: int = Field(3, ge=1)  # wrong answers in a row before offering a person
    repeat_window_hours: float = Field(24, gt=0)  # same person, place and category
    cluster_window_hours: float = Field(72, gt=0)  # several people, same place and category
    recent_days: int = Field(30, ge=1)  # how far back "complained lately" counts


class Department(_Section):
    name: str = Field(min_length=1)
    members: list[str] = []
    leader: str | None = None
    # Words that name this department's own staff ("维修工", "保安"): a complaint
    # about their attitude must not be handed to them.
    staff_words: list[str] = []


class DutyShift(_Section):
    days: list[int] = Field([1, 2, 3, 4, 5, 6, 7], min_length=1)  # 1 = Monday … 7 = Sunday
    hours: str = "00:00-24:00"  # may run past midnight, e.g. 18:00-08:00
    people: list[str] = Field(min_length=1)

    @field_validator("days")
    @classmethod
    def _weekdays(cls, value: list[int]) -> list[int]:
        if any(day not in range(1, 8) for day in value):
            raise ValueError("星期只能是 1（周一）到 7（周日）")
        return value

    @field_validator("hours")
    @classmethod
    def _hours_range(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-4]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d", value):
            raise ValueError("格式应为 HH:MM-HH:MM，例如 08:00-18:00")
        return value


class DirectorySync(_Section):
    enabled: bool = False  # also read departments and leaders from WeCom's contacts
    interval_minutes: float = Field(60, gt=0)
    # Which WeCom departments are logistics staff. Empty: the departments that
    # config.yaml and the routing name. Everyone else stays an occupant.
    departments: list[str] = []


class DirectorySettings(_Section):
    people: dict[str, str] = {}  # WeCom account -> name shown on cards
    departments: list[Department] = []
    supervisors: list[str] = []  # 主管领导: approve solutions, see everything
    admins: list[str] = []  # may act on every complaint
    customer_service: list[str] = []  # told when someone asks for a person (人工)
    duty: list[str] = []  # always on duty for emergencies
    duty_roster: list[DutyShift] = []  # on duty by weekday and hour
    sync: DirectorySync = DirectorySync()


class RoutingRule(_Section):
    category: str | None = None
    subcategory: str | None = None
    place: str | None = None  # a regular expression matched against the place
    department: str

    @field_validator("place")
    @classmethod
    def _valid_pattern(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"不是合法的正则表达式：{exc}") from None
        return value


class RoutingSettings(_Section):
    rules: list[RoutingRule] = []  # first match wins
    by_category: dict[str, str] = {}
    default: str = "客户服务中心"


class OutOfScopeTopic(_Section):
    name: str
    keywords: list[str] = Field(min_length=1)
    office: str
    phone: str = ""


class FaqEntry(_Section):
    """A common question and its answer; every keyword group must have a word in the question."""
    name: str
    keywords: list[list[str]] = Field(min_length=1)  # e.g. [[食堂, 餐厅], [几点, 开门, 营业]]
    answer: str = Field(min_length=1)


_PERIOD = re.compile(r"([01]\d|2[0-4]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d")
_DURATION = re.compile(r"(\d+(\.\d+)?[dhm])+")


def _check_period(value: str) -> str:
    if not _PERIOD.fullmatch(value):
        raise ValueError(f"{value!r} 格式应为 HH:MM-HH:MM，例如 08:30-12:00")
    return value


def _check_duration(value: str) -> str:
    if not _DURATION.fullmatch(value.replace(" ", "").lower()):
        raise ValueError(f"{value!r} 不是时长，例如 10m、2h、1d、1d4h")
    return value


class CalendarSettings(_Section):
    work_hours: list[str] = Field(["08:30-12:00", "13:30-17:30"], min_length=1)
    holidays: list[date] = []  # campus holidays on top of the statutory ones
    workdays: list[date] = []  # extra duty days (worked although a weekend or holiday)

    @field_validator("work_hours")
    @classmethod
    def _periods(cls, value: list[str]) -> list[str]:
        for period in value:
            _check_period(period)
            start, end = period.split("-")
            if start >= end:
                raise ValueError(f"{period!r} 的结束时间必须晚于开始时间")
        return value


class StageLimits(_Section):
    """One urgency profile: how long each stage may take."""
    clock: str = Field("working", pattern="^(working|continuous)$")  # working hours, or round the clock
    accept: str = "2h"
    solution: str = "4h"
    complete: str = "1d"
    follow_up: str = "2d"  # 回访 within this time after completion
    progress_every: str | None = None  # tell the occupant how it is going this often

    @field_validator("accept", "solution", "complete", "follow_up", "progress_every")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        return None if value is None else _check_duration(value)


class EscalationLevel(_Section):
    after: str = "0m"  # past the deadline
    notify: str = Field(pattern="^(department_leader|supervisors|admins)$")

    @field_validator("after")
    @classmethod
    def _duration(cls, value: str) -> str:
        return _check_duration(value)


def _default_profiles() -> dict[str, StageLimits]:
    return {
        "emergency": StageLimits(clock="continuous", accept="10m", solution="2h", complete="24h", follow_up="2d"),
        "ordinary": StageLimits(accept="2h", solution="4h", complete="1d", follow_up="2d"),
        "complex": StageLimits(accept="2h", solution="2d", complete="5d", follow_up="2d", progress_every="1d"),
    }


class TimeLimitSettings(_Section):
    profiles: dict[str, StageLimits] = Field(default_factory=_default_profiles)
    # Which profile a category uses (emergencies always use "emergency").
    categories: dict[str, str] = {"房屋质量": "complex", "物业配套": "complex", "管理费用": "complex"}
    default_profile: str = "ordinary"
    remind_at: float = Field(0.8, gt=0, lt=1)  # share of the time used when the reminder goes out
    escalation: list[EscalationLevel] = Field(default_factory=lambda: [
        EscalationLevel(after="0m", notify="department_leader"),
        EscalationLevel(after="2h", notify="supervisors"),
    ])
    emergency_repush_minutes: float = Field(5, gt=0)  # re-alert the duty list until someone accepts
    quiet_hours: str | None = "22:00-07:30"  # no ordinary pushes; they wait for the morning

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str | None) -> str | None:
        return None if value is None else _check_period(value)

    @model_validator(mode="after")
    def _known_profiles(self) -> "TimeLimitSettings":
        for needed in ("emergency", self.default_profile, *self.categories.values()):
            if needed not in self.profiles:
                raise ValueError(f"没有名为 {needed!r} 的时限方案（profiles 中定义）")
        return self


class SurveySettings(_Section):
    delay: str = "2h"  # after completion (working time), then respecting quiet hours
    remind_after_hours: float = Field(24, gt=0)
    close_after_hours: float = Field(72, gt=0)  # no answer: closed as 未回复
    reopen_at_or_below: int = Field(2, ge=1, le=5)

    @field_validator("delay")
    @classmethod
    def _duration(cls, value: str) -> str:
        return _check_duration(value)


class ConsoleSettings(_Section):
    # A local administrator for trial use without WeCom (also CONSOLE_ADMIN_PASSWORD).
    admin_password: str | None = None
    # Signs the session cookies; several workers must share it (also CONSOLE_SECRET_KEY).
    secret_key: str | None = None
    secure_cookies: bool = True  # cookies only over HTTPS; turn off for a plain-HTTP trial
    page_size: int = Field(20, ge=5, le=200)


class SchedulerSettings(_Section):
    tick_seconds: float = Field(30, gt=0)


class ReportSettings(_Section):
    """The weekly summary pushed to the leaders (及时总结)."""
    weekly_day: int = Field(1, ge=1, le=7)  # 1 = Monday … 7 = Sunday
    weekly_time: str = "08:30"  # local time; a scheduler that was down catches up later that week
    # "supervisors", "admins" or WeCom accounts; an empty list turns the weekly push off.
    recipients: list[str] = ["supervisors", "admins"]

    @field_validator("weekly_time")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError(f"{value!r} 格式应为 HH:MM，例如 08:30")
        return value


class Settings(_Section):
    wecom: WeComSettings
    database_url: str = "sqlite:///data/complaints.db"
    redis_url: str | None = None
    redis_prefix: str = "cb:"
    timezone: str = "Asia/Shanghai"
    data_dir: str = "data"
    texts_file: str | None = None
    callback: CallbackSettings = CallbackSettings()
    outbox: OutboxSettings = OutboxSettings()
    server: ServerSettings = ServerSettings()
    service: ServiceSettings = ServiceSettings()
    dialog: DialogSettings = DialogSettings()
    directory: DirectorySettings = DirectorySettings()
    routing: RoutingSettings = RoutingSettings()
    out_of_scope: list[OutOfScopeTopic] = []
    faq: list[FaqEntry] = []
    # Reasons staff can pick when a complaint is judged 不成立 (有法可依: name the rule).
    invalid_reasons: list[str] = [
        "不属于后勤服务的范围",
        "经现场核实，设施运行正常",
        "属于个人使用不当造成，按有关规定由个人负责",
    ]
    classifier_dir: str | None = None  # extra word lists and place names
    calendar: CalendarSettings = CalendarSettings()
    time_limits: TimeLimitSettings = TimeLimitSettings()
    survey: SurveySettings = SurveySettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    reports: ReportSettings = ReportSettings()
    console: ConsoleSettings = ConsoleSettings()

    # Where this configuration came from, for error messages and `check-config`.
    source: str = Field("<defaults>", exclude=True)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"未知时区 {value!r}，例如 Asia/Shanghai") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        return normalize_database_url(value)

    @field_validator("routing")
    @classmethod
    def _routes_to_known_categories(cls, value: RoutingSettings) -> RoutingSettings:
        unknown = set(value.by_category) - set(CATEGORIES)
        if unknown:
            raise ValueError(f"未知类别 {sorted(unknown)}，可用：{'、'.join(CATEGORIES)}")
        return value

    @property
    def media_dir(self) -> Path:
        return Path(self.data_dir) / "media"


def normalize_database_url(value: str) -> str:
    """Accept the usual postgres:// forms; we talk to PostgreSQL through psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if value.startswith(prefix):
            value = "postgresql+psycopg://" + value[len(prefix):]
    if not value.startswith(("sqlite:", "postgresql+psycopg:")):
        raise ValueError("只支持 sqlite:/// 或 postgresql:// 地址")
    return value


def load_settings(path: str | os.PathLike | None = None,
                  env: dict[str, str] | None = None,
                  overrides: dict[str, Any] | None = None) -> Settings:
    """Read the file (from ``--config``, ``COMPLAINT_BOT_CONFIG`` or ./config.yaml),
    apply environment overrides, validate. Raises ConfigError."""
    env = os.environ if env is None else env
    path = Path(path or env.get("COMPLAINT_BOT_CONFIG") or DEFAULT_CONFIG_FILE)
    raw = _read_yaml(path)
    for var, key in ENV_OVERRIDES.items():
        if env.get(var):
            _set_nested(raw, key, env[var])
    for dotted, value in (overrides or {}).items():
        _set_nested(raw, tuple(dotted.split(".")), value)
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, path)) from None
    settings.source = str(path)
    return settings


def _read_yaml(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: 找不到配置文件（可用 --config 或 COMPLAINT_BOT_CONFIG 指定）") from None
    except OSError as exc:
        raise ConfigError(f"{path}: 无法读取配置文件：{exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: 不是 UTF-8 编码（第 {exc.start + 1} 个字节），请以 UTF-8 保存") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f"第 {where.line + 1} 行" if where else ""
        raise ConfigError(f"{path}: YAML 格式错误 {line}".rstrip()) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: 顶层必须是键值对（mapping）")
    return data


def _set_nested(raw: dict, key: tuple[str, ...], value: Any) -> None:
    node = raw
    for part in key[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[key[-1]] = value


_MESSAGES = {
    "missing": "缺少此项",
    "extra_forbidden": "不认识的配置项（拼写错误？）",
}


def _explain(exc: ValidationError, path: Path) -> str:
    lines = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        reason = _MESSAGES.get(error["type"]) or error["msg"].removeprefix("Value error, ")
        env_var = next((var for var, k in ENV_OVERRIDES.items() if ".".join(k) == key), None)
        hint = f"（也可用环境变量 {env_var} 设置）" if env_var and error["type"] == "missing" else ""
        lines.append(f"{path}: {key} — {reason}{hint}")
    return "\n".join(lines)
