"""The floor cost of any WeCom bot in Python, the baseline of bench/load.py:
verify the signature, decrypt, parse the message and encrypt a fixed text
reply with wechatpy — nothing else (no storage, no dialog, no Redis).

Served like `complaint-bot serve`: a Flask app on waitress.

    .venv/bin/python bench/baseline_app.py --port 8090 --threads 8

The token, EncodingAESKey and CorpID come from WECOM_TOKEN,
WECOM_ENCODING_AES_KEY and WECOM_CORP_ID.
"""
from __future__ import annotations

import argparse
import os

from flask import Flask, Response, request
from waitress import serve
from wechatpy.enterprise import parse_message
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.replies import TextReply
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException

REPLY = "收到，我来帮您登记。请问具体在什么地方？"


def create_app(token: str, encoding_aes_key: str, corp_id: str) -> Flask:
    app = Flask(__name__)
    crypto = WeChatCrypto(token, encoding_aes_key, corp_id)

    @app.get("/readyz")
    def ready():
        return "ok"

    @app.post("/wecom/callback")
    def callback():
        args = request.args
        try:
            xml = crypto.decrypt_message(request.get_data(), args.get("msg_signature"), args.get("timestamp"),
                                         args.get("nonce"))
        except (InvalidSignatureException, InvalidCorpIdException):
            return Response("invalid signature", status=403)
        reply = TextReply(content=REPLY, message=parse_message(xml)).render()
        return Response(crypto.encrypt_message(reply, args.get("nonce")), mimetype="application/xml")

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="Baseline WeCom callback app (wechatpy only).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    app = create_app(os.environ["WECOM_TOKEN"], os.environ["WECOM_ENCODING_AES_KEY"], os.environ["WECOM_CORP_ID"])
    serve(app, host=args.host, port=args.port, threads=args.threads, ident="baseline")


if __name__ == "__main__":
    main()
