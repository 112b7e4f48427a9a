"""Discrete-event scheduler on a virtual clock with microsecond resolution.

Everything in the emulated world runs on one `Scheduler`: chips, the air, sensors, boards
and the firmware on them. Time only moves when the scheduler moves it, so a simulated day
runs in seconds and a run is deterministic for a given seed.

Two kinds of actors share the clock:

* **callbacks** scheduled with `at()` / `after()`: instantaneous reactions (a frame ends on
  air, a chip raises DIO0, a sensor's scenario changes);
* **processes** started with `spawn()`: ordinary blocking code such as firmware or a
  driver's polling loop. A process runs in its own thread, but only one thread ever runs at
  a time: control is handed back and forth explicitly, in virtual-time order, so there is
  no real concurrency and no nondeterminism. When a process consumes time (`advance()`,
  `wait()`) it hands control to the scheduler until its virtual wake-up time.

With `Scheduler(greenlets=True)` processes are greenlets in the scheduler's own thread
instead of threads: the same strict hand-off, but a switch costs about a microsecond
instead of an OS thread wake-up (tens of microseconds idle, far more on a loaded machine),
which is what lets a field of nodes run a day in seconds. A greenlet is bound to the thread
that first runs it, so such a scheduler must always be run from the same thread.

Code that is neither (a test driving a driver directly from the main thread) may also call
`advance()`: the scheduler then runs every event due until the new time before returning.
That is how a busy-polling driver such as adafruit_rfm9x sees the world move while it polls.
"""

import itertools
import random
import threading
from heapq import heappop, heappush

US_PER_S = 1_000_000
_getcurrent = None  # greenlet.getcurrent, bound by the first Scheduler(greenlets=True)


class ProcessKilled(BaseException):
    """Raised inside a process that was killed (power cut, deep sleep, test teardown).

    A BaseException so that firmware's `except Exception` cannot swallow it: after a power
    cut no more code of that process may run.
    """


class Event(list):
    """A scheduled callback; `cancel()` it to drop it before it fires.

    The event is its own heap entry, the list [time_us, sequence, callback, args]: the heap
    orders lists by time, then by the unique sequence number (equal times fire in the order
    they were scheduled), in C and without a wrapping tuple. A cancelled event's callback
    is None; it is dropped when it reaches the top of the heap."""

    __slots__ = ()
    __hash__ = object.__hash__  # identity, as a plain object (the sequence makes it unique)

    @property
    def time_us(self):
        return self[0]

    @property
    def callback(self):
        return self[2]

    @property
    def args(self):
        return self[3]

    @property
    def cancelled(self):
        return self[2] is None

    def cancel(self):
        self[2] = None


_TIME, _SEQUENCE, _CALLBACK, _ARGS = range(4)  # Event fields


class Timer:
    """A one-shot callback that is re-armed far more often than it fires (a watchdog being
    fed). `arm(delay_us)` fires `callback()` at the same time and in the same order among
    equal-time events as `cancel()` + `after(delay_us, callback)` of a plain event would,
    but without a heap operation when the new time is not earlier than the queued one: the
    sequence number is taken at arm time, and the queued event, when it comes up early,
    re-queues itself at the armed time and sequence number. Nothing else runs then."""

    __slots__ = ("_scheduler", "_callback", "_event", "_due")

    def __init__(self, scheduler, callback):
        self._scheduler = scheduler
        self._callback = callback
        self._event = None  # the queued Event; its time may be earlier than _due's
        self._due = None  # (time_us, sequence) armed, None when disarmed

    @property
    def armed(self):
        return self._due is not None

    def arm(self, delay_us):
        scheduler = self._scheduler
        time_us = scheduler.now_us + int(delay_us)
        if time_us < scheduler.now_us:
            time_us = scheduler.now_us
        self._due = (time_us, scheduler._next_sequence())
        event = self._event
        if event is not None and event[_TIME] <= time_us:
            return  # the queued event re-queues itself when it comes up (_fire)
        if event is not None:
            event.cancel()
        self._push()

    def cancel(self):
        self._due = None
        if self._event is not None:
            self._event.cancel()
            self._event = None

    def _push(self):
        time_us, sequence = self._due
        self._event = Event((time_us, sequence, self._fire, ()))
        heappush(self._scheduler._queue, self._event)

    def _fire(self):
        event = self._event
        if self._due != (event[_TIME], event[_SEQUENCE]):
            self._push()  # re-armed since this was queued: come up again then
            return
        self._event = self._due = None
        self._callback()


