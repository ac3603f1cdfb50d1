"""Reports of any A2C runs: results.csv, learning curves and a summary table.

`python -m saarl_tf.launch --experiment=report --runs='runs/MsPacman/*/seed_*'
--output=figs/` reads the runs a glob matches (directories holding a config.json),
groups them by game and variant from their saved settings (a residual mask is its own
variant, `frozen-residual`), and writes into the output directory:

  results.csv           experiment, game, variant, seed, kind (train, eval for
                        evaluation games with no-op starts, eval_sticky with sticky
                        actions, eval_sample with sampled actions), frames,
                        raw_return: every finished training game
                        and evaluation game
  learning_curves.png   per game, training scores (mean of the last 100 games) and,
  learning_curves.svg   where runs have them, evaluation scores of each mode, against
                        frames: the mean over seeds with its 95% bootstrap CI (rliable)
  summary.md            training games (final score, area under the curve) and, per
                        evaluation mode, evaluation games (last, last 5, area, how
                        many of an evaluation's games differ), per variant with 95%
                        CIs, their ratio to the baseline and rliable's probability
                        that the variant's area beats the baseline's; where each
                        variant's training curves leave the range of the baseline's
                        seeds

The protocols write their reports through the same code.
"""

import os
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple
import warnings

import numpy as np

from saarl_tf import config as config_lib
from saarl_tf import plots
from saarl_tf import provenance
from saarl_tf import run_layout
from saarl_tf import storage
from saarl_tf.evaluation import curves as curves_lib
from saarl_tf.training import run_files

CSV_FIELDS = ('experiment', 'game', 'variant', 'seed', 'kind', 'frames', 'raw_return')
_NO_EVALUATIONS = np.zeros((0, len(run_files.EVAL_FIELDS)))


class RunLogs(NamedTuple):
  """One run: what it is and what it logged.

  episodes: float64 [E, 3] training games (frames, raw_return, agent_steps).
  evaluations: float64 [V, 5] evaluation games with no-op starts (frames, update,
    game, raw_return, agent_steps); sticky_evaluations: the same with sticky actions;
  sample_evaluations: with no-op starts and sampled actions.
  starts: each start of the run: its update, commit, precision and machine.
  frames_reached: the frames of its last logged game or evaluation if it has not
    finished (its curve ends there); None if it finished (or is not known not to).
  """
  game: str
  variant: str
  seed: int
  episodes: np.ndarray
  evaluations: np.ndarray
  total_frames: int = 0       # the run's budget, from its config.json when read
  sticky_evaluations: np.ndarray = _NO_EVALUATIONS
  sample_evaluations: np.ndarray = _NO_EVALUATIONS
  starts: Tuple[str, ...] = ()   # each start of the run (`describe_starts`)
  frames_reached: Optional[int] = None

  @property
  def reached(self) -> int:
    """The frames the run reached: its budget if it finished."""
    return self.total_frames if self.frames_reached is None else self.frames_reached

  @property
  def finished(self) -> bool:
    return self.reached >= self.total_frames

  def up_to(self, frames: int) -> 'RunLogs':
    """The run as it stood at `frames`: its games and evaluations up to there, its
    budget cut to `frames` (if smaller); finished if it reached that budget."""
    cut = lambda rows: rows[rows[:, 0] <= frames]
    return self._replace(
        episodes=cut(self.episodes), evaluations=cut(self.evaluations),
        sticky_evaluations=cut(self.sticky_evaluations),
        sample_evaluations=cut(self.sample_evaluations),
        total_frames=min(self.total_frames, frames),
        frames_reached=min(self.reached, frames))

  def evaluations_of(self, mode: str) -> np.ndarray:
    """float64 [V, 5]: the evaluation games of `mode` (config.EVAL_MODES)."""
    return {config_lib.NOOP: self.evaluations,
            config_lib.STICKY: self.sticky_evaluations,
            config_lib.SAMPLE: self.sample_evaluations}[mode]


# Per evaluation mode: its table's and figure row's label (its results.csv kind is
# run_layout.eval_group), and what the label means in the summary.
EVAL_LABELS = {config_lib.NOOP: 'no-op starts', config_lib.STICKY: 'sticky actions',
               config_lib.SAMPLE: 'sampled actions'}
_MODE_MEANINGS = {
    EVAL_LABELS[config_lib.NOOP]: "games started as in training (up to 30 no-ops; "
    "the paper's mode)",
    EVAL_LABELS[config_lib.STICKY]: 'the same with sticky actions in the evaluation '
    'envs only',
    EVAL_LABELS[config_lib.SAMPLE]: 'no-op starts with actions drawn from the policy '
    'instead of its most likely one'}


