"""A room's seats: the room code a phone joins with, the seat and its secret, the names.

A seat is one front-line member of the room's scenario, played by one phone; the phone
proves its seat with a secret token. Simulated people get plain names (`NAMES`), and
topics plain words (`TOPICS`), so that a phone can say whom it would ask, and for what.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

__all__ = [
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "MAX_SEATS",
    "NAMES",
    "NAME_LENGTH",
    "TOPICS",
    "Seat",
    "clean_name",
    "new_code",
    "topic_name",
]

MAX_SEATS = 60  # a room is a workshop, not a survey panel
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
CODE_LENGTH = 5
NAME_LENGTH = 16

# Simulated people are named, so that a phone can say whom it would ask.
NAMES = (
    "Ana", "Ben", "Chen", "Dara", "Eli", "Fatima", "Goran", "Hana", "Ivo", "Jun",
    "Kofi", "Lena", "Mateo", "Nia", "Omar", "Pia", "Quinn", "Rosa", "Sami", "Tess",
    "Uma", "Viktor", "Wen", "Xavi", "Yara", "Zoe",
)  # fmt: skip
TOPICS = ("planning", "testing", "design", "customers", "tooling", "data", "writing", "budget")


@dataclass
class Seat:
    """A participant's seat: one member of the organization, played by one phone."""

    number: int  # 1, 2, ... in joining order
    person: int  # the member's index in the organization
    name: str
    token: str = field(repr=False)  # the secret the phone sends with each action


def new_code() -> str:
    """A random room code: 5 characters from 32, about 33.5 million codes."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def topic_name(k: int) -> str:
    """A topic in plain words (`TOPICS`; "topic 9" and on beyond them)."""
    return TOPICS[k] if k < len(TOPICS) else f"topic {k + 1}"


def clean_name(name: str, fallback: str) -> str:
    """A display name: letters, digits, spaces and -'. only, at most NAME_LENGTH long."""
    kept = "".join(c for c in str(name) if c.isalnum() or c in " -'.")
    kept = " ".join(kept.split())[:NAME_LENGTH].strip()
    return kept or fallback
