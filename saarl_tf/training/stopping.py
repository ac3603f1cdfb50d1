"""Clean stops and honest progress for long training loops.

`GracefulStop` turns SIGTERM (what `timeout`, SLURM preemption and `docker stop` send)
and SIGINT (Ctrl-C) into a request that a loop honours at its next update boundary, so
that it can write a checkpoint and its logs before it ends; the loop then raises
`RunInterrupted`, which the launcher reports in one line.

`Progress` reports frames done, speed, score and time left, counting only the updates
made in this process (a resumed run's earlier updates took no time here): a line
redrawn in place on a terminal, one plain line per summary elsewhere (log files,
cluster jobs).
"""

import signal
import sys
import threading
import time
from typing import Callable, Optional, TextIO


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

  SIGNALS = (signal.SIGTERM, signal.SIGINT)

  def __init__(self):
    self.requested: Optional[int] = None
    self._previous = {}

  def _handle(self, signum, frame):
    del frame
    if self.requested == signum:                  # asked twice: stop now
      signal.signal(signum, self._previous.get(signum, signal.SIG_DFL))
      signal.raise_signal(signum)
    self.requested = signum

  def __enter__(self) -> 'GracefulStop':
    if threading.current_thread() is threading.main_thread():
      for signum in self.SIGNALS:
        self._previous[signum] = signal.signal(signum, self._handle)
    return self

  def __exit__(self, *exc_info):
    for signum, handler in self._previous.items():
      signal.signal(signum, handler)
    self._previous = {}
    return False


def _describe_score(score: Optional[float]) -> str:
  if score is None:
    return 'no game finished yet (mean of the last 100 games)'
  return f'score {score:.1f} (mean of the last 100 games)'


class Progress:
  """Frames done of the budget, speed, score and time left, printed to `stream`."""

  def __init__(self, total_frames: int, start_frames: int, frames_per_step: int,
               stream: Optional[TextIO] = None, unit: str = 'frames',
               rate_unit: str = 'agent steps/s',
               describe: Optional[Callable[[Optional[float]], str]] = None):
    """Progress of a budget of `total_frames` counted from `start_frames` (what this
    process did sets the speed and the ETA).

    Args:
      total_frames, start_frames: the budget and where this process started, in
        `unit`s (frames; a pair trainer's steps).
      frames_per_step: `unit`s per `rate_unit` step (4 frames per agent step).
      stream: where lines go (stdout).
      describe: the text of `update`'s value (default: A2C's game score).
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

  def pause(self, seconds: float):
    """Time spent on something else (evaluation games) is not training time."""
    self._paused += seconds

  def line(self, frames: int, score: Optional[float]) -> str:
    """'frames F / T (p%), S agent steps/s, score X, ETA h:mm:ss' for `frames` done."""
    elapsed = max(time.perf_counter() - self._clock - self._paused, 1e-9)
    done_here = frames - self._start
    rate = done_here / elapsed                      # frames/s, this process only
    left = (self._total - frames) / rate if rate > 0 else float('inf')
    eta = ('?' if left == float('inf') else
           time.strftime('%H:%M:%S', time.gmtime(left)) if left < 86400 else
           f'{left / 86400:.1f} days')
    return (f'{self._unit} {frames:,} / {self._total:,} '
            f'({100 * frames / self._total:.1f}%), '
            f'{rate / self._frames_per_step:,.0f} {self._rate_unit}, '
            f'{self._describe(score)}, ETA {eta}')

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
