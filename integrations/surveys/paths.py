"""A small JSON-path-like language for reading survey payloads.

Syntax::

    path      := step ( "." key | "[" index "]" | "[" selector "]" )*
    step      := key | "$"
    key       := one or more characters other than . [ ] = (spaces allowed: "Customer ID")
    index     := -?[0-9]+                   e.g. answers[0], pages[-1]
    selector  := key("." key)* "=" value    e.g. answers[ref=nps_score], answers[field.type=long_text]

* ``a.b`` reads key ``b`` of object ``a``.
* ``[0]`` reads one element of a list (negative counts from the end).
* ``[k=v]`` picks the first element of a list whose (possibly dotted) key ``k`` equals ``v``;
  values are compared as text, so ``[id=42]`` matches ``42`` and ``"42"`` and ``[ok=true]`` matches
  ``true``.
* ``$`` alone is the whole payload.

Reading distinguishes *absent* from *unreadable*, because the two mean different things to the
service: an absent optional answer (a skipped question) is normal, while a path that runs into
the wrong type (indexing a string, selecting inside an object) means the mapping does not fit
the payload, and the delivery must be quarantined with that reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_ABSENT = object()

_KEY = r"[^.\[\]=]+"
_SELECTOR = re.compile(rf"^({_KEY}(?:\.{_KEY})*)=([^\[\]]*)$")
_INDEX = re.compile(r"^-?[0-9]+$")
_KEY_AT = re.compile(_KEY)


class PathSyntaxError(ValueError):
    """The path text itself is invalid (raised while a mapping definition is validated)."""


class PathTypeError(Exception):
    """The payload has the wrong shape where the path expects an object or list."""

    def __init__(self, at: str, reason: str) -> None:
        super().__init__(f"{at}: {reason}")
        self.at = at
        self.reason = reason


@dataclass(frozen=True)
class Key:
    name: str


@dataclass(frozen=True)
class Index:
    pos: int


@dataclass(frozen=True)
class Select:
    key: tuple[str, ...]
    value: str


Step = Key | Index | Select


@dataclass(frozen=True)
class Path:
    text: str
    steps: tuple[Step, ...]

    def __str__(self) -> str:
        return self.text


def parse_path(text: str) -> Path:
    if not isinstance(text, str) or not text:
        raise PathSyntaxError("path must be a non-empty string")
    if text == "$":
        return Path(text, ())
    steps: list[Step] = []
    i, n = 0, len(text)
    expect_key = True  # a key is required at the start and after every "."
    while i < n:
        ch = text[i]
        if ch == "[":
            end = text.find("]", i)
            if end < 0:
                raise PathSyntaxError(f"unclosed '[' at position {i} in {text!r}")
            if expect_key and i == 0:
                raise PathSyntaxError(f"{text!r} must start with a key, not '['")
            inner = text[i + 1 : end]
            if _INDEX.match(inner):
                steps.append(Index(int(inner)))
            elif m := _SELECTOR.match(inner):
                steps.append(Select(tuple(m.group(1).split(".")), m.group(2)))
            else:
                raise PathSyntaxError(f"[{inner}] in {text!r} is neither an index nor key=value")
            i = end + 1
            expect_key = False
        elif ch == ".":
            if expect_key:
                raise PathSyntaxError(f"empty key at position {i} in {text!r}")
            i += 1
            expect_key = True
        else:
            if not expect_key:
                raise PathSyntaxError(f"missing '.' before position {i} in {text!r}")
            m = _KEY_AT.match(text, i)
            if m is None:
                raise PathSyntaxError(f"unexpected {ch!r} at position {i} in {text!r}")
            steps.append(Key(m.group(0)))
            i = m.end()
            expect_key = False
    if expect_key:
        raise PathSyntaxError(f"{text!r} ends with '.'")
    return Path(text, tuple(steps))


def _as_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


def _sub(obj: Any, keys: tuple[str, ...]) -> Any:
    for k in keys:
        if not isinstance(obj, dict) or k not in obj:
            return _ABSENT
        obj = obj[k]
    return obj


def _type_name(value: Any) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean"}.get(
        type(value), type(value).__name__
    )


def resolve(payload: Any, path: Path) -> Any:
    """The value at ``path``, or ``None`` if absent; raises :class:`PathTypeError` on a shape clash.

    JSON ``null`` reads as absent: vendors send ``"hidden": null`` for "no hidden fields".
    """
    obj = payload
    walked = ""
    for step in path.steps:
        if obj is None or obj is _ABSENT:
            return None
        if isinstance(step, Key):
            here = f"{walked}.{step.name}" if walked else step.name
            if not isinstance(obj, dict):
                raise PathTypeError(here, f"expected an object at {walked or '$'}, got {_type_name(obj)}")
            obj = obj.get(step.name, _ABSENT)
            walked = here
        elif isinstance(step, Index):
            here = f"{walked}[{step.pos}]"
            if not isinstance(obj, list):
                raise PathTypeError(here, f"expected a list at {walked or '$'}, got {_type_name(obj)}")
            obj = obj[step.pos] if -len(obj) <= step.pos < len(obj) else _ABSENT
            walked = here
        else:
            here = f"{walked}[{'.'.join(step.key)}={step.value}]"
            if not isinstance(obj, list):
                raise PathTypeError(here, f"expected a list at {walked or '$'}, got {_type_name(obj)}")
            obj = next((el for el in obj if _as_text(_sub(el, step.key)) == step.value), _ABSENT)
            walked = here
    return None if obj is _ABSENT else obj
