"""Whose turn it is to train: a first-come queue in front of a fixed number of training slots, which
can tell each waiting student how many runs are ahead of theirs and about how long that will take
(from each run's estimated duration), and lets a waiting run leave the queue (Stop while queued)."""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from dataclasses import dataclass, field


@dataclass(eq=False)  # identity: two tickets are never the same request
class Ticket:
    """One run asking for a slot."""

    estimate_s: float  # how long the run is expected to train once it has a slot
    number: int = 0  # order of arrival
    started: float | None = None  # time.monotonic() when it got its slot
    done: bool = field(default=False)


class TrainingQueue:
    """`slots` runs train at once; the others wait in arrival order."""

    def __init__(self, slots: int):
        self.slots = slots
        self._waiting: list[Ticket] = []
        self._running: list[Ticket] = []
        self._counter = itertools.count(1)
        self._changed = threading.Condition()

    def join(self, estimate_s: float) -> Ticket:
        """Queue a run; it must later call wait_turn until it gets its slot, then finish (or leave)."""
        with self._changed:
            ticket = Ticket(estimate_s, next(self._counter))
            self._waiting.append(ticket)
            self._promote()
            return ticket

    def _promote(self) -> None:
        while self._waiting and len(self._running) < self.slots:
            ticket = self._waiting.pop(0)
            ticket.started = time.monotonic()
            self._running.append(ticket)
        self._changed.notify_all()

    def wait_turn(self, ticket: Ticket, timeout: float) -> bool:
        """Wait up to timeout seconds; True once the ticket has its slot."""
        with self._changed:
            if ticket.started is None:
                self._changed.wait(timeout)
            return ticket.started is not None

    def ahead(self, ticket: Ticket) -> tuple[int, float]:
        """(runs before this one: training or waiting, seconds until its turn), from their estimates."""
        with self._changed:
            if ticket.started is not None:
                return 0, 0.0
            now = time.monotonic()
            # When each slot frees up: the running runs' remaining time, then the waiting ones in order.
            free = [max(0.0, t.estimate_s - (now - t.started)) for t in self._running]
            free += [0.0] * (self.slots - len(free))
            heapq.heapify(free)
            before = self._waiting[: self._waiting.index(ticket)]
            for t in before:
                heapq.heappush(free, heapq.heappop(free) + t.estimate_s)
            return len(self._running) + len(before), free[0]

    def leave(self, ticket: Ticket) -> None:
        """The run is over, or was taken out of the queue before it began: free its place."""
        with self._changed:
            if ticket in self._waiting:
                self._waiting.remove(ticket)
            if ticket in self._running:
                self._running.remove(ticket)
            ticket.done = True
            self._promote()

    def training(self) -> int:
        with self._changed:
            return len(self._running)
