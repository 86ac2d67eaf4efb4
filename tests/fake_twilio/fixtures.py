"""pytest fixtures for the fake Twilio API. Register them from `tests/conftest.py` with
`pytest_plugins = ["tests.fake_twilio.fixtures"]`.

- `fake_twilio_server` (session): one fake served on a real local port for the whole run.
- `fake_twilio`: that server, reset for this test; fails the test at teardown if a request broke
  Twilio's spec, unless the test called `fake_twilio.expect_violations()`.
- `fake_twilio_asgi`: a fresh fake that is not listening, for `httpx.ASGITransport(app=fake.app)`.
"""

from collections.abc import Iterator

import pytest

from .fake import FakeTwilio


@pytest.fixture(scope="session")
def fake_twilio_server() -> Iterator[FakeTwilio]:
    with FakeTwilio.serve() as fake:
        yield fake


@pytest.fixture
def fake_twilio(fake_twilio_server: FakeTwilio) -> Iterator[FakeTwilio]:
    fake_twilio_server.reset()
    yield fake_twilio_server
    _fail_on_unexpected_violations(fake_twilio_server)


@pytest.fixture
def fake_twilio_asgi() -> Iterator[FakeTwilio]:
    fake = FakeTwilio()
    yield fake
    _fail_on_unexpected_violations(fake)


def _fail_on_unexpected_violations(fake: FakeTwilio) -> None:
    if fake.violations and not fake.violations_expected:
        listed = "\n".join(f"  {violation}" for violation in fake.violations)
        pytest.fail(
            f"requests Twilio's spec rejects (call expect_violations() if intended):\n{listed}", pytrace=False
        )
