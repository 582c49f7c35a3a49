"""A run's random streams: one per mechanism, all from one seed (docs/ODD.md, "Random streams").

Every draw of a run comes from one SeedSequence (Mesa's `rng` convention), spawned
into one named stream per mechanism, so switching one mechanism on or off does not
shift the draws of any other.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

__all__ = ["STREAMS", "SURVEY_STREAM", "WEEK_STREAMS", "Streams", "seed_sequence"]

# One random stream per mechanism (docs/ODD.md: "each mechanism draws from its own
# stream"), always spawned in this order, so switching one mechanism on or off does
# not shift the draws of any other.
STREAMS = (
    "people",
    "trust_init",
    "coach",
    "external",
    "need",
    "choice",
    "voice",
    "response",
    "outcome",
    "breach",
    "gossip",
    "turnover",
    "events",
    "mesa",
    "teams",
)
# The streams the compiled week draws from, in the order sim.model.kernels.week takes them.
WEEK_STREAMS = ("need", "choice", "voice", "response", "outcome", "breach", "gossip", "turnover")

# The spawn key of the surveys' streams, beyond the run's own (STREAMS): a survey's
# answers come from (run, instrument, week) alone.
SURVEY_STREAM = 1_000


def seed_sequence(rng: Any) -> np.random.SeedSequence:
    """One SeedSequence from whatever a caller passes as `rng` (Mesa's convention).

    A SeedSequence passed in is copied, not spawned from: the same object passed twice
    gives the same run (spawning would have moved it on), and the caller's is untouched.
    """
    if isinstance(rng, np.random.SeedSequence):
        return np.random.SeedSequence(
            rng.entropy,
            spawn_key=rng.spawn_key,
            pool_size=rng.pool_size,
            n_children_spawned=rng.n_children_spawned,
        )
    if isinstance(rng, np.random.Generator):
        return np.random.SeedSequence(int(rng.integers(2**63)))
    return np.random.SeedSequence(rng)


class Streams(Mapping[str, np.random.Generator]):
    """The run's random streams by name: each Generator is made when first used.

    Making a Generator costs about 16 microseconds, a tenth of a short run's set-up,
    and a run uses only the streams of its mechanisms (no external stream without
    external coaches, no events stream without events).
    """

    def __init__(self, seeds: dict[str, np.random.SeedSequence]) -> None:
        self._seeds = seeds
        self._made: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        rng = self._made.get(name)
        if rng is None:
            rng = self._made[name] = np.random.default_rng(self._seeds[name])
        return rng

    def __iter__(self) -> Iterator[str]:
        return iter(self._seeds)

    def __len__(self) -> int:
        return len(self._seeds)
