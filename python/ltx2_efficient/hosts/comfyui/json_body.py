"""The guard in front of every JSON body the panel's routes accept.

A request body is read only up to ``BodyLimits.max_bytes`` (413 past it, before anything is
parsed), must be UTF-8, and must parse to JSON within bounds on nesting, container sizes, string
lengths and number digits, so that no body can make the server recurse without end, convert an
unbounded integer, allocate without limit or echo a huge value back. Every refusal is a
:class:`BadBody` with the HTTP status to answer and a one-line message; values quoted in
messages are cut to ``QUOTE_CHARS`` characters. Nothing here imports aiohttp: ``read_body``
takes any object with aiohttp's ``content_length`` and ``content.read(n)``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

QUOTE_CHARS = 80
# The charsets that name UTF-8 (JSON text exchanged between systems is UTF-8, RFC 8259 8.1);
# ASCII is a subset of it.
UTF8_CHARSETS = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})


@dataclass(frozen=True)
class BodyLimits:
    """Bounds of an accepted body; the defaults are far above any request the panel sends."""

    max_bytes: int = 64 * 1024
    max_depth: int = 8  # an object inside an object is depth 2
    max_items: int = 256  # members of one object or elements of one array
    max_string: int = QUOTE_CHARS  # characters of one string or key
    max_digits: int = 32  # digits of one number


DEFAULT_LIMITS = BodyLimits()


class BadBody(ValueError):
    """A request body refused before it reached the route's own validation."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def quote(value: object, limit: int = QUOTE_CHARS) -> str:
    """``repr(value)`` of at most about ``limit`` characters, saying the full length when cut."""
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return f"{value[:limit]!r}… ({len(value)} characters)"
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def clip_message(message: str, limit: int = 4 * QUOTE_CHARS) -> str:
    """A message cut to ``limit`` characters: the last guard before text goes back to a client."""
    message = " ".join(message.split())  # one line
    return message if len(message) <= limit else message[: limit - 1] + "…"


async def read_body(request: Any, limits: BodyLimits = DEFAULT_LIMITS) -> bytes:
    """The raw body, read in chunks and refused with 413 as soon as it exceeds ``max_bytes``."""
    declared = request.content_length
    if declared is not None and declared > limits.max_bytes:
        raise BadBody(_too_large(declared, limits), status=413)
    data = bytearray()
    while chunk := await request.content.read(1 << 16):
        data += chunk
        if len(data) > limits.max_bytes:
            raise BadBody(_too_large(None, limits), status=413)
    return bytes(data)


def _too_large(size: int | None, limits: BodyLimits) -> str:
    said = f"{size} bytes" if size is not None else "more"
    return f"the request body must be at most {limits.max_bytes} bytes, got {said}"


def parse_json_body(raw: bytes, charset: str | None = None, limits: BodyLimits = DEFAULT_LIMITS) -> Any:
    """The JSON value of a body, or :class:`BadBody` saying in one line what is wrong with it.

    ``charset`` is the Content-Type's charset parameter (None when absent); only UTF-8 is taken.
    """
    if len(raw) > limits.max_bytes:
        raise BadBody(_too_large(len(raw), limits), status=413)
    if charset is not None and charset.strip().lower() not in UTF8_CHARSETS:
        raise BadBody(f"the request body must be UTF-8 JSON, got charset {quote(charset)}")
    try:
        text = raw.decode("utf-8-sig")  # a leading byte order mark is allowed and dropped
    except UnicodeDecodeError as exc:
        raise BadBody(f"the request body is not valid UTF-8 (byte {exc.start})") from None
    if not text.strip():
        raise BadBody("the request body is empty; expected a JSON object")
    try:
        value = json.loads(
            text,
            parse_int=lambda s: _number(s, int, limits),
            parse_float=lambda s: _number(s, float, limits),
            parse_constant=_constant,
            object_pairs_hook=lambda pairs: _object(pairs, limits),
        )
    except json.JSONDecodeError as exc:
        raise BadBody(
            f"the request body must be JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise BadBody(f"the request body nests deeper than {limits.max_depth} levels") from None
    _check_shape(value, limits)
    return value


def _number(text: str, kind: type, limits: BodyLimits) -> int | float:
    digits = sum(c.isdigit() for c in text)
    if digits > limits.max_digits:
        raise BadBody(f"a number in the request body has {digits} digits; at most {limits.max_digits}")
    number = kind(text)
    if isinstance(number, float) and not math.isfinite(number):
        raise BadBody(f"a number in the request body is out of range: {quote(text)}")
    return number


def _constant(name: str) -> float:
    raise BadBody(f"{name} is not a JSON number")


def _object(pairs: list[tuple[str, Any]], limits: BodyLimits) -> dict[str, Any]:
    if len(pairs) > limits.max_items:
        raise BadBody(f"an object in the request body has {len(pairs)} members; at most {limits.max_items}")
    out: dict[str, Any] = {}
    for key, value in pairs:
        if len(key) > limits.max_string:
            raise BadBody(f"a key in the request body is {len(key)} characters long: {quote(key)}")
        if key in out:
            raise BadBody(f"the request body names {quote(key)} twice")
        out[key] = value
    return out


def _check_shape(value: Any, limits: BodyLimits) -> None:
    """Depth, array sizes and string lengths, walked without recursion."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if len(item) > limits.max_string:
                raise BadBody(
                    f"a string in the request body is {len(item)} characters long; at most "
                    f"{limits.max_string}: {quote(item)}"
                )
            continue
        if not isinstance(item, (dict, list)):
            continue
        if depth > limits.max_depth:
            raise BadBody(f"the request body nests deeper than {limits.max_depth} levels")
        if isinstance(item, list) and len(item) > limits.max_items:
            raise BadBody(
                f"an array in the request body has {len(item)} elements; at most {limits.max_items}"
            )
        stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
