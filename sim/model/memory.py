"""The memory one run needs, estimated from its organization before anything is built."""

from __future__ import annotations

import os

__all__ = [
    "BYTES_AT_ANY_SIZE",
    "BYTES_PER_CONTACT",
    "BYTES_PER_PERSON",
    "format_bytes",
    "memory_needed",
    "physical_memory",
]

# Memory a run needs, measured as one run's peak RSS over the interpreter's at 1,000 to
# 100,000 people: about 110 bytes per directed contact pair (the pairs, the network's
# index and every per-contact array), up to 3 kB per person and about 50 MB at any
# size; rounded up. benchmarks/memory_estimate.py prints the peak beside the estimate.
BYTES_PER_CONTACT = 120
BYTES_PER_PERSON = 3_000
BYTES_AT_ANY_SIZE = 100_000_000  # the libraries' working memory at any size


def memory_needed(
    members: int, levels: int, team_size: int | None, span: int | None, coach: str
) -> int:
    """Bytes one run of this organization needs, estimated before anything is built."""
    from sim.model.structure import contact_count, level_sizes

    try:
        contacts = contact_count(members, levels, team_size, span, coach == "external")
        people = members + 2 * sum(level_sizes(members, levels, team_size, span))
    except ValueError:  # a shape that does not fit: _shape_fits says why
        return 0
    return BYTES_AT_ANY_SIZE + BYTES_PER_CONTACT * contacts + BYTES_PER_PERSON * people


def physical_memory() -> int:
    """This machine's memory in bytes (what a run can use at most)."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def format_bytes(n: float) -> str:
    """A number of bytes in words (kB, MB, GB: powers of 1,000)."""
    for unit in ("bytes", "kB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:,.1f} TB"
