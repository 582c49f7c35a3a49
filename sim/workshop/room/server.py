"""The workshop room on the web: phones join and play seats; the facilitator runs the room.

A small Starlette app served by uvicorn (both already under Solara). Two pages, both
this package's own files read once: the phone's (`room_phone.html`, at /join) and the
facilitator's (`room_host.html`, at /host). Everything else is a JSON API. There is no
folder of files behind any route: the only file served is plotly.min.js from the plotly
package, for the facilitator's charts.

Security, since this is reachable beyond this machine when asked (`--lan`):
- joining needs the room code (random per session); wrong codes are limited per address;
- a phone acts only through the secret its seat was given: the server finds the seat
  from the secret, and no request names a seat, so nobody can act for another seat;
- inputs are the choices offered this week and nothing else (checked by sim.workshop.room.stages);
- bodies are at most MAX_BODY bytes, each phone and address has a request budget, and
  an address on the network takes at most SEATS_PER_ADDRESS seats;
- the facilitator's page and API need the host key and answer only on this machine
  (loopback), so a phone on the network cannot run the room.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import FrameType
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Route

from sim.workshop.room.errors import RoomError
from sim.workshop.room.game import Room

__all__ = ["RoomServer", "serve"]

HERE = Path(__file__).resolve().parent
MAX_BODY = 4_096  # bytes: a choice is a few dozen
POLL_SECONDS = 20.0  # a waiting screen's request returns after this even with no change
STOP_SECONDS = 2  # after Ctrl-C, what a request still in flight gets to finish
SETTLE = 0.15  # seconds a woken screen waits for the changes that come together
TICK = 0.2  # seconds between the room's clock checks
PHONE_BUDGET = (600, 60.0)  # requests per phone (seat, or address before joining) per minute:
# a waiting phone asks again at most every SETTLE seconds, under 7 a second
WRONG_CODES = (10, 60.0)  # wrong room codes per address per window
SEATS_PER_ADDRESS = 3  # seats one address on the network may take (this machine: any)
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
PHONE_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'"
)
HOST_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data: blob:; "
    "font-src 'self' data:; base-uri 'none'"
)


class _Budget:
    """At most `limit` events per key in any window of `seconds` (a sliding window)."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit, self.seconds = limit, seconds
        self._seen: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def spend(self, key: str) -> bool:
        """Count one event for `key`; False (and not counted) when its budget is spent."""
        if self.blocked(key):
            return False
        with self._lock:
            self._seen[key].append(time.monotonic())
            return True

    def blocked(self, key: str) -> bool:
        """Whether `key` has spent its budget in the last window."""
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 10_000:  # forget keys that have been quiet for a window
                for k in [k for k, v in self._seen.items() if not v or now - v[-1] > self.seconds]:
                    del self._seen[k]
            seen = self._seen[key]
            while seen and now - seen[0] > self.seconds:
                seen.popleft()
            return len(seen) >= self.limit


def _error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=SECURITY_HEADERS)


def _ok(data: Any) -> JSONResponse:
    return JSONResponse(data, headers=SECURITY_HEADERS)


