"""Integrations: the only writer of the configured tracker instances. Credentials are stored encrypted
with the process's secret key and leave only towards the vendor, never through the API."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr, ValidationError
from sqlalchemy import select
from sqlmodel import Session, col

from app.connections.models import Integration
from app.connections.schemas import IntegrationIn, IntegrationPatch, TargetIn
from app.core import crypto
from app.core.clock import utcnow
from app.core.errors import Conflict, InvalidInput, NotFound, field_error
from app.core.problems import validation_errors
from app.journey.schemas import Journey
from integrations import registry
from integrations.base import PermanentError
from integrations.http import ClientConfig

# Keys of the adapter config that have their own columns (or come from Seam's settings).
RESERVED_OPTIONS = frozenset({"base_url", "email", "api_token", "allow_private_network", "webhook_secret"})


def _config_errors(exc: ValidationError) -> list[dict[str, str]]:
    errors = validation_errors(exc.errors())
    known = {"base_url", "email", "api_token"}
    return [
        e if e["field"].split(".")[0] in known else {**e, "field": f"options.{e['field']}"} for e in errors
    ]


def validate_config(
    vendor: str,
    *,
    base_url: str,
    email: str,
    api_token: str,
    options: dict[str, Any],
    allow_private: bool,
) -> ClientConfig:
    """The adapter's own config model checks everything, including the base-URL guard (https, public)."""
    reserved = sorted(RESERVED_OPTIONS & set(options))
    if reserved:
        raise InvalidInput(
            "These settings have their own fields.",
            errors=[field_error(f"options.{k}", "not allowed here") for k in reserved],
        )
    raw = {
        **options,
        "base_url": base_url,
        "email": email,
        "api_token": api_token,
        "allow_private_network": allow_private,
    }
    try:
        return registry.parse_config(vendor, raw)
    except ValidationError as exc:
        raise InvalidInput("The integration settings are not valid.", errors=_config_errors(exc)) from None
    except PermanentError as exc:
        raise InvalidInput(exc.message, errors=[field_error("vendor", "unknown vendor")]) from None


def _check_targets(vendor: str, targets: dict[str, TargetIn], journey: Journey | None) -> dict[str, Any]:
    errors = []
    teams = {t.key for t in journey.teams} if journey else None
    out: dict[str, Any] = {}
    for team, target in targets.items():
        if teams is not None and team not in teams:
            errors.append(field_error(f"targets.{team}", "no such team in the journey"))
        if vendor == "jira" and not target.project_key:
            errors.append(field_error(f"targets.{team}.project_key", "required for Jira"))
        if vendor == "zendesk" and target.group_id is None:
            errors.append(field_error(f"targets.{team}.group_id", "required for Zendesk"))
        if vendor == "jira":
            out[team] = {"project_key": target.project_key, "issue_type": target.issue_type}
        else:
            out[team] = {"group_id": target.group_id}
    if errors:
        raise InvalidInput("Some team targets are not valid.", errors=errors)
    return out


def _name_taken(session: Session, name: str, but: int | None = None) -> None:
    stmt = select(col(Integration.id)).where(col(Integration.name) == name)
    found = session.execute(stmt).scalar_one_or_none()
    if found is not None and found != but:
        raise Conflict(f"An integration named '{name}' exists.", errors=[field_error("name", "taken")])


def create_integration(
    session: Session, data: IntegrationIn, journey: Journey | None, *, allow_private: bool, secret: str
) -> Integration:
    config = validate_config(
        data.vendor,
        base_url=data.base_url,
        email=data.email,
        api_token=data.api_token.get_secret_value(),
        options=data.options,
        allow_private=allow_private,
    )
    _name_taken(session, data.name)
    row = Integration(
        name=data.name,
        vendor=data.vendor,
        base_url=config.base_url,
        email=data.email,
        api_token_enc=crypto.encrypt(data.api_token.get_secret_value(), secret),
        webhook_secret_enc=crypto.encrypt(data.webhook_secret.get_secret_value(), secret)
        if data.webhook_secret
        else None,
        options=dict(data.options),
        targets=_check_targets(data.vendor, data.targets, journey),
        enabled=data.enabled,
    )
    session.add(row)
    session.flush()
    return row


def get_integration(session: Session, integration_id: int) -> Integration:
    row = session.get(Integration, integration_id)
    if row is None:
        raise NotFound(f"No integration {integration_id}.")
    return row


def list_integrations(session: Session) -> list[Integration]:
    return list(session.execute(select(Integration).order_by(col(Integration.id))).scalars())


def update_integration(
    session: Session,
    integration_id: int,
    patch: IntegrationPatch,
    journey: Journey | None,
    *,
    allow_private: bool,
    secret: str,
) -> Integration:
    row = get_integration(session, integration_id)
    token = (
        patch.api_token.get_secret_value() if patch.api_token else crypto.decrypt(row.api_token_enc, secret)
    )
    options = patch.options if patch.options is not None else row.options
    config = validate_config(
        row.vendor,
        base_url=patch.base_url or row.base_url,
        email=patch.email or row.email,
        api_token=token,
        options=options,
        allow_private=allow_private,
    )
    if patch.name is not None:
        _name_taken(session, patch.name, but=row.id)
        row.name = patch.name
    row.base_url = config.base_url
    row.email = patch.email or row.email
    if patch.api_token is not None:
        row.api_token_enc = crypto.encrypt(token, secret)
    if patch.webhook_secret is not None:
        row.webhook_secret_enc = crypto.encrypt(patch.webhook_secret.get_secret_value(), secret)
    row.options = dict(options)
    if patch.targets is not None:
        row.targets = _check_targets(row.vendor, patch.targets, journey)
    if patch.enabled is not None:
        row.enabled = patch.enabled
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return row


def tracker_config(row: Integration, *, allow_private: bool, secret: str) -> dict[str, Any]:
    """The adapter config with the decrypted token: for building a tracker, never for logging."""
    return {
        **row.options,
        "base_url": row.base_url,
        "email": row.email,
        "api_token": SecretStr(crypto.decrypt(row.api_token_enc, secret)),
        "allow_private_network": allow_private,
    }


def webhook_secret(row: Integration, secret: str) -> SecretStr:
    return SecretStr(crypto.decrypt(row.webhook_secret_enc, secret) if row.webhook_secret_enc else "")


def reencrypt_all(session: Session, secret: str) -> int:
    """Every stored credential re-encrypted with SEAM_SECRET_KEY's newest key (`seam secrets rotate`);
    the number of integrations rewritten. Raises crypto.DecryptionError if no key opens one."""
    rows = list(session.execute(select(Integration).order_by(col(Integration.id))).scalars())
    for row in rows:
        row.api_token_enc = crypto.reencrypt(row.api_token_enc, secret)
        if row.webhook_secret_enc:
            row.webhook_secret_enc = crypto.reencrypt(row.webhook_secret_enc, secret)
        session.add(row)
    session.flush()
    return len(rows)
