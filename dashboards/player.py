"""The dashboard's play loop: steps in a background thread, one redraw at a time.

Mesa's stock controller steps and redraws from a task that the page's own renders
restart, so a busy server queues redraws, pauses late and keeps playing for pages that
were closed. :class:`PlayLoop` instead:

- steps the model in one daemon thread per page, ``steps_per_frame`` steps per frame;
- publishes a frame only when the page has drawn the previous one (``ready()``); a frame
  that comes while one is in flight is skipped, never queued, and the last state is
  drawn when play stops; after ``MAX_FRAMES_AHEAD`` skipped frames in a row the model
  waits for the page, so a slow browser sees a slower model, not one racing ahead;
- after each frame waits at least as long as the frame took to draw, so the server's
  other work (a Pause click, other students' pages) always gets its turn;
- stops within one step of ``stop()`` (the Pause button sets an event; it needs no
  render), when the model stops running, or when the page is gone (``alive()``);
- takes turns with every other page's loop on the server (:class:`Conductor`): one frame
  (steps and redraw) is computed at a time, so a click on any page competes with one busy
  thread, not with one per playing page; and at most ``Conductor.limit`` pages play at
  once (a page over the limit is told the server is busy).

It knows nothing of Solara: the page passes in what to call.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)
MAX_FRAMES_AHEAD = 4  # frames the model may run ahead of a page that has not drawn yet
MAX_PLAYING_ENV = "ORGSELF_MAX_PLAYING"  # set by `run.py serve --max-playing N`


def default_max_playing() -> int:
    """Pages that may play at once: ``$ORGSELF_MAX_PLAYING``, else 6 per CPU core (10 pages
    on 2 cores measured: see README)."""
    configured = os.environ.get(MAX_PLAYING_ENV, "").strip()
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return 6 * (os.cpu_count() or 1)


class Conductor:
    """What all play loops of one server share: a turn (one frame computed at a time)
    and a cap on how many pages play at once."""

    def __init__(self, limit: int):
        self.limit = limit
        self.turn = threading.Lock()
        self._members: set[int] = set()
        self._lock = threading.Lock()

    def enter(self, player: object) -> bool:
        """Admit ``player`` (one play of one page) unless ``limit`` others are playing."""
        with self._lock:
            if len(self._members) >= self.limit:
                return False
            self._members.add(id(player))
            return True

    def leave(self, player: object) -> None:
        with self._lock:
            self._members.discard(id(player))

    @property
    def playing(self) -> int:
        with self._lock:
            return len(self._members)


CONDUCTOR = Conductor(default_max_playing())


def busy_message(limit: int) -> str:
    return (f"The server is busy: {limit} pages are playing, its limit. Use Step, or press "
            "Play again in a moment (the teacher can raise the limit: run.py serve "
            "--max-playing N).")


class PlayLoop:
    """Play and pause for one page.

    Args:
        step: advances the model one step; returns False when it cannot go on.
        publish: asks the page to draw the current state (called from the loop's thread,
            never while an earlier call is still running).
        ready: True when the page has drawn what it was last sent (waits up to the given
            seconds).
        alive: False once the page that owns the loop has closed.
        on_stop: called once from the loop's thread when it stops for any reason.
    """

    def __init__(self, step: Callable[[], bool], publish: Callable[[], None],
                 alive: Callable[[], bool] = lambda: True,
                 on_stop: Callable[[], None] = lambda: None,
                 ready: Callable[[float], bool] = lambda timeout: True,
                 conductor: Conductor | None = None):
        self._step, self._publish, self._alive, self._on_stop = step, publish, alive, on_stop
        self._ready = ready
        self._conductor = conductor or Conductor(limit=1_000_000)
        self._stop = threading.Event()
        self._stop.set()
        self._thread: threading.Thread | None = None
        self._drawing = threading.Lock()
        self._stepping = threading.Lock()  # a loop still finishing never steps beside a new one
        self.interval = 0.15  # seconds between frames (at most)
        self.steps_per_frame = 1
        self.frames_skipped = 0
        self.last_draw_seconds = 0.0
        self.stop_reason = ""

    @property
    def playing(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def play(self) -> bool:
        """Start stepping in the background (no-op if already playing); False if the
        server's limit of playing pages is reached. Never waits for an earlier loop: it
        may need the page's render lock, which the caller may hold."""
        if self.playing:
            return True
        stop = threading.Event()
        if not self._conductor.enter(stop):
            self.stop_reason = "server busy"
            return False
        self._stop = stop
        self._thread = threading.Thread(target=self._run, args=(self._stop,),
                                        name="dashboard-play", daemon=True)
        self._thread.start()
        return True

    def stop(self) -> None:
        """Stop after the step under way; returns at once (safe from the page's handlers)."""
        self._stop.set()

    def close(self, timeout: float = 5.0) -> None:
        """Stop and wait for the thread to end (not from a page handler: see ``play``)."""
        self.stop()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def between_steps(self, action: Callable[[], None]) -> None:
        """Run ``action`` now if no step is under way, else as soon as it ends (before the
        next): a change made while playing never meets a half-done step."""
        with self._stepping:
            action()

    def draw(self) -> bool:
        """Publish a frame unless one is still being drawn; True if it was published."""
        if not self._drawing.acquire(blocking=False):
            self.frames_skipped += 1
            return False
        started = time.monotonic()
        try:
            self._publish()
        finally:
            self.last_draw_seconds = time.monotonic() - started
            self._drawing.release()
        return True

    def _frame(self, stop: threading.Event) -> bool:
        """The steps of one frame; False once the model cannot go on."""
        for _ in range(max(1, self.steps_per_frame)):
            with self._stepping:
                if not self._step():
                    return False
            if stop.is_set():
                break
        return True

    def _run(self, stop: threading.Event) -> None:
        self.stop_reason = "paused"
        skipped_in_a_row = 0
        try:
            while not stop.is_set():
                if not self._alive():
                    self.stop_reason = "page closed"
                    break
                started = time.monotonic()
                with self._conductor.turn:
                    going = self._frame(stop)
                    ready = self._ready(0.0)
                    drawn = ready and self.draw()  # draw() counts the frames it skips
                if drawn:
                    skipped_in_a_row = 0
                else:
                    self.frames_skipped += not ready
                    skipped_in_a_row += 1
                    while skipped_in_a_row >= MAX_FRAMES_AHEAD and not stop.is_set() and (
                            self._alive() and not self._ready(0.25)):
                        pass  # the page is far behind: wait for it instead of racing ahead
                if not going:
                    self.stop_reason = "the model cannot go on"
                    break
                stop.wait(max(self.interval - (time.monotonic() - started),
                              self.last_draw_seconds))
        except Exception as err:
            self.stop_reason = f"failed: {type(err).__name__}: {err}"
            raise
        finally:
            logger.warning("play loop stopped (%s)", self.stop_reason)
            stop.set()
            self._conductor.leave(stop)
            if self._alive():  # show where play stopped
                self._ready(1.0)
                self.draw()
            if stop is self._stop:  # not replaced by a newer loop
                self._on_stop()
