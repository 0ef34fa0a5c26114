"""Run the app on waitress, a production WSGI server, with the worker thread."""
from __future__ import annotations

import logging
import signal

from waitress import create_server

from bot.app import create_app
from bot.services import Services
from bot.scheduler import start_background
from bot.worker import Worker

log = logging.getLogger(__name__)


def make_server(services: Services, host: str, port: int):
    """A waitress server, not yet running (port 0 picks a free one)."""
    return create_server(create_app(services), host=host, port=port,
                         threads=services.settings.server.threads, ident="complaint-bot")


def shutdown(server) -> None:
    """Stop a running waitress server from any thread: close the listener and
    every open connection inside its own loop, so run() returns promptly."""
    def close_everything():
        for channel in list(server._map.values()):
            channel.close()

    try:
        server.trigger.pull_trigger(close_everything)
    except OSError:
        pass  # already shut down


def serve_forever(services: Services, host: str, port: int, with_worker: bool = True) -> None:
    """with_worker: the single-process mode, where the outbox sender and the
    scheduler run in this process too."""
    services.classifier  # load jieba's dictionary now, not during the first callback's 5 seconds
    server = make_server(services, host, port)
    worker = Worker(services).start() if with_worker else None
    scheduler = start_background(services) if with_worker else None
    signal.signal(signal.SIGTERM, lambda *_: shutdown(server))
    log.info("服务已启动：http://%s:%s/wecom/callback（健康检查 /healthz，就绪检查 /readyz）",
             host, server.effective_port)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        if worker:
            worker.stop()
        if scheduler:
            scheduler.shutdown(wait=False)
        services.close()
        log.info("服务已停止")
