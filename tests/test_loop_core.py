"""What both training loops share (`training.loop_core`)."""

import os
import signal

import pytest
import tensorflow as tf

from saarl_tf import run_layout
from saarl_tf.training import loop_core
from saarl_tf.training import stopping


def _loop(root):
  step = tf.Variable(0, dtype=tf.int64)
  checkpointer = loop_core.checkpointer(str(root), step=step)
  return step, loop_core.TrainingLoop(str(root), checkpointer,
                                      lambda: int(step.numpy()))


@pytest.mark.parametrize('step, every, last, expected', [
    (10, 5, 12, True), (11, 5, 12, False), (12, 5, 12, True), (0, 5, 12, True)])
def test_periodic_work_falls_every_period_and_at_the_last_step(step, every, last,
                                                               expected):
  assert loop_core.due(step, every, last) == expected


def test_an_exception_in_the_loop_keeps_the_steps_done(tmp_path):
  step, loop = _loop(tmp_path)
  with pytest.raises(RuntimeError, match='boom'):
    with loop:
      step.assign(7)
      tf.summary.scalar('x', 1.0, 7)           # the loop's writer is the default
      raise RuntimeError('boom')
  latest = tf.train.latest_checkpoint(run_layout.checkpoints_dir(str(tmp_path)))
  assert latest.endswith('ckpt-7')
  assert os.listdir(run_layout.tensorboard_dir(str(tmp_path)))


def test_a_signal_ends_the_loop_at_a_step_boundary_with_a_checkpoint(tmp_path):
  step, loop = _loop(tmp_path)
  with pytest.raises(stopping.RunInterrupted, match='SIGTERM at update 3'):
    with loop:
      while loop.running:
        step.assign_add(1)
        if int(step.numpy()) == 3:
          os.kill(os.getpid(), signal.SIGTERM)
  assert tf.train.latest_checkpoint(
      run_layout.checkpoints_dir(str(tmp_path))).endswith('ckpt-3')


def test_a_new_loop_restores_the_newest_checkpoint(tmp_path):
  step, loop = _loop(tmp_path)
  with loop:
    step.assign(5)
  restored, _ = _loop(tmp_path)
  assert int(restored.numpy()) == 5
