"""Schemathesis over /openapi.json: every /api/v1 operation, generated requests, a valid bearer token.

No answer may be a 5xx, and every answer must match the schema: a documented status code, the
documented content type and headers, and a body that validates against the documented model. The
actions and resources operations reach the fake Twilio (``fake_twilio``), which checks every request
they make against Twilio's own OpenAPI spec.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from schemathesis import APIOperation, BaseSchema, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.main import create_app
from tests.conftest import make_settings
from tests.fake_twilio import FakeTwilio
from tests.reliability.conftest import Figures

TOKEN = "schemathesis-token"
CALLER_VALUE = re.compile(r"Invalid (path )?parameter \w+: ")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


# Examples per operation: valid requests, and requests that break the schema (a documented 4xx each).
MODES = ((GenerationMode.POSITIVE, 30), (GenerationMode.NEGATIVE, 15))


@pytest.fixture
def api_schema(database_url: str, fake_twilio: FakeTwilio) -> Iterator[BaseSchema]:
    """The app, calling the fake Twilio, loaded by schemathesis in-process (it runs the lifespan)."""
    settings_ = make_settings(
        database_url,
        api_token=TOKEN,
        twilio_api_base_url=fake_twilio.base_url,
        twilio_account_sid=fake_twilio.account_sid,
        twilio_auth_token=fake_twilio.auth_token,
    )
    app = create_app(settings_, run_worker=False)
    try:
        yield schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex="^/api/v1/")
    finally:
        asgi.shutdown_lifespans()  # the app's own shutdown: the writer, the pools, the Twilio client
    # Generated values reach Twilio (a 5-character Sid, say) and Twilio refuses them, as it should:
    # those are the caller's to get right. A request of the wrong shape would be the app's own fault.
    shapes = [v for v in fake_twilio.violations if not all(CALLER_VALUE.match(p) for p in v.problems)]
    assert not shapes, "\n".join(map(str, shapes))
    fake_twilio.expect_violations()


def _exercise(
    operation: APIOperation[Any, Any, Any, Any],
    mode: GenerationMode,
    examples: int,
    seed: int,
    cases: list[str],
) -> None:
    @hypothesis_seed(seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Case[Any]) -> None:
        cases.append(operation.label)
        case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, checks=CHECKS)

    run()


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_api_operation_answers_within_its_schema_and_never_5xx(
    api_schema: BaseSchema, seed: int, figures: Figures
) -> None:
    cases: list[str] = []
    failures: list[str] = []
    operations = []
    for result in api_schema.get_all_operations():
        assert isinstance(result, Ok), f"the schema has an operation schemathesis cannot read: {result}"
        operations.append(result.ok())
    for operation in operations:
        for mode, examples in MODES:
            try:
                _exercise(operation, mode, examples, seed, cases)
            except (Exception, BaseExceptionGroup) as exc:  # every operation has its turn; all are reported
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)
    # It really ran: every /api/v1 operation of the schema, many cases each.
    documented = {
        f"{method.upper()} {path}"
        for path, item in api_schema.raw_schema["paths"].items()
        if path.startswith("/api/v1/")
        for method in item
    }
    assert set(cases) == {operation.label for operation in operations} == documented
    assert len(cases) >= len(operations) * 20

    figures["operations"] = len(operations)
    figures["cases"] = len(cases)
