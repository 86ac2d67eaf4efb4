"""Progress on stderr: a bar redrawn in place on a terminal, throttled plain lines elsewhere."""

from __future__ import annotations

import io

from app.progress import Progress


def test_on_a_terminal_the_bar_is_redrawn_in_place() -> None:
    stream = io.StringIO()
    progress = Progress(4, "events", stream, tty=True)
    progress.advance(1)
    progress.advance(3)
    progress.finish()
    frames = stream.getvalue().split("\r")[1:]
    assert frames[0].startswith("[" + "#" * 8 + "-" * 22 + "]  25% 1/4 events, ")
    assert frames[-1].startswith("[" + "#" * 30 + "] 100% 4/4 events, ") and frames[-1].endswith("/s\n")


def test_elsewhere_plain_lines_at_most_every_interval_and_one_at_the_end() -> None:
    stream = io.StringIO()
    progress = Progress(3000, "events", stream, every=3600, tty=False)
    for _ in range(3):
        progress.advance(1000)
    progress.finish()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2  # the first batch, then the end: the interval held back the rest
    assert lines[0].startswith("1000/3000 events, ") and lines[-1].startswith("3000/3000 events, ")
    assert "\r" not in stream.getvalue()
