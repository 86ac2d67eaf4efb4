"""Log output: one JSON object per line (or plain text), with secrets masked wherever they appear.

Records carry structured fields through ``extra=``; the JSON formatter writes them as keys next to
``ts``, ``level``, ``logger`` and ``message``; the text formatter appends them as ``key=value``.
Every record, whichever library logged it, passes :class:`RedactingFilter` on the handler first, so a
token in a message, an argument, a field or a traceback is masked before anything is written.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
import sys
import time
import traceback
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TextIO

import orjson

MASK = "[REDACTED]"

# What a LogRecord holds of its own; everything else on a record came in through ``extra=``.
# (uvicorn adds ``color_message``, a copy of the message with terminal colours: not a field.)
_FIELDS = "_switchboard_fields"  # where the filter leaves a record's fields for the formatter
_VETTED = "_switchboard_vetted"  # see vetted()
_RECORD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {
    _FIELDS,
    _VETTED,
    "message",
    "asctime",
    "taskName",
    "color_message",
}

# Secrets with a recognisable shape: subscription secrets (Standard Webhooks), our API tokens,
# passwords in URLs, and the values of the headers that carry credentials, however they are written
# ("Authorization: Bearer …", "'x-twilio-signature': '…'", "authorization=…").
_PATTERNS = re.compile(
    r"whsec_[A-Za-z0-9+/=]+"
    r"|sbt_[A-Za-z0-9_\-]+"
    r"|(?P<userinfo>://[^/\s:@]+:)[^/\s@]+(?=@)"
    r"|(?P<header>(?i:authorization|x-twilio-signature)['\"]?\s*[:=]\s*['\"]?)"
    r"(?:(?i:bearer|basic)\s+)?[^\s'\",}]+"
)
_SECRET_HEADERS = frozenset({"authorization", "x-twilio-signature"})
# Text that holds none of these (lowercased) cannot match _PATTERNS: a few substring searches are
# several times cheaper than the regex scan on the lines written once per request.
_PATTERN_MARKERS = ("whsec_", "sbt_", "://", "authorization", "x-twilio-signature")


def _may_match_patterns(text: str) -> bool:
    lowered = text.lower()
    return any(marker in lowered for marker in _PATTERN_MARKERS)


def log_vetted(logger: logging.Logger, level: int, message: str, fields: dict[str, Any]) -> None:
    """Log a line whose message and fields are vetted (see :func:`vetted`); ``message`` is final text.

    Where the line can only reach the handler ``configure`` installed, writing JSON (the case in
    production), it is rendered and queued straight away: the same line, without the LogRecord, the
    filter and the handler dispatch, which were two thirds of its cost (the delivery worker writes one
    per attempt, ``serve`` one per request). Anywhere else (a test's capture handler, text output, a
    filter added later) it goes through ``logging`` as any record does.
    """
    if not logger.isEnabledFor(level):
        return
    handler = _only_handler(logger)
    if handler is None or type(handler.formatter) is not JsonFormatter or level < handler.level:
        logger.log(level, message, extra=vetted(fields))
        return
    document = _document(time.time(), logging.getLevelName(level).lower(), logger.name, message, fields)
    with handler.lock:  # type: ignore[union-attr]  # created in Handler.__init__
        handler.emit_line(_json_line(document), level)


def _only_handler(logger: logging.Logger) -> LoopBatchingHandler | None:
    """``configure``'s handler when it is the only one a record of ``logger`` would reach and no filter
    but its own redaction (which passes vetted lines untouched) stands on the way."""
    current = logger
    while current.parent is not None:  # up to the root
        if current.filters or current.handlers or not current.propagate:
            return None
        current = current.parent
    handler = _installed
    if handler is None or current.filters or current.handlers != [handler] or len(handler.filters) != 1:
        return None
    return handler


def vetted(fields: dict[str, Any]) -> dict[str, Any]:
    """``extra=`` for a record whose message arguments and fields cannot hold a secret by construction,
    which :class:`RedactingFilter` then passes untouched.

    For the lines written once per webhook and per delivery attempt: the webhook access line (method,
    route path, one of the definitions' own, status, timing, peer address, event type, event id, reason
    code) and a delivery attempt without an error (ids, numbers, status) hold only what the server and
    we made, never a request's or a response's content; scanning them cost a third of the line.
    """
    return {**fields, _FIELDS: fields, _VETTED: True}


class LogFormat(StrEnum):
    JSON = "json"
    TEXT = "text"


class RedactingFilter(logging.Filter):
    """Masks the configured secrets and secret-shaped values in every part of a record.

    It rewrites the record in place: the message is rendered and masked (``args`` cleared), fields
    given through ``extra=`` are masked recursively, and a traceback is rendered and masked into
    ``exc_text`` (which formatters print instead of formatting ``exc_info`` again).
    """

    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        # Longest first, so a secret that contains another is masked whole. Very short values are
        # skipped: masking every "1" in the logs would hide everything and protect nothing.
        self._secrets = sorted({s for s in secrets if len(s) >= 8}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return _PATTERNS.sub(_mask_match, text) if _may_match_patterns(text) else text

    def filter(self, record: logging.LogRecord) -> bool:
        if record.__dict__.get(_VETTED):
            return True
        message = record.getMessage()
        record.msg, record.args = message, None
        fields = _fields(record)
        if not self._plainly_clean(message, fields):
            record.msg = self.redact(message)
            for key, value in fields.items():
                fields[key] = record.__dict__[key] = MASK if _is_secret_name(key) else self._value(value)
        record.__dict__[_FIELDS] = fields
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True

    def _plainly_clean(self, message: str, fields: dict[str, Any]) -> bool:
        """True when the message and every field (a number, or a string) hold nothing to mask.

        The access and attempt lines, once per request, then cost one search of their joined text
        instead of a rewrite of the message and of each field.
        """
        texts = [message]
        for key, value in fields.items():
            if _is_secret_name(key):
                return False
            kind = type(value)
            if kind is str:
                texts.append(value)
            elif kind not in _PLAIN_TYPES:
                return False
        text = "\n".join(texts)
        if any(secret in text for secret in self._secrets):
            return False
        return not _may_match_patterns(text) or _PATTERNS.search(text) is None

    def _value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, bytes):
            return self.redact(value.decode("latin-1"))
        if isinstance(value, dict):
            return {key: MASK if _is_secret_header(key) else self._value(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            if len(value) == 2 and _is_secret_header(value[0]):  # a (name, value) header pair
                return (self._value(value[0]), MASK)
            return [self._value(item) for item in value]
        return value


def _is_secret_header(name: object) -> bool:
    if isinstance(name, bytes):
        name = name.decode("latin-1")
    return isinstance(name, str) and _is_secret_name(name)


@functools.lru_cache(maxsize=1024)
def _is_secret_name(name: str) -> bool:
    """Remembered: the same few field names are asked about on every line."""
    return name.lower() in _SECRET_HEADERS


# Values that cannot hold a secret (exact types: a str subclass may render as anything).
_PLAIN_TYPES = frozenset({int, float, bool, type(None)})


def _mask_match(match: re.Match[str]) -> str:
    # Keep what names the secret (the URL's user, the header's name) and mask only the value.
    return (match.group("userinfo") or match.group("header") or "") + MASK


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """What came in through ``extra=``: found once, by the filter, and reused by the formatter."""
    found: dict[str, Any] | None = record.__dict__.get(_FIELDS)
    if found is None:
        found = {k: v for k, v in record.__dict__.items() if k not in _RECORD_ATTRS}
    return found


def _timestamp(created: float) -> str:
    """``2026-12-03T18:00:00.123Z``: the second's text is formatted once, the milliseconds per line."""
    second = int(created)
    return f"{_second_text(second)}.{int((created - second) * 1000):03d}Z"