def variant_label(config: config_lib.A2CConfig) -> str:
  """'joint', or 'frozen-residual' for a run whose mask scales features by 1 + Psi,
  'joint-no-rl-gradient' for a joint run whose RL gradient stays out of Psi."""
  label = config.variant
  if config.mask_mode != config_lib.MULTIPLY:
    label += '-' + config.mask_mode
  if config.variant == config_lib.JOINT and not config.mask.rl_gradient:
    label += '-no-rl-gradient'
  return label


def describe_starts(settings: Dict) -> Tuple[str, ...]:
  """'update U: commit C, precision P, CPU (oneDNN on)' for each start a run's
  config.json records (the machine where it was recorded); from a config.json of the
  format without starts, its first start's commit and precision."""
  settings = settings or {}
  if not settings.get('history') and settings.get('git_commit'):
    # An early format: the first start's commit and precision only.
    return (f'first start: {settings["git_commit"][:7]}, '
            f'{settings.get("resolved_precision", "?")} (later starts not recorded)',)
  starts = []
  for start in settings.get('history', []):
    update = start.get('update', start.get('step', '?'))
    text = (f'update {update}: {str(start.get("git_commit") or "?")[:7]}, '
            f'{start.get("resolved_precision", "?")}')
    machine = start.get('machine')
    if machine:
      text += (f', {machine["cpu"]} ({machine["cores"]} cores, '
               f'{provenance.kernels_text(machine)})')
    starts.append(text)
  return tuple(starts)


def read_run(directory: str, game: Optional[str] = None,
             variant: Optional[str] = None, seed: Optional[int] = None) -> RunLogs:
  """A run's logs; game, variant and seed from its config.json unless given.

  Raises:
    ValueError: the directory holds no config.json and they are not given.
  """
  settings = run_files.read_config(directory)
  config = config_lib.from_dict(config_lib.A2CConfig, settings) if settings else None
  if game is None or variant is None or seed is None:
    if config is None:
      raise ValueError(f'{directory} is not a run directory: it holds no '
                       f'{run_layout.CONFIG_JSON}')
    game, variant, seed = config.game, variant_label(config), config.seed
  episodes = run_files.read_episodes(directory)
  evaluations = {mode: run_files.read_evaluations(directory, mode)
                 for mode in config_lib.EVAL_MODES}
  total_frames = config.total_frames if config else 0
  reached = None
  if run_layout.read_done(directory) is None:
    reached = int(max([rows[-1, 0] for rows in [episodes, *evaluations.values()]
                       if len(rows)] + [0]))
  return RunLogs(game, variant, int(seed), episodes, evaluations[config_lib.NOOP],
                 total_frames, evaluations[config_lib.STICKY],
                 evaluations[config_lib.SAMPLE], describe_starts(settings), reached)


def find_runs(pattern: str) -> List[RunLogs]:
  """Every run directory `pattern` matches, in (game, variant, seed) order.

  Raises:
    ValueError: one line if the pattern matches no run directory.
  """
  directories = sorted(path for path in storage.glob(pattern)
                       if storage.exists(os.path.join(path, run_layout.CONFIG_JSON)))
  if not directories:
    raise ValueError(f'--runs={pattern} matches no run directory (a directory '
                     f'holding {run_layout.CONFIG_JSON})')
  runs = _budgets_apart([read_run(directory) for directory in directories])
  return sorted(runs, key=lambda run: (run.game, _variant_order(run.variant),
                                       run.seed))


def _budgets_apart(runs: Sequence[RunLogs]) -> List[RunLogs]:
  """Where one game's runs have different budgets, each budget is its own panel
  and table row ('Carnival, 40M-frame runs'); where runs of one budget have not all
  finished, those under way are apart too ('..., under way'), so that no mean pools a
  finished run's scores with those of a run far from its end."""
  kinds = {}
  for run in runs:
    kinds.setdefault(run.game, set()).add((run.total_frames, run.finished))

  def label(run: RunLogs) -> str:
    budgets = {budget for budget, _ in kinds[run.game]}
    name = run.game
    if len(budgets) > 1:
      name += f', {run.total_frames / 1e6:g}M-frame runs'
    if not run.finished and (run.total_frames, True) in kinds[run.game]:
      name += ', under way'
    return name
  return [run._replace(game=label(run)) for run in runs]


