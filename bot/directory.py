"""Who is who: departments, their members and leaders, the supervising
leaders, administrators and the on-duty roster. From config.yaml, plus what
the last sync from WeCom's contacts brought (kept in Redis)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, time

import redis

from bot.config import Department, DirectorySettings

SYNCED_KEY = "directory:synced"
# Actors that are not people.
SYSTEM_NAMES = {"system": "系统"}


@dataclass
class Directory:
    settings: DirectorySettings
    departments: dict[str, Department] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, settings: DirectorySettings, client: redis.Redis | None = None, prefix: str = "") -> "Directory":
        directory = cls(settings)
        synced = client.get(prefix + SYNCED_KEY) if client is not None and settings.sync.enabled else None
        if synced:
            directory._merge(json.loads(synced))
        for department in settings.departments:  # config wins over the sync
            directory.departments[department.name] = department
        directory.names.update(settings.people)
        return directory

    def _merge(self, synced: dict) -> None:
        for item in synced.get("departments", []):
            self.departments[item["name"]] = Department(name=item["name"], members=item.get("members", []),
                                                        leader=item.get("leader"))
        self.names.update(synced.get("names", {}))

    def with_admin(self, userid: str) -> "Directory":
        """The same directory with one more administrator (the console's local
        administrator, who is not a WeCom member)."""
        settings = self.settings.model_copy(update={"admins": [*self.settings.admins, userid]})
        return Directory(settings, dict(self.departments), {**self.names, userid: userid})

    # -- people -----------------------------------------------------------
    def name_of(self, userid: str) -> str:
        return self.names.get(userid) or SYSTEM_NAMES.get(userid, userid)

    def is_supervisor(self, userid: str) -> bool:
        return userid in self.settings.supervisors

    def is_admin(self, userid: str) -> bool:
        return userid in self.settings.admins

    def sees_everything(self, userid: str) -> bool:
        return self.is_supervisor(userid) or self.is_admin(userid)

    def departments_of(self, userid: str) -> list[str]:
        return [d.name for d in self.departments.values() if userid in d.members or userid == d.leader]

    def is_staff(self, userid: str) -> bool:
        """Anyone who may act on complaints (everyone else is an occupant)."""
        return bool(self.departments_of(userid)) or self.sees_everything(userid)

    # -- departments ------------------------------------------------------
    def department(self, name: str | None) -> Department | None:
        return self.departments.get(name) if name else None

    def members_of(self, name: str | None) -> list[str]:
        department = self.department(name)
        return list(department.members) if department else []

    def leader_of(self, name: str | None) -> str | None:
        department = self.department(name)
        return department.leader if department else None

    def handlers_of(self, name: str | None) -> list[str]:
        """Who gets a new complaint's task card: the members, or the leader
        when the department has no members listed."""
        members = self.members_of(name)
        leader = self.leader_of(name)
        return members or ([leader] if leader else [])

    def find_department(self, text: str) -> Department | None:
        """A department by its name or a distinctive part of it (维修 → 工程维修部)."""
        text = text.strip()
        if text in self.departments:
            return self.departments[text]
        matches = [d for d in self.departments.values() if text and (text in d.name or d.name in text)]
        return matches[0] if len(matches) == 1 else None

    def complained_about(self, text: str) -> Department | None:
        """The department whose staff a text names (for 服务态度 complaints)."""
        return next((d for d in self.departments.values() if any(w in text for w in d.staff_words)), None)

    # -- permissions ------------------------------------------------------
    def may_handle(self, userid: str, department: str | None) -> bool:
        return self.sees_everything(userid) or (department is not None and department in self.departments_of(userid))

    def kept_from(self, userid: str) -> list[str]:
        """The departments whose 服务态度 complaints this person may not handle:
        those they work in but do not lead (a complaint about people never
        reaches those people; their leader handles it)."""
        if self.sees_everything(userid):
            return []
        return [d.name for d in self.departments.values() if userid in d.members and userid != d.leader]

    def may_handle_complaint(self, userid: str, complaint, action: str | None = None) -> bool:
        """Its department may act — except the very people a 服务态度
        complaint is about (see kept_from); anyone on the duty roster may
        accept an emergency (and only accept it)."""
        if complaint.about_department in self.kept_from(userid):
            return False
        if action == "accept" and complaint.emergency and userid in self.duty_people():
            return True
        return self.may_handle(userid, complaint.department)

    def duty_people(self) -> set[str]:
        return set(self.settings.duty).union(*(shift.people for shift in self.settings.duty_roster))

    def approvers_for(self, department: str | None) -> list[str]:
        """主管领导批示: the supervising leaders, or the department's leader
        when no supervisor is configured."""
        if self.settings.supervisors:
            return list(self.settings.supervisors)
        leader = self.leader_of(department)
        return [leader] if leader else list(self.settings.admins)

    def may_approve(self, userid: str, department: str | None) -> bool:
        return userid in self.approvers_for(department) or self.is_admin(userid)

    # -- duty ---------------------------------------------------------------
    def on_duty(self, now_local: datetime) -> list[str]:
        people = list(self.settings.duty)
        for shift in self.settings.duty_roster:
            if _in_shift(shift.days, shift.hours, now_local):
                people.extend(shift.people)
        return list(dict.fromkeys(people))


def _in_shift(days: list[int], hours: str, now: datetime) -> bool:
    start_text, end_text = hours.split("-")
    start, end = _clock(start_text), _clock(end_text)
    moment = now.time()
    if start <= end:
        return now.isoweekday() in days and start <= moment < end
    # Past midnight: the early-morning part belongs to the previous day's shift.
    if moment >= start:
        return now.isoweekday() in days
    previous_day = (now.isoweekday() - 2) % 7 + 1
    return moment < end and previous_day in days


def _clock(text: str) -> time:
    hour, minute = (int(part) for part in text.split(":"))
    return time.max if hour == 24 else time(hour, minute)
