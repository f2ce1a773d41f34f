"""Personal data kept from the language models it should not reach.

Before a prompt goes to a provider the policy covers (by default every provider but the
in-process one), US social security numbers, payment card numbers (Luhn-checked), bank
routing (ABA-checked) and account numbers, e-mail addresses, phone numbers and, optionally,
names given by the caller (the parties in the documents' metadata) are replaced by
placeholders such as `[EMAIL_1]`; the same value always gets the same placeholder within one
call. The answer's placeholders are put back before anyone reads it, streamed pieces
included (a placeholder split across two pieces is held back until it is whole).

Validation comes from well-kept libraries: `phonenumbers` (Google's phone number library)
finds phone numbers, `python-stdnum` checks card, routing and social security numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import phonenumbers
from stdnum import luhn
from stdnum.us import rtn, ssn

from lexbase.providers.llm.base import ChatMessage

Scope = Literal["off", "external", "all"]
IN_PROCESS = frozenset({"local"})  # providers whose prompts never leave this machine

_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
_SSN = re.compile(r"\b\d{3}[- ]\d{2}[- ]\d{4}\b")
_CARD = re.compile(r"\b\d(?:[ -]?\d){12,18}\b")
_ROUTING = re.compile(
    r"\b(?:routing|ABA|RTN|transit)(?:\s+(?:number|no\.?|#))?\s*[:#]?\s*(\d{9})\b",
    re.IGNORECASE,
)
_ACCOUNT = re.compile(
    r"\b(?:account|acct\.?)(?:\s+(?:number|no\.?|#))?\s*[:#]?\s*(\d(?:[ -]?\d){3,16})\b",
    re.IGNORECASE,
)
_PLACEHOLDER = re.compile(r"\[(?:SSN|CARD|ROUTING|ACCOUNT|EMAIL|PHONE|PARTY)_\d+\]")
_LONGEST_PLACEHOLDER = len("[ACCOUNT_99999]")


@dataclass(frozen=True)
class Privacy:
    """Which providers get redacted prompts, and which names count as personal data."""

    scope: Scope = "external"
    names: tuple[str, ...] = ()

    def applies_to(self, provider: str) -> bool:
        if self.scope == "off":
            return False
        return self.scope == "all" or provider not in IN_PROCESS


@dataclass
class Redaction:
    """One call's placeholders: what each stands for."""

    names: Sequence[str] = ()
    originals: dict[str, str] = field(default_factory=dict)
    _by_value: dict[tuple[str, str], str] = field(default_factory=dict)

    def messages(self, messages: Sequence[ChatMessage]) -> list[ChatMessage]:
        return [ChatMessage(m.role, self.text(m.content)) for m in messages]

    def text(self, text: str) -> str:
        spans = _resolve(_find(text, self.names))
        parts, at = [], 0
        for start, end, kind in spans:
            parts.append(text[at:start])
            parts.append(self._placeholder(kind, text[start:end]))
            at = end
        parts.append(text[at:])
        return "".join(parts)

    def restore(self, text: str) -> str:
        return _PLACEHOLDER.sub(lambda m: self.originals.get(m.group(0), m.group(0)), text)

    def _placeholder(self, kind: str, value: str) -> str:
        key = (kind, value.casefold())  # "Jane Roe" and "jane roe" are one person
        if key not in self._by_value:
            count = sum(1 for k, _ in self._by_value if k == kind) + 1
            placeholder = f"[{kind}_{count}]"
            self._by_value[key] = placeholder
            self.originals[placeholder] = value
        return self._by_value[key]


class StreamRestorer:
    """Puts placeholders back in streamed pieces, holding back a piece's tail while it may
    be the start of a placeholder the next piece completes."""

    def __init__(self, redaction: Redaction) -> None:
        self.redaction = redaction
        self.pending = ""

    def feed(self, piece: str) -> str:
        text = self.pending + piece
        cut = text.rfind("[")
        if cut != -1 and "]" not in text[cut:] and len(text) - cut < _LONGEST_PLACEHOLDER:
            text, self.pending = text[:cut], text[cut:]
        else:
            self.pending = ""
        return self.redaction.restore(text)

    def flush(self) -> str:
        text, self.pending = self.pending, ""
        return self.redaction.restore(text)


def _find(text: str, names: Iterable[str]) -> list[tuple[int, int, str]]:
    spans: list[tuple[int, int, str]] = []
    spans += [(m.start(), m.end(), "EMAIL") for m in _EMAIL.finditer(text)]
    spans += [
        (m.start(), m.end(), "SSN")
        for m in _SSN.finditer(text)
        if ssn.is_valid(re.sub(r"\D", "", m.group(0)))
    ]
    spans += [
        (m.start(), m.end(), "CARD")
        for m in _CARD.finditer(text)
        if luhn.is_valid(re.sub(r"\D", "", m.group(0)))
    ]
    spans += [
        (m.start(1), m.end(1), "ROUTING") for m in _ROUTING.finditer(text) if rtn.is_valid(m[1])
    ]
    spans += [(m.start(1), m.end(1), "ACCOUNT") for m in _ACCOUNT.finditer(text)]
    spans += [
        (m.start, m.end, "PHONE")
        for m in phonenumbers.PhoneNumberMatcher(text, "US", phonenumbers.Leniency.VALID)
    ]
    for name in names:
        if len(name.strip()) < 3:
            continue
        pattern = re.compile(rf"(?<!\w){re.escape(name.strip())}(?!\w)", re.IGNORECASE)
        spans += [(m.start(), m.end(), "PARTY") for m in pattern.finditer(text)]
    return spans


def _resolve(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Non-overlapping spans, in order: of two that overlap, the earlier (then longer) wins."""
    chosen: list[tuple[int, int, str]] = []
    for start, end, kind in sorted(spans, key=lambda s: (s[0], -(s[1] - s[0]))):
        if chosen and start < chosen[-1][1]:
            continue
        chosen.append((start, end, kind))
    return chosen
