"""Run every benchmark and print one Markdown report (`make bench`)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_app
import bench_model
import bench_runner

if __name__ == "__main__":
    print(bench_model.main())
    print(bench_app.main())
    print(bench_runner.main())
