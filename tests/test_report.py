"""Reports of any runs: grouped by their saved settings, with 95% CIs."""

import csv
import subprocess
import sys

import numpy as np
import pytest

from a2c_helpers import config as _config
from saarl_tf import config as config_lib
from saarl_tf.evaluation import curves as curves_lib
from saarl_tf.experiments import report
from saarl_tf.training import a2c_training
from saarl_tf.training import run_files


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
  summary, provenance = summary.split('## Provenance')
  assert provenance.count('| Sprites |') == 4           # every start of the 4 runs
  summary, parting = summary.split('## Where the training curves part')
  [parted] = [line.split(' | ') for line in parting.splitlines()
              if line.startswith('| Sprites |')]
  assert parted[1] == 'joint'
  assert sum(int(cell) for cell in parted[3:6]) == int(parted[2]) > 0
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


def test_where_the_curves_part_counts_each_side_and_the_frame_they_stay_apart_from():
  """A variant's seeds against the range of the baseline's: points below, within and
  above it, and the first frame from which the rest stay on one side; a missing
  curve point is skipped; a variant that ends within the range is never apart."""
  baseline = np.array([[1., 1., 1., 1., 1., np.nan],
                       [3., 3., 3., 3., 3., 3.]])
  worse = np.array([[2., 4., 0., 0., 0.5, 0.],
                    [2., 5., 0.5, 0., 0., 0.]])
  sides = report.curve_sides(worse, baseline)
  np.testing.assert_array_equal(sides, [0., 1., -1., -1., -1., np.nan])
  assert report.apart_from(sides) == 2
  assert report.apart_from(np.array([-1., 0.])) is None
  assert report.apart_from(np.array([1., 1.])) == 0
  mixed = worse.copy()
  mixed[:, 4] = 2.0                                          # back within at the end
  grid = np.arange(1, 7) * 1e6
  summary = report.parting_markdown(
      ['G'], ['baseline', 'frozen', 'joint'],
      {('G', 'baseline'): baseline, ('G', 'frozen'): worse, ('G', 'joint'): mixed},
      {key: grid for key in (('G', 'baseline'), ('G', 'frozen'), ('G', 'joint'))})
  rows = _table(summary, 'Where the training curves part')
  assert rows == [['G', 'frozen', '5', '3', '1', '1', 'below from 3M frames'],
                  ['G', 'joint', '5', '2', '2', '1', 'no']]
  assert report.parting_markdown(['G'], ['joint'], {('G', 'joint'): worse},
                                 {('G', 'joint'): grid}) == ''
  unplayed = np.full_like(baseline, np.nan)                  # a run with no game yet
  rows = _table(report.parting_markdown(
      ['G'], ['baseline', 'frozen'], {('G', 'baseline'): unplayed, ('G', 'frozen'): worse},
      {('G', 'baseline'): grid, ('G', 'frozen'): grid}), 'Where the training curves part')
  assert rows == [['G', 'frozen', '0', '0', '0', '0', 'no common point']]


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


def test_the_report_lists_every_start_of_every_run_from_config_json(tmp_path):
  """A run resumed at another commit shows both starts, with their updates, commits,
  precisions and, where recorded, machines."""
  settings = {'history': [
      {'update': 0, 'git_commit': 'a' * 40, 'resolved_precision': 'mixed_bfloat16'},
      {'update': 4077, 'git_commit': 'b' * 40, 'resolved_precision': 'float32',
       'machine': {'cpu': 'Some CPU', 'cores': 2, 'onednn': True}}]}
  starts = report.describe_starts(settings)
  assert starts == ('update 0: aaaaaaa, mixed_bfloat16',
                    'update 4077: bbbbbbb, float32, Some CPU (2 cores, oneDNN on)')
  run = _run('baseline', 0, [1.0, 2.0])._replace(starts=starts)
  table = report.provenance_markdown([run])
  assert ('| G | baseline | 0 | update 0: aaaaaaa, mixed_bfloat16; update 4077: '
          'bbbbbbb, float32, Some CPU (2 cores, oneDNN on) |') in table
  assert report.provenance_markdown([_run('baseline', 0, [1.0])]) == ''
  early = {'git_commit': 'c' * 40, 'resolved_precision': 'float32'}
  assert report.describe_starts(early) == (
      'first start: ccccccc, float32 (later starts not recorded)',)


def _write_run(directory, total_frames, episodes, done):
  """A run directory as A2C leaves it: config.json, episodes.csv, done.json if
  `done`; `episodes` float [E, 3] (frames, raw_return, agent_steps)."""
  directory.mkdir(parents=True)
  run_files.write_config(str(directory), config_lib.to_dict(
      _config(game='Carnival', total_frames=total_frames)))
  lines = ['frames,raw_return,agent_steps'] + [
      f'{int(f)},{score},{int(steps)}' for f, score, steps in episodes]
  (directory / 'episodes.csv').write_text('\n'.join(lines) + '\n')
  if done:
    run_files.write_done(str(directory), {'total_frames': total_frames})


