"""What a room refuses: `RoomError`, with the reason a person reads and the HTTP status."""

from __future__ import annotations

__all__ = [
    "RoomError",
]


class RoomError(ValueError):
    """An action the room refuses, with the reason a participant or facilitator reads.

    `status` is the HTTP status the server answers with: 400 an input that is not one
    of the choices offered, 403 not allowed (a wrong room code), 409 not now (a stage
    that has closed), 429 too many (seats full).
    """

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
