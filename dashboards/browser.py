"""Drive the dashboard in Debian's chromium (Playwright): for the browser tests and the
README screenshot. Starts the server on a free local port and stops it afterwards."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dashboards.server import server_command, server_env

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ROOT = Path(__file__).resolve().parent.parent

# Clicks Pause on the page and resolves to the seconds until the Play button shows again,
# measured inside the page (what the student sees; no driver round trips); -1 if the page
# is not playing, 999 if Play never shows again within 30 s.
PAUSE_LATENCY_JS = """
() => new Promise((resolve) => {
  const pause = [...document.querySelectorAll('button')].find(b => b.innerText.trim() == '❚❚');
  if (!pause) { resolve(-1); return; }
  const clicked = performance.now();
  const shown = () => [...document.querySelectorAll('button')].some(
      b => b.innerText.trim() == '▶');
  const observer = new MutationObserver(() => {
    if (shown()) { observer.disconnect(); resolve((performance.now() - clicked) / 1000); }
  });
  observer.observe(document.body, {subtree: true, childList: true, characterData: true});
  pause.click();
  setTimeout(() => { observer.disconnect(); resolve(999); }, 30000);
})
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, server: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"dashboard server exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"dashboard server not up at {url} after {timeout} s")


class ServedUrl(str):
    """The URL of a running dashboard server, with the server's process id."""

    pid: int = 0
    log: Path = Path()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def running_server(log_path: Path, max_playing: int | None = None,
                   settings: list[str] | None = None) -> Iterator[ServedUrl]:
    """The dashboard served on 127.0.0.1 at a free port; yields its URL (with ``pid``);
    ``settings``: setting files added to the page's choices (it opens on the first)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    with log_path.open("w") as log:
        server = subprocess.Popen(server_command("127.0.0.1", port),
                                  env=server_env(max_playing, settings),
                                  cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_up(url, server)
            served = ServedUrl(url)
            served.pid = server.pid
            served.log = log_path
            yield served
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=15)


@contextmanager
def chromium() -> Iterator[object]:
    """Headless Debian chromium through Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
