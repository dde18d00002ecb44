"""The SMTP adapter against a real SMTP server (aiosmtpd) on loopback, with STARTTLS and AUTH."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import logging
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from integrations.base import PermanentError, RetryableError
from integrations.smtp import SmtpConfig, SmtpSender
from tests.support.net import free_port

pytestmark = pytest.mark.anyio

PASSWORD = "hunter2-Sm7p-s3cret"
USER = "seam-mailer"


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@dataclass
class Mailbox:
    """What the server received, and how it answers particular recipients."""

    received: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    answers: dict[str, str] = field(default_factory=dict)

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.answers:
            return self.answers[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        assert session.authenticated, "mail accepted without AUTH"
        self.received.append(
            (str(envelope.mail_from), list(envelope.rcpt_tos), bytes(envelope.content or b""))
        )
        return "250 Message accepted for delivery"


def _authenticate(server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
    ok = (
        isinstance(data, LoginPassword) and data.login == USER.encode() and data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


@dataclass
class Server:
    mailbox: Mailbox
    port: int
    ca_file: Path

    def config(self, **overrides: Any) -> SmtpConfig:
        values: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "starttls": "required",
            "username": USER,
            "password": PASSWORD,
            "from_address": "seam@boxwise.example",
            "from_name": "Seam",
            "ca_file": str(self.ca_file),
            "timeout_seconds": 5,
        }
        values.update(overrides)
        return SmtpConfig.model_validate(values)


@pytest.fixture
def smtp_server(tls_files: tuple[Path, Path]) -> Iterator[Server]:
    cert, key = tls_files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        authenticator=_authenticate,
    )
    controller.start()
    try:
        yield Server(mailbox=mailbox, port=port, ca_file=cert)
    finally:
        controller.stop()


def _message(to: str = "tom.becker@boxwise.example") -> EmailMessage:
    msg = EmailMessage()
    msg["To"] = to
    msg["Subject"] = "Weekly digest: Buy — 3 open issues"
    msg["Message-ID"] = "<digest-buy-2026-W48@seam.test>"
    msg.set_content("Plain text part: 3 open issues.")
    msg.add_alternative("<p>HTML part: <b>3</b> open issues.</p>", subtype="html")
    return msg


async def test_message_arrives_over_starttls_with_auth(smtp_server: Server) -> None:
    result = await SmtpSender(smtp_server.config()).send(_message())
    assert result.accepted == ["tom.becker@boxwise.example"]
    assert result.message_id == "<digest-buy-2026-W48@seam.test>"
    assert result.refused == {}
    ((mail_from, rcpts, raw),) = smtp_server.mailbox.received
    assert (mail_from, rcpts) == ("seam@boxwise.example", ["tom.becker@boxwise.example"])
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["From"] == "Seam <seam@boxwise.example>"
    assert parsed["Subject"] == "Weekly digest: Buy — 3 open issues"
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]  # type: ignore[attr-defined]
    html = parsed.get_body(("html",))
    assert html is not None and "<b>3</b>" in html.get_content()  # type: ignore[attr-defined]


async def test_550_mailbox_unknown_is_permanent(smtp_server: Server) -> None:
    smtp_server.mailbox.answers["ghost@boxwise.example"] = (
        "550 5.1.1 <ghost@boxwise.example>: mailbox unknown"
    )
    with pytest.raises(PermanentError) as caught:
        await SmtpSender(smtp_server.config()).send(_message("ghost@boxwise.example"))
    assert caught.value.status == 550
    assert "mailbox unknown" in caught.value.message
    assert smtp_server.mailbox.received == []


async def test_451_greylisting_is_retryable(smtp_server: Server) -> None:
    smtp_server.mailbox.answers["busy@boxwise.example"] = "451 4.7.1 greylisted, try again later"
    with pytest.raises(RetryableError) as caught:
        await SmtpSender(smtp_server.config()).send(_message("busy@boxwise.example"))
    assert caught.value.status == 451


async def test_one_refused_recipient_of_two_is_reported_not_raised(smtp_server: Server) -> None:
    smtp_server.mailbox.answers["ghost@boxwise.example"] = "550 5.1.1 mailbox unknown"
    msg = _message("tom.becker@boxwise.example, ghost@boxwise.example")
    result = await SmtpSender(smtp_server.config()).send(msg)
    assert result.accepted == ["tom.becker@boxwise.example"]
    assert list(result.refused) == ["ghost@boxwise.example"] and result.refused[
        "ghost@boxwise.example"
    ].startswith("550")


async def test_connection_refused_is_retryable() -> None:
    config = SmtpConfig(host="127.0.0.1", port=free_port(), starttls="on", from_address="seam@x.example")
    with pytest.raises(RetryableError) as caught:
        await SmtpSender(config).send(_message())
    assert caught.value.status is None


async def test_silent_server_times_out_as_retryable() -> None:
    with socket.socket() as listener:  # accepts connections (backlog) and never says hello
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        config = SmtpConfig(
            host="127.0.0.1",
            port=listener.getsockname()[1],
            starttls="on",
            from_address="seam@x.example",
            timeout_seconds=0.5,
        )
        with pytest.raises(RetryableError, match="timed out"):
            await SmtpSender(config).send(_message())


async def test_untrusted_certificate_is_permanent(smtp_server: Server) -> None:
    # without the test CA the self-signed certificate does not verify against the system's roots
    with pytest.raises(PermanentError, match="certificate"):
        await SmtpSender(smtp_server.config(ca_file=None)).send(_message())


async def test_password_never_in_repr_or_logs(smtp_server: Server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    config = smtp_server.config()
    sender = SmtpSender(config)
    await sender.send(_message())
    with pytest.raises(PermanentError) as caught:
        await SmtpSender(smtp_server.config(password="wrong-" + PASSWORD)).send(_message())
    assert caught.value.status == 535
    encoded = [
        PASSWORD,
        base64.b64encode(PASSWORD.encode()).decode(),
        base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode(),
    ]
    ours = [r for r in caplog.records if not r.name.startswith("mail.log")]  # aiosmtpd is the far side
    assert any(r.name == "integrations.smtp" for r in ours)
    texts = [r.getMessage() for r in ours] + [
        repr(config),
        str(config),
        repr(sender),
        config.model_dump_json(),
        repr(caught.value),
        str(caught.value),
    ]
    for text in texts:
        for secret in encoded:
            assert secret not in text, text
    assert "**********" in repr(config)


def test_config_refuses_unsafe_combinations() -> None:
    base: dict[str, Any] = {"host": "smtp.example", "from_address": "seam@x.example"}
    with pytest.raises(ValidationError, match="encrypted connection"):
        SmtpConfig.model_validate({**base, "starttls": "on", "username": "u", "password": "p"})
    with pytest.raises(ValidationError, match="go together"):
        SmtpConfig.model_validate({**base, "username": "u"})
    with pytest.raises(ValidationError, match="line breaks"):
        SmtpConfig.model_validate({**base, "from_name": "Seam\r\nBcc: all@x.example"})
    with pytest.raises(ValidationError, match="implicit_tls"):
        SmtpConfig.model_validate({**base, "implicit_tls": True})
    ok = SmtpConfig.model_validate({**base, "port": 465, "implicit_tls": True, "starttls": "off"})
    assert ok.port == 465


async def test_a_rendered_digest_arrives_whole(smtp_server: Server) -> None:
    from datetime import UTC, datetime

    from app.digests.render import render
    from integrations.smtp.mime import address, build_message
    from tests.unit.digests.samples import HOSTILE, owner_digest

    rendered = render(owner_digest(stage_name="Pay & bill " + HOSTILE[0]))
    msg = build_message(
        rendered,
        sender=address("Seam", "seam@boxwise.example", "From"),
        to=address("Ravi Menon", "ravi.menon@boxwise.example"),
        now=datetime(2026, 11, 23, 8, tzinfo=UTC),
        msgid_domain="seam.boxwise.example",
        dedupe_key="digest:ravi:2026-W48",
    )
    await SmtpSender(smtp_server.config()).send(msg)
    ((_, rcpts, raw),) = smtp_server.mailbox.received
    assert rcpts == ["ravi.menon@boxwise.example"]
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Subject"] == rendered.subject and parsed["X-Seam-Key"] == "digest:ravi:2026-W48"
    text = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert text is not None and html is not None
    # SMTP carries CRLF line ends; the content is otherwise byte for byte what was rendered
    assert text.get_content().replace("\r\n", "\n") == rendered.text  # type: ignore[attr-defined]
    assert html.get_content().replace("\r\n", "\n") == rendered.html  # type: ignore[attr-defined]
    assert "&lt;script&gt;" in html.get_content() and "<script>" not in html.get_content()  # type: ignore[attr-defined]
