"""Clean stops on signals and honest progress lines (`training.stopping`)."""

import io
import os
import signal

import pytest

from saarl_tf.training import stopping


def test_a_signal_inside_the_block_becomes_a_request_and_handlers_come_back():
  before = signal.getsignal(signal.SIGTERM)
  with stopping.GracefulStop() as stop:
    assert stop.requested is None
    os.kill(os.getpid(), signal.SIGTERM)
    assert stop.requested == signal.SIGTERM      # the process lives on
  assert signal.getsignal(signal.SIGTERM) is before


def test_run_interrupted_says_where_the_work_is_and_exits_as_the_signal_would():
  error = stopping.RunInterrupted(signal.SIGINT, 40, 'runs/x')
  assert error.exit_code == 130
  assert 'SIGINT at update 40' in str(error) and 'runs/x' in str(error)


def test_progress_counts_only_this_processs_frames_and_plain_lines_off_a_terminal():
  stream = io.StringIO()
  progress = stopping.Progress(1000, 500, 4, stream=stream)
  progress.update(600, 12.5)
  line = stream.getvalue()
  assert line.endswith('\n') and '\r' not in line          # not a terminal
  assert line.startswith('frames 600 / 1,000 (60.0%)')
  assert 'score 12.5 (mean of the last 100 games)' in line
  assert 'ETA' in line


def test_progress_of_a_pair_trainer_speaks_in_its_own_units():
  stream = io.StringIO()
  progress = stopping.Progress(10, 0, 1, stream=stream, unit='steps',
                               rate_unit='updates/s',
                               describe=lambda loss: f'loss {loss:.2f}')
  progress.update(5, 0.25)
  assert stream.getvalue().startswith('steps 5 / 10 (50.0%)')
  assert 'updates/s, loss 0.25, ETA' in stream.getvalue()


@pytest.mark.parametrize('done', [0, 1000])
def test_eta_is_unknown_before_any_frame_and_zero_at_the_end(done):
  progress = stopping.Progress(1000, 0, 4, stream=io.StringIO())
  line = progress.line(done, None)
  assert line.endswith('ETA ?' if done == 0 else 'ETA 00:00:00')