def _variant_order(variant: str) -> Tuple[int, str]:
  return (0 if variant == config_lib.BASELINE else 1, variant)


def results_rows(experiment: str, runs: Sequence[RunLogs]) -> List[dict]:
  """Every finished training game and evaluation game of every run, as CSV rows."""
  rows = []
  for run in runs:
    row = dict(experiment=experiment, game=run.game, variant=run.variant,
               seed=run.seed)
    rows += [dict(row, kind='train', frames=int(frames), raw_return=float(score))
             for frames, score, _ in run.episodes]
    for mode in EVAL_LABELS:
      rows += [dict(row, kind=run_layout.eval_group(mode), frames=int(frames),
                    raw_return=float(score))
               for frames, _, _, score, _ in run.evaluations_of(mode)]
  return rows


def write_report(runs: Sequence[RunLogs], output_dir: str, title: str,
                 total_frames: int, experiment: str = 'report') -> Dict[str, str]:
  """Writes results.csv, learning_curves.png/.svg and summary.md for `runs`.

  Args:
    runs: the runs, in the order their CSV rows should come.
    output_dir: where the files go (made if missing).
    title: the figure's and the summary's title.
    total_frames: the budget the curves are drawn to and the summary states; a
      group of runs with a smaller budget (`_budgets_apart`) is measured on its own.
    experiment: the `experiment` column of results.csv.

  Returns:
    Paths of the CSV, the PNG figure and the summary.
  """
  storage.makedirs(output_dir)
  paths = {'csv': os.path.join(output_dir, run_layout.RESULTS_CSV),
           'figure': os.path.join(output_dir, run_layout.LEARNING_CURVES + '.png'),
           'summary': os.path.join(output_dir, run_layout.SUMMARY_MD)}
  storage.write_csv(paths['csv'], CSV_FIELDS, results_rows(experiment, runs))

  games = list(dict.fromkeys(run.game for run in runs))
  variants = sorted(dict.fromkeys(run.variant for run in runs), key=_variant_order)
  groups = {}
  for run in runs:
    groups.setdefault((run.game, run.variant), []).append(run)
  # Each group is measured on its own budget's grid; the figure draws every group
  # on the union of those grids, so that runs of 4M and 40M frames share its axes.
  budgets = {key: max(run.total_frames for run in group) or total_frames
             for key, group in groups.items()}
  grids = {key: curves_lib.frame_grid(budgets[key]) for key in groups}
  grid = np.unique(np.concatenate([curves_lib.frame_grid(total_frames),
                                   *grids.values()]))
  curves = {key: _training_curves(group, grids[key]) for key, group in groups.items()}
  seeds = {key: [run.seed for run in group] for key, group in groups.items()}
  tables = [eval_table(mode, runs, curves) for mode in EVAL_LABELS
            if any(len(run.evaluations_of(mode)) for run in runs)]
  plots.plot_learning_curves(
      {key: _training_curves(group, grid) for key, group in groups.items()},
      grid, games, variants, title, paths['figure'],
      [(f'evaluation, {table.label}', table.curves, table.frames) for table in tables])
  storage.write_atomically(paths['summary'], summary_markdown(
      title, games, variants, curves, tables, seeds, total_frames)
      + parting_markdown(games, variants, curves, grids)
      + unfinished_markdown(runs) + provenance_markdown(runs))
  return paths


def _training_curves(group: Sequence[RunLogs], grid: np.ndarray) -> np.ndarray:
  """float [S, G]: each run's training curve on `grid` (float [G] frames), NaN past
  the frames it reached."""
  return np.stack([np.where(grid <= run.reached,
                            curves_lib.run_curve(run.episodes, grid), np.nan)
                   for run in group])


def curve_sides(ours: np.ndarray, baseline: np.ndarray) -> np.ndarray:
  """At each grid point, where a variant's seeds lie against the baseline's.

  Args:
    ours, baseline: float [S, G] and [S_b, G] training curves on one grid (NaN past
      the frames a run reached).

  Returns:
    float [G]: -1 where every seed of ours is below every baseline seed, +1 where
    every one is above, 0 where the ranges overlap, NaN where a curve is missing.
  """
  sides = np.where(np.max(ours, axis=0) < np.min(baseline, axis=0), -1.0,
                   np.where(np.min(ours, axis=0) > np.max(baseline, axis=0), 1.0, 0.0))
  known = np.all(np.isfinite(ours), axis=0) & np.all(np.isfinite(baseline), axis=0)
  return np.where(known, sides, np.nan)


