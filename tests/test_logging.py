"""Log output: JSON lines with fields (or text), and secrets masked wherever they appear in a record."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest

from app.logging import MASK, LogFormat, configure, log_vetted, vetted

AUTH_TOKEN = "12345678901234567890123456789012"
API_TOKEN = "my-configured-api-token-value"


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    configure("DEBUG", LogFormat.JSON, [AUTH_TOKEN, API_TOKEN, "short"], stream=stream)
    yield stream
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def records(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_json_line_has_time_level_logger_message_and_fields(output: io.StringIO) -> None:
    logging.getLogger("switchboard.test").info(
        "hello %s", "world", extra={"delivery_id": "dlv_1", "attempt": 2}
    )
    [record] = records(output)
    assert record["level"] == "info" and record["logger"] == "switchboard.test"
    assert record["message"] == "hello world"
    assert record["delivery_id"] == "dlv_1" and record["attempt"] == 2
    assert str(record["ts"]).endswith("Z")


@pytest.mark.parametrize(
    ("message", "leaked"),
    [
        (f"token {AUTH_TOKEN} in a message", AUTH_TOKEN),
        (f"the API token is {API_TOKEN}", API_TOKEN),
        ("secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw= rotated", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw="),
        ("created sbt_Qx-3_abcDEF0123456789xyz", "sbt_Qx-3_abcDEF0123456789xyz"),
        ("headers: Authorization: Bearer opaque-value-123", "opaque-value-123"),
        ("{'x-twilio-signature': 'RSOYDt4T1cUTdK1PDd93/VVr8B8='}", "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        ("authorization=Basic QUM6dG9rZW4=", "QUM6dG9rZW4="),
        ("cannot reach postgresql://switchboard:hunter2pass@db:5432/x", "hunter2pass"),
    ],
    ids=[
        "auth-token",
        "api-token",
        "whsec",
        "sbt",
        "authorization-header",
        "signature-in-repr",
        "basic",
        "url-password",
    ],
)
def test_secrets_in_messages_are_masked(output: io.StringIO, message: str, leaked: str) -> None:
    logging.getLogger("any.library").warning(message)
    line = output.getvalue()
    assert leaked not in line and MASK in line


def test_secrets_in_arguments_fields_and_headers_are_masked(output: io.StringIO) -> None:
    logging.getLogger("x").info(
        "request %s",
        {"token": AUTH_TOKEN},
        extra={
            "headers": {"Authorization": "Bearer abc", "X-Twilio-Signature": "sig=", "Accept": "*/*"},
            "raw_headers": [(b"authorization", b"Bearer abc"), (b"host", b"example.com")],
            "note": f"see {API_TOKEN}",
            "authorization": "Bearer plain-field",
        },
    )
    [record] = records(output)
    text = json.dumps(record)
    assert AUTH_TOKEN not in text and API_TOKEN not in text and "abc" not in text and "sig=" not in text
    assert "plain-field" not in text
    assert record["headers"] == {"Authorization": MASK, "X-Twilio-Signature": MASK, "Accept": "*/*"}
    assert record["raw_headers"] == [["authorization", MASK], ["host", "example.com"]]
    assert record["authorization"] == MASK


def test_a_traceback_is_masked_too(output: io.StringIO) -> None:
    try:
        raise RuntimeError(f"failed with {AUTH_TOKEN}")
    except RuntimeError:
        logging.getLogger("x").exception("it broke")
    [record] = records(output)
    assert "RuntimeError" in str(record["exc"]) and AUTH_TOKEN not in output.getvalue()


def test_short_configured_values_are_not_masked_everywhere(output: io.StringIO) -> None:
    logging.getLogger("x").info("a short value appears in ordinary words")
    assert records(output)[0]["message"] == "a short value appears in ordinary words"


def test_the_text_format_appends_fields_as_key_value() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        configure("INFO", LogFormat.TEXT, [AUTH_TOKEN], stream=stream)
        logging.getLogger("switchboard.access").info(
            "GET /healthz 200", extra={"status": 200, "secret": AUTH_TOKEN}
        )
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    line = stream.getvalue().strip()
    assert line.endswith(f"INFO switchboard.access GET /healthz 200 status=200 secret={MASK}")


class CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


@pytest.fixture
def counted() -> Iterator[CountingStream]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = CountingStream()
    configure("INFO", LogFormat.JSON, [AUTH_TOKEN], stream=stream)
    yield stream
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def test_lines_logged_in_one_loop_iteration_are_written_together_and_in_order(
    counted: CountingStream,
) -> None:
    log = logging.getLogger("switchboard.test")

    async def requests() -> int:
        for i in range(5):
            log.info("request %d", i)
        pending = counted.writes
        await asyncio.sleep(0)  # the loop's next round of callbacks writes them
        return pending

    assert asyncio.run(requests()) == 0
    assert counted.writes == 1
    assert [r["message"] for r in records(counted)] == [f"request {i}" for i in range(5)]


def test_a_warning_writes_at_once_after_what_waits(counted: CountingStream) -> None:
    log = logging.getLogger("switchboard.test")

    async def trouble() -> list[str]:
        log.info("before")
        log.warning("trouble")
        return [str(r["message"]) for r in records(counted)]

    assert asyncio.run(trouble()) == ["before", "trouble"]


def test_lines_outside_an_event_loop_are_written_at_once(counted: CountingStream) -> None:
    logging.getLogger("switchboard.test").info("no loop here")
    assert [r["message"] for r in records(counted)] == ["no loop here"]


def test_what_a_closed_loop_never_wrote_is_written_by_the_next_flush(counted: CountingStream) -> None:
    log = logging.getLogger("switchboard.test")
    loop = asyncio.new_event_loop()
    asyncio._set_running_loop(loop)  # a line logged on a loop that is then closed before its next round
    try:
        log.info("first loop")
    finally:
        asyncio._set_running_loop(None)
        loop.close()
    assert counted.getvalue() == ""

    async def next_loop() -> None:
        log.info("second loop")
        await asyncio.sleep(0)

    asyncio.run(next_loop())
    assert [r["message"] for r in records(counted)] == ["first loop", "second loop"]


def test_a_vetted_record_is_written_as_given_and_others_are_still_masked(output: io.StringIO) -> None:
    log = logging.getLogger("switchboard.access")
    fields = {"path": "/webhooks/twilio/messages", "status": 200, "event_id": "evt_1"}
    log.info("POST %s %d", "/webhooks/twilio/messages", 200, extra=vetted(fields))
    log.info("POST %s", AUTH_TOKEN, extra={"path": AUTH_TOKEN})
    vetted_line, masked_line = records(output)
    assert vetted_line["message"] == "POST /webhooks/twilio/messages 200"
    assert {k: vetted_line[k] for k in fields} == fields
    assert not any(key.startswith("_switchboard") for key in vetted_line)
    assert masked_line["message"] == f"POST {MASK}" and masked_line["path"] == MASK


def test_log_vetted_writes_the_line_a_vetted_record_would(output: io.StringIO) -> None:
    log = logging.getLogger("app.delivery.worker")
    fields = {"delivery_id": "dlv_1", "attempt": 2, "status_code": 204, "error": None}
    log_vetted(log, logging.INFO, "delivery attempt", fields)  # the direct path: only our handler
    log.info("delivery attempt", extra=vetted(fields))
    direct, through_logging = (json.loads(line) for line in output.getvalue().splitlines())
    assert list(direct) == list(through_logging)  # the same keys, in the same order
    assert {**direct, "ts": None} == {**through_logging, "ts": None}
    assert str(direct["ts"]).endswith("Z") and len(str(direct["ts"])) == len(str(through_logging["ts"]))


def test_log_vetted_goes_through_logging_wherever_another_handler_or_a_filter_listens(
    output: io.StringIO,
) -> None:
    log = logging.getLogger("app.delivery.worker")
    caught: list[logging.LogRecord] = []
    listener = logging.Handler()
    listener.emit = caught.append  # type: ignore[method-assign]
    log.addHandler(listener)
    try:
        log_vetted(log, logging.INFO, "delivery attempt", {"attempt": 1})
    finally:
        log.removeHandler(listener)
    dropped = logging.Filter("elsewhere")  # passes only the "elsewhere" logger's records
    log.addFilter(dropped)
    try:
        log_vetted(log, logging.INFO, "filtered out", {"attempt": 2})
    finally:
        log.removeFilter(dropped)
    assert [(r.getMessage(), r.__dict__["attempt"]) for r in caught] == [("delivery attempt", 1)]
    assert [r["message"] for r in records(output)] == ["delivery attempt"]


def test_log_vetted_writes_nothing_below_the_level_and_text_as_text() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        configure("WARNING", LogFormat.TEXT, [], stream=stream)
        log = logging.getLogger("app.delivery.worker")
        log_vetted(log, logging.INFO, "delivery attempt", {"attempt": 1})
        log_vetted(log, logging.WARNING, "delivery attempt", {"attempt": 7})
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    [line] = stream.getvalue().splitlines()
    assert line.endswith("WARNING app.delivery.worker delivery attempt attempt=7")


def test_log_vetted_lines_keep_their_order_with_other_records(counted: CountingStream) -> None:
    log = logging.getLogger("switchboard.access")

    async def requests() -> None:
        log.info("first")
        log_vetted(log, logging.INFO, "second", {"status": 200})
        log.warning("third")  # a warning writes what waits, then itself

    asyncio.run(requests())
    assert [r["message"] for r in records(counted)] == ["first", "second", "third"]
    assert counted.writes == 1
