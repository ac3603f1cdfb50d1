r"""The entry point: `python -m saarl_tf.launch --flagfile=launch/<protocol>.flags`.

Every hyperparameter is a flag whose default is the paper's (or its authors' code's)
value. Bad values stop the launcher before any work, with one line naming the value
and what is allowed.

Experiments:
  pretrain_mask  train the attention mask offline on random-policy frames of --games,
                 then score it against ground-truth objects (the universal mask of the
                 multi-task protocol by default; --games=JourneyEscape for transfer).
"""

import os

from absl import app
from absl import flags
from absl import logging

from saarl_tf.envs import games as games_lib

EXPERIMENTS = ('pretrain_mask',)

_EXPERIMENT = flags.DEFINE_string(
    'experiment', 'pretrain_mask', f'Which experiment to run: {", ".join(EXPERIMENTS)}.')
_ROOT_DIR = flags.DEFINE_string(
    'root_dir', None, 'Where logs, checkpoints and results go; default runs/<experiment>.')
_GAMES = flags.DEFINE_list(
    'games', ['Asteroids', 'Assault', 'MsPacman'],
    'Games as the paper writes them (or ale ids), or Sprites.')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of environments, sampling and init.')
_NUM_ENVS = flags.DEFINE_integer('num_envs', 16, 'Environments per game.')

# Mask pre-training (authors' code: Adam 1e-3, clip 0.5, delta 0.01, lambda_m 1e-3).
_COLLECT_STEPS = flags.DEFINE_integer(
    'collect_steps', 2500, 'Random-policy agent steps per environment to collect.')
_MASK_TRAIN_STEPS = flags.DEFINE_integer(
    'mask_train_steps', 20_000, 'Mask pre-training updates.')
_MASK_BATCH_SIZE = flags.DEFINE_integer('mask_batch_size', 16, 'Frame pairs per update.')
_MAX_PAIR_GAP = flags.DEFINE_integer(
    'max_pair_gap', 59, 'Most agent steps between the two frames of a pair.')
_MASK_LEARNING_RATE = flags.DEFINE_float('mask_learning_rate', 1e-3, "Adam's step size.")
_MASK_CLIP_NORM = flags.DEFINE_float('mask_clip_norm', 0.5, 'Global gradient-norm clip.')
_DELTA = flags.DEFINE_float(
    'delta', 0.01, 'Squared pixel errors (pixels in [0, 1]) below this are ignored.')
_SPARSITY_WEIGHT = flags.DEFINE_float(
    'sparsity_weight', 1e-3, 'lambda_m: weight of the L1 penalty on the mask.')
_EVAL_FRAMES = flags.DEFINE_integer(
    'eval_frames', 200, 'Frames per game on which mask quality is measured.')
_SUMMARY_EVERY = flags.DEFINE_integer('summary_every', 100, 'Steps between scalars.')
_IMAGE_EVERY = flags.DEFINE_integer('image_every', 1000, 'Steps between image summaries.')
_CHECKPOINT_EVERY = flags.DEFINE_integer('checkpoint_every', 1000,
                                         'Steps between checkpoints.')


def _validate_flags():
  """Registers validators: each failure is one line naming the value and the rule."""
  flags.register_validator(
      'experiment', lambda v: v in EXPERIMENTS,
      message=f'--experiment must be one of: {", ".join(EXPERIMENTS)}')

  def games_are_known(names):
    if not names:
      raise flags.ValidationError('--games needs at least one game')
    for name in names:
      try:
        games_lib.check_game(name)
      except ValueError as error:
        raise flags.ValidationError(f'--games: {error}') from None
    return True
  flags.register_validator('games', games_are_known)

  for name in ('num_envs', 'collect_steps', 'mask_batch_size', 'max_pair_gap',
               'eval_frames', 'summary_every', 'image_every', 'checkpoint_every'):
    flags.register_validator(
        name, lambda v: v is not None and v >= 1, message=f'--{name} must be >= 1')
  for name in ('mask_train_steps',):
    flags.register_validator(
        name, lambda v: v is not None and v >= 0, message=f'--{name} must be >= 0')
  for name in ('mask_learning_rate', 'mask_clip_norm'):
    flags.register_validator(
        name, lambda v: v is not None and v > 0, message=f'--{name} must be > 0')
  for name in ('delta', 'sparsity_weight'):
    flags.register_validator(
        name, lambda v: v is not None and v >= 0, message=f'--{name} must be >= 0')


_validate_flags()


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {" ".join(argv[1:])}')
  root_dir = _ROOT_DIR.value or os.path.join('runs', _EXPERIMENT.value)
  # Imported after flag parsing so that a bad flag answers before TensorFlow loads.
  from saarl_tf.experiments import pretrain_mask  # pylint: disable=g-import-not-at-top
  config = pretrain_mask.PretrainConfig(
      games=tuple(_GAMES.value), num_envs=_NUM_ENVS.value,
      collect_steps=_COLLECT_STEPS.value, train_steps=_MASK_TRAIN_STEPS.value,
      batch_size=_MASK_BATCH_SIZE.value, max_gap=_MAX_PAIR_GAP.value,
      learning_rate=_MASK_LEARNING_RATE.value, clip_norm=_MASK_CLIP_NORM.value,
      delta=_DELTA.value, sparsity_weight=_SPARSITY_WEIGHT.value, seed=_SEED.value,
      eval_frames=_EVAL_FRAMES.value, summary_every=_SUMMARY_EVERY.value,
      image_every=_IMAGE_EVERY.value, checkpoint_every=_CHECKPOINT_EVERY.value)
  _, quality = pretrain_mask.run(config, root_dir)
  for game, metrics in quality.items():
    print(f'{game}: object recall {metrics["object_recall"]:.3f}, mass on objects '
          f'{metrics["mass_on_objects"]:.3f}, mask mean {metrics["mask_mean"]:.3f} '
          f'(object cells {metrics["object_cell_fraction"]:.3f}) over '
          f'{metrics["num_frames"]} frames; overlay {metrics["overlay"]}')
  logging.info('Results in %s', root_dir)


if __name__ == '__main__':
  app.run(main)