def apart_from(sides: np.ndarray) -> Optional[int]:
  """The index of the grid point from which `sides` (`curve_sides`) stays on one
  side to its last known point, or None if that point overlaps (or none is known)."""
  known = np.flatnonzero(np.isfinite(sides))
  if not len(known) or sides[known[-1]] == 0:
    return None
  start = len(known) - 1
  while start > 0 and sides[known[start - 1]] == sides[known[-1]]:
    start -= 1
  return int(known[start])


def parting_markdown(games: Sequence[str], variants: Sequence[str],
                     curves: Dict[Tuple[str, str], np.ndarray],
                     grids: Dict[Tuple[str, str], np.ndarray]) -> str:
  """Where each variant's training curves leave or stay within the range of the
  baseline's seeds: per game and variant, how many grid points lie below, within and
  above it, and from which frame the variant stays on one side to the end.

  Args:
    curves: (game, variant) -> float [S, G] training curves.
    grids: (game, variant) -> float [G] their frames.
  """
  lines = ['', '## Where the training curves part', '',
           "Per point of the frame grid: below, every seed of the variant under every "
           "baseline seed; above, every one over; within, the ranges overlap. Apart "
           "to the end: the first frame from which every later point is on the same "
           "side.", '',
           '| game | variant | points | below | within | above | apart to the end |',
           '| --- | --- | ---: | ---: | ---: | ---: | --- |']
  rows = 0
  for game in games:
    baseline = curves.get((game, config_lib.BASELINE))
    for variant in variants:
      key = (game, variant)
      if baseline is None or variant == config_lib.BASELINE or key not in curves:
        continue
      sides = curve_sides(curves[key], baseline)
      counts = [int(np.sum(sides == side)) for side in (-1, 0, 1)]
      start = apart_from(sides)
      apart = ('no common point' if not sum(counts) else 'no' if start is None else
               f'{"below" if sides[start] < 0 else "above"} from '
               f'{grids[key][start] / 1e6:.3g}M frames')
      lines.append(f'| {game} | {variant} | {sum(counts)} | '
                   + ' | '.join(map(str, counts)) + f' | {apart} |')
      rows += 1
  return '\n'.join(lines) + '\n' if rows else ''


def unfinished_markdown(runs: Sequence[RunLogs]) -> str:
  """A list of the runs that have not reached their budget and how far each got;
  empty if all have."""
  unfinished = [run for run in runs if not run.finished]
  if not unfinished:
    return ''
  lines = ['', '## Unfinished runs', '',
           'Their curves end at the frames they reached: their final score and last '
           'evaluations are their latest, their AUC the mean over those frames only.',
           '']
  lines += [f'- {run.game} {run.variant} seed {run.seed}: {run.reached:,} of '
            f'{run.total_frames:,} frames' for run in unfinished]
  return '\n'.join(lines) + '\n'


def provenance_markdown(runs: Sequence[RunLogs]) -> str:
  """A table of every start of every run (update, commit, precision, machine), from
  their config.json; empty if no run records its starts."""
  if not any(run.starts for run in runs):
    return ''
  lines = ['', '## Provenance', '',
           'Every start of every run, as its config.json records it: the update it '
           'started from, the commit, the precision and, where recorded, the machine.',
           '', '| game | variant | seed | starts |', '| --- | --- | --- | --- |']
  for run in runs:
    lines.append(f'| {run.game} | {run.variant} | {run.seed} | '
                 + '; '.join(run.starts or ('not recorded',)) + ' |')
  return '\n'.join(lines) + '\n'


class EvalTable(NamedTuple):
  """One evaluation mode's games in a report, of the runs that played the mode (runs
  from before a mode existed have none of its games: left out, not counted as NaN).

  label: what the mode is ('no-op starts').
  curves: (game, variant) -> float [S, V] mean score per evaluation, at `frames`, for
    each (game, variant) with a run that played the mode.
  distinct: (game, variant) -> float [S] each run's mean number of distinct games
    per evaluation (`run_files.distinct_games`).
  seeds: (game, variant) -> the S seeds of those runs.
  frames: float [V] the frames of every run's evaluations.
  games: games per evaluation (the most any evaluation held).
  """
  label: str
  curves: Dict[Tuple[str, str], np.ndarray]
  distinct: Dict[Tuple[str, str], np.ndarray]
  seeds: Dict[Tuple[str, str], List[int]]
  frames: np.ndarray
  games: int


