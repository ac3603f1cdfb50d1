"""What the two training loops share (`a2c_training.A2CRun`, `pair_training`).

Both write TensorBoard to the run's train/, checkpoint to its checkpoints/ through a
`checkpoints.restoring_checkpointer`, do periodic work on the same rule (`due`), print
`stopping.Progress` lines, end at the next step boundary on SIGTERM or SIGINT and keep
their work whatever ends them. `TrainingLoop` is that plumbing once:

  loop = TrainingLoop(root_dir, checkpointer, step_fn, progress)
  with loop:
    while step < last and loop.running:
      ...                       # one step, its logs, `due(step, every, last)` work
  # left by a signal: the checkpoint is saved and `stopping.RunInterrupted` raised

as tf-agents' `train/learner.py` owns a run directory's checkpoints and summaries.
"""

import time
from typing import Callable, Optional

import tensorflow as tf
from tf_agents.utils import common

from saarl_tf import run_layout
from saarl_tf.training import checkpoints
from saarl_tf.training import stopping


def due(step: int, every: int, last: int) -> bool:
  """Whether periodic work of period `every` (steps) falls at `step`: every `every`
  steps, and at the `last` step however it falls."""
  return step % every == 0 or step == last


def checkpoint_due(step: int, every: int, target: int) -> bool:
  """Whether a periodic checkpoint falls at `step`: every `every` steps before the
  `target` (the loop's exit saves the last one)."""
  return step % every == 0 and step < target


class Speedometer:
  """Updates per second of training since the last reading, evaluation excluded."""

  def __init__(self, update: int):
    self._time, self._update, self._paused = time.perf_counter(), update, 0.0

  def pause(self, seconds: float):
    self._paused += seconds

  def rate(self, update: int) -> float:
    """Updates per second since the last call; starts the next interval."""
    now = time.perf_counter()
    rate = (update - self._update) / max(now - self._time - self._paused, 1e-9)
    self._time, self._update, self._paused = now, update, 0.0
    return rate


def checkpointer(root_dir: str, **objects) -> common.Checkpointer:
  """The run's checkpointer on its checkpoints/ (the newest two kept), restored from
  the newest readable checkpoint if there is one."""
  return checkpoints.restoring_checkpointer(run_layout.checkpoints_dir(root_dir),
                                            max_to_keep=2, **objects)


class TrainingLoop:
  """A loop's summary writer (the default inside `with`), clean stops and final save.

  Leaving the `with` block in any way saves a checkpoint at `step_fn()`, flushes the
  writer and closes the progress line; left on a signal, it then raises
  `stopping.RunInterrupted` (unless an exception is already on its way).
  """

  def __init__(self, root_dir: str, checkpointer_: common.Checkpointer,
               step_fn: Callable[[], int],
               progress: Optional[stopping.Progress] = None,
               before_save: Optional[Callable[[], None]] = None):
    """`before_save`: brings what the checkpoint holds beside variables up to date
    (an A2C run's journal) before every save."""
    self.root_dir = root_dir
    self.checkpointer = checkpointer_
    self.progress = progress
    self._step_fn = step_fn
    self._before_save = before_save
    self.writer = tf.summary.create_file_writer(run_layout.tensorboard_dir(root_dir))
    self._stop = stopping.GracefulStop()
    self._default_writer = None

  @property
  def running(self) -> bool:
    """False once a stop was requested: end the loop at this step boundary."""
    return not self._stop.requested

  def save(self):
    """A checkpoint at the current step."""
    if self._before_save:
      self._before_save()
    self.checkpointer.save(global_step=self._step_fn())

  def __enter__(self) -> 'TrainingLoop':
    self._stop.__enter__()
    self._default_writer = self.writer.as_default()
    self._default_writer.__enter__()
    return self

  def __exit__(self, exc_type, exc, traceback) -> bool:
    try:
      self._default_writer.__exit__(exc_type, exc, traceback)
    finally:
      # Whatever ends the loop (a stop, an exception), the steps done are kept;
      # signals stay requests until they are.
      try:
        self.save()
        self.writer.flush()
        if self.progress:
          self.progress.close()
      finally:
        self._stop.__exit__(exc_type, exc, traceback)
    if exc_type is None and self._stop.requested:
      raise stopping.RunInterrupted(self._stop.requested, self._step_fn(),
                                    self.root_dir)
    return False