@functools.lru_cache(maxsize=4)
def _second_text(second: int) -> str:
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")


class JsonFormatter(logging.Formatter):
    """``{"ts": …, "level": …, "logger": …, "message": …, <fields>, "exc": …}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        document = _document(
            record.created, record.levelname.lower(), record.name, record.getMessage(), _fields(record)
        )
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            document["exc"] = record.exc_text
        if record.stack_info:
            document["stack"] = record.stack_info
        return _json_line(document)


def _document(
    created: float, level: str, logger: str, message: str, fields: dict[str, Any]
) -> dict[str, Any]:
    """A JSON line's document, in its key order (``JsonFormatter`` and ``log_vetted`` write the same)."""
    return {"ts": _timestamp(created), "level": level, "logger": logger, "message": message, **fields}


def _json_line(document: dict[str, Any]) -> str:
    try:
        return orjson.dumps(document, default=str).decode()
    except TypeError:  # what orjson refuses (an integer beyond 64 bits), the stdlib writes
        return json.dumps(document, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``2026-12-03 18:00:00,123 INFO logger message key=value …`` for people reading a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        fields = _fields(record)
        if fields:
            line += " " + " ".join(f"{key}={value}" for key, value in fields.items())
        return line


class LoopBatchingHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that writes the lines of one event-loop iteration with one write.

    Why: the webhook path logs a line per request, and a write and flush per line was a system call
    per request. A line logged on a thread running an event loop waits for that loop's next round of
    callbacks, by when the requests answered in the same round have added theirs. A line logged
    anywhere else, at WARNING or above, or behind a long queue is written at once, after what waits,
    so order is kept. ``flush()`` (called by ``logging.shutdown`` at exit) writes what waits.
    """

    MAX_PENDING = 256

    def __init__(self, stream: TextIO | None = None):
        super().__init__(stream)
        self._pending: list[str] = []
        self._flush_on: asyncio.AbstractEventLoop | None = None  # the loop a flush is scheduled on

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self.emit_line(line, record.levelno)

    def emit_line(self, line: str, levelno: int) -> None:
        """Queue a formatted line (``emit`` does, and ``log_vetted``'s direct path)."""
        self._pending.append(line)
        loop = asyncio._get_running_loop()
        if loop is None or levelno >= logging.WARNING or len(self._pending) >= self.MAX_PENDING:
            self.flush()
        elif self._flush_on is not loop:  # also when a closed loop never ran its scheduled flush
            self._flush_on = loop
            loop.call_soon(self.flush)

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]  # created in Handler.__init__
            self._flush_on = None
            if self._pending:
                text = self.terminator.join(self._pending) + self.terminator
                self._pending.clear()
                try:
                    self.stream.write(text)
                except Exception:  # as logging does: a failing stream must not break the caller
                    if logging.raiseExceptions:
                        traceback.print_exc()
            super().flush()


_installed: LoopBatchingHandler | None = None  # the root handler ``configure`` put there last


def configure(
    level: str, log_format: LogFormat, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> None:
    """Route every logger (ours, uvicorn's, libraries') to one handler on stderr, redacted."""
    global _installed
    handler = LoopBatchingHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format is LogFormat.JSON else TextFormatter())
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    _installed = handler
    root.setLevel(level.upper())
    # Nothing we write uses the caller's file and line, thread or process names: skip collecting
    # them for every record (the logging HOWTO's "Optimization" section).
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    # uvicorn keeps its own handlers unless told otherwise (cli passes log_config=None); make sure
    # its records come here, and that its access log stays off in favour of ours (app/access.py).
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    # Alembic announces each of its plugins at INFO on every start; the migrations it runs stay.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
