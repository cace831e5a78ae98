"""The bounded queue between the threads that report events and the one that sends them.

It holds at most `max_events` events, counting those taken for sending until they are settled
(sent, or refused for good), so memory stays bounded however long LSO is away; past that bound a
new event is dropped at once and counted, never queued and never waited for."""

import threading
import time
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Item:
    system: int | str  # an id, or a name the sender resolves
    event: bytes  # one serialized event (events.encode)


class Buffer:
    def __init__(self, max_events: int, batch_events: int) -> None:
        self._max_events = max_events
        self._batch_events = batch_events
        self._ready = threading.Condition(threading.Lock())
        self._items: deque[Item] = deque()
        self._in_flight = 0
        # Sequence numbers: events ever queued, taken and settled. Taken and settled in queue
        # order, so "settled >= n" means the first n queued events are done with.
        self._queued = 0
        self._taken = 0
        self._settled = 0
        self._flush_to = 0  # a flush waits for the events queued before it: send them now
        self._closed = False
        self.dropped = 0

    def put(self, item: Item) -> bool:
        """Queue `item`; False (and counted in `dropped`) when the buffer is full or closed."""
        with self._ready:
            if self._closed or len(self._items) + self._in_flight >= self._max_events:
                self.dropped += 1
                return False
            self._items.append(item)
            self._queued += 1
            if len(self._items) == self._batch_events:  # wake the sender once per full batch
                self._ready.notify_all()
            return True

    def take(self, max_events: int, until_s: float) -> list[Item]:
        """Up to `max_events` of the oldest events, once a full batch is there, a flush or the
        close asks for them, or at the monotonic time `until_s`; they are in flight until
        `settle`. Empty when there is nothing to send (after a close: the sender may stop)."""
        with self._ready:
            while not self._due():
                remaining_s = until_s - time.monotonic()
                if remaining_s <= 0:
                    break
                self._ready.wait(remaining_s)
            batch = [self._items.popleft() for _ in range(min(max_events, len(self._items)))]
            self._in_flight += len(batch)
            self._taken += len(batch)
            return batch

    def _due(self) -> bool:
        if not self._items:
            return self._closed
        return (
            len(self._items) >= self._batch_events or self._closed or self._taken < self._flush_to
        )

    def settle(self, count: int) -> None:
        """`count` events taken earlier are done with (sent, refused or given up)."""
        with self._ready:
            self._in_flight -= count
            self._settled += count
            self._ready.notify_all()

    def wait_settled(self, timeout_s: float) -> bool:
        """Ask for every event queued so far to be sent now, and wait until they are settled;
        False if that takes longer than `timeout_s`."""
        with self._ready:
            target = self._queued
            self._flush_to = max(self._flush_to, target)
            self._ready.notify_all()
            return self._ready.wait_for(lambda: self._settled >= target, timeout_s)

    def close(self) -> None:
        """Refuse new events (they count as dropped) and let the sender take what is left."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    def discard(self) -> int:
        """Drop every queued event (counted in `dropped`); how many there were."""
        with self._ready:
            count = len(self._items)
            self._items.clear()
            self.dropped += count
            self._taken += count  # done with, as far as a flush is concerned
            self._settled += count
            self._ready.notify_all()
            return count

    def count_dropped(self, count: int) -> None:
        with self._ready:
            self.dropped += count

    @property
    def pending(self) -> int:
        """Events queued or in flight."""
        with self._ready:
            return len(self._items) + self._in_flight

    @property
    def closed(self) -> bool:
        return self._closed