def test_an_unfinished_run_ends_where_it_got_and_is_listed(tmp_path):
  """A run without done.json has no score past its last game: its curve is NaN
  there (its AUC is over what it played, its last score not carried to the budget)
  and the summary names how far it got."""
  _write_run(tmp_path / 'finished', 100, np.array([[f, 2.0, 10] for f in
                                                    range(10, 110, 10)], float), True)
  _write_run(tmp_path / 'cut', 100, np.array([[f, f / 10, 10] for f in
                                               range(10, 60, 10)], float), False)
  runs = [report.read_run(str(tmp_path / name), seed=seed, game='Carnival',
                          variant=variant)
          for name, seed, variant in (('finished', 0, 'baseline'),
                                      ('cut', 1, 'frozen'))]
  assert runs[0].finished and runs[0].reached == 100
  assert not runs[1].finished and runs[1].reached == 50

  def frozen_row(reported_runs, name):
    summary = open(report.write_report(reported_runs, str(tmp_path / name), 'T',
                                       100)['summary']).read()
    training = summary.split('## Training games\n')[1].split('\n## ')[0]
    row = [[cell.strip() for cell in line.strip('|').split('|')]
           for line in training.splitlines()
           if line.startswith('| Carnival | frozen |')][0]
    return summary, float(row[3].split()[0]), float(row[5].split()[0])

  summary, final, auc = frozen_row(runs, 'out')
  assert '- Carnival frozen seed 1: 50 of 100 frames' in summary
  grid = curves_lib.frame_grid(100)
  played = curves_lib.run_curve(runs[1].episodes, grid)[grid <= 50]
  assert final == pytest.approx(3.0)                  # its latest: games 1-5
  assert auc == pytest.approx(np.nanmean(played), abs=0.01)
  carried_summary, _, carried_auc = frozen_row(
      [runs[0], runs[1]._replace(frames_reached=None)], 'carried')
  assert 'Unfinished' not in carried_summary and carried_auc > auc + 0.1


def test_report_frames_reads_a_long_run_as_it_stood_beside_short_runs(tmp_path):
  """--report_frames=N cuts each run's games and evaluations at N; runs of one game
  with different budgets are told apart as panels, not pooled."""
  long_run = report.RunLogs('G', 'baseline', 0, np.array(
      [[50.0, 1.0, 5], [150.0, 9.0, 5]]), np.array([[100.0, 1, 0, 3.0, 5],
                                                    [200.0, 2, 0, 7.0, 5]]), 1000)
  short = long_run._replace(seed=1, total_frames=100)
  apart = report._budgets_apart([long_run, short])
  assert [run.game for run in apart] == ['G, 0.001M-frame runs', 'G, 0.0001M-frame runs']
  assert report._budgets_apart([long_run]) == [long_run]
  cut = long_run.up_to(100)
  assert cut.total_frames == 100 and cut.finished
  assert cut.episodes.tolist() == [[50.0, 1.0, 5.0]]
  assert cut.evaluations[:, 0].tolist() == [100.0]
  assert short.up_to(1000).total_frames == 100        # never past a run's budget
  unfinished = long_run._replace(frames_reached=150)
  assert unfinished.up_to(100).finished and not unfinished.up_to(200).finished


def test_runs_under_way_are_not_pooled_with_finished_runs_of_their_budget():
  """A seed far from its end beside a finished seed of the same budget is its own
  row and panel, so the finished row's final score is the finished run's alone."""
  done = report.RunLogs('G', 'baseline', 0, np.array([[900.0, 9.0, 5]]),
                        np.zeros((0, 5)), 1000)
  under_way = done._replace(seed=1, episodes=np.array([[50.0, 1.0, 5]]),
                            frames_reached=50)
  short = done._replace(seed=2, total_frames=100, episodes=np.array([[90.0, 2.0, 5]]))
  apart = report._budgets_apart([done, under_way, short])
  assert [run.game for run in apart] == [
      'G, 0.001M-frame runs', 'G, 0.001M-frame runs, under way',
      'G, 0.0001M-frame runs']
  assert [run.game for run in report._budgets_apart([under_way])] == ['G']


def test_the_report_frames_flag_cuts_the_runs_it_reports(tmp_path):
  _write_run(tmp_path / 'runs' / 'seed_0', 1000,
             np.array([[f, float(f), 10] for f in range(100, 1100, 100)]), True)
  result = _launch('--experiment=report', f"--runs={tmp_path}/runs/seed_*",
                   f'--output={tmp_path}/out', '--report_frames=300')
  assert result.returncode == 0, result.stderr[-2000:]
  with open(tmp_path / 'out' / 'results.csv', newline='') as f:
    frames = [int(row['frames']) for row in csv.DictReader(f)]
  assert frames == [100, 200, 300]


def test_runs_of_two_budgets_are_each_measured_on_their_own_grid(tmp_path):
  """A 4M-frame group's AUC in a report beside 40M-frame runs is its AUC alone (the
  mean over its own 50 grid points, not over the few of the long runs' grid)."""
  episodes = np.array([[f, float(f % 7), 1] for f in range(1, 101)], float)
  short = report.RunLogs('G', 'baseline', 0, episodes, np.zeros((0, 5)), 100)
  long_run = short._replace(seed=1, total_frames=1000, episodes=np.array(
      [[f, 1.0, 1] for f in range(10, 1010, 10)], float))
  runs = report._budgets_apart([short, long_run])
  summary = open(report.write_report(runs, str(tmp_path), 'T', 1000)['summary']).read()
  row = [line for line in summary.splitlines() if line.startswith('| G, 0.0001M')][0]
  alone = np.nanmean(curves_lib.run_curve(episodes, curves_lib.frame_grid(100)))
  assert float(row.split(' | ')[5].split()[0]) == pytest.approx(alone, abs=0.01)
