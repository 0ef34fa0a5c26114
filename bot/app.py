"""The Flask application factory."""
from __future__ import annotations

from flask import Flask, jsonify

from bot.services import Services
from bot.webhook import blueprint as wecom_blueprint


def create_app(services: Services) -> Flask:
    app = Flask(__name__)
    # Bodies over the limit get 413 from Werkzeug before any work is done.
    app.config["MAX_CONTENT_LENGTH"] = services.settings.callback.max_body_bytes
    app.extensions["services"] = services
    app.register_blueprint(wecom_blueprint)

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    @app.get("/readyz")
    def readyz():
        checks = {"database": _check(services.db.ping), "redis": _check(services.redis.ping)}
        ready = all(value == "ok" for value in checks.values())
        return jsonify(status="ok" if ready else "unavailable", **checks), 200 if ready else 503

    return app


def _check(probe) -> str:
    try:
        probe()
    except Exception as exc:  # any failure means "not ready"; say which kind
        return f"error: {type(exc).__name__}"
    return "ok"
