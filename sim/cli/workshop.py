"""The workshop commands: the web app, and the room (serve, replay).

`trustsim app` starts the Solara app (its server replaces this process); `app --room`
serves a room that phones join; `room replay` runs a recorded session again beside
the same team fully simulated.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import os
import sys
import time
from pathlib import Path
from typing import Any

from sim.cli.parser import UsageError, check_seed, resolve_scenario

__all__ = ["cmd_app", "cmd_room_replay", "cmd_room_serve", "lan_address"]


def _listen_address(host: str, port: int) -> Any:
    """The address the server will bind, checked: a name of this machine, a free port."""
    import socket

    if not 1 <= port <= 65535:
        raise UsageError(f"--port {port}: must be from 1 to 65535")
    try:
        family, *_, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise UsageError(
            f"--host {host}: not a name or address of this machine "
            f"({getattr(exc, 'strerror', None) or exc}); give one such as 127.0.0.1"
        ) from None
    with socket.socket(family) as probe:
        # As the server binds: a port left in TIME_WAIT by a server just stopped is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                hint = "another program listens there; choose another --port"
            else:
                hint = f"--host {host} is not an address of this machine"
            raise UsageError(
                f"--port {port} on {host}: cannot listen there ({exc.strerror}): {hint}"
            ) from None
    return address


def cmd_app(args: argparse.Namespace) -> int:
    """`trustsim app`: start the workshop web app and print its address."""
    if args.room:
        return cmd_room_serve(args)
    if args.lan:
        args.host = "0.0.0.0"
    address = _listen_address(args.host, args.port)
    if ipaddress.ip_address(address[0]).is_loopback:
        reach = "only this machine can open it"
    else:
        where = (
            "every network interface of this machine"
            if ipaddress.ip_address(address[0]).is_unspecified
            else args.host
        )
        reach = (
            f"listening on {where}, beyond this machine: anyone who can reach it on port "
            f"{args.port} can open it and change what it shows; --host 127.0.0.1 keeps it "
            "to this machine"
        )
    print(
        f"trustsim workshop app: open http://{args.host}:{args.port} in a browser; "
        f"{reach} (Ctrl-C stops it)",
        flush=True,
    )
    command = [
        sys.executable,
        "-m",
        "solara",
        "run",
        "sim.workshop.app",
        "--host",
        args.host,
        "--port",
        str(args.port),
        "--production",
        "--no-open",
        "--log-level",
        "warning",
        "--no-check-version",  # Solara would ask pypi.org for its newest version
    ]
    # The charts are drawn in the browser by plotly.js, served from the plotly package
    # (no CDN: a workshop room may have no internet).
    import plotly

    scripts = Path(plotly.__file__).resolve().parent / "package_data"
    os.environ["SOLARA_ASSETS_EXTRA_LOCATIONS"] = str(scripts)
    # The server replaces this process, so Ctrl-C and kill reach it directly.
    # Nothing is fetched from outside while the app runs: no telemetry, and an asset
    # missing from Solara's bundled cache fails instead of coming from a CDN.
    os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    os.environ["SOLARA_ASSETS_CDN"] = "http://127.0.0.1:9/no-cdn/"
    os.environ.setdefault("SOLARA_THEME_SHOW_BANNER", "False")  # it covered the charts
    os.execv(sys.executable, command)
    return 0  # not reached


def lan_address() -> str:
    """This machine's address on the local network (no packet is sent to find it).

    127.0.0.1 when it has none (no route beyond this machine).
    """
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.254.254.254", 1))  # a route lookup only: UDP sends nothing here
            return str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def cmd_room_serve(args: argparse.Namespace) -> int:
    """`trustsim app --room`: a room that phones join, and the facilitator's screen."""
    import secrets

    from sim.workshop.room.errors import RoomError
    from sim.workshop.room.game import Room
    from sim.workshop.room.seats import MAX_SEATS
    from sim.workshop.story import plain_name

    host = "0.0.0.0" if args.lan else args.host
    ip = ipaddress.ip_address(_listen_address(host, args.port)[0])
    if not (ip.is_loopback or ip.is_unspecified):
        raise UsageError(
            f"--host {args.host}: a room listens on 127.0.0.1, or with --lan on every "
            "interface (the facilitator's screen opens at 127.0.0.1 on this machine)"
        )
    if args.weeks is not None and not 1 <= args.weeks <= 104:
        raise UsageError(f"--weeks {args.weeks}: from 1 to 104")
    for flag in ("ask_seconds", "answer_seconds"):
        value = getattr(args, flag)
        if not 5 <= value <= 600:
            raise UsageError(f"--{flag.replace('_', '-')} {value:g}: from 5 to 600 seconds")
    check_seed(args.seed)
    scenario = resolve_scenario(args.scenario, {})
    weeks = args.weeks if args.weeks is not None else min(scenario.steps, 20)
    scenario = scenario.with_(steps=weeks)
    title = plain_name(Path(args.scenario).stem, scenario)
    try:
        room = Room(
            scenario,
            args.seed,
            seats=args.seats,
            ask_seconds=args.ask_seconds,
            answer_seconds=args.answer_seconds,
            title=title,
        )
    except RoomError as exc:
        raise UsageError(f"--seats {args.seats}: {exc}") from None
    key = secrets.token_urlsafe(18)
    shown = lan_address() if ip.is_unspecified else host
    join = f"http://{shown}:{args.port}/join?code={room.code}"
    save = Path(args.out) / f"room-{time.strftime('%Y%m%d-%H%M')}-{room.code}.json"
    if ip.is_loopback:
        reach = (
            f"listening on {host} only: phones cannot reach it (this machine only). To let "
            "phones on this network join, start it with --lan."
        )
    else:
        reach = (
            f"listening on {'every network interface' if ip.is_unspecified else host}, port "
            f"{args.port}: anyone on this network who has the room code can take a seat "
            f"(at most {room.max_seats}); the facilitator's screen opens only on this machine."
        )
    print(
        f"trustsim workshop room {room.code}: {title}, {weeks} weeks, seed {args.seed}, "
        f"{room.max_seats} seats (at most {MAX_SEATS})\n"
        f"  {reach}\n"
        f"  facilitator (open on this machine): http://127.0.0.1:{args.port}/host?key={key}\n"
        f"  phones join at: {join}\n"
        f"  the session is saved to {save} after every week (Ctrl-C stops the room)",
        flush=True,
    )
    from sim.workshop.room.server import RoomServer, serve

    serve(RoomServer(room, key, join, save), host, args.port)
    return 0