class Scheduler:
    def __init__(self, seed=0, *, greenlets=False):
        if greenlets:
            global _getcurrent
            from greenlet import getcurrent as _getcurrent  # fail here, not in a process
        self.greenlets = greenlets
        self.now_us = 0
        self.seed = seed
        self.random = random.Random(seed)
        self._queue = []  # heap of Event
        self._next_sequence = itertools.count().__next__
        self._running = False
        self._current = None  # the Process whose thread is running, if any
        self._limit = None  # the time run_until() is running to
        # How far ahead of run_until()'s limit a board may let its ULP run (None: the limit).
        # A driver that runs in short windows but reads nothing of the boards until a later
        # time (field/parallel.py's workers) sets that time here.
        self.horizon_us = None
        self.processes = []  # the processes not known to have ended (pruned as it grows)
        self._prune_at = 64
        self.handoffs = 0  # thread switches (processes resumed): the emulation's main cost
        self.fast_advances = 0  # time a process consumed without a switch (nothing due)

    # -- time -------------------------------------------------------------------------------
    @property
    def now_s(self):
        return self.now_us / US_PER_S

    def at(self, time_us, callback, *args):
        """Run `callback(*args)` at virtual time `time_us` (never in the past)."""
        time_us = int(time_us)
        if time_us < self.now_us:
            time_us = self.now_us
        event = Event((time_us, self._next_sequence(), callback, args))
        heappush(self._queue, event)
        return event

    def after(self, delay_us, callback, *args):
        time_us = self.now_us + int(delay_us)
        if time_us < self.now_us:
            time_us = self.now_us
        event = Event((time_us, self._next_sequence(), callback, args))
        heappush(self._queue, event)
        return event

    def timer(self, callback):
        """A `Timer` for `callback` (disarmed)."""
        return Timer(self, callback)

    def next_event_time(self):
        queue = self._queue
        while queue and queue[0][_CALLBACK] is None:  # cancelled
            heappop(queue)
        return queue[0][_TIME] if queue else None

    def run_until(self, time_us):
        """Fire every event due up to `time_us`, then leave the clock at `time_us`."""
        if self._running:
            raise RuntimeError("run_until() called from inside the scheduler")
        self._running = True
        self._limit = time_us
        queue = self._queue
        try:
            while queue:
                event = queue[0]
                callback = event[_CALLBACK]
                if callback is None:  # cancelled
                    heappop(queue)
                    continue
                if event[_TIME] > time_us:
                    break
                heappop(queue)
                self.now_us = event[_TIME]
                callback(*event[_ARGS])
            self.now_us = max(self.now_us, int(time_us))
        finally:
            self._running = False
            self._limit = None

    def _can_skip_to(self, time_us):
        """True if the running process may move the clock to `time_us` in place: no event is
        due until then (strictly later, so equal-time events keep their order) and run_until()
        goes at least that far. Skipping the thread switch then changes nothing observable."""
        limit = self._limit
        if limit is None or time_us > limit:
            return False
        queue = self._queue
        while queue:
            event = queue[0]
            if event[_CALLBACK] is not None:
                return event[_TIME] > time_us
            heappop(queue)  # cancelled
        return True

    def skip_to(self, time_us):
        """Fast path of `advance()` for code running in a process: move the clock to
        `time_us` in place when nothing is due before it (as `Process.sleep_us` does) and
        return True; return False when the caller must `advance()` (it then switches)."""
        # _can_skip_to() inlined: board busy-waits and SPI time call this at every step
        limit = self._limit
        if self._current is None or limit is None or time_us > limit:
            return False
        queue = self._queue
        while queue:
            event = queue[0]
            if event[_CALLBACK] is not None:
                if event[_TIME] <= time_us:
                    return False
                break
            heappop(queue)  # cancelled
        self.now_us = time_us
        self.fast_advances += 1
        return True

    def run(self, limit_us=None):
        """Run until no events remain (or until `limit_us`)."""
        while True:
            due = self.next_event_time()
            if due is None or (limit_us is not None and due > limit_us):
                break
            self.run_until(due)
        if limit_us is not None:
            self.run_until(limit_us)

    def advance(self, delay_us):
        """The caller consumes `delay_us` of virtual time (SPI transfer, sleep, busy wait)."""
        delay_us = max(0, int(delay_us))
        process = self._current
        if process is not None and process._running_here():
            process.sleep_us(delay_us)
        elif self._running:
            raise RuntimeError("a scheduler callback cannot consume time; spawn a process")
        else:
            self.run_until(self.now_us + delay_us)

    # -- processes --------------------------------------------------------------------------
    def spawn(self, function, *args, name=None, delay_us=0):
        """Start `function(*args)` as a process `delay_us` from now; returns the Process."""
        process = Process(self, function, args, name or getattr(function, "__name__", "process"))
        processes = self.processes
        if len(processes) >= self._prune_at:  # every boot is a process: forget ended ones
            processes[:] = [p for p in processes if p.alive]
            self._prune_at = max(64, 2 * len(processes))
        processes.append(process)
        self.after(delay_us, process._step)
        return process

    @property
    def current_process(self):
        return self._current

    def time_module(self):
        """A stand-in for the `time` module (monotonic/sleep/time) on this virtual clock."""
        return VirtualTime(self)

    def shutdown(self):
        """Kill every process still alive (test teardown); their threads end."""
        for process in self.processes:
            process.kill()
        self.processes = [p for p in self.processes if p.alive]


