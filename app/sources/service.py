"""Sources: the only writer of ``sources`` rows, plus their quarantine and replay. Never commits."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, func, select
from sqlmodel import Session, col

from app.core.clock import utcnow
from app.core.crypto import decrypt, encrypt, reencrypt
from app.core.errors import Conflict, InvalidInput, NotFound, field_error
from app.core.problems import validation_errors
from app.inbox import service as inbox
from app.inbox.models import InboundDelivery
from app.sources.models import Source
from app.sources.schemas import FETCHING_KINDS, MIN_TOKEN_LEN, SourceIn, SourcePatch
from integrations import signatures
from integrations.base import UnsafeURLError
from integrations.surveys import KINDS, FieldMapping
from integrations.surveys.base import PATH_FIELDS
from integrations.surveys.surveymonkey import split_secret
from integrations.url_guard import check_base_url

PROCESS_KIND = "source-delivery"
DEFAULT_API_BASE = {"surveymonkey": "https://api.surveymonkey.com"}
INBOX = InboundDelivery.__table__  # type: ignore[attr-defined]


def channel(source_id: int) -> str:
    """The inbox channel of a source: deliveries are deduplicated per source."""
    return f"source:{source_id}"


@dataclass(frozen=True)
class SourceConfig:
    """What processing needs of a source, read once; ``api_token`` is decrypted, so never log this."""

    id: int
    kind: str
    mapping: FieldMapping
    default_touchpoint: str | None
    default_persona: str | None
    staff: bool
    api_token: str | None
    api_base_url: str | None

    def __repr__(self) -> str:
        return f"SourceConfig(id={self.id}, kind={self.kind!r})"


def _is_paths(value: Any) -> bool:
    return (
        value is None
        or isinstance(value, str)
        or (isinstance(value, list) and all(isinstance(v, str) for v in value))
    )


def _shape_errors(overrides: Mapping[str, Any], where: str) -> list[dict[str, str]]:
    # FieldMapping's own validators expect paths to be text or lists of text; say so before they trip.
    errors = [
        field_error(f"{where}.{name}", "expected a path or a list of paths")
        for name in PATH_FIELDS
        if name in overrides and not _is_paths(overrides[name])
    ]
    meta = overrides.get("metadata")
    if isinstance(meta, Mapping):
        errors += [
            field_error(f"{where}.metadata.{name}", "expected a path or a list of paths")
            for name, paths in meta.items()
            if not _is_paths(paths) or paths is None
        ]
    return errors


def effective_mapping(kind: str, overrides: Mapping[str, Any], where: str = "mapping") -> FieldMapping:
    shape = _shape_errors(overrides, where)
    if shape:
        raise InvalidInput("The mapping does not fit this kind of source.", errors=shape)
    try:
        return KINDS[kind].DEFAULT_MAPPING.with_overrides(overrides)
    except ValidationError as exc:
        errors = [
            field_error(f"{where}.{e['field']}" if e["field"] != "body" else where, e["message"])
            for e in validation_errors(exc.errors())
        ]
        raise InvalidInput("The mapping does not fit this kind of source.", errors=errors) from None


def _check_secret(kind: str, secret: str) -> None:
    problem = None
    if not secret.strip():
        problem = "must not be empty"
    elif kind == "surveymonkey":
        try:
            split_secret(secret)
        except ValueError:
            problem = "must be '{client_id}&{client_secret}'"
    elif kind == "standard":
        try:
            signatures.check_standard_webhooks_secret(secret)
        except ValueError:
            problem = "must be 'whsec_' followed by a base64 key"
    elif kind == "qualtrics" and not re.fullmatch(rf"[A-Za-z0-9_-]{{{MIN_TOKEN_LEN},}}", secret):
        problem = f"must be at least {MIN_TOKEN_LEN} URL-safe characters (letters, digits, - and _)"
    if problem:  # the message never repeats the secret
        raise InvalidInput(f"The secret {problem}.", errors=[field_error("secret", problem)])


def _base_url(kind: str, url: str | None, allow_private: bool) -> str | None:
    if url is None:
        if kind == "qualtrics":
            raise InvalidInput(
                "A Qualtrics source needs its data-centre URL to fetch responses.",
                errors=[field_error("api_base_url", "required, e.g. https://fra1.qualtrics.com")],
            )
        return None
    if kind not in FETCHING_KINDS:
        raise InvalidInput(
            f"A {kind} source fetches nothing.", errors=[field_error("api_base_url", "only for thin kinds")]
        )
    try:
        return check_base_url(url, allow_private)
    except UnsafeURLError as exc:
        raise InvalidInput(str(exc), errors=[field_error("api_base_url", str(exc))]) from None


def _require_token(kind: str, has_token: bool) -> None:
    if kind in FETCHING_KINDS and not has_token:
        raise InvalidInput(
            f"A {kind} source needs an API token to fetch the answers of its deliveries.",
            errors=[field_error("api_token", "required for this kind")],
        )


def create(session: Session, data: SourceIn, *, secret_key: str, allow_private: bool) -> Source:
    secret = data.secret.get_secret_value()
    _check_secret(data.kind, secret)
    effective_mapping(data.kind, data.mapping)
    token = data.api_token.get_secret_value() if data.api_token else None
    _require_token(data.kind, bool(token))
    now = utcnow()
    source = Source(
        kind=data.kind,
        name=data.name,
        secret_encrypted=encrypt(secret, secret_key),
        api_token_encrypted=encrypt(token, secret_key) if token else None,
        api_base_url=_base_url(data.kind, data.api_base_url, allow_private),
        mapping=data.mapping,
        default_touchpoint=data.default_touchpoint,
        default_persona=data.default_persona,
        staff=data.staff,
        enabled=data.enabled,
        retention_days=data.retention_days,
        created_at=now,
        updated_at=now,
    )
    session.add(source)
    session.flush()
    return source


def get(session: Session, source_id: int) -> Source:
    source = session.get(Source, source_id)
    if source is None:
        raise NotFound(f"No source {source_id}.")
    return source


def list_sources(session: Session) -> list[Source]:
    return list(session.execute(select(Source).order_by(col(Source.id))).scalars())


def update(
    session: Session, source_id: int, patch: SourcePatch, *, secret_key: str, allow_private: bool
) -> Source:
    source = get(session, source_id)
    given = patch.model_fields_set
    if patch.secret is not None:
        secret = patch.secret.get_secret_value()
        _check_secret(source.kind, secret)
        source.secret_encrypted = encrypt(secret, secret_key)
    if patch.api_token is not None:
        source.api_token_encrypted = encrypt(patch.api_token.get_secret_value(), secret_key)
    if "api_base_url" in given:
        source.api_base_url = _base_url(source.kind, patch.api_base_url, allow_private)
    if patch.mapping is not None:
        effective_mapping(source.kind, patch.mapping)
        source.mapping = patch.mapping
    for name in ("name", "staff", "enabled"):
        value = getattr(patch, name)
        if value is not None:
            setattr(source, name, value)
    for name in ("default_touchpoint", "default_persona", "retention_days"):  # null clears these
        if name in given:
            setattr(source, name, getattr(patch, name))
    source.updated_at = utcnow()
    session.add(source)
    session.flush()
    return source


def delete_source(session: Session, source_id: int) -> None:
    """Removes the source and its stored raw deliveries (they hold customer data); items stay."""
    source = get(session, source_id)
    session.execute(delete(INBOX).where(INBOX.c.channel == channel(source_id)))
    session.delete(source)
    session.flush()


def config(
    source: Source, secret_key: str | None, *, overrides: Mapping[str, Any] | None = None
) -> SourceConfig:
    """The source as processing sees it; without ``secret_key`` the API token stays encrypted (None)."""
    assert source.id is not None
    token = None
    if secret_key is not None and source.api_token_encrypted:
        token = decrypt(source.api_token_encrypted, secret_key)
    return SourceConfig(
        id=source.id,
        kind=source.kind,
        mapping=effective_mapping(source.kind, source.mapping if overrides is None else overrides),
        default_touchpoint=source.default_touchpoint,
        default_persona=source.default_persona,
        staff=source.staff,
        api_token=token,
        api_base_url=source.api_base_url or DEFAULT_API_BASE.get(source.kind),
    )


def source_of_channel(session: Session, name: str) -> Source | None:
    prefix, _, raw_id = name.partition(":")
    if prefix != "source" or not raw_id.isdigit():
        return None
    return session.get(Source, int(raw_id))


# --- quarantine ---------------------------------------------------------------------------------


def quarantine_counts(session: Session, source_ids: list[int]) -> dict[int, int]:
    if not source_ids:
        return {}
    names = {channel(i): i for i in source_ids}
    c = INBOX.c
    rows = session.execute(
        select(c.channel, func.count())
        .where(c.channel.in_(list(names)), c.state == "quarantined")
        .group_by(c.channel)
    )
    counts = dict.fromkeys(source_ids, 0)
    for name, n in rows:
        counts[names[name]] = int(n)
    return counts


def list_quarantine(
    session: Session, source_id: int, after_id: int | None, limit: int
) -> list[InboundDelivery]:
    get(session, source_id)
    c = INBOX.c
    stmt = select(InboundDelivery).where(c.channel == channel(source_id), c.state == "quarantined")
    if after_id is not None:
        stmt = stmt.where(c.id > after_id)
    return list(session.execute(stmt.order_by(c.id).limit(limit)).scalars())


def replay(session: Session, source_id: int, delivery_row_id: int) -> InboundDelivery:
    get(session, source_id)
    delivery = session.get(InboundDelivery, delivery_row_id)
    if delivery is None or delivery.channel != channel(source_id):
        raise NotFound(f"Source {source_id} has no delivery {delivery_row_id}.")
    if delivery.state != "quarantined":
        raise Conflict(
            f"Only quarantined deliveries can be replayed; this one is '{delivery.state}'.",
            errors=[field_error("delivery_id", f"state is '{delivery.state}'")],
        )
    inbox.requeue(session, delivery, PROCESS_KIND)
    session.flush()
    session.refresh(delivery)
    return delivery


def replay_all(session: Session, source_id: int) -> int:
    get(session, source_id)
    c = INBOX.c
    rows = list(
        session.execute(
            select(InboundDelivery)
            .where(c.channel == channel(source_id), c.state == "quarantined")
            .order_by(c.id)
        ).scalars()
    )
    count = 0
    for delivery in rows:
        inbox.requeue(session, delivery, PROCESS_KIND)
        count += 1
    session.flush()
    return count


def reencrypt_all(session: Session, secret: str) -> int:
    """Every source's stored secrets re-encrypted with SEAM_SECRET_KEY's newest key; the number rewritten."""
    rows = list(session.execute(select(Source).order_by(col(Source.id))).scalars())
    for row in rows:
        row.secret_encrypted = reencrypt(row.secret_encrypted, secret)
        if row.api_token_encrypted:
            row.api_token_encrypted = reencrypt(row.api_token_encrypted, secret)
        session.add(row)
    session.flush()
    return len(rows)
