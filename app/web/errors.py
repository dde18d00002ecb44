"""Page errors: a person who must sign in is sent to the sign-in page; a refusal is a clear 403 page."""

from __future__ import annotations


class SignInNeeded(Exception):
    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class Forbidden(Exception):
    """A refused action; `action` and `target` go to the audit trail."""

    def __init__(self, message: str, *, action: str, target: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.action = action
        self.target = target
