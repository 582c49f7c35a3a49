"""A run's peak memory against the estimate the Scenario checks (docs/ODD.md, "Memory").

`python benchmarks/memory_estimate.py` runs one short run per organization, each in a
process of its own, and prints its peak RSS over the interpreter's beside
`sim.model.memory.memory_needed`. The estimate (120 bytes per directed contact pair, 3 kB
per person and 100 MB at any size) was set from this table: it should stay above the
measured peak.
"""

from __future__ import annotations

import subprocess
import sys

SIZES = ((1000, 1), (2000, 1), (4000, 1), (6000, 1), (20_000, 2), (100_000, 3))

ONE_RUN = """
import resource, sys
import sim
from sim.model.scenario import Scenario
members, levels = int(sys.argv[1]), int(sys.argv[2])
scenario = Scenario(members=members, levels=levels, steps=2)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
sim.simulate(scenario, 1)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)
"""


def main() -> None:
    """Print members, levels, contacts, measured peak and estimate, in MB."""
    from sim.model.memory import memory_needed
    from sim.model.structure import contact_count

    print("| members | levels | contact pairs | measured peak (MB) | estimate (MB) |")
    print("|---|---|---|---|---|")
    for members, levels in SIZES:
        done = subprocess.run(
            [sys.executable, "-c", ONE_RUN, str(members), str(levels)],
            capture_output=True,
            text=True,
            check=True,
        )
        peak = int(done.stdout.strip()) / 1e6
        estimate = memory_needed(members, levels, None, None, "none") / 1e6
        pairs = contact_count(members, levels)
        print(f"| {members:,} | {levels} | {pairs:,} | {peak:,.0f} | {estimate:,.0f} |")


if __name__ == "__main__":
    main()
