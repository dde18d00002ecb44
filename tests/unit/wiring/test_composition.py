"""The composition root is complete: every outbox kind that code enqueues has a handler, every handler
serves a kind that is enqueued, and every scheduled job has a trigger."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from app import wiring
from app.scheduler.registry import SchedulerConfig

APP = Path(__file__).resolve().parents[3] / "app"
FORWARDERS = ("outbox", "inbox")


def _module(path: Path) -> str:
    return ".".join(path.relative_to(APP.parent).with_suffix("").parts)


def _enqueued_kinds() -> set[str]:
    """The kind argument of every `enqueue(session, KIND, ...)` call in app/, resolved to its value."""
    kinds: set[str] = set()
    for path in APP.rglob("*.py"):
        if path.name in ("__main__.py", "asgi.py"):  # entry points: importing them starts Seam
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if "enqueue(" not in ast.unparse(tree) and "process_kind=" not in ast.unparse(tree):
            continue
        module = importlib.import_module(_module(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            # The inbox queues the kind its caller names (`process_kind=`); outbox and inbox only forward.
            if path.parent.name in FORWARDERS:
                continue
            named = [k.value for k in node.keywords if k.arg == "process_kind"]
            if name == "enqueue" and len(node.args) >= 2:
                named.append(node.args[1])
            for kind in named:
                kinds.add(_value(kind, vars(module), f"{path}:{node.lineno}"))
    return kinds


def _value(kind: ast.expr, scope: dict[str, object], where: str) -> str:
    if isinstance(kind, ast.Constant) and isinstance(kind.value, str):
        return kind.value
    # A constant of this module (NAME) or of an imported one (module.NAME).
    value = eval(compile(ast.Expression(kind), where, "eval"), scope)
    assert isinstance(value, str), f"{where}: kind is not a string"
    return value


def test_every_enqueued_kind_has_a_handler_and_every_handler_a_kind() -> None:
    kinds = _enqueued_kinds()
    assert kinds, "found no enqueue call at all: the scan is broken"
    assert sorted(kinds - set(wiring.HANDLERS)) == [], "enqueued, but no handler delivers it"
    assert sorted(set(wiring.HANDLERS) - kinds) == [], "a handler for a kind that nothing enqueues"


def test_every_job_has_a_trigger_and_a_unique_name() -> None:
    names = [job.name for job in wiring.JOBS]
    assert len(names) == len(set(names))
    for job in wiring.JOBS:
        trigger = job.resolve(SchedulerConfig())
        assert trigger.grace.total_seconds() > 0
        assert callable(job.fn)


def test_every_vendor_key_names_a_kind_that_has_a_handler() -> None:
    assert set(wiring.VENDOR_KEYS) - set(wiring.HANDLERS) == set()
    # The kinds that call a vendor over the network all say which one, so its limits and pauses apply.
    assert {"email", "sync.create_ticket", "sync.comment", "sync.transition", "loop.zendesk_comment"} <= set(
        wiring.VENDOR_KEYS
    )
