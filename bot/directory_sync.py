"""Read departments, members and leaders from WeCom's contacts
(department/list, user/list with is_leader_in_dept) into Redis, where
Directory.load merges them under what config.yaml says."""
from __future__ import annotations

import json
import logging

import redis

from bot.directory import SYNCED_KEY
from bot.wecom.client import WeComClient

log = logging.getLogger(__name__)


def fetch_directory(client: WeComClient, wanted: set[str] | None = None) -> dict:
    """Only the `wanted` departments: the whole company is in WeCom, but only
    logistics staff may act on complaints."""
    departments, names = [], {}
    for department in client.department_list():
        if wanted is not None and department["name"] not in wanted:
            continue
        users = client.user_list(department["id"])
        members, leader = [], None
        for user in users:
            names[user["userid"]] = user.get("name", user["userid"])
            members.append(user["userid"])
            if _leads(user, department["id"]):
                leader = leader or user["userid"]
        departments.append({"name": department["name"], "members": members, "leader": leader})
    return {"departments": departments, "names": names}


def staff_departments(settings) -> set[str]:
    """The departments whose members are staff: listed for the sync, or else
    those config.yaml and the routing name."""
    if settings.directory.sync.departments:
        return set(settings.directory.sync.departments)
    routing = settings.routing
    return ({d.name for d in settings.directory.departments} | set(routing.by_category.values())
            | {rule.department for rule in routing.rules} | {routing.default})


def sync_directory(client: WeComClient, store: redis.Redis, prefix: str, wanted: set[str] | None = None) -> dict:
    snapshot = fetch_directory(client, wanted)
    store.set(prefix + SYNCED_KEY, json.dumps(snapshot, ensure_ascii=False))
    log.info("已从企业微信通讯录同步 %d 个部门、%d 人", len(snapshot["departments"]), len(snapshot["names"]))
    return snapshot


def _leads(user: dict, department_id: int) -> bool:
    """is_leader_in_dept is a list aligned with the user's department list."""
    flags = user.get("is_leader_in_dept") or []
    return any(dept == department_id and flag == 1 for dept, flag in zip(user.get("department", []), flags))
