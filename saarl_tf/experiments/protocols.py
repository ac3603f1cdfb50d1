"""The paper's three RL protocols, each as a resumable set of A2C runs.

  single_task  per game, A2C `baseline` vs `joint` attention A2C (Figure 2);
  multi_task   a universal mask pre-trained on random-policy frames pooled from
               Asteroids, Assault and MsPacman, then per game `baseline` vs `joint` vs
               `frozen` universal mask (Figure 3);
  transfer     a mask pre-trained on JourneyEscape frames, frozen, on Asteroids and
               Carnival, vs `baseline` (Figure 4).

Layout under the experiment's root directory:

  mask/                          the pre-training run (multi_task, transfer)
  runs/<game>/<variant>/seed_<k>/ one A2C run each (see `training.a2c_training`)
  results.csv                    experiment, game, variant, seed, frames, raw_return
  learning_curves.png            mean and spread over seeds, one panel per game
  summary.md                     final score and area under the curve per variant

The exported mask lands in `export/<experiment>_mask/`. Running the same experiment
again skips finished runs (their `done.json`) and resumes unfinished ones from their
checkpoints, so a killed experiment loses at most `checkpoint_every` updates per run.
"""

import csv
import dataclasses
import os
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

from absl import logging
import numpy as np

from saarl_tf import plots
from saarl_tf.experiments import pretrain_mask
from saarl_tf.training import a2c_training


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
CSV_FIELDS = ('experiment', 'game', 'variant', 'seed', 'frames', 'raw_return')


def run_dir(root_dir: str, game: str, variant: str, seed: int) -> str:
  return os.path.join(root_dir, 'runs', game, variant, f'seed_{seed}')


def prepare_mask(protocol: Protocol, root_dir: str,
                 pretrain: pretrain_mask.PretrainConfig,
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
    pretrain_mask.run(pretrain._replace(games=protocol.mask_games), mask_root)
  if export_root:
    from saarl_tf import export  # pylint: disable=g-import-not-at-top
    export.export_from_checkpoint(
        checkpoints, os.path.join(export_root, f'{protocol.name}_mask'))
  return checkpoints


def run_protocol(protocol: Protocol,
                 root_dir: str,
                 a2c: a2c_training.A2CConfig,
                 pretrain: pretrain_mask.PretrainConfig,
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
        if a2c_training.finished_frames(directory) >= a2c.total_frames:
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
              seeds: Sequence[int]) -> Dict[Tuple[str, str, int], np.ndarray]:
  """Every run's finished games, by (game, variant, seed): float64 [E, 3] each."""
  return {(game, variant, seed):
          a2c_training.read_episodes(run_dir(root_dir, game, variant, seed))
          for game in games for variant in protocol.variants for seed in seeds}


def results_rows(protocol: Protocol,
                 episodes: Dict[Tuple[str, str, int], np.ndarray]) -> List[dict]:
  """Every finished game of every run, as CSV rows."""
  return [dict(experiment=protocol.name, game=game, variant=variant, seed=seed,
               frames=int(frames), raw_return=float(score))
          for (game, variant, seed), run in episodes.items()
          for frames, score, _ in run]


def report(protocol: Protocol, root_dir: str, games: Sequence[str],
           seeds: Sequence[int], total_frames: int) -> Dict[str, str]:
  """Writes results.csv, learning_curves.png and summary.md from the runs' logs."""
  episodes = read_runs(protocol, root_dir, games, seeds)
  rows = results_rows(protocol, episodes)
  paths = {'csv': os.path.join(root_dir, 'results.csv'),
           'figure': os.path.join(root_dir, 'learning_curves.png'),
           'summary': os.path.join(root_dir, 'summary.md')}
  with open(paths['csv'], 'w', newline='') as f:
    writer = csv.DictWriter(f, CSV_FIELDS)
    writer.writeheader()
    writer.writerows(rows)

  grid = plots.frame_grid(total_frames)
  curves = {}
  for game in games:
    for variant in protocol.variants:
      curves[(game, variant)] = np.stack([
          plots.run_curve(episodes[(game, variant, seed)], grid) for seed in seeds])
  plots.plot_learning_curves(curves, grid, games, protocol.variants, protocol.title,
                             paths['figure'])
  with open(paths['summary'], 'w') as f:
    f.write(summary_markdown(protocol, curves, games, seeds, total_frames))
  return paths


def summary_markdown(protocol: Protocol, curves, games: Sequence[str],
                     seeds: Sequence[int], total_frames: int) -> str:
  """Final score and area under the curve per game and variant, with ratios."""
  lines = [f'# {protocol.title}', '',
           f'{len(seeds)} seed(s), {total_frames:,} frames per run. Final: the mean '
           f'raw score of the last {plots.WINDOW} games at the end, averaged over '
           'seeds (+- std). AUC: the mean of the learning curve over the run (its '
           'area divided by the frames). Ratios are to the baseline.', '',
           '| game | variant | final | final / baseline | AUC | AUC / baseline |',
           '| --- | --- | ---: | ---: | ---: | ---: |']
  with warnings.catch_warnings():   # NaN curves: runs that finished no game
    warnings.simplefilter('ignore', RuntimeWarning)
    for game in games:
      baseline = curves.get((game, 'baseline'))
      base_final = np.nanmean(baseline[:, -1]) if baseline is not None else np.nan
      base_auc = np.nanmean(np.nanmean(baseline, axis=1)) if baseline is not None \
          else np.nan
      for variant in protocol.variants:
        runs = curves[(game, variant)]
        final, spread = np.nanmean(runs[:, -1]), np.nanstd(runs[:, -1])
        auc = np.nanmean(np.nanmean(runs, axis=1))
        lines.append(f'| {game} | {variant} | {final:.2f} +- {spread:.2f} | '
                     f'{final / base_final:.2f} | {auc:.2f} | {auc / base_auc:.2f} |')
  return '\n'.join(lines) + '\n'
