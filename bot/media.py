"""Fetch the photos and files users sent (media/get) and keep them with the
complaint. Runs in the background: a download must never hold up a reply."""
from __future__ import annotations

import logging
import mimetypes
from datetime import timedelta
from pathlib import Path

from bot.claims import backoff_seconds, claim_due
from bot.complaints import MEDIA_LIFETIME
from bot.models import Attachment, utcnow
from bot.wecom.client import WeComClient, WeComError

log = logging.getLogger(__name__)


class MediaFetcher:
    def __init__(self, db, client: WeComClient, media_dir: Path, claim_seconds: float = 60.0,
                 backoff_base: float = 5.0, backoff_max: float = 900.0):
        self.db = db
        self.client = client
        self.media_dir = Path(media_dir)
        self.claim_seconds = claim_seconds
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max

    def fetch_due(self, limit: int = 10) -> int:
        tried: set[int] = set()
        for _ in range(limit):
            with self.db.session() as session:
                ids = claim_due(session, Attachment, utcnow(), self.claim_seconds, 1, tried)
            if not ids:
                break
            tried.add(ids[0])
            self._fetch(ids[0])
        return len(tried)

    def _fetch(self, attachment_id: int) -> None:
        with self.db.session() as session:
            attachment = session.get(Attachment, attachment_id)
            try:
                media = self.client.get_media(attachment.media_id)
                path = self._path_for(attachment, media.filename, media.content_type)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(media.content)
            except WeComError as error:
                self._record_failure(attachment, error)
                return
            except OSError as error:  # disk full, permissions: worth retrying later
                self._record_failure(attachment, WeComError(-3, f"保存文件失败：{error}"))
                return
            attachment.path = str(path)
            attachment.content_type = media.content_type
            attachment.size = len(media.content)
            attachment.status = "stored"
            attachment.claimed_until = None

    def _record_failure(self, attachment: Attachment, error: WeComError) -> None:
        attachment.attempts += 1
        attachment.last_error = f"{error.errcode}: {error.errmsg}"
        attachment.claimed_until = None
        expired = utcnow() - attachment.created_at > MEDIA_LIFETIME
        if error.retriable and not expired:
            delay = backoff_seconds(attachment.attempts, self.backoff_base, self.backoff_max)
            attachment.next_attempt_at = utcnow() + timedelta(seconds=delay)
            log.warning("下载附件 #%s 失败（%s），稍后重试", attachment.id, attachment.last_error)
        else:
            attachment.status = "failed"
            log.error("附件 #%s 无法下载：%s", attachment.id, attachment.last_error)

    def _path_for(self, attachment: Attachment, filename: str | None, content_type: str) -> Path:
        suffix = Path(filename).suffix if filename else ""
        suffix = suffix or mimetypes.guess_extension(content_type or "") or ".bin"
        return self.media_dir / str(attachment.complaint_id) / f"{attachment.id}{suffix}"
