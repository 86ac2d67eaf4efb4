"""Request parameters as Twilio receives them: ordered `(name, value)` pairs in which a key may repeat.

Owns parsing a query string or urlencoded body without losing repeated keys (`MediaUrl=a&MediaUrl=b` is
Twilio's wire format for arrays) and the small read API the rest of the fake uses on them.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl

Pairs = list[tuple[str, str]]


def parse_pairs(encoded: str) -> Pairs:
    """Decode `a=1&b=2&a=3`, keeping order, repeats and blank values (`Body=` redacts a message)."""
    return parse_qsl(encoded, keep_blank_values=True)


@dataclass(frozen=True, slots=True)
class Params:
    pairs: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, pairs: Pairs) -> "Params":
        return cls(tuple(pairs))

    def get(self, name: str) -> str | None:
        """The first value sent for `name`, or None."""
        return next((value for key, value in self.pairs if key == name), None)

    def getall(self, name: str) -> list[str]:
        return [value for key, value in self.pairs if key == name]

    def present(self, name: str) -> bool:
        """Sent with a non-empty value: Twilio treats `From=` like a missing `From`."""
        return any(key == name and value != "" for key, value in self.pairs)

    def names(self) -> list[str]:
        """Distinct names, in first-seen order."""
        return list(dict.fromkeys(key for key, _ in self.pairs))

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.pairs)

    def __bool__(self) -> bool:
        return bool(self.pairs)
