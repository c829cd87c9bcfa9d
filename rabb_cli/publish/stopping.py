"""Stopping a run on SIGINT or SIGTERM without losing a post or guessing its outcome.

The first signal stops the run from claiming more posts. A post claimed but not
sent yet is released unchanged. Each request already in flight is awaited so that
its outcome is recorded, and httpx ends one after publish.timeout of silence. A
second signal stops at once, and only the posts with a request in flight are then
left with an unknown outcome, for a later run to settle.

NOTE: a thread that sleeps for Late's rate limit (RateLimitPacer, up to 60 s) is
not woken by the first signal, so it sends its post after the sleep, and the run
records that outcome before it stops.
"""

import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

logger = logging.getLogger("rabb.publish")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopNow(KeyboardInterrupt):
    """A second stop signal: the run exits without waiting for its requests."""

    def __init__(self, signal_number: int) -> None:
        self.signal_number = signal_number
        name = signal.Signals(signal_number).name
        super().__init__(f"the run was stopped at once by a second {name}")

    def __str__(self) -> str:
        return str(self.args[0])


class StopRequest:
    """The signal that asked the current run to stop, shared by its threads."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signal_number: int | None = None

    def is_set(self) -> bool:
        return self._event.is_set()

    def set(self, signal_number: int) -> None:
        self.signal_number = signal_number
        self._event.set()


@contextmanager
def stop_on_signals(request: StopRequest, wait_note: str) -> Iterator[None]:
    """Turn SIGINT and SIGTERM into `request` while the block runs.

    Python lets only the main thread install handlers, so elsewhere (a test that
    runs the engine in a thread) the block runs with the handlers as they are.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signal_number: int, frame: FrameType | None) -> None:
        if request.is_set():
            stop = StopNow(signal_number)
            logger.warning("%s", stop)
            raise stop
        request.set(signal_number)
        name = signal.Signals(signal_number).name
        logger.warning("run stopping on %s", name)
        sys.stderr.write(
            f"rabb: stopping on {name}: posts not sent yet stay due for the next"
            f" run; {wait_note}. Send the signal again to stop at once.\n"
        )

    previous = {number: signal.getsignal(number) for number in STOP_SIGNALS}
    for number in STOP_SIGNALS:
        signal.signal(number, handle)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