def cmd_room_replay(args: argparse.Namespace) -> int:
    """`trustsim room replay SESSION`: run a recorded room again, beside its twin."""
    from sim.workshop.room.errors import RoomError
    from sim.workshop.room.record import load_session, replay

    path = Path(args.session)
    try:
        rep = replay(load_session(path), str(path))
    except RoomError as exc:
        raise UsageError(str(exc)) from None
    weeks = rep.weeks
    verdict = (
        "identical to the room's run, every measure of every week"
        if rep.identical
        else "DIFFERENT from the room's recorded run"
    )
    print(
        f"{path}: replayed {weeks} week{'s' * (weeks != 1)} from seed "
        f"{rep.session['seed']}: {verdict}"
    )
    from sim.model.fast import columns
    from sim.workshop.play import measures_shown

    for name in measures_shown():
        c = columns().index(name)
        a, b = rep.replay.table[weeks, c], rep.twin.table[weeks, c]
        print(f"  {name:<18} week {weeks}: room {a:.3f}  fully simulated {b:.3f}  ({a - b:+.3f})")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        table = rep.replay.steps.iloc[: weeks + 1]
        twin = rep.twin.steps.iloc[: weeks + 1]
        table.to_csv(out / "replay_steps.csv", index=False)
        twin.to_csv(out / "simulated_steps.csv", index=False)
        print(f"  wrote {out / 'replay_steps.csv'} and {out / 'simulated_steps.csv'}")
    return 0 if rep.identical else 1
