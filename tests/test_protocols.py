"""The paper's protocols end to end on the smoke budget, and killed-run recovery."""

import csv
import json
import os
import signal
import subprocess
import sys
import time


import pytest

from saarl_tf import config as config_lib
from saarl_tf import export
from saarl_tf import protocol_table
from saarl_tf.experiments import executors
from saarl_tf.experiments import protocols
from saarl_tf.experiments import report

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _launch(*args, **kwargs):
  return subprocess.Popen([sys.executable, '-m', 'saarl_tf.launch', *args],
                          cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, **kwargs)


def _run_hours(variant, cpus, frames=40_000_000, frames_per_step=4):
  return frames / frames_per_step / protocol_table.planning_rate(variant, cpus) / 3600


def test_runs_side_by_side_with_one_cpu_each_finish_a_grid_sooner_in_the_estimate():
  todo = [('Carnival', config_lib.BASELINE, seed) for seed in range(4)]
  one_after_another = protocols.estimate_hours(40_000_000, todo,
                                               executors.Capacity(1, 2.0))
  side_by_side = protocols.estimate_hours(40_000_000, todo, executors.Capacity(2, 1.0))
  assert one_after_another == pytest.approx(4 * _run_hours(config_lib.BASELINE, 2))
  assert side_by_side == pytest.approx(2 * _run_hours(config_lib.BASELINE, 1))
  assert side_by_side < one_after_another


def test_a_frozen_run_starts_after_the_mask_in_the_estimate():
  todo = [('Carnival', config_lib.FROZEN, 0), ('Carnival', config_lib.BASELINE, 0)]
  hours = protocols.estimate_hours(40_000_000, todo, executors.Capacity(2, 1.0),
                                   mask_hours=5.0)
  # The baseline run takes the slot the mask frees; the frozen one starts at 5 h.
  assert hours == pytest.approx(5.0 + _run_hours(config_lib.FROZEN, 1))


def test_a_runs_eta_of_all_runs_counts_the_runs_its_slot_will_take():
  # One after another: every later run; the first of 20 two at a time: 9 of the 18.
  assert protocols.runs_after(19, 1) == 19
  assert [protocols.runs_after(later, 2) for later in (19, 18, 17, 2, 1, 0)] == [
      9, 9, 8, 1, 0, 0]


def test_the_local_plan_says_how_runs_one_cpu_each_would_finish_sooner(tmp_path,
                                                                      monkeypatch):
  monkeypatch.setattr(executors, 'machine_cpus', lambda: 2)
  protocol = protocol_table.PROTOCOLS['transfer']
  runs = [(game, variant, seed) for game in protocol.games
          for variant in protocol.variants for seed in range(5)]
  a2c = config_lib.replace(config_lib.A2CConfig(), total_frames=40_000_000)
  local = protocols.plan(protocol, str(tmp_path), a2c, config_lib.PretrainConfig(),
                         runs, runs, 'local', executors.Capacity(1, 2.0))
  on_ray = protocols.plan(protocol, str(tmp_path), a2c, config_lib.PretrainConfig(),
                          runs, runs, 'ray', executors.Capacity(2, 1.0))
  assert local[2].startswith('  estimate: 1.7 days on 2 CPUs one run after another')
  assert local[3] == ('  faster here: --executor=ray --cpus_per_run=1 runs 2 at once '
                      'with one CPU each, about 1.3 days')
  assert on_ray[2].startswith('  estimate: 1.3 days with 2 runs at once, 1 CPU each '
                              '(ray executor; Atari at baseline 950, frozen 880 ')
  assert len(on_ray) == 3


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
