"""The paper's three RL protocols, each as a resumable set of A2C runs.

  single_task  per game, A2C `baseline` vs `joint` attention A2C (Figure 2);
  multi_task   a universal mask pre-trained on random-policy frames pooled from
               Asteroids, Assault and MsPacman, then per game `baseline` vs `joint` vs
               `frozen` universal mask (Figure 3);
  transfer     a mask pre-trained on JourneyEscape frames, frozen, on Asteroids and
               Carnival, vs `baseline` (Figure 4).

Layout under the experiment's root directory (docs/ARCHITECTURE.md):

  mask/                          the pre-training run (multi_task, transfer)
  runs/<game>/<variant>/seed_<k>/ one A2C run each (`training.run_files`)
  results.csv                    experiment, game, variant, seed, kind (train: a
                                 training game; eval: an evaluation game), frames,
                                 raw_return
  learning_curves.png            mean and 95% CI over seeds, one column per game,
                                 training scores above, evaluation scores below
  summary.md                     final score and area under the curve per variant

The exported mask lands in `export/<experiment>_mask/`. Running the same experiment
again skips finished runs (their `done.json`) and resumes unfinished ones from their
checkpoints, so a killed experiment loses at most `checkpoint_every` updates per run.
"""

import csv
import dataclasses
import os
import warnings
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

from absl import logging
import numpy as np

from saarl_tf import config as config_lib
from saarl_tf import plots
from saarl_tf.experiments import pretrain_mask
from saarl_tf.training import a2c_training
from saarl_tf.training import run_files


@dataclasses.dataclass(frozen=True)
class Protocol:
  """What one of the paper's protocols runs by default."""
  name: str
  title: str
  games: Tuple[str, ...]
  variants: Tuple[str, ...]
  mask_games: Tuple[str, ...] = ()   # pre-train a mask on these (for `frozen`)


PROTOCOLS = {
    'single_task': Protocol(
        'single_task', 'Single-task: A2C vs attention A2C (Figure 2)',
        ('MsPacman', 'Assault', 'Asteroids', 'Carnival'), ('baseline', 'joint')),
    'multi_task': Protocol(
        'multi_task', 'Multi-task: universal frozen mask (Figure 3)',
        ('Asteroids', 'Assault', 'MsPacman'), ('baseline', 'joint', 'frozen'),
        mask_games=('Asteroids', 'Assault', 'MsPacman')),
    'transfer': Protocol(
        'transfer', 'Transfer: a JourneyEscape mask, frozen (Figure 4)',
        ('Asteroids', 'Carnival'), ('baseline', 'frozen'),
        mask_games=('JourneyEscape',)),
}
CSV_FIELDS = ('experiment', 'game', 'variant', 'seed', 'kind', 'frames', 'raw_return')


class RunLogs(NamedTuple):
  """One run's logs: training games float64 [E, 3] (frames, raw_return, agent_steps)
  and evaluation games float64 [V, 5] (frames, update, game, raw_return,
  agent_steps)."""
  episodes: np.ndarray
  evaluations: np.ndarray


def run_dir(root_dir: str, game: str, variant: str, seed: int) -> str:
  return os.path.join(root_dir, 'runs', game, variant, f'seed_{seed}')


def prepare_mask(protocol: Protocol, root_dir: str,
                 pretrain: config_lib.PretrainConfig,
                 export_root: Optional[str]) -> str:
  """Pre-trains (or resumes, or reuses) the protocol's mask; exports it.

  Returns:
    The mask's checkpoint directory, for the `frozen` runs.
  """
  mask_root = os.path.join(root_dir, 'mask')
  checkpoints = os.path.join(mask_root, 'checkpoints')
  if os.path.exists(os.path.join(mask_root, 'mask_quality.json')):
    logging.info('Mask of %s already trained: %s', protocol.name, mask_root)
  else:
    pretrain_mask.run(dataclasses.replace(pretrain, games=protocol.mask_games),
                      mask_root)
  if export_root:
    from saarl_tf import export  # pylint: disable=g-import-not-at-top
    export.export_from_checkpoint(
        checkpoints, os.path.join(export_root, f'{protocol.name}_mask'),
        eval_frames=0, eval_seed=pretrain.quality_seed)
  return checkpoints


def run_protocol(protocol: Protocol,
                 root_dir: str,
                 a2c: config_lib.A2CConfig,
                 pretrain: config_lib.PretrainConfig,
                 games: Optional[Sequence[str]] = None,
                 seeds: Sequence[int] = (0, 1, 2, 3, 4),
                 export_root: Optional[str] = 'export') -> Dict[str, str]:
  """Runs (or resumes) every game x variant x seed of the protocol, then reports.

  Args:
    protocol: which protocol.
    root_dir: the experiment's directory.
    a2c: settings shared by every run (game, variant, seed and mask are set here).
    pretrain: mask pre-training settings (games are the protocol's).
    games: override the protocol's games.
    seeds: one run per seed.
    export_root: where the pre-trained mask is exported, or None.

  Returns:
    Paths of the CSV, the figure and the summary.
  """
  games = tuple(games or protocol.games)
  mask_checkpoint = None
  if 'frozen' in protocol.variants:
    mask_checkpoint = prepare_mask(protocol, root_dir, pretrain, export_root)
  for game in games:
    for variant in protocol.variants:
      for seed in seeds:
        directory = run_dir(root_dir, game, variant, seed)
        if run_files.finished_frames(directory) >= a2c.total_frames:
          logging.info('Skipping finished run %s', directory)
          continue
        config = dataclasses.replace(
            a2c, game=game, variant=variant, seed=seed,
            mask_checkpoint=mask_checkpoint if variant == 'frozen' else None)
        logging.info('Running %s', directory)
        run = a2c_training.A2CRun(config, directory)
        try:
          run.run()
        finally:
          run.close()
  return report(protocol, root_dir, games, seeds, a2c.total_frames)


