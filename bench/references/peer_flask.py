"""Peer: the receiver a Twilio user writes by following Twilio's own quickstart.

Flask + twilio.request_validator.RequestValidator, each message stored in SQLite, empty TwiML back.
Served by gunicorn (sync worker), the usual production choice for Flask.

Copied from ../shared/bench/peer_flask.py (the reference behind STYLE.md's "Measured facts"), reformatted
for this repository's ruff settings; behaviour unchanged. Durability: Python's sqlite3 in WAL mode keeps
SQLite's default ``synchronous=FULL``, the same as Switchboard's default (SWITCHBOARD_SQLITE_SYNCHRONOUS).
"""

import json
import os
import sqlite3
import threading

from flask import Flask, Response, abort, request
from twilio.request_validator import RequestValidator

AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "12345")
PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:8000")
DB = os.environ.get("PEER_DB", "/tmp/peer.db")

app = Flask(__name__)
validator = RequestValidator(AUTH_TOKEN)
_local = threading.local()


def db():
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = sqlite3.connect(DB)
        conn.execute("pragma journal_mode=wal")
        conn.execute(
            "create table if not exists events "
            "(id integer primary key, sid text unique, kind text, payload text)"
        )
        _local.conn = conn
    return conn


@app.post("/webhooks/twilio/messages")
def messages():
    url = PUBLIC_URL + request.full_path.rstrip("?")
    if not validator.validate(url, request.form, request.headers.get("X-Twilio-Signature", "")):
        abort(403)
    conn = db()
    with conn:
        conn.execute(
            "insert or ignore into events (sid, kind, payload) values (?, ?, ?)",
            (request.form.get("MessageSid"), "message_received", json.dumps(request.form.to_dict())),
        )
    return Response('<?xml version="1.0" encoding="UTF-8"?><Response/>', mimetype="text/xml")