class Process:
    """Blocking code run in lock-step with the scheduler (see the module docstring)."""

    def __init__(self, scheduler, function, args, name):
        self.scheduler = scheduler
        self.name = name
        self._function = function
        self._args = args
        self._greenlet = None
        if scheduler.greenlets:
            self.thread = None
        else:
            self._resume = threading.Semaphore(0)
            self._paused = threading.Semaphore(0)
            self.thread = threading.Thread(target=self._main, name=name, daemon=True)
        self.started = False
        self.alive = True
        self.result = None
        self.exception = None
        self._killed = False
        self._wake_event = None
        self._notified = False

    def _main(self):
        try:
            self._check_killed()
            self.result = self._function(*self._args)
        except ProcessKilled:
            pass
        except BaseException as exc:  # re-raised in the scheduler's thread by _step
            self.exception = exc
        finally:
            self.alive = False
            if self.thread is not None:
                self._paused.release()

    def _running_here(self):
        """True when called from this process's own code."""
        if self.thread is None:
            return self._greenlet is not None and _getcurrent() is self._greenlet
        return threading.current_thread() is self.thread

    def _switch_in(self):
        """Run the process from the caller (scheduler or killer) until it blocks or ends."""
        if self._greenlet is None:
            from greenlet import greenlet  # once per process (an import per switch costs)

            self._greenlet = greenlet(self._main)
        self._greenlet.parent = _getcurrent()  # where control returns when it blocks or ends
        self._greenlet.switch()

    def _step(self):
        """Scheduler side: let the process run until it blocks again or ends."""
        if not self.alive:
            return
        scheduler = self.scheduler
        previous, scheduler._current = scheduler._current, self
        scheduler.handoffs += 1
        if self.thread is None:
            self.started = True
            self._switch_in()
        else:
            if self.started:
                self._resume.release()
            else:
                self.started = True
                self.thread.start()
            self._paused.acquire()
        scheduler._current = previous
        if self.exception is not None:
            exc, self.exception = self.exception, None
            raise exc

    def _block(self):
        """Process side: hand control to the scheduler until resumed."""
        if self.thread is None:
            self._greenlet.parent.switch()
        else:
            self._paused.release()
            self._resume.acquire()
        self._check_killed()

    def _check_killed(self):
        if self._killed:
            raise ProcessKilled(self.name)

    def sleep_us(self, delay_us):
        scheduler = self.scheduler
        target = scheduler.now_us + int(delay_us)
        if scheduler._can_skip_to(target):
            scheduler.now_us = target
            scheduler.fast_advances += 1
            return
        self._wake_event = scheduler.after(delay_us, self._step)
        self._block()

    def wait(self, timeout_us=None):
        """Block until `notify()` or the timeout; returns True if notified."""
        if self._notified:
            self._notified = False
            return True
        if timeout_us is not None:
            scheduler = self.scheduler
            target = scheduler.now_us + int(timeout_us)
            if scheduler._can_skip_to(target):  # nothing can notify before the timeout
                scheduler.now_us = target
                scheduler.fast_advances += 1
                return False
            self._wake_event = scheduler.after(timeout_us, self._step)
        else:
            self._wake_event = None
        self._block()
        notified, self._notified = self._notified, False
        return notified

    def notify(self):
        """Wake the process from `wait()` at the current virtual time (e.g. from an IRQ)."""
        self._notified = True
        if self._wake_event is not None:
            self._wake_event.cancel()
        if self.alive and self.started and self.scheduler._current is not self:
            self._wake_event = self.scheduler.after(0, self._step)

    def kill(self):
        """End the process at once: it runs no further code (power cut, deep sleep)."""
        if not self.alive:
            return
        self._killed = True
        if self._wake_event is not None:
            self._wake_event.cancel()
        if not self.started:
            self.alive = False
            return
        if self._running_here():
            raise ProcessKilled(self.name)
        previous, self.scheduler._current = self.scheduler._current, self
        if self.thread is None:
            self._switch_in()
        else:
            self._resume.release()
            self._paused.acquire()
        self.scheduler._current = previous


class VirtualTime:
    """Duck-typed `time` module for drivers that poll `time.monotonic()` (adafruit_rfm9x).

    Reading the clock costs `read_cost_us` of virtual time, as reading a real clock in a
    polling loop does; without that a busy-wait on `monotonic()` would never see time pass.
    """

    def __init__(self, scheduler, read_cost_us=10):
        self._scheduler = scheduler
        self.read_cost_us = read_cost_us

    def monotonic(self):
        self._scheduler.advance(self.read_cost_us)
        return self._scheduler.now_us / US_PER_S

    def monotonic_ns(self):
        self._scheduler.advance(self.read_cost_us)
        return self._scheduler.now_us * 1000

    def time(self):
        return self.monotonic()

    def sleep(self, seconds):
        self._scheduler.advance(round(seconds * US_PER_S))
