"""The email for a rendered message: multipart/alternative (text first, then HTML), built with the
standard library's header registry. With inline images the HTML side becomes multipart/related (the HTML,
then each image with the Content-ID its `cid:` reference names), so clients fetch nothing from outside.
Any header value holding CR or LF is refused, whatever its source, so a stage name or a person's name
can never add a header."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Protocol


class Parts(Protocol):
    """What a message says: its subject, and the same content as HTML and as plain text."""

    @property
    def subject(self) -> str: ...
    @property
    def html(self) -> str: ...
    @property
    def text(self) -> str: ...


class Image(Protocol):
    """An image shown by the HTML as `cid:<cid>`."""

    @property
    def cid(self) -> str: ...
    @property
    def content(self) -> bytes: ...
    @property
    def subtype(self) -> str: ...
    @property
    def filename(self) -> str | None: ...


# RFC 2392 content ids are addr-spec shaped; a narrower alphabet keeps the `cid:` URL and header alike.
_CID = re.compile(r"[A-Za-z0-9._-]{1,100}@[A-Za-z0-9.-]{1,100}")
_SUBTYPE = re.compile(r"[a-z0-9.+-]{1,40}")


class HeaderInjectionError(ValueError):
    """A header value carried a line break (or a NUL)."""


def _clean(name: str, value: str) -> str:
    if any(c in value for c in "\r\n\x00"):
        raise HeaderInjectionError(f"header {name} may not contain line breaks")
    return value


def address(display_name: str, email: str, field: str = "To") -> Address:
    """An `Address`; refuses line breaks in either part and an address without exactly one '@'."""
    _clean(field, display_name)
    _clean(field, email)
    if email.count("@") != 1:
        raise HeaderInjectionError(f"header {field}: not an email address")
    local, domain = email.split("@")
    try:
        return Address(display_name=display_name, username=local, domain=domain)
    except (ValueError, TypeError) as exc:  # e.g. characters the registry will not put in an address
        raise HeaderInjectionError(f"header {field}: {exc}") from None


def build_message(
    rendered: Parts,
    *,
    sender: Address,
    to: Address,
    now: datetime,
    msgid_domain: str,
    dedupe_key: str | None = None,
    extra_headers: Mapping[str, str] | None = None,
    images: Sequence[Image] = (),
) -> EmailMessage:
    """`dedupe_key` (e.g. the outbox key `digest:tom:2026-W48`) becomes an `X-Seam-Key` header so a
    duplicate can be recognised on the far side."""
    msg = EmailMessage()
    msg["Subject"] = _clean("Subject", rendered.subject)
    msg["From"] = sender
    msg["To"] = to
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=_clean("Message-ID", msgid_domain))
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: auto-responders must not answer
    if dedupe_key is not None:
        msg["X-Seam-Key"] = _clean("X-Seam-Key", dedupe_key)
    for name, value in (extra_headers or {}).items():
        _clean("header name", name)
        if not name or any(c in name for c in ": ") or not name.isascii():
            raise HeaderInjectionError(f"invalid header name {name!r}")
        msg[name] = _clean(name, value)
    msg.set_content(rendered.text, subtype="plain", charset="utf-8")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8")
    if images:
        html_part = msg.get_body(("html",))
        assert isinstance(html_part, EmailMessage)
        for image in images:
            cid = _clean("Content-ID", image.cid)
            if not _CID.fullmatch(cid):
                raise HeaderInjectionError("header Content-ID: not a content id")
            if not _SUBTYPE.fullmatch(image.subtype):
                raise HeaderInjectionError("header Content-Type: not an image subtype")
            html_part.add_related(
                image.content,
                maintype="image",
                subtype=image.subtype,
                cid=f"<{cid}>",
                disposition="inline",
                filename=_clean("Content-Disposition", image.filename) if image.filename else None,
            )
    return msg
