"""Background work: deliver the outbox and fetch media. A thread inside
`serve` (single process) or its own process (`complaint-bot worker`)."""
from __future__ import annotations

import logging
import threading

from bot.media import MediaFetcher
from bot.outbox import OutboxSender
from bot.services import Services

log = logging.getLogger(__name__)


class Worker:
    def __init__(self, services: Services):
        self.services = services
        self.sender = OutboxSender(services.db, services.wecom, services.settings.outbox)
        outbox = services.settings.outbox
        self.fetcher = MediaFetcher(services.db, services.wecom, services.settings.media_dir,
                                    claim_seconds=outbox.claim_seconds, backoff_base=outbox.backoff_base_seconds,
                                    backoff_max=outbox.backoff_max_seconds)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> bool:
        """One round; True when there may be more due right away (a full batch)."""
        report = self.sender.deliver_due()
        self.fetcher.fetch_due()
        return report.attempted >= self.services.settings.outbox.batch_size

    def run_forever(self) -> None:
        log.info("后台发送进程已启动（outbox 与附件下载）")
        while not self._stop.is_set():
            busy = False
            try:
                busy = self.run_once()
            except Exception:  # a broken round must not end the loop: log it, try again
                log.exception("后台任务出错，稍后重试")
            if not busy:  # a backlog is worked off without pausing between batches
                self._stop.wait(self.services.settings.outbox.poll_seconds)

    def start(self) -> "Worker":
        self._thread = threading.Thread(target=self.run_forever, name="outbox-worker", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)
