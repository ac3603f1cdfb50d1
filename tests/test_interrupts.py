"""Stops in every phase: SIGINT and SIGTERM end a protocol within seconds, with one
line naming the phase and the signal's exit code, and the same command then finishes
it with the files an uninterrupted run writes."""

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time

import pytest


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STOP_WITHIN_S = 10

# Lines the smoke transfer protocol prints as it enters each phase; a stop is sent a
# random moment after one of them.
PHASE_MARKERS = (
    'transfer: ',                      # the plan, before any work
    'Collecting',                      # frame collection
    'steps ',                          # its progress, then mask pre-training's
    'No mask quality for',             # mask quality on the mask's own game
    'Mask quality on',                 # ... on the target games
    'Exporting the mask',              # the mask export
    'Running ',                        # an A2C run's set-up
    'frames ',                         # an A2C run's training loop
    'Evaluation (noop)',               # evaluation games
    'Evaluation (sticky)',             # ... and the end of the run
)
STOP_LINE = re.compile(r'^saarl_tf: stopped by (SIGINT|SIGTERM) '
                       r'(during .+; what was done is kept: run the same command to '
                       r'go on|at update \d+; checkpoint and logs saved in .+; run the '
                       r'same command to resume)$')


def _command(root):
  return [sys.executable, '-m', 'saarl_tf.launch', '--flagfile=launch/smoke.flags',
          '--experiment=transfer', f'--root_dir={root}', f'--export_dir={root}/export']


def _start(root):
  # faulthandler: a child that hangs after SIGABRT prints where each thread waits.
  return subprocess.Popen(_command(root), cwd=REPO, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True,
                          env=dict(os.environ, PYTHONFAULTHANDLER='1'))


def _run_interrupted(root, marker, delay, signum):
  """Starts the protocol, sends `signum` `delay` s after a line holding `marker`;
  (return code, output lines, seconds from the signal to the exit or None)."""
  process = _start(root)
  lines, sent = [], []

  def read():
    for line in process.stdout:
      lines.append(line.rstrip('\n'))
      if marker in line and not sent:
        time.sleep(delay)
        if process.poll() is None:
          sent.append(time.perf_counter())
          process.send_signal(signum)
  reader = threading.Thread(target=read)
  reader.start()
  deadline = time.perf_counter() + 600
  while process.poll() is None:
    if sent and time.perf_counter() - sent[0] > STOP_WITHIN_S:
      process.send_signal(signal.SIGABRT)       # faulthandler dumps the stacks
      process.wait()
      reader.join()
      pytest.fail(f'no exit {STOP_WITHIN_S} s after {signal.Signals(signum).name} '
                  f'(marker {marker!r}):\n' + '\n'.join(lines[-80:]))
    assert time.perf_counter() < deadline, 'the protocol ran for 10 minutes'
    time.sleep(0.05)
  reader.join()
  took = time.perf_counter() - sent[0] if sent else None
  return process.returncode, lines, took


def _record(root):
  """The files of a finished protocol that an uninterrupted run determines: every
  CSV and JSON file (config.json without its per-start history), the summary (without
  its table of starts) and the export's metadata; TensorBoard, checkpoints and figures
  are left out."""
  files = {}
  for directory, _, names in os.walk(root):
    for name in names:
      path = os.path.join(directory, name)
      relative = os.path.relpath(path, root)
      if relative.split(os.sep)[0] in ('train',) or os.sep + 'train' + os.sep in path \
          or 'checkpoints' in relative or name.endswith(('.png', '.svg', '.pb')) \
          or 'variables' in relative or name == 'lease.json':
        continue
      with open(path) as f:
        text = f.read()
      if name == 'summary.md':      # its provenance table lists each start
        text = text.split('\n## Provenance')[0]
      if name.endswith('.json'):
        record = json.loads(text)
        if name == 'config.json':
          record.pop('history', None)
        if name == 'mask_metadata.json':
          record.get('training', {}).pop('history', None)
        text = json.dumps(_without_paths(record, root), sort_keys=True)
      files[relative] = text.replace(str(root), '<root>')
  return files


def _without_paths(value, root):
  if isinstance(value, dict):
    return {k: _without_paths(v, root) for k, v in value.items()}
  if isinstance(value, list):
    return [_without_paths(v, root) for v in value]
  return value.replace(str(root), '<root>') if isinstance(value, str) else value


@pytest.mark.slow
def test_stops_in_every_phase_end_in_seconds_and_the_protocol_finishes_as_if_never_cut(
    tmp_path):
  """52 stops (SIGINT and SIGTERM in turn) at random moments of every phase of the
  smoke transfer protocol: frame collection, mask pre-training, mask quality, the
  export, each A2C run's set-up, training loop, evaluations and checkpoints, the
  report. Each ends within 10 s with one line naming the phase or update and exit
  code 128 + the signal; running the same command again finishes the protocol with
  the same rows, scores and records as a run never stopped."""
  reference = tmp_path / 'reference'
  result = subprocess.run(_command(reference), cwd=REPO, capture_output=True,
                          text=True, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  expected = _record(reference)
  assert any(name.endswith('episodes.csv') for name in expected)

  rng = random.Random(0)
  stops, chains, phases = 0, 0, set()
  root = tmp_path / 'chain0'
  while stops < 52:
    signum = (signal.SIGINT, signal.SIGTERM)[stops % 2]
    marker = PHASE_MARKERS[stops % len(PHASE_MARKERS)]
    code, lines, took = _run_interrupted(root, marker, rng.uniform(0, 0.3), signum)
    output = '\n'.join(lines)
    assert 'Traceback' not in output, output[-3000:]
    if took is None or code == 0:
      # The marker's phase was over (or the stop came after the last line): the
      # protocol finished; its files are those of the run never stopped.
      assert code == 0, output[-3000:]
      assert _record(root) == expected
      chains += 1
      root = tmp_path / f'chain{chains}'
      continue
    assert code == 128 + signum, output[-3000:]
    assert took < STOP_WITHIN_S
    last = lines[-1]
    assert STOP_LINE.match(last), last
    phases.add(last.split(' during ')[1].split(';')[0] if ' during ' in last
               else 'a training loop')
    stops += 1
  # The last chain, finished without a stop.
  code, lines, _ = _run_interrupted(root, 'never printed', 0, signal.SIGINT)
  assert code == 0, '\n'.join(lines[-50:])
  assert _record(root) == expected
  assert len(phases) >= 5, phases