class RoomServer:
    """The web app of one room.

    Args:
        room: the Room served.
        host_key: the facilitator's secret (in the facilitator's address).
        join_url: the address phones open (printed, and in the QR code).
        save_to: where the session is saved after every week (and at the end).
    """

    def __init__(self, room: Room, host_key: str, join_url: str, save_to: Path | None) -> None:
        self.room = room
        self.host_key = host_key
        self.join_url = join_url
        self.save_to = save_to
        self._phone_budget = _Budget(*PHONE_BUDGET)
        self._wrong_codes = _Budget(*WRONG_CODES)
        self._seats_of: dict[str, int] = defaultdict(int)  # seats taken per address
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._saved_week = -1
        self._stopping = False  # Ctrl-C: waiting screens are answered at once
        self._phone_page = (HERE / "room_phone.html").read_text(encoding="utf-8")
        self._host_page = (HERE / "room_host.html").read_text(encoding="utf-8")
        room.on_change = self._changed
        routes = [
            Route("/", self.index),
            Route("/join", self.phone_page),
            Route("/api/join", self.join, methods=["POST"]),
            Route("/api/seat", self.seat, methods=["GET"]),
            Route("/api/ask", self.ask, methods=["POST"]),
            Route("/api/answer", self.answer, methods=["POST"]),
            Route("/host", self.host_page),
            Route("/assets/plotly.min.js", self.plotly),
            Route("/api/host/state", self.host_state),
            Route("/api/host/qr.svg", self.qr),
            Route("/api/host/{action}", self.host_action, methods=["POST"]),
            Route("/api/host/download/{name}", self.download),
        ]
        self.app = Starlette(routes=routes, lifespan=self._lifespan)

    # ------------------------------------------------------------ the machinery
    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        ticker = asyncio.create_task(self._tick())
        try:
            yield
        finally:
            ticker.cancel()
            await run_in_threadpool(self._save, True)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK)
            try:
                self.room.tick()
            except Exception as exc:  # a clock tick must never stop the room
                print(f"room: the clock tick failed: {exc}", flush=True)
            if self.room.played() != self._saved_week:
                await run_in_threadpool(self._save)

    def _save(self, final: bool = False) -> None:
        if self.save_to is None:
            return
        week = self.room.played()
        if week != self._saved_week or final:
            self.room.save(self.save_to)
            self._saved_week = week

    def _changed(self) -> None:
        """Wake every screen waiting for a change (from any thread)."""
        loop = self._loop
        if loop is None:
            return

        def wake() -> None:
            self._wake.set()
            self._wake = asyncio.Event()

        # Called from the loop's own handlers and from the threadpool alike: the waiters
        # re-check the room's version before they wait, so a wake a moment later is enough.
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is waiting
            loop.call_soon_threadsafe(wake)

    def stop_waiting(self) -> None:
        """The room is stopping: answer every waiting screen now, so that it can end."""
        self._stopping = True
        self._changed()

    async def _wait_for_change(self, since: int) -> None:
        deadline = time.monotonic() + POLL_SECONDS
        while self.room.version <= since and not self._stopping:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=left)
        if not self._stopping:
            await asyncio.sleep(SETTLE)

    async def _body(self, request: Request) -> dict[str, Any]:
        """The request's JSON object, read up to MAX_BODY bytes (a larger one is refused)."""
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_BODY:
                raise RoomError(f"the request is too large (at most {MAX_BODY} bytes)", 413)
        try:
            data = json.loads(raw or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise RoomError("the request is not JSON") from None
        if not isinstance(data, dict):
            raise RoomError("the request is not a JSON object")
        return data

    def _phone_key(self, request: Request) -> str:
        """A seat's own budget once its secret checks out; before that, its address's."""
        try:
            return f"seat:{self.room.seat_of(request.headers.get('x-seat', '')).number}"
        except RoomError:
            return f"ip:{_client(request)}"

    async def _phone(
        self, request: Request, act: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if not self._phone_budget.spend(self._phone_key(request)):
            return _error("too many requests: wait a moment", 429)
        try:
            return await act(request)
        except RoomError as exc:
            return _error(str(exc), exc.status)

    def _is_host(self, request: Request) -> bool:
        key = request.headers.get("x-host-key") or request.query_params.get("key", "")
        return _is_loopback(_client(request)) and secrets.compare_digest(
            key.encode(), self.host_key.encode()
        )

    # -------------------------------------------------------------- the phones
    async def index(self, request: Request) -> Response:
        """GET /: the phone's page."""
        return RedirectResponse("/join")

    async def phone_page(self, request: Request) -> Response:
        """GET /join: the phone's page (joining, then the seat)."""
        return HTMLResponse(
            self._phone_page, headers=SECURITY_HEADERS | {"Content-Security-Policy": PHONE_CSP}
        )

    async def join(self, request: Request) -> Response:
        """POST /api/join {code, name}: take a seat; answers the seat's secret."""

        async def act(request: Request) -> Response:
            data = await self._body(request)
            address = _client(request)
            code, name = data.get("code"), data.get("name", "")
            if not isinstance(code, str) or not isinstance(name, str):
                raise RoomError("code and name are text")
            if self._wrong_codes.blocked(address):  # even the right code, until the minute is up
                raise RoomError("too many wrong codes from this address: wait a minute", 429)
            if not _is_loopback(address) and self._seats_of[address] >= SEATS_PER_ADDRESS:
                raise RoomError(f"this device has taken {SEATS_PER_ADDRESS} seats already", 429)
            try:
                seat = self.room.join(code, name)
            except RoomError as exc:
                if exc.status == 403:
                    self._wrong_codes.spend(address)
                raise
            self._seats_of[address] += 1
            return _ok({"token": seat.token, "seat": seat.number, "name": seat.name})

        return await self._phone(request, act)

    async def seat(self, request: Request) -> Response:
        """GET /api/seat?since=V: the seat's view once it changes after version V."""

        async def act(request: Request) -> Response:
            token = request.headers.get("x-seat", "")
            self.room.seat_of(token)  # 403 before any waiting
            since = _int(request.query_params.get("since", "-1"), "since")
            await self._wait_for_change(since)
            return _ok(self.room.seat_view(token))

        return await self._phone(request, act)

    async def ask(self, request: Request) -> Response:
        """POST /api/ask {week, choice}: whom the seat asks (a person offered, or "silent")."""

        async def act(request: Request) -> Response:
            data = await self._body(request)
            choice = data.get("choice")
            self.room.ask(request.headers.get("x-seat", ""), _week(data), choice)
            return _ok({"ok": True})

        return await self._phone(request, act)

    async def answer(self, request: Request) -> Response:
        """POST /api/answer {week, accept}: the requests the seat accepts (the rest refused)."""

        async def act(request: Request) -> Response:
            data = await self._body(request)
            accept = data.get("accept", [])
            if not isinstance(accept, list) or len(accept) > 50:
                raise RoomError("accept is a list of the requests you accept")
            self.room.answer(request.headers.get("x-seat", ""), _week(data), accept)
            return _ok({"ok": True})

        return await self._phone(request, act)

    # ---------------------------------------------------------- the facilitator
    async def host_page(self, request: Request) -> Response:
        """GET /host?key=K: the facilitator's screen (on this machine, with the key)."""
        if not self._is_host(request):
            return HTMLResponse(
                "<h1>Not here</h1><p>The facilitator's screen opens on the machine that runs "
                "the room, at the address printed when it started.</p>",
                status_code=403,
                headers=SECURITY_HEADERS,
            )
        return HTMLResponse(
            self._host_page, headers=SECURITY_HEADERS | {"Content-Security-Policy": HOST_CSP}
        )

    async def plotly(self, request: Request) -> Response:
        """GET /assets/plotly.min.js: the charts' library, from the plotly package."""
        import plotly

        path = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
        return FileResponse(path, media_type="text/javascript")

    async def host_state(self, request: Request) -> Response:
        """GET /api/host/state?since=V: the room as the facilitator sees it, once changed."""
        if not self._is_host(request):
            return _error("the facilitator's key is needed, on this machine", 403)
        try:
            since = _int(request.query_params.get("since", "-1"), "since")
        except RoomError as exc:
            return _error(str(exc), exc.status)
        await self._wait_for_change(since)
        view = await run_in_threadpool(self.room.host_view)
        return _ok(view | {"join_url": self.join_url})

    async def qr(self, request: Request) -> Response:
        """GET /api/host/qr.svg: the join link as a QR code."""
        if not self._is_host(request):
            return _error("the facilitator's key is needed, on this machine", 403)
        import io

        import segno

        out = io.BytesIO()
        segno.make(self.join_url, error="m").save(out, kind="svg", scale=8, border=2)
        return Response(out.getvalue(), media_type="image/svg+xml", headers=SECURITY_HEADERS)

    async def host_action(self, request: Request) -> Response:
        """POST /api/host/{start,next,pause,auto,event}: the facilitator's controls."""
        if not self._is_host(request):
            return _error("the facilitator's key is needed, on this machine", 403)
        action = request.path_params["action"]
        room = self.room
        try:
            data = await self._body(request)
            if action == "start":
                room.start()
            elif action == "next":
                room.next()
            elif action == "pause":
                room.pause(_flag(data, "paused"))
            elif action == "auto":
                room.set_auto(_flag(data, "auto"))
            elif action == "event":
                kind = data.get("kind")
                if not isinstance(kind, str):
                    raise RoomError("kind: the event's name")
                room.fire(kind)
            else:
                return _error(f"no action {action!r}", 404)
        except RoomError as exc:
            return _error(str(exc), exc.status)
        return _ok({"ok": True, "version": room.version})

    async def download(self, request: Request) -> Response:
        """GET /api/host/download/NAME: the session file and the debrief's files."""
        if not self._is_host(request):
            return _error("the facilitator's key is needed, on this machine", 403)
        from sim.workshop.room import debrief

        name = request.path_params["name"]
        makers = {
            "session.json": ("application/json", lambda: debrief.session_bytes(self.room)),
            "debrief.pdf": ("application/pdf", lambda: debrief.pdf_bytes(self.room)),
            "debrief.zip": ("application/zip", lambda: debrief.zip_bytes(self.room)),
            "debrief.csv": ("text/csv", lambda: debrief.weeks_csv(self.room).encode()),
            "debrief.json": ("application/json", lambda: debrief.json_bytes(self.room)),
        }
        if name not in makers:
            return _error(f"no download {name!r}: one of {', '.join(makers)}", 404)
        media, make = makers[name]
        data = await run_in_threadpool(make)
        stem = f"room-{self.room.code}-{name}"
        return Response(
            data,
            media_type=media,
            headers=SECURITY_HEADERS | {"Content-Disposition": f'attachment; filename="{stem}"'},
        )


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _int(text: str, key: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise RoomError(f"{key} = {text!r}: a whole number") from None


def _flag(data: dict[str, Any], key: str) -> bool:
    value = data.get(key, True)
    if not isinstance(value, bool):
        raise RoomError(f"{key}: true or false")
    return value


def _week(data: dict[str, Any]) -> int:
    week = data.get("week")
    if isinstance(week, bool) or not isinstance(week, int):
        raise RoomError("week: the week's number")
    return week


def serve(server: RoomServer, host: str, port: int) -> None:
    """Serve the room until Ctrl-C; then answer the waiting screens, save and end.

    uvicorn waits for every open request before it stops, and a screen's request waits
    up to POLL_SECONDS for a change: without a word to them, Ctrl-C took that long.
    """
    import uvicorn

    class _Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            server.stop_waiting()
            super().handle_exit(sig, frame)

    config = uvicorn.Config(
        server.app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=STOP_SECONDS,
    )
    _Server(config).run()