def eval_table(mode: str, runs: Sequence[RunLogs],
               groups: Dict[Tuple[str, str], np.ndarray]) -> EvalTable:
  """The evaluation games of `mode` of `runs`, per (game, variant) of `groups`."""
  played = [run for run in runs if len(run.evaluations_of(mode))]
  frames = np.unique(np.concatenate(
      [run.evaluations_of(mode)[:, 0] for run in played] + [np.zeros(0)]))
  curves, distinct, seeds = {}, {}, {}
  for key in groups:
    group = [run for run in played if (run.game, run.variant) == key]
    if not group:
      continue
    evaluations = [run.evaluations_of(mode) for run in group]
    curves[key] = np.stack([curves_lib.eval_curve(evals, frames)
                            for evals in evaluations])
    distinct[key] = np.array([np.mean(run_files.distinct_games(evals))
                              for evals in evaluations])
    seeds[key] = [run.seed for run in group]
  games = max([int(np.max(run.evaluations_of(mode)[:, 2])) + 1 for run in played]
              + [0])
  return EvalTable(EVAL_LABELS[mode], curves, distinct, seeds, frames, games)


LATE_EVALUATIONS = 5    # "late": each run's last 5 evaluations (2M frames at 4M)


def _with_ci(values: np.ndarray) -> Tuple[float, str]:
  """The mean of per-seed values float [S] and 'mean [low, high]' (95% CI), or
  'mean (n = S, no CI)' with fewer than curves_lib.MIN_SEEDS_FOR_CI seeds."""
  mean, low, high = (float(x[0]) for x in curves_lib.mean_and_ci(values[:, None]))
  if len(values) < curves_lib.MIN_SEEDS_FOR_CI:
    return mean, f'{mean:.2f} (n = {len(values)}, no CI)'
  return mean, f'{mean:.2f} [{low:.2f}, {high:.2f}]'


def _last_finite(values: np.ndarray, count: int = 1) -> np.ndarray:
  """float [S, G] -> float [S]: the mean of each row's last `count` finite values
  (a run's curve ends early where its budget or its progress ends); NaN if none."""
  means = np.full(len(values), np.nan)
  for row, row_values in enumerate(values):
    finite = row_values[np.isfinite(row_values)]
    if len(finite):
      means[row] = np.mean(finite[-count:])
  return means


def _training_measures(runs: np.ndarray) -> Dict[str, np.ndarray]:
  """Each seed's measures of its training curve float [S, G] (mean of the last
  WINDOW games on the grid): `final` (where the curve ends) and `auc` (the mean over
  the run), float [S]."""
  return {'final': _last_finite(runs), 'auc': np.nanmean(runs, axis=1)}


def _eval_measures(evals: np.ndarray, distinct: np.ndarray) -> Dict[str, np.ndarray]:
  """Each seed's measures of its evaluations.

  Args:
    evals: float [S, V] mean evaluation scores at the report's evaluation frames
      (NaN where a run has none).
    distinct: float [S] mean distinct games per evaluation.

  Returns:
    name -> float [S]: `eval` (the last evaluation), `eval_late` (mean of the last
    LATE_EVALUATIONS), `eval_auc` (mean over all), `distinct`.
  """
  if not evals.shape[1]:                       # no evaluations: NaN measures
    evals = np.full((len(evals), 1), np.nan)
  return {'eval': _last_finite(evals),
          'eval_late': _last_finite(evals, LATE_EVALUATIONS),
          'eval_auc': np.nanmean(evals, axis=1), 'distinct': distinct}


# Each table's (label, measure) pairs shown with their ratio to the baseline; the
# last pair's probability of improvement over the baseline is given.
_TRAINING = (('final', 'final'), ('AUC', 'auc'))
_EVALUATION = (('last eval', 'eval'), (f'last {LATE_EVALUATIONS} evals', 'eval_late'),
               ('eval AUC', 'eval_auc'))