def read_runs(protocol: Protocol, root_dir: str, games: Sequence[str],
              seeds: Sequence[int]) -> Dict[Tuple[str, str, int], RunLogs]:
  """Every run's logs, by (game, variant, seed)."""
  logs = {}
  for game in games:
    for variant in protocol.variants:
      for seed in seeds:
        directory = run_dir(root_dir, game, variant, seed)
        logs[(game, variant, seed)] = RunLogs(run_files.read_episodes(directory),
                                              run_files.read_evaluations(directory))
  return logs


def results_rows(protocol: Protocol,
                 logs: Dict[Tuple[str, str, int], RunLogs]) -> List[dict]:
  """Every finished training game and evaluation game of every run, as CSV rows."""
  rows = []
  for (game, variant, seed), run in logs.items():
    row = dict(experiment=protocol.name, game=game, variant=variant, seed=seed)
    rows += [dict(row, kind='train', frames=int(frames), raw_return=float(score))
             for frames, score, _ in run.episodes]
    rows += [dict(row, kind='eval', frames=int(frames), raw_return=float(score))
             for frames, _, _, score, _ in run.evaluations]
  return rows


def report(protocol: Protocol, root_dir: str, games: Sequence[str],
           seeds: Sequence[int], total_frames: int) -> Dict[str, str]:
  """Writes results.csv, learning_curves.png and summary.md from the runs' logs."""
  logs = read_runs(protocol, root_dir, games, seeds)
  rows = results_rows(protocol, logs)
  paths = {'csv': os.path.join(root_dir, 'results.csv'),
           'figure': os.path.join(root_dir, 'learning_curves.png'),
           'summary': os.path.join(root_dir, 'summary.md')}
  with open(paths['csv'], 'w', newline='') as f:
    writer = csv.DictWriter(f, CSV_FIELDS)
    writer.writeheader()
    writer.writerows(rows)

  grid = plots.frame_grid(total_frames)
  eval_frames = np.unique(np.concatenate(
      [run.evaluations[:, 0] for run in logs.values()] + [np.zeros(0)]))
  curves, eval_curves = {}, {}
  for game in games:
    for variant in protocol.variants:
      runs = [logs[(game, variant, seed)] for seed in seeds]
      curves[(game, variant)] = np.stack(
          [plots.run_curve(run.episodes, grid) for run in runs])
      eval_curves[(game, variant)] = np.stack(
          [plots.eval_curve(run.evaluations, eval_frames) for run in runs])
  plots.plot_learning_curves(curves, grid, games, protocol.variants, protocol.title,
                             paths['figure'], eval_curves, eval_frames)
  with open(paths['summary'], 'w') as f:
    f.write(summary_markdown(protocol.title, protocol.variants, curves, eval_curves,
                             games, seeds, total_frames))
  return paths


def _with_ci(values: np.ndarray) -> Tuple[float, str]:
  """The mean of per-seed values float [S] and 'mean [low, high]' (95% CI)."""
  mean, low, high = (float(x[0]) for x in plots.mean_and_ci(values[:, None]))
  return mean, f'{mean:.2f} [{low:.2f}, {high:.2f}]'


def summary_markdown(title: str, variants: Sequence[str],
                     curves: Dict[Tuple[str, str], np.ndarray],
                     eval_curves: Dict[Tuple[str, str], np.ndarray],
                     games: Sequence[str], seeds: Sequence[int],
                     total_frames: int) -> str:
  """Final score and area under the curve per game and variant, with 95% CIs and
  ratios to the baseline."""
  lines = [f'# {title}', '',
           f'{len(seeds)} seed(s), {total_frames:,} frames per run; mean over seeds '
           f'[95% bootstrap CI]. Final: the mean raw score of the last {plots.WINDOW} '
           'training games at the end. AUC: the mean of the training curve over the '
           'run (its area divided by the frames). Eval: the mean raw score of the last '
           'evaluation\'s complete games. Ratios are to the baseline\'s mean.', '',
           '| game | variant | final | final / baseline | AUC | AUC / baseline | '
           'eval | eval / baseline |',
           '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |']
  with warnings.catch_warnings():   # NaN curves: runs that finished no game
    warnings.simplefilter('ignore', RuntimeWarning)
    for game in games:
      stats = {}
      for variant in variants:
        runs, evals = curves[(game, variant)], eval_curves[(game, variant)]
        stats[variant] = (_with_ci(runs[:, -1]),
                          _with_ci(np.nanmean(runs, axis=1)),
                          _with_ci(evals[:, -1] if evals.shape[1] else
                                   np.full(len(runs), np.nan)))
      base = stats.get('baseline')
      for variant in variants:
        cells = []
        for i, (mean, text) in enumerate(stats[variant]):
          ratio = mean / base[i][0] if base else np.nan
          cells += [text, f'{ratio:.2f}']
        lines.append(f'| {game} | {variant} | ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines) + '\n'
