"""The Flask application factory."""
from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from flask import Flask, jsonify, redirect, request, url_for
from flask_wtf.csrf import CSRFProtect

from bot.console.views import blueprint as console_blueprint
from bot.services import Services
from bot.webhook import blueprint as wecom_blueprint

log = logging.getLogger(__name__)


def create_app(services: Services) -> Flask:
    app = Flask(__name__)
    # Bodies over the limit get 413 from Werkzeug before any work is done.
    app.config["MAX_CONTENT_LENGTH"] = services.settings.callback.max_body_bytes
    app.extensions["services"] = services
    _secure_console(app, services)
    app.register_blueprint(wecom_blueprint)
    app.register_blueprint(console_blueprint)
    # WeCom's callbacks carry their own signature; CSRF tokens are for browsers.
    app.extensions["csrf"].exempt(wecom_blueprint)

    @app.get("/")
    def home():
        return redirect(url_for("console.dashboard"))

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    @app.get("/readyz")
    def readyz():
        checks = {"database": _check(services.db.ping), "redis": _check(services.redis.ping)}
        ready = all(value == "ok" for value in checks.values())
        return jsonify(status="ok" if ready else "unavailable", **checks), 200 if ready else 503

    return app


def _secure_console(app: Flask, services: Services) -> None:
    console = services.settings.console
    if not console.secret_key:
        log.warning("未设置 console.secret_key（或 CONSOLE_SECRET_KEY）：使用临时密钥，重启后需要重新登录；多进程部署必须设置")
    app.config.update(
        SECRET_KEY=console.secret_key or secrets.token_hex(32),
        SESSION_COOKIE_SECURE=console.secure_cookies,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
    )
    CSRFProtect(app)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.path.startswith("/console"):
            response.headers.setdefault("Content-Security-Policy",
                                        "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                        "script-src 'self'; frame-ancestors 'none'")
        return response


def _check(probe) -> str:
    try:
        probe()
    except Exception as exc:  # any failure means "not ready"; say which kind
        return f"error: {type(exc).__name__}"
    return "ok"
