"""`FakeTwilio`, the face tests use: one fake account, its ASGI app, and the levers to drive and inspect it.

Owns the test-facing API: credentials, the `app` (for `httpx.ASGITransport`), `serve()`/`running()` on a
real port, seeding (`add`) and reading (`get`, `all`) resources, `requests` and `violations`, fault
injection (`fail_next`) and `reset`. The parts it wires together each live in their own module.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Self

from .app import FakeTwilioApp
from .auth import Authenticator
from .faults import Fault, Faults
from .handlers import Handlers
from .journal import Journal, RecordedRequest, Violation
from .resources import ACCOUNTS, ResourceFactory, resolve_handle
from .server import ServerThread
from .spec import API_PREFIX, Collection, Spec, snake
from .state import Resource, Store

DEFAULT_ACCOUNT_SID = "AC" + "fa4e" * 8
DEFAULT_AUTH_TOKEN = "7e57" * 8


class FakeTwilio:
    def __init__(
        self,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        *,
        spec: Spec | None = None,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.spec = spec or Spec.load()
        self.violations_expected = False
        self._store = Store()
        self._journal = Journal()
        self._faults = Faults()
        self._factory = ResourceFactory(self.spec)
        auth = Authenticator(self._store)
        handlers = Handlers(self.spec, self._store, self._factory, auth)
        self.app = FakeTwilioApp(self.spec, handlers, auth, self._journal, self._faults)
        self._server: ServerThread | None = None
        self._seed_main_account()

    # -- running ---------------------------------------------------------------------------------------

    @classmethod
    @contextmanager
    def serve(
        cls, account_sid: str = DEFAULT_ACCOUNT_SID, auth_token: str = DEFAULT_AUTH_TOKEN
    ) -> Iterator[Self]:
        """`with FakeTwilio.serve() as fake:` a new fake listening on 127.0.0.1 at `fake.base_url`."""
        fake = cls(account_sid, auth_token)
        with fake.running():
            yield fake

    @contextmanager
    def running(self) -> Iterator[Self]:
        server = ServerThread(self.app)
        server.start()
        self._server = server
        try:
            yield self
        finally:
            self._server = None
            server.stop()

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT` while serving: what `TWILIO_API_BASE_URL` should be."""
        if self._server is None:
            raise RuntimeError("not serving: use FakeTwilio.serve(), or fake.app with httpx.ASGITransport")
        return self._server.base_url

    @property
    def auth(self) -> tuple[str, str]:
        """`(account_sid, auth_token)`, ready for `httpx.Client(auth=...)`."""
        return self.account_sid, self.auth_token

    @property
    def env(self) -> dict[str, str]:
        """The settings that point Switchboard at this fake (for `monkeypatch.setenv`)."""
        return {
            "TWILIO_ACCOUNT_SID": self.account_sid,
            "TWILIO_AUTH_TOKEN": self.auth_token,
            "TWILIO_API_BASE_URL": self.base_url,
        }

    def path(self, relative: str) -> str:
        """`fake.path("Messages.json")` -> `/2010-04-01/Accounts/AC.../Messages.json`."""
        return f"{API_PREFIX}/Accounts/{self.account_sid}/{relative.lstrip('/')}"

    # -- seeding and reading ---------------------------------------------------------------------------

    def add(self, handle: str, resource: dict[str, Any] | None = None, /, **parents: str) -> Resource:
        """Store a resource as if Twilio had it, completed with the schema's defaults; returns it.

        `handle` is a name from `resources.HANDLES` ("messages", "participants", ...) or a collection
        template. Parent path parameters go as snake_case keywords: `conference_sid="CF..."`,
        `country_code="US"`; `account_sid` defaults to the fake's account.
        """
        collection = self.spec.collection(resolve_handle(handle))
        fields = dict(resource or {})
        if collection.name == ACCOUNTS:
            fields.setdefault("owner_account_sid", self.account_sid)
        scope = self._scope(collection, fields, parents)
        key, built = self._factory.build(collection, scope, fields)
        self._store.put(collection.name, tuple(scope.values()), key, built)
        return built

    def get(self, handle: str, key: str, /, **parents: str) -> Resource | None:
        """The stored resource with this SID (or `call_sid`, `phone_number`...), or None."""
        collection = self.spec.collection(resolve_handle(handle))
        return self._store.get(collection.name, tuple(self._scope(collection, {}, parents).values()), key)

    def all(self, handle: str, /, **parents: str) -> list[Resource]:
        collection = self.spec.collection(resolve_handle(handle))
        scope = tuple(self._scope(collection, {}, parents).values())
        return [resource for _, resource in self._store.items(collection.name, scope)]

    # -- inspecting ------------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        return self._journal.requests

    @property
    def violations(self) -> list[Violation]:
        return self._journal.violations

    def expect_violations(self) -> None:
        """Tell the `fake_twilio` fixture this test sends spec-invalid requests on purpose."""
        self.violations_expected = True

    def assert_no_violations(self) -> None:
        if self.violations:
            raise AssertionError("requests Twilio's spec rejects:\n" + "\n".join(map(str, self.violations)))

    # -- faults ----------------------------------------------------------------------------------------

    def fail_next(
        self,
        status: int = 500,
        *,
        code: int | None = None,
        message: str | None = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
        method: str | None = None,
        path: str | None = None,
        delay: float = 0.0,
        raw_body: bytes | None = None,
    ) -> Fault:
        """Make the next `times` requests (matching `method` and containing `path`, if given) fail.

        The answer is Twilio's error JSON with `code` (default: 20429 for 429, 20500 for 500, 20503 for
        503) unless `raw_body` replaces it (e.g. an HTML 502 from a proxy). `delay` seconds pass first,
        which lets a test trigger a client timeout.
        """
        fault = Fault(status, code, message, dict(headers or {}), times, method, path, delay, raw_body)
        self._faults.arm(fault)
        return fault

    def reset(self) -> None:
        """Forget resources, requests, violations and armed faults; the main account stays."""
        self._store.clear()
        self._journal.clear()
        self._faults.clear()
        self.violations_expected = False
        self._seed_main_account()

    # -- internals -------------------------------------------------------------------------------------

    def _seed_main_account(self) -> None:
        self.add(
            "accounts",
            {
                "sid": self.account_sid,
                "auth_token": self.auth_token,
                "friendly_name": "Fake Twilio main account",
                "owner_account_sid": self.account_sid,
            },
        )

    def _scope(
        self, collection: Collection, fields: dict[str, Any], parents: dict[str, str]
    ) -> dict[str, str]:
        """Values of the collection's path parameters, from keywords, the resource itself, or defaults."""
        unknown = set(parents) - {snake(param) for param in collection.scope_params}
        if unknown:
            raise TypeError(
                f"{collection.name} has no parent {sorted(unknown)}; it takes {collection.scope_params}"
            )
        scope = {}
        for param in collection.scope_params:
            value = parents.get(snake(param)) or fields.get(snake(param))
            if value is None and param == "AccountSid":
                value = self.account_sid
            if value is None:
                raise TypeError(f"{collection.name} needs {snake(param)}=...")
            scope[param] = str(value)
        return scope
