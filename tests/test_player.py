"""The dashboard's play loop, without a browser: pause, page gone, slow page, model end."""

import threading
import time

from dashboards.player import MAX_FRAMES_AHEAD, Conductor, PlayLoop


class Counter:
    """A fake model step that counts, and a fake page that counts frames."""

    def __init__(self, last: int = 10_000, step_seconds: float = 0.002):
        self.steps = 0
        self.frames = 0
        self.last = last
        self.step_seconds = step_seconds
        self.stopped = threading.Event()

    def step(self) -> bool:
        time.sleep(self.step_seconds)
        self.steps += 1
        return self.steps < self.last

    def publish(self) -> None:
        self.frames += 1


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def make(counter: Counter, **kwargs) -> PlayLoop:
    loop = PlayLoop(counter.step, counter.publish, on_stop=counter.stopped.set, **kwargs)
    loop.interval = 0.005
    return loop


def test_pause_stops_within_the_step_under_way():
    counter = Counter()
    loop = make(counter)
    loop.play()
    wait_until(lambda: counter.steps >= 5)
    loop.stop()
    at_pause = counter.steps
    assert counter.stopped.wait(5)
    time.sleep(0.1)
    assert counter.steps <= at_pause + 1
    assert not loop.playing and loop.stop_reason == "paused"
    assert counter.frames >= 1


def test_a_closed_page_ends_the_loop():
    counter = Counter()
    open_page = threading.Event()
    open_page.set()
    loop = make(counter, alive=open_page.is_set)
    loop.play()
    wait_until(lambda: counter.steps >= 3)
    open_page.clear()
    assert counter.stopped.wait(5)
    assert loop.stop_reason == "page closed"
    settled = counter.steps
    time.sleep(0.1)
    assert counter.steps == settled


def test_a_page_that_draws_nothing_holds_the_model_back_instead_of_queueing_frames():
    counter = Counter()
    loop = make(counter, ready=lambda timeout: time.sleep(timeout) or False)
    loop.play()
    time.sleep(0.6)
    assert counter.frames == 0  # nothing sent while a frame is in flight
    assert counter.steps <= MAX_FRAMES_AHEAD + 1  # waits for the page, does not race on
    loop.close()
    assert loop.frames_skipped >= MAX_FRAMES_AHEAD


def test_the_loop_ends_with_the_model_and_draws_where_it_stopped():
    counter = Counter(last=7)
    loop = make(counter)
    loop.steps_per_frame = 3
    loop.play()
    assert counter.stopped.wait(5)
    assert counter.steps == 7 and loop.stop_reason == "the model cannot go on"
    assert counter.frames >= 3  # frames after weeks 3 and 6, and one at week 7


def test_play_after_pause_never_steps_two_loops_at_once():
    active, overlap = [0], []
    lock = threading.Lock()

    def step() -> bool:
        with lock:
            active[0] += 1
            overlap.append(active[0])
        time.sleep(0.003)
        with lock:
            active[0] -= 1
        return True

    loop = PlayLoop(step, lambda: None)
    loop.interval = 0.001
    for _ in range(20):
        loop.play()
        time.sleep(0.01)
        loop.stop()
    loop.close()
    assert max(overlap) == 1


def test_a_server_plays_at_most_its_limit_of_pages_and_frees_a_place_on_pause():
    conductor = Conductor(limit=1)
    first, second = Counter(), Counter()
    playing = make(first, conductor=conductor)
    refused = make(second, conductor=conductor)
    assert playing.play()
    assert not refused.play() and refused.stop_reason == "server busy"
    assert second.steps == 0 and conductor.playing == 1
    playing.close()
    assert conductor.playing == 0
    assert refused.play()
    wait_until(lambda: second.steps >= 2)
    refused.close()


def test_pages_of_one_server_take_turns_computing_frames():
    conductor = Conductor(limit=10)
    inside, most = [0], [0]
    lock = threading.Lock()

    class Busy(Counter):
        def step(self) -> bool:
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.002)
            with lock:
                inside[0] -= 1
            self.steps += 1
            return True

    counters = [Busy() for _ in range(4)]
    loops = [make(c, conductor=conductor) for c in counters]
    for loop in loops:
        assert loop.play()
    wait_until(lambda: all(c.steps >= 5 for c in counters))  # every page advances
    for loop in loops:
        loop.close()
    assert most[0] == 1  # never two frames computed at once


def test_a_change_made_while_playing_waits_for_the_step_under_way():
    inside, release = threading.Event(), threading.Event()
    events = []

    def step() -> bool:
        events.append("step begins")
        inside.set()
        release.wait(10)
        events.append("step ends")
        return False  # one step, then the model cannot go on

    loop = PlayLoop(step, lambda: None)
    loop.play()
    assert inside.wait(10)
    changer = threading.Thread(target=loop.between_steps,
                               args=(lambda: events.append("change"),))
    changer.start()
    time.sleep(0.2)  # the change had time to run if nothing held it back
    assert events == ["step begins"]
    release.set()
    changer.join(10)
    assert events == ["step begins", "step ends", "change"]
    loop.close()
