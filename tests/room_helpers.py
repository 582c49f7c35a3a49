"""A workshop room server for tests and benchmarks: started as a trainer starts it.

`start_room(...)` runs `trustsim app --room` in a subprocess on a free port, waits until
it answers, and reads the facilitator's and the phones' addresses from what it printed.
`Phone` is a participant without a browser: the same HTTP calls the phone page makes.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.helpers_browser import free_port, serve, stop


@dataclass
class RoomProcess:
    proc: subprocess.Popen[str]
    base: str  # http://127.0.0.1:PORT
    host_url: str  # the facilitator's address, with its key
    join_url: str
    code: str
    key: str
    out: Path  # the folder the session file is saved in
    printed: str

    def stop(self) -> None:
        stop(self.proc)

    def session_file(self) -> Path:
        files = sorted(self.out.glob("room-*.json"))
        assert len(files) == 1, files
        return files[0]


def start_room(out: Path, *args: str) -> RoomProcess:
    port = free_port()
    out.mkdir(parents=True, exist_ok=True)
    log = out / "server.log"
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "sim.cli", "app", "--room", "--port", str(port)]
    proc = serve(
        [*command, "--out", str(out / "sessions"), *args], base + "/join", log, timeout=120
    )
    printed = log.read_text()
    host_url = re.search(r"facilitator \(open on this machine\): (\S+)", printed).group(1)  # type: ignore[union-attr]
    join_url = re.search(r"phones join at: (\S+)", printed).group(1)  # type: ignore[union-attr]
    code = join_url.rsplit("code=", 1)[1]
    key = host_url.rsplit("key=", 1)[1]
    return RoomProcess(proc, base, host_url, join_url, code, key, out / "sessions", printed)


def call(
    base: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """One request: (status, the JSON answer or the raw text)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=60) as reply:
            raw = reply.read()
            status = reply.status
    except urllib.error.HTTPError as err:
        raw, status = err.read(), err.code
    try:
        return status, json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return status, raw.decode(errors="replace")


class Phone:
    """A participant as the phone page is: join, wait for changes, choose, answer."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.token = ""
        self.version = -1
        # (week, "ask" | "answer", time.time() of the room's answer) of each choice accepted
        self.made: list[tuple[int, str, float]] = []

    def join(self, code: str, name: str) -> int:
        status, data = call(self.base, "POST", "/api/join", {"code": code, "name": name})
        if status == 200:
            self.token = data["token"]
        return status

    def view(self, wait: bool = True) -> dict[str, Any]:
        """The seat's view: once it changes (as the page waits), or now (`wait=False`)."""
        since = self.version if wait else -1
        status, data = call(
            self.base, "GET", f"/api/seat?since={since}", headers={"X-Seat": self.token}
        )
        assert status == 200, data
        self.version = data["version"]
        return data  # type: ignore[no-any-return]

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        return call(self.base, "POST", path, body, {"X-Seat": self.token})

    def play(self, weeks: int, choose: Any) -> None:
        """Answer every prompt until week `weeks` has its results; `choose(view)` decides."""
        while True:
            v = self.view()
            if v["phase"] == "ended" or (v["phase"] == "results" and v["week"] >= weeks):
                return
            need = v.get("need")
            if v["phase"] == "asking" and need and need["candidates"] and need["chosen"] is None:
                status, _ = self.post("/api/ask", {"week": v["week"], "choice": choose(v)})
                if status == 200:
                    self.made.append((v["week"], "ask", time.time()))
            if v["phase"] == "answering" and v.get("requests") and not v["answered"]:
                accept = [q["learner"] for q in v["requests"]][: v["capacity"]]
                status, _ = self.post("/api/answer", {"week": v["week"], "accept": accept})
                if status == 200:
                    self.made.append((v["week"], "answer", time.time()))