def summary_markdown(title: str, games: Sequence[str], variants: Sequence[str],
                     curves: Dict[Tuple[str, str], np.ndarray],
                     evaluations: Sequence[EvalTable],
                     seeds: Dict[Tuple[str, str], List[int]],
                     total_frames: int) -> str:
  """Tables of training games and of each evaluation mode's games: per game and
  variant, each measure's mean over seeds with its 95% CI and its ratio to the
  baseline's mean, and the probability that a run of the variant beats a run of the
  baseline in area under the curve (rliable, with its 95% CI); evaluation tables also
  give how many of an evaluation's games differ.

  Args:
    curves: (game, variant) -> float [S, G] training curves on the frame grid.
    evaluations: one table per evaluation mode (`eval_table`).
    seeds: (game, variant) -> the S seeds.
  """
  lines = [f'# {title}', '',
           f'{total_frames:,} frames per run; mean over seeds [95% bootstrap CI; '
           f'none with fewer than {curves_lib.MIN_SEEDS_FOR_CI} seeds]. '
           f'Final: the mean raw score of the last {curves_lib.WINDOW} training games '
           'at the end. AUC: the mean of the curve over the run (its area divided by the '
           'frames). Last eval: the mean raw score of the last evaluation\'s complete '
           f'games; last {LATE_EVALUATIONS} evals: of the last {LATE_EVALUATIONS} '
           'evaluations\' games. Ratios are to the baseline\'s mean. P(> baseline): '
           'the probability that a run of the variant has the larger AUC than a run '
           'of the baseline (rliable\'s probability of improvement; 0.5 is no '
           'difference).']
  if evaluations:
    lines[-1] += (' Distinct games: per evaluation, how many different games it held '
                  '(games of one score whose lengths are within '
                  f'{run_files.SAME_GAME_STEPS} agent steps, a replay shifted by its '
                  'opening no-ops, count once), the mean over a run\'s evaluations. '
                  'Evaluation modes: ' + '; '.join(
                      f'{table.label}, {_MODE_MEANINGS[table.label]}'
                      for table in evaluations) + '.')
  with warnings.catch_warnings():   # NaN curves: runs that finished no game
    warnings.simplefilter('ignore', RuntimeWarning)
    tables = [('Training games', _TRAINING, (),
               {key: _training_measures(curves[key]) for key in curves}, seeds)]
    for table in evaluations:
      tables.append((f'Evaluation games, {table.label}', _EVALUATION,
                     (f'distinct games (of {table.games})', 'distinct'),
                     {key: _eval_measures(table.curves[key], table.distinct[key])
                      for key in table.curves}, table.seeds))
    for heading, shown, extra, measures, table_seeds in tables:
      lines += _table_lines(heading, shown, extra, measures, games, variants,
                            table_seeds)
  return '\n'.join(lines) + '\n'


_NO_BASELINE = 'no baseline runs'


def _table_lines(heading: str, shown, extra, measures, games, variants,
                 seeds) -> List[str]:
  """One markdown table: per game and variant, `shown` (label, measure) pairs with
  their ratio to the baseline, P(> baseline) of the last, and the `extra` (label,
  measure) pair, if any, alone."""
  header = ['game', 'variant', 'seeds']
  for name, _ in shown:
    header += [name, f'{name} / baseline']
  compared_name, compared = shown[-1]
  header.append(f'P({compared_name} > baseline)')
  if extra:
    header.append(extra[0])
  lines = ['', f'## {heading}', '', '| ' + ' | '.join(header) + ' |',
           '| --- | --- | --- |' + ' ---: |' * (len(header) - 3)]
  for game in games:
    base = measures.get((game, 'baseline'))
    for variant in variants:
      if (game, variant) not in measures:
        continue
      ours = measures[(game, variant)]
      cells = []
      for _, key in shown:
        mean, text = _with_ci(ours[key])
        # No baseline run in this table (e.g. none evaluated in this mode): said.
        cells += [text, f'{mean / np.mean(base[key]):.2f}' if base is not None
                  else _NO_BASELINE]
      cells.append('-' if variant == config_lib.BASELINE else
                   _improvement(ours[compared], base[compared])
                   if base is not None else _NO_BASELINE)
      if extra:
        cells.append(_with_ci(ours[extra[1]])[1])
      seed_list = ','.join(str(seed) for seed in seeds[(game, variant)])
      lines.append(f'| {game} | {variant} | {seed_list} | ' + ' | '.join(cells)
                   + ' |')
  return lines


def _improvement(ours: np.ndarray, baseline: np.ndarray) -> str:
  """'p [low, high]' for per-seed values float [S] and [S_b]; 'nan' with NaNs."""
  if not (np.all(np.isfinite(ours)) and np.all(np.isfinite(baseline))):
    return 'nan'
  if min(len(ours), len(baseline)) < curves_lib.MIN_SEEDS_FOR_CI:
    return f'n < {curves_lib.MIN_SEEDS_FOR_CI}, not estimated'
  return '{:.2f} [{:.2f}, {:.2f}]'.format(
      *curves_lib.probability_of_improvement(ours, baseline))
