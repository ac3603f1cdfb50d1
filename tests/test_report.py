"""Reports of any runs: grouped by their saved settings, with 95% CIs."""

import csv
import subprocess
import sys

import numpy as np
import pytest

from a2c_helpers import config as _config
from saarl_tf import config as config_lib
from saarl_tf.experiments import report
from saarl_tf.training import a2c_training


def _launch(*args):
  return subprocess.run([sys.executable, '-m', 'saarl_tf.launch', *args],
                        capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.slow
def test_report_of_two_real_runs_has_a_row_per_variant_and_no_ci_for_two_seeds(tmp_path):
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
  # Three tables, training games then each evaluation mode's games, a row per
  # variant in each.
  assert [row.split(' | ')[1:3] for row in rows] == [['baseline', '0,1'],
                                                     ['joint', '0,1']] * 3
  assert '## Evaluation games, no-op starts' in summary
  assert '## Evaluation games, sticky actions' in summary
  distinct = float(rows[-1].split(' | ')[-1].split()[0])   # of 2 games each
  assert 1.0 <= distinct <= 2.0
  for row in rows:
    # Two seeds: a mean and no interval ('mean (n = 2, no CI)').
    assert row.split(' | ')[3].endswith(' (n = 2, no CI)'), row
  assert rows[0].split(' | ')[4] == '1.00'           # the baseline's own ratio
  with open(tmp_path / 'figs' / 'results.csv', newline='') as f:
    kinds = {(row['variant'], row['kind']) for row in csv.DictReader(f)}
  assert kinds == {(v, k) for v in ('baseline', 'joint')
                   for k in ('train', 'eval', 'eval_sticky')}
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


def _table(summary, heading):
  """The rows of one table of a summary, as lists of cells."""
  section = summary.split(f'## {heading}\n')[1].split('\n## ')[0]
  return [[cell.strip() for cell in line.strip('|').split('|')]
          for line in section.splitlines() if line.startswith('| G |')]


def test_summary_gives_ratios_late_evaluations_and_probability_of_improvement():
  """A variant whose every seed beats every baseline seed has P(> baseline) = 1; its
  ratios are of means; 'last 5 evals' averages each seed's last five evaluations."""
  evaluations = 6
  baseline = np.array([[1., 2., 3., 4.], [1., 2., 3., 6.], [2., 2., 2., 2.]])
  better = baseline + 10.0
  base_evals = np.tile(np.arange(evaluations, dtype=float), (3, 1))   # 0..5
  worse_evals = base_evals - 1.0
  table = report.EvalTable(
      'no-op starts', {('G', 'baseline'): base_evals, ('G', 'joint'): worse_evals},
      {('G', 'baseline'): np.array([1., 2., 3.]), ('G', 'joint'): np.ones(3)},
      {('G', 'baseline'): [0, 1, 2], ('G', 'joint'): [0, 1, 2]},
      np.arange(evaluations), 10)
  summary = report.summary_markdown(
      'T', ['G'], ['baseline', 'joint'],
      {('G', 'baseline'): baseline, ('G', 'joint'): better}, [table],
      {('G', 'baseline'): [0, 1, 2], ('G', 'joint'): [0, 1, 2]}, 1000)
  train = _table(summary, 'Training games')
  assert [row[1] for row in train] == ['baseline', 'joint']
  assert train[0][-1] == '-'
  assert train[1][3].startswith('14.00 [')                   # final: mean of 14, 16, 12
  assert train[1][4] == f'{14.0 / 4.0:.2f}'                  # ratio of the means
  assert train[1][-1] == '1.00 [1.00, 1.00]'                 # every pair is a win
  evaluation = _table(summary, 'Evaluation games, no-op starts')
  assert evaluation[0][5].startswith('3.00 [')               # mean of evals 1..5
  assert evaluation[1][5].startswith('2.00 [')
  assert evaluation[1][-2] == '0.00 [0.00, 0.00]'            # every pair a loss
  assert evaluation[0][-1].startswith('2.00 [')              # distinct: mean of 1, 2, 3
  assert 'distinct games (of 10)' in summary


def test_fewer_than_three_seeds_estimate_no_interval():
  """Two seeds: the mean is given with n and no interval, P(> baseline) is not
  estimated (a bootstrap over two values is no 95% interval)."""
  two = np.array([[1., 2.], [3., 4.]])
  table = report.EvalTable('no-op starts', {('G', 'baseline'): two, ('G', 'joint'): two},
                           {('G', 'baseline'): np.ones(2), ('G', 'joint'): np.ones(2)},
                           {('G', 'baseline'): [0, 1], ('G', 'joint'): [0, 1]},
                           np.arange(2), 10)
  summary = report.summary_markdown(
      'T', ['G'], ['baseline', 'joint'],
      {('G', 'baseline'): two, ('G', 'joint'): two + 1}, [table],
      {('G', 'baseline'): [0, 1], ('G', 'joint'): [0, 1]}, 1000)
  train = _table(summary, 'Training games')
  assert train[0][3] == '3.00 (n = 2, no CI)'
  assert train[1][-1] == 'n < 3, not estimated'
  assert '[' not in ''.join(train[1][3:])


@pytest.mark.parametrize('settings, label', [
    ({'variant': 'baseline'}, 'baseline'),
    ({'variant': 'frozen', 'mask_mode': 'residual'}, 'frozen-residual'),
    ({'variant': 'joint', 'mask_mode': 'residual', 'mask': {'rl_gradient': True}},
     'joint-residual'),
    ({'variant': 'joint', 'mask_mode': 'multiply', 'mask': {'rl_gradient': False}},
     'joint-no-rl-gradient'),
])
def test_runs_are_grouped_by_what_makes_them_differ(settings, label):
  config = config_lib.from_dict(config_lib.A2CConfig, settings)
  assert report.variant_label(config) == label


def _run(variant, seed, scores, sticky_scores=()):
  """A run's logs: training games, and evaluations of 2 games at frames 10, 20 with
  no-op starts (`scores`, one per evaluation) and, if given, sticky actions."""
  def evaluations(per_evaluation):
    return np.array([[10.0 * (i + 1), i + 1, game, score, 100]
                     for i, score in enumerate(per_evaluation) for game in (0, 1)]
                    ).reshape(-1, 5)
  episodes = np.array([[5.0, 1.0, 50], [15.0, 2.0, 50], [25.0, 3.0, 50]])
  return report.RunLogs('G', variant, seed, episodes, evaluations(scores), 30,
                        evaluations(sticky_scores))


def test_a_mode_table_holds_only_the_runs_that_played_that_mode():
  """Runs from before sticky evaluation (seeds 0-2) beside runs with it (seeds 3-4)
  in one variant: the sticky table lists seeds 3 and 4 only, with their mean and a
  ratio to the baseline's sticky runs, no NaN; the no-op table keeps all five seeds."""
  runs = [_run(variant, seed, [1.0, 2.0] if variant == 'baseline' else [3.0, 5.0],
               [4.0, 4.0] if seed >= 3 and variant == 'baseline' else
               [8.0, 12.0] if seed >= 3 else ())
          for variant in ('baseline', 'joint') for seed in range(5)]
  grid = np.array([10.0, 20.0, 30.0])
  training = {(run.game, run.variant): None for run in runs}
  noop, sticky = (report.eval_table(mode, runs, training) for mode in ('noop', 'sticky'))
  assert sticky.seeds == {('G', 'baseline'): [3, 4], ('G', 'joint'): [3, 4]}
  assert noop.seeds[('G', 'joint')] == [0, 1, 2, 3, 4]
  curves = {key: np.tile(grid, (5, 1)) for key in training}
  summary = report.summary_markdown(
      'T', ['G'], ['baseline', 'joint'], curves, [noop, sticky],
      {key: list(range(5)) for key in training}, 30)
  rows = _table(summary, 'Evaluation games, sticky actions')
  assert [row[2] for row in rows] == ['3,4', '3,4']
  assert rows[1][3] == '12.00 (n = 2, no CI)'             # last evaluation of seeds 3, 4
  assert rows[1][8] == f'{10.0 / 4.0:.2f}'                # eval AUC: 10 vs 4
  assert 'nan' not in summary
  assert [row[2] for row in _table(summary, 'Evaluation games, no-op starts')] == [
      '0,1,2,3,4'] * 2


def test_a_table_without_baseline_runs_says_so_instead_of_nan():
  """Runs evaluated in a mode the baseline runs never were (sticky, since
  2026-12-02) get no ratio and no P: the table says why."""
  three = np.array([[1., 2.], [3., 4.], [5., 6.]])
  table = report.EvalTable('sticky actions', {('G', 'joint'): three},
                           {('G', 'joint'): np.ones(3)}, {('G', 'joint'): [0, 1, 2]},
                           np.arange(2), 10)
  summary = report.summary_markdown(
      'T', ['G'], ['baseline', 'joint'],
      {('G', 'baseline'): three, ('G', 'joint'): three}, [table],
      {('G', 'baseline'): [0, 1, 2], ('G', 'joint'): [0, 1, 2]}, 1000)
  sticky = _table(summary, 'Evaluation games, sticky actions')
  assert [row[1] for row in sticky] == ['joint']
  assert 'nan' not in ' '.join(sticky[0])
  assert sticky[0][4] == sticky[0][-2] == 'no baseline runs'
