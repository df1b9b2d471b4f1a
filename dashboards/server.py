"""Start the dashboard's web server (Solara) on this machine, offline-safe."""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from pathlib import Path

from dashboards.player import MAX_PLAYING_ENV, default_max_playing

SETTINGS_ENV = "ORGSELF_SETTINGS"  # read by dashboards/session.py (the page)

APP = Path(__file__).resolve().parent / "app.py"


def is_loopback(host: str) -> bool:
    """True if ``host`` is reachable from this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:  # a host name: loopback only if every address it resolves to is
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0].split("%")[0]).is_loopback
                               for i in infos)


def server_env(max_playing: int | None = None,
               settings: list[str] | None = None) -> dict[str, str]:
    """Environment for the server: no telemetry, no calls to outside hosts; the limit of
    pages playing at once and the setting files added to the page's choices, if given."""
    env = dict(os.environ)
    if max_playing is not None:
        env[MAX_PLAYING_ENV] = str(max_playing)
    env.pop(SETTINGS_ENV, None)
    if settings:
        env[SETTINGS_ENV] = os.pathsep.join(str(Path(s).resolve()) for s in settings)
    env.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "false")
    env.setdefault("SOLARA_THEME_SHOW_BANNER", "false")
    return env


def server_command(host: str, port: int) -> list[str]:
    return [sys.executable, "-m", "solara", "run", str(APP), "--host", host, "--port",
            str(port), "--production", "--no-open"]


def serve(host: str = "127.0.0.1", port: int = 8765, max_playing: int | None = None,
          model: str = "", settings: list[str] | None = None) -> None:
    """Replace this process with the dashboard server (so Ctrl+C and signals reach it);
    ``model``: an extension's "module:Class" to play instead of the built-in model;
    ``settings``: checked setting files added to the page's choices."""
    limit = max_playing or default_max_playing()
    print(f"dashboard at http://{host}:{port} (Ctrl+C to stop); up to {limit} pages may "
          "play at once (--max-playing)", flush=True)
    if settings:
        print(f"settings added: {', '.join(Path(s).stem for s in settings)} (the page opens "
              f"on {Path(settings[0]).stem})", flush=True)
    command = server_command(host, port)
    env = server_env(max_playing, settings)
    if model:
        env["ORGSELF_MODEL"] = model
    os.execve(command[0], command, env)
