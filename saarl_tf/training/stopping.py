"""Clean stops and honest progress for long training loops.

`GracefulStop` turns SIGTERM (what `timeout`, SLURM preemption and `docker stop` send)
and SIGINT (Ctrl-C) into a request that a loop honours at its next update boundary, so
that it can write a checkpoint and its logs before it ends; the loop then raises
`RunInterrupted`, which the launcher reports in one line.

Outside training loops the launcher's `install` makes both signals raise `Interrupted`
at once, naming the `phase` the process is in (frame collection, mask quality, an A2C
run's set-up, saving a finished run, the report...). A library that catches every
exception (Keras' `Sequential` does, while it builds) may swallow that exception;
the request stays noted, and the next `check` (every phase boundary and step of
collection and evaluation loops) or training loop honours it.

`Progress` reports frames done, speed, score and time left, counting only the updates
made in this process (a resumed run's earlier updates took no time here): a line
redrawn in place on a terminal, one plain line per summary elsewhere (log files,
cluster jobs).
"""

import contextlib
import signal
import sys
import threading
import time
from typing import Any, Callable, Iterator, List, NamedTuple, Optional, TextIO

SIGNALS = (signal.SIGTERM, signal.SIGINT)
_pending: List[Any] = []          # (signal, phase) of a stop asked, if any
_phases: List[str] = ['set-up']   # what the process is doing, innermost last
_loops: List['GracefulStop'] = []  # training loops honouring stops at their steps


class Interrupted(BaseException):
  """A signal stopped the process outside a training loop (between steps whose
  results are written atomically, so nothing half-done is kept)."""

  def __init__(self, signum: int, phase: str):
    self.signum, self.phase = signum, phase
    super().__init__(
        f'stopped by {signal.Signals(signum).name} during {phase}; what was done is '
        'kept: run the same command to go on')

  @property
  def exit_code(self) -> int:
    return 128 + self.signum


def _in_finalizer(frame) -> bool:
  """Whether `frame` runs a finalizer (a `__del__`, a weak reference's callback),
  where Python would print an exception and drop it."""
  while frame is not None:
    code = frame.f_code
    if code.co_name == '__del__' or code.co_filename.endswith('weakref.py'):
      return True
    frame = frame.f_back
  return False


_redelivered: List[int] = []      # a signal sent again by `_raise_now` itself


def _raise_now(signum, frame):
  if _redelivered:
    _redelivered.clear()
  elif _pending and _pending[0] == signum:      # asked twice: stop now
    signal.signal(signum, signal.SIG_DFL)
    signal.raise_signal(signum)
  else:
    _pending[:] = [signum, current_phase()]
  if _in_finalizer(frame):
    # Raised here, the exception would be printed and dropped: the signal comes
    # again in a moment, when the finalizer is done.
    def again():
      _redelivered.append(signum)
      signal.pthread_kill(threading.main_thread().ident, signum)
    threading.Timer(0.05, again).start()
    return
  raise Interrupted(signum, _pending[1])


def install():
  """SIGTERM and SIGINT raise `Interrupted` (a second one of the same kind ends the
  process at once); call from the main thread of an entry point."""
  for signum in SIGNALS:
    signal.signal(signum, _raise_now)


def current_phase() -> str:
  return _phases[-1]


def check(inside_loops: bool = False):
  """Raises `Interrupted` if a stop was asked and not yet honoured, unless a training
  loop will honour it at its next step (`inside_loops`: even then, for work inside
  a loop's step that may take long and can be done again, as evaluation games)."""
  if _pending and (inside_loops or not _loops):
    raise Interrupted(_pending[0], _pending[1])


def pending() -> Optional[Interrupted]:
  """The stop asked and not yet honoured, as the exception that reports it: what an
  entry point reports whatever exception the stop surfaced as (raised inside library
  code, it may come out as another: `SystemError`, a TensorFlow error)."""
  return Interrupted(*_pending) if _pending else None


@contextlib.contextmanager
def phase(name: str) -> Iterator[None]:
  """The process is doing `name` inside the block (the line a stop prints names it);
  a pending stop is honoured on entering and on leaving."""
  check()
  _phases.append(name)
  try:
    yield
  finally:
    _phases.pop()
  check()


class RunInterrupted(Exception):
  """A loop stopped at an update boundary on a signal; its work is saved."""

  def __init__(self, signum: int, update: int, root_dir: str):
    self.signum, self.update, self.root_dir = signum, update, root_dir
    super().__init__(
        f'stopped by {signal.Signals(signum).name} at update {update}; checkpoint '
        f'and logs saved in {root_dir}; run the same command to resume')

  @property
  def exit_code(self) -> int:
    """128 + the signal number, as a shell reports a process a signal ended."""
    return 128 + self.signum


