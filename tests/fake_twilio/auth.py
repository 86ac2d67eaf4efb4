"""HTTP Basic authentication the way Twilio checks it, against accounts and API keys in the store.

Owns: decoding the `Authorization` header, accepting `AccountSid:AuthToken` of the main account or of a
subaccount, or `KeySid:KeySecret` of a key created through the fake, and deciding which accounts'
paths a principal may use (its own, plus its subaccounts').
"""

import base64
import binascii
import hmac
from dataclasses import dataclass

from .resources import ACCOUNTS, KEYS
from .state import Store


@dataclass(frozen=True, slots=True)
class Principal:
    """The account whose credentials (or API key) authenticated the request."""

    account_sid: str


class Authenticator:
    def __init__(self, store: Store) -> None:
        self._store = store

    def authenticate(self, authorization: str | None) -> Principal | None:
        credentials = _basic(authorization)
        if credentials is None:
            return None
        username, password = credentials
        if username.startswith("AC"):
            account = self._store.get(ACCOUNTS, (), username)
            if account and account.get("status") != "closed" and _same(account.get("auth_token"), password):
                return Principal(username)
        elif username.startswith("SK"):
            for scope, sid, key in self._store.scan(KEYS):
                if sid == username and _same(key.get("secret"), password):
                    return Principal(scope[0])
        return None

    def may_access(self, principal: Principal, account_sid: str) -> bool:
        if account_sid == principal.account_sid:
            return True
        account = self._store.get(ACCOUNTS, (), account_sid)
        return account is not None and account.get("owner_account_sid") == principal.account_sid


def _basic(authorization: str | None) -> tuple[str, str] | None:
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None


def _same(expected: object, given: str) -> bool:
    return isinstance(expected, str) and hmac.compare_digest(expected.encode(), given.encode())
