"""Reports of any runs: grouped by their saved settings, with 95% CIs."""

import csv
import subprocess
import sys

import pytest

from a2c_helpers import config as _config
from saarl_tf.training import a2c_training


def _launch(*args):
  return subprocess.run([sys.executable, '-m', 'saarl_tf.launch', *args],
                        capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.slow
def test_report_of_two_real_runs_has_a_row_per_variant_with_a_ci(tmp_path):
  for variant in ('baseline', 'joint'):
    for seed in (0, 1):
      run = a2c_training.A2CRun(
          _config(variant=variant, seed=seed, num_envs=2, total_frames=2 * 5 * 30,
                  mask_start_update=2, eval_every=15, eval_games=2),
          str(tmp_path / 'runs' / 'Sprites' / variant / f'seed_{seed}'))
      run.run()
      run.close()
  result = _launch('--experiment=report', f"--runs={tmp_path}/runs/Sprites/*/seed_*",
                   f'--output={tmp_path}/figs', '--title=Sprites, two variants')
  assert result.returncode == 0, result.stderr[-3000:]
  summary = (tmp_path / 'figs' / 'summary.md').read_text()
  rows = [line for line in summary.splitlines() if line.startswith('| Sprites |')]
  assert [row.split(' | ')[1:3] for row in rows] == [['baseline', '0,1'],
                                                     ['joint', '0,1']]
  for row in rows:
    final = row.split(' | ')[3]                       # 'mean [low, high]'
    mean, low, high = (float(x) for x in final.replace('[', '').replace(']', '')
                       .replace(',', '').split())
    assert low <= mean <= high
  assert rows[0].split(' | ')[4] == '1.00'           # the baseline's own ratio
  with open(tmp_path / 'figs' / 'results.csv', newline='') as f:
    kinds = {(row['variant'], row['kind']) for row in csv.DictReader(f)}
  assert kinds == {(v, k) for v in ('baseline', 'joint') for k in ('train', 'eval')}
  for suffix in ('png', 'svg'):
    assert (tmp_path / 'figs' / f'learning_curves.{suffix}').stat().st_size > 10_000


def test_report_of_a_glob_that_matches_nothing_is_one_line(tmp_path):
  result = _launch('--experiment=report', f'--runs={tmp_path}/nothing/*',
                   f'--output={tmp_path}/figs')
  assert result.returncode == 2
  assert result.stderr.strip().splitlines()[-1] == (
      f'saarl_tf: --runs={tmp_path}/nothing/* matches no run directory (a directory '
      'holding config.json)')
  assert not (tmp_path / 'figs').exists()