class GracefulStop:
  """Context manager: SIGTERM and SIGINT set `requested` instead of killing.

  A second signal of the same kind while a stop is pending gives the default
  behaviour back (Ctrl-C twice ends at once). Outside the main thread, where Python
  cannot install handlers, it does nothing.
  """

  SIGNALS = SIGNALS

  def __init__(self):
    self.requested: Optional[int] = None
    self._previous = {}

  def _handle(self, signum, frame):
    del frame
    if self.requested == signum:                  # asked twice: stop now
      signal.signal(signum, signal.SIG_DFL)
      signal.raise_signal(signum)
    self.requested = signum
    _pending[:] = [signum, current_phase()]

  def __enter__(self) -> 'GracefulStop':
    # A stop asked before the loop began (and swallowed on its way) ends it at once.
    self.requested = _pending[0] if _pending else None
    if threading.current_thread() is threading.main_thread():
      for signum in self.SIGNALS:
        self._previous[signum] = signal.signal(signum, self._handle)
    _loops.append(self)
    return self

  def __exit__(self, *exc_info):
    _loops.remove(self)
    if self.requested:
      _pending.clear()           # the loop's to honour (`RunInterrupted`)
    for signum, handler in self._previous.items():
      signal.signal(signum, handler)
    self._previous = {}
    return False


class RunPosition(NamedTuple):
  """A run's place in a protocol: run `index` (from 1) of `total`, with
  `frames_after` emulator frames of runs still to come after it."""
  index: int
  total: int
  frames_after: int


def duration(seconds: float) -> str:
  """'hh:mm:ss', 'N.N days' past a day, '?' when unknown (infinite)."""
  if seconds == float('inf'):
    return '?'
  if seconds >= 86400:
    return f'{seconds / 86400:.1f} days'
  hours, rest = divmod(int(seconds), 3600)
  return f'{hours:02d}:{rest // 60:02d}:{rest % 60:02d}'


def _describe_score(score: Optional[float]) -> str:
  if score is None:
    return 'no game finished yet (mean of the last 100 games)'
  return f'score {score:.1f} (mean of the last 100 games)'


class Progress:
  """Frames done of the budget, speed, score and time left, printed to `stream`."""

  def __init__(self, total_frames: int, start_frames: int, frames_per_step: int,
               stream: Optional[TextIO] = None, unit: str = 'frames',
               rate_unit: str = 'agent steps/s',
               describe: Optional[Callable[[Optional[float]], str]] = None,
               position: Optional['RunPosition'] = None):
    """Progress of a budget of `total_frames` counted from `start_frames` (what this
    process did sets the speed and the ETA).

    Args:
      total_frames, start_frames: the budget and where this process started, in
        `unit`s (frames; a pair trainer's steps).
      frames_per_step: `unit`s per `rate_unit` step (4 frames per agent step).
      stream: where lines go (stdout).
      describe: the text of `update`'s value (default: A2C's game score).
      position: this run's place among a protocol's runs: the line also says which
        run of how many, and when all of them end at this run's speed.
    """
    self._total = total_frames
    self._start = start_frames
    self._frames_per_step = frames_per_step
    self._unit, self._rate_unit = unit, rate_unit
    self._describe = describe or _describe_score
    self._stream = stream or sys.stdout
    self._interactive = self._stream.isatty()
    self._clock = time.perf_counter()
    self._paused = 0.0
    self._position = position

  def pause(self, seconds: float):
    """Time spent on something else (evaluation games) is not training time."""
    self._paused += seconds

  def line(self, frames: int, score: Optional[float]) -> str:
    """'frames F / T (p%), S agent steps/s, score X, ETA h:mm:ss' for `frames` done."""
    elapsed = max(time.perf_counter() - self._clock - self._paused, 1e-9)
    done_here = frames - self._start
    rate = done_here / elapsed                      # frames/s, this process only
    left = (self._total - frames) / rate if rate > 0 else float('inf')
    line = (f'{self._unit} {frames:,} / {self._total:,} '
            f'({100 * frames / self._total:.1f}%), '
            f'{rate / self._frames_per_step:,.0f} {self._rate_unit}, '
            f'{self._describe(score)}, ETA {duration(left)}')
    if self._position:
      after = self._position.frames_after / rate if rate > 0 else float('inf')
      line += (f'; run {self._position.index} of {self._position.total}, all '
               f'{self._position.total} ETA {duration(left + after)}')
    return line

  def update(self, frames: int, score: Optional[float]):
    text = self.line(frames, score)
    if self._interactive:
      self._stream.write('\r' + text + '\033[K')
    else:
      self._stream.write(text + '\n')
    self._stream.flush()

  def close(self):
    if self._interactive:
      self._stream.write('\n')
      self._stream.flush()
