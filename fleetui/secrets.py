"""API keys: found by name in an environment variable or the OS keyring, never stored elsewhere.

A fleet file names a key (``key = "OPENAI_API_KEY"``); the value lives in an env var of that
name, which wins because it is the explicit per-process choice, or in the OS keyring under the
service "fleetui". Headless Linux usually has no keyring service: then fleetui says so once and
uses env vars only. No function here logs or returns a value except `resolve_key`, whose result
masks it when printed.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Literal

SERVICE = "fleetui"

log = logging.getLogger(__name__)

Source = Literal["env", "keyring"]


class SecretsError(Exception):
    """A key cannot be stored or removed; the message says what to do instead."""


@dataclass(frozen=True)
class ResolvedKey:
    name: str
    value: str = field(repr=False)
    source: Source

    def __str__(self) -> str:
        return f"{self.name} (from {self.source}: {mask(self.value)})"

    def __repr__(self) -> str:
        return f"ResolvedKey(name={self.name!r}, source={self.source!r}, value={mask(self.value)!r})"


@dataclass(frozen=True)
class KeyStatus:
    name: str
    resolves: bool
    source: Source | None


def mask(value: str) -> str:
    """Enough to recognise a key, not enough to use it."""
    return "…" + value[-4:] if len(value) > 12 else "****"


_problem: str | None = None
_checked = False


def _backend_problem() -> str | None:
    """Why the OS keyring cannot be used, or None when it can. Checked once per process."""
    global _problem, _checked
    if _checked:
        return _problem
    _checked = True
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
        if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 1) <= 0:
            _problem = f"no OS keyring service is available ({type(backend).__module__})"
    except Exception as exc:  # a broken keyring install must not break fleetui
        _problem = f"the OS keyring failed to load ({exc})"
    if _problem:
        log.warning("%s; using environment variables only", _problem)
    return _problem


def keyring_available() -> bool:
    return _backend_problem() is None


def keyring_problem() -> str | None:
    """A sentence for the user when there is no keyring, else None."""
    problem = _backend_problem()
    if problem is None:
        return None
    return (
        f"{problem}; fleetui uses environment variables only — export NAME=… in your shell, "
        "or install a keyring backend (e.g. the keyrings.alt package) to store keys"
    )


def _reset_for_tests() -> None:
    global _problem, _checked
    _problem, _checked = None, False


def _keyring_get(name: str) -> str | None:
    if not keyring_available():
        return None
    import keyring

    try:
        return keyring.get_password(SERVICE, name)
    except Exception as exc:  # locked keyring, D-Bus errors: fall back to env vars
        # A backend that fails once keeps failing: mark it unusable for the process so the user
        # gets one warning and `fleetui key list` can say why.
        global _problem
        _problem = f"the OS keyring failed ({type(exc).__name__})"
        log.warning("%s; using environment variables only", _problem)
        return None


def resolve_key(name: str) -> ResolvedKey | None:
    value = os.environ.get(name)
    if value:
        return ResolvedKey(name, value, "env")
    value = _keyring_get(name)
    if value:
        return ResolvedKey(name, value, "keyring")
    return None


def key_status(names: list[str]) -> list[KeyStatus]:
    statuses = []
    for name in names:
        found = resolve_key(name)
        statuses.append(KeyStatus(name, found is not None, found.source if found else None))
    return statuses


def set_key(name: str, value: str) -> None:
    if not value:
        raise SecretsError("refusing to store an empty key")
    problem = keyring_problem()
    if problem:
        raise SecretsError(f"cannot store {name}: {problem}")
    import keyring

    try:
        keyring.set_password(SERVICE, name, value)
    except Exception as exc:
        raise SecretsError(
            f"the OS keyring refused to store {name} ({type(exc).__name__}); "
            f"set the env var {name} instead"
        ) from None


def delete_key(name: str) -> bool:
    """Remove a key from the keyring; False when it was not there."""
    problem = keyring_problem()
    if problem:
        raise SecretsError(f"cannot delete {name}: {problem}")
    import keyring
    from keyring.errors import PasswordDeleteError

    try:
        keyring.delete_password(SERVICE, name)
    except PasswordDeleteError:
        return False
    except Exception as exc:
        raise SecretsError(f"the OS keyring refused to delete {name} ({type(exc).__name__})") from None
    return True
