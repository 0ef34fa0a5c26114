"""APScheduler: one periodic tick derives all due work from the database —
deadline reminders and escalations, follow-up visits, the directory sync.
Inside `serve` (single process) or as `complaint-bot scheduler`."""
from __future__ import annotations

import logging
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from bot.deadlines import DeadlineScan
from bot.directory_sync import staff_departments, sync_directory
from bot.models import utcnow
from bot.report_push import push_weekly_report
from bot.services import Services
from bot.survey import SurveyRound

log = logging.getLogger(__name__)


def tick(services: Services, now: datetime | None = None) -> None:
    now = now or utcnow()
    with services.db.session() as session:
        DeadlineScan(session, services, now).run()
    with services.db.session() as session:
        SurveyRound(session, services, now).run()
    push_weekly_report(services, now)
    _sync_directory_if_due(services)


def _sync_directory_if_due(services: Services) -> None:
    sync = services.settings.directory.sync
    if not sync.enabled:
        return
    # The key's lifetime is the interval; whoever sets it does this round's sync.
    key = f"{services.settings.redis_prefix}directory:sync-claim"
    if services.redis.set(key, "1", nx=True, ex=int(sync.interval_minutes * 60)):
        try:
            sync_directory(services.wecom, services.redis, services.settings.redis_prefix,
                           staff_departments(services.settings))
        except Exception:  # keep the tick alive; the next interval retries
            services.redis.delete(key)
            log.exception("同步企业微信通讯录失败，下个周期重试")


def _safe_tick(services: Services) -> None:
    try:
        tick(services)
    except Exception:  # one failed round must not stop the scheduler
        log.exception("定时任务出错，下个周期重试")


def _configure(scheduler, services: Services):
    scheduler.add_job(_safe_tick, "interval", args=[services], seconds=services.settings.scheduler.tick_seconds,
                      id="tick", max_instances=1, coalesce=True, next_run_time=datetime.now(services.tz))
    return scheduler


def start_background(services: Services) -> BackgroundScheduler:
    scheduler = _configure(BackgroundScheduler(timezone=services.tz), services)
    scheduler.start()
    log.info("定时任务已启动（每 %s 秒检查时限、回访）", services.settings.scheduler.tick_seconds)
    return scheduler


def run_blocking(services: Services) -> None:
    log.info("定时任务进程已启动（每 %s 秒检查时限、回访）", services.settings.scheduler.tick_seconds)
    _configure(BlockingScheduler(timezone=services.tz), services).start()
