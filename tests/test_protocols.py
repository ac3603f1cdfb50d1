"""The paper's protocols end to end on the smoke budget, and killed-run recovery."""

import csv
import json
import os
import signal
import subprocess
import sys
import time


import pytest

from saarl_tf import export
from saarl_tf import protocol_table
from saarl_tf.experiments import report

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _launch(*args, **kwargs):
  return subprocess.Popen([sys.executable, '-m', 'saarl_tf.launch', *args],
                          cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, **kwargs)


@pytest.mark.slow
def test_every_protocol_runs_end_to_end_on_the_smoke_budget(tmp_path):
  process = _launch('--flagfile=launch/smoke.flags', f'--root_dir={tmp_path}',
                    f'--export_dir={tmp_path}/export')
  output, _ = process.communicate(timeout=1500)
  assert process.returncode == 0, output[-3000:]

  for name, protocol in protocol_table.PROTOCOLS.items():
    root = tmp_path / name
    with open(root / 'results.csv', newline='') as f:
      rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(report.CSV_FIELDS)
    assert {row['variant'] for row in rows} == set(protocol.variants), name
    assert {row['experiment'] for row in rows} == {name}
    assert {row['game'] for row in rows} == {'Sprites'}
    frames = [int(row['frames']) for row in rows]
    assert max(frames) <= 400 and min(frames) > 0
    assert all(0.0 <= float(row['raw_return']) <= 1.0 for row in rows)

    figure = (root / 'learning_curves.png').read_bytes()
    assert figure.startswith(b'\x89PNG') and len(figure) > 10_000
    summary = (root / 'summary.md').read_text()
    for variant in protocol.variants:
      assert f'| Sprites | {variant} |' in summary, (name, variant)
    assert '| Sprites | baseline | ' in summary and '| 1.00 |' in summary
    if protocol.mask_games:
      assert (tmp_path / 'export' / f'{name}_mask' / 'saved_model.pb').exists()
      measured = json.loads((root / 'mask' / 'mask_quality.json').read_text())
      # The export carries the scores its pre-training measured.
      stated = export.read_metadata(str(tmp_path / 'export' / f'{name}_mask'))
      assert set(stated['quality'].get('games', {})) == set(measured)
      # The mask is scored on the games it plays but was not trained on.
      target = json.loads((root / 'mask' / 'target_quality.json').read_text())
      assert 0.0 <= target['Sprites']['object_recall'] <= 1.0
      assert (root / 'mask' / 'mask_overlay_Sprites.png').exists()

  # The same command again: every run finished, every mask exported: nothing is
  # trained or exported again.
  exported = {path: path.stat().st_mtime_ns
              for path in (tmp_path / 'export').rglob('*') if path.is_file()}
  again = _launch('--flagfile=launch/smoke.flags', f'--root_dir={tmp_path}',
                  f'--export_dir={tmp_path}/export')
  output, _ = again.communicate(timeout=900)
  assert again.returncode == 0, output[-3000:]
  assert exported == {path: path.stat().st_mtime_ns
                      for path in (tmp_path / 'export').rglob('*') if path.is_file()}


@pytest.mark.slow
def test_a_killed_experiment_skips_finished_runs_and_resumes_the_other(tmp_path):
  args = ('--experiment=single_task', '--games=Sprites', '--seeds=0', '--num_envs=2',
          '--total_frames=3000', '--checkpoint_every=5', '--summary_every=5',
          '--mask_start_update=2', f'--root_dir={tmp_path}')
  runs = tmp_path / 'runs' / 'Sprites'
  process = _launch(*args, start_new_session=True)
  deadline = time.time() + 900
  # Kill hard once the baseline run has finished and the joint one has checkpointed.
  while not (runs / 'joint' / 'seed_0' / 'checkpoints' / 'checkpoint').exists():
    assert process.poll() is None, process.communicate()[0][-3000:]
    assert time.time() < deadline
    time.sleep(0.2)
  os.killpg(process.pid, signal.SIGKILL)
  process.wait()
  assert (runs / 'baseline' / 'seed_0' / 'done.json').exists()
  assert not (runs / 'joint' / 'seed_0' / 'done.json').exists()
  finished_log = (runs / 'baseline' / 'seed_0' / 'episodes.csv').read_bytes()

  process = _launch(*args)
  output, _ = process.communicate(timeout=900)
  assert process.returncode == 0, output[-3000:]
  # The plan counts the finished run, and only the other one runs.
  assert output.startswith('single_task: 2 runs (Sprites x baseline, joint x seeds '
                           f'0), 3,000 frames each, into {tmp_path}; 1 finished, 1 to '
                           'run'), output[:500]
  assert 'baseline/seed_0, run' not in output
  assert 'joint/seed_0, run 1 of 1' in output
  assert 'Resuming' in output and 'joint/seed_0 at update' in output
  assert (runs / 'baseline' / 'seed_0' / 'episodes.csv').read_bytes() == finished_log
  assert (runs / 'joint' / 'seed_0' / 'done.json').exists()
  with open(tmp_path / 'results.csv', newline='') as f:
    assert {row['variant'] for row in csv.DictReader(f)} == {'baseline', 'joint'}
