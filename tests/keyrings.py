"""Keyrings for tests: one kept in a dict, and a way to swap the process's keyring for a test.

Every test starts on an empty `MemoryKeyring` (conftest's autouse fixture), so no test can read
the developer's own OS keyring or depend on whether this machine has one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar

import keyring
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

from fleetui import secrets


class MemoryKeyring(KeyringBackend):
    """An OS keyring kept in a dict."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


B = TypeVar("B", bound=KeyringBackend)


def use_backend(backend: B) -> Iterator[B]:
    # secrets caches its keyring check for the whole process, so reset it on both sides.
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    secrets._reset_for_tests()
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)
        secrets._reset_for_tests()
