r"""The entry point: `python -m saarl_tf.launch --flagfile=launch/<protocol>.flags`.

Every hyperparameter is a flag whose default is the paper's (or its authors' code's)
value. Bad values stop the launcher before any work, with one line naming the value
and what is allowed.

Experiments:
  pretrain_mask  train the attention mask offline on random-policy frames of --games,
                 then score it against ground-truth objects (the universal mask of the
                 multi-task protocol by default; --games=JourneyEscape for transfer).
  a2c            one A2C run on one game (--games=Pong): --variant=baseline (no mask),
                 joint (mask trained with the agent) or frozen (--mask_checkpoint).
  export         the attention mask of a pretrain_mask run (--checkpoint) as a
                 SavedModel in --export_dir, scored on --eval_frames frames per game.
  single_task    the paper's protocols (Figures 2-4): every game x variant x seed of
  multi_task     the protocol, resumable, with results.csv, learning_curves.png and
  transfer       summary.md; --games and --seeds override the protocol's defaults.
  all            single_task, multi_task and transfer in turn (launch/smoke.flags).
  keypoints      Figure 5: keypoints from the mask (NMS) against Transporter's, scored
                 against ground-truth boxes on --games (launch/keypoints.flags).
"""

import os

from absl import app
from absl import flags
from absl import logging

from saarl_tf.envs import games as games_lib
from saarl_tf.models import precisions

PROTOCOL_NAMES = ('single_task', 'multi_task', 'transfer')
EXPERIMENTS = ('pretrain_mask', 'a2c', 'export') + PROTOCOL_NAMES + ('all', 'keypoints')
UNIVERSAL_MASK_GAMES = ['Asteroids', 'Assault', 'MsPacman']
VARIANTS = ('baseline', 'joint', 'frozen')
MASK_OPTIMIZERS = ('separate', 'joint')

_EXPERIMENT = flags.DEFINE_string(
    'experiment', 'pretrain_mask', f'Which experiment to run: {", ".join(EXPERIMENTS)}.')
_ROOT_DIR = flags.DEFINE_string(
    'root_dir', None, 'Where logs, checkpoints and results go; default runs/<experiment>.')
_GAMES = flags.DEFINE_list(
    'games', [], 'Games as the paper writes them (or ale ids), or Sprites. Default: '
    "the protocol's games; for pretrain_mask " + ','.join(UNIVERSAL_MASK_GAMES) + '.')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of environments, sampling and init.')
_SEEDS = flags.DEFINE_list('seeds', ['0', '1', '2', '3', '4'],
                           'Protocols: one run per seed (the paper averages 5).')
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
_SUMMARY_EVERY = flags.DEFINE_integer(
    'summary_every', 100, 'Updates between TensorBoard scalars.')
_IMAGE_EVERY = flags.DEFINE_integer(
    'image_every', 1000, 'Updates between TensorBoard images.')
_CHECKPOINT_EVERY = flags.DEFINE_integer(
    'checkpoint_every', 1000, 'Updates between checkpoints (and one at exit).')

# A2C (Mnih et al. 2016 and the authors' code; DESIGN.md section 5).
_VARIANT = flags.DEFINE_enum('variant', 'joint', VARIANTS,
                             'baseline: no mask; joint: mask trained with the agent; '
                             'frozen: a pre-trained mask (--mask_checkpoint).')
_TOTAL_FRAMES = flags.DEFINE_integer(
    'total_frames', 40_000_000, 'Emulator frames per run (4 per agent step on Atari).')
_ROLLOUT_STEPS = flags.DEFINE_integer('rollout_steps', 5, 'n of the n-step returns.')
_LEARNING_RATE = flags.DEFINE_float('learning_rate', 7e-4, "RMSprop's step size.")
_RMSPROP_DECAY = flags.DEFINE_float('rmsprop_decay', 0.99, "RMSprop's rho.")
_RMSPROP_EPSILON = flags.DEFINE_float('rmsprop_epsilon', 1e-5, "RMSprop's epsilon.")
_GAMMA = flags.DEFINE_float('gamma', 0.99, 'Discount factor.')
_ENTROPY = flags.DEFINE_float('entropy_coefficient', 0.01, 'Entropy bonus weight.')
_VALUE = flags.DEFINE_float('value_coefficient', 0.5, 'Value loss weight.')
_CLIP_NORM = flags.DEFINE_float('clip_norm', 0.5, 'Global gradient-norm clip of L_RL.')
_MASK_OPTIMIZER = flags.DEFINE_enum(
    'mask_optimizer', 'separate', MASK_OPTIMIZERS,
    'separate: Adam on L_mask beside RMSprop on L_RL (authors\' code); joint: one '
    'RMSprop step on L_RL + mask_loss_weight * L_mask (the paper\'s text).')
_MASK_LOSS_WEIGHT = flags.DEFINE_float(
    'mask_loss_weight', 1.0, 'lambda in L_RL + lambda L_mask (--mask_optimizer=joint).')
_MASK_START_UPDATE = flags.DEFINE_integer(
    'mask_start_update', 15, 'The joint variant trains L_mask from this update on.')
_RECENT_FRAMES = flags.DEFINE_integer(
    'recent_frames', 60, 'Frames per env from which the joint variant draws pairs.')
_MASK_PAIRS = flags.DEFINE_integer(
    'mask_pairs', 0, 'Frame pairs per L_mask step of the joint variant; 0: one per env '
    '(authors\' code); fewer makes each update cheaper.')
_MASK_CHECKPOINT = flags.DEFINE_string(
    'mask_checkpoint', None,
    'The frozen variant\'s mask: the checkpoints/ directory of a pretrain_mask run.')
_MASK_INIT_CHECKPOINT = flags.DEFINE_string(
    'mask_init_checkpoint', None,
    'joint: start the attention module from this pretrain_mask checkpoints/ '
    'directory (a warm start against the early mask collapse) instead of from scratch.')
_MASK_MODE = flags.DEFINE_enum(
    'mask_mode', 'multiply', ('multiply', 'residual'),
    'How the mask scales the features: multiply, Psi f (the paper\'s text); residual, '
    '(1 + Psi) f (the authors\' code\'s default for a pre-trained mask).')
_EVAL_EVERY = flags.DEFINE_integer(
    'eval_every', 1250, 'Updates between evaluations (authors\' code: 1250); 0: none.')
_EVAL_GAMES = flags.DEFINE_integer(
    'eval_games', 10, 'Complete games (all lives, raw scores) per evaluation, one per '
    'evaluation env, seeded apart from training.')
_EVAL_POLICY = flags.DEFINE_enum(
    'eval_policy', 'greedy', ('greedy', 'sample'),
    'Evaluation actions: greedy (the most likely action, authors\' code) or sample.')
# Keypoints (Figure 5).
_NUM_KEYPOINTS = flags.DEFINE_integer(
    'num_keypoints', 5, "k: Transporter's keypoints, and ours at the same k.")
_KEYPOINT_THRESHOLD = flags.DEFINE_float(
    'keypoint_threshold', 0.5, 'Ours without a fixed k: every NMS peak above this.')
_KEYPOINT_MIN_PEAK = flags.DEFINE_float(
    'keypoint_min_peak', 0.1, 'Ours with k: peaks weaker than this are not objects.')
_KEYPOINT_MARGIN = flags.DEFINE_float(
    'keypoint_margin', 6.0, 'Pixels added around ground-truth boxes when scoring.')
_TRANSPORTER_STEPS = flags.DEFINE_integer(
    'transporter_steps', 5000, 'Transporter training updates.')

# Export.
_CHECKPOINT = flags.DEFINE_string(
    'checkpoint', None, 'export: the checkpoints/ directory of a pretrain_mask run.')
_EXPORT_DIR = flags.DEFINE_string(
    'export_dir', None, 'export: where the SavedModel goes (default export/mask); '
    'protocols: where their pre-trained mask is exported (default export/).')

_PRECISION = flags.DEFINE_enum(
    'precision', 'auto', precisions.PRECISIONS,
    'Networks (A2C, mask pre-training): float32 (the paper), mixed_bfloat16 (convs '
    'and dense layers in bfloat16, variables float32), or auto (bfloat16 where the '
    'CPU/GPU has it).')
_CLIP_REWARDS = flags.DEFINE_boolean('clip_rewards', True,
                                     'Clip training rewards to their sign (Atari).')
_EPISODIC_LIFE = flags.DEFINE_boolean('episodic_life', True,
                                      'A life loss ends the RL episode (Atari).')
_ZERO_FRAME_STACK = flags.DEFINE_boolean(
    'zero_frame_stack', True, 'Every RL episode (game or life) starts from a frame '
    'stack whose older frames are zero, as the authors\' code (Atari); false keeps '
    'the frames from before a life loss (baselines).')


def _validate_flags():
  """Registers validators: each failure is one line naming the value and the rule."""
  flags.register_validator(
      'experiment', lambda v: v in EXPERIMENTS,
      message=f'--experiment must be one of: {", ".join(EXPERIMENTS)}')

  def games_are_known(names):
    for name in names:
      try:
        games_lib.check_game(name)
      except ValueError as error:
        raise flags.ValidationError(f'--games: {error}') from None
    return True
  flags.register_validator('games', games_are_known)

  for name in ('num_keypoints', 'num_envs', 'collect_steps', 'mask_batch_size', 'max_pair_gap',
               'eval_games',
               'eval_frames', 'summary_every', 'image_every', 'checkpoint_every',
               'total_frames', 'rollout_steps'):
    flags.register_validator(
        name, lambda v: v is not None and v >= 1, message=f'--{name} must be >= 1')
  for name in ('mask_train_steps', 'mask_start_update', 'mask_pairs',
               'transporter_steps', 'keypoint_margin', 'eval_every'):
    flags.register_validator(
        name, lambda v: v is not None and v >= 0, message=f'--{name} must be >= 0')
  for name in ('mask_learning_rate', 'mask_clip_norm', 'learning_rate',
               'rmsprop_epsilon', 'clip_norm'):
    flags.register_validator(
        name, lambda v: v is not None and v > 0, message=f'--{name} must be > 0')
  for name in ('delta', 'sparsity_weight', 'entropy_coefficient',
               'value_coefficient', 'mask_loss_weight'):
    flags.register_validator(
        name, lambda v: v is not None and v >= 0, message=f'--{name} must be >= 0')
  for name in ('gamma', 'rmsprop_decay'):
    flags.register_validator(
        name, lambda v: v is not None and 0 <= v <= 1,
        message=f'--{name} must be in [0, 1]')
  def seeds_are_integers(values):
    if not values or not all(v.strip().lstrip('-').isdigit() for v in values):
      raise flags.ValidationError(
          f'--seeds must be a comma-separated list of integers, got {",".join(values)}')
    return True
  flags.register_validator('seeds', seeds_are_integers)
  flags.register_validator(
      'recent_frames', lambda v: v is not None and v >= 2,
      message='--recent_frames must be >= 2 (a pair needs two frames)')

  def a2c_flags_agree(values):
    if values['experiment'] == 'keypoints' and values['mask_checkpoint']:
      if not os.path.isfile(os.path.join(values['mask_checkpoint'], 'checkpoint')):
        raise flags.ValidationError(
            f'--mask_checkpoint={values["mask_checkpoint"]} holds no checkpoint; '
            'expected the checkpoints/ directory of a pretrain_mask run')
    if values['experiment'] != 'a2c':
      return True
    if len(values['games']) != 1:
      raise flags.ValidationError(
          f'--experiment=a2c trains on one game; got --games={",".join(values["games"])}')
    init_dir = values['mask_init_checkpoint']
    if init_dir and not os.path.isfile(os.path.join(init_dir, 'checkpoint')):
      raise flags.ValidationError(
          f'--mask_init_checkpoint={init_dir} holds no checkpoint; expected the '
          'checkpoints/ directory of a pretrain_mask run')
    if values['variant'] == 'frozen':
      mask_dir = values['mask_checkpoint']
      if not mask_dir:
        raise flags.ValidationError(
            '--variant=frozen needs --mask_checkpoint=<pretrain_mask run>/checkpoints')
      if not os.path.isfile(os.path.join(mask_dir, 'checkpoint')):
        raise flags.ValidationError(
            f'--mask_checkpoint={mask_dir} holds no checkpoint; expected the '
            'checkpoints/ directory of a pretrain_mask run')
    return True
  flags.register_multi_flags_validator(
      ['experiment', 'games', 'variant', 'mask_checkpoint', 'mask_init_checkpoint'],
      a2c_flags_agree)

  def export_flags_agree(values):
    if values['experiment'] != 'export':
      return True
    checkpoint = values['checkpoint']
    if not checkpoint or not os.path.isfile(os.path.join(checkpoint, 'checkpoint')):
      raise flags.ValidationError(
          f'--experiment=export needs --checkpoint=<pretrain_mask run>/checkpoints '
          f'holding a checkpoint; got --checkpoint={checkpoint}')
    return True
  flags.register_multi_flags_validator(['experiment', 'checkpoint'],
                                       export_flags_agree)


_validate_flags()


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {" ".join(argv[1:])}')
  root_dir = _ROOT_DIR.value or os.path.join('runs', _EXPERIMENT.value)
  if _EXPERIMENT.value == 'export':
    _run_export()
    return
  if _EXPERIMENT.value == 'a2c':
    _run_a2c(root_dir)
  elif _EXPERIMENT.value == 'keypoints':
    _run_keypoints(root_dir)
  elif _EXPERIMENT.value == 'pretrain_mask':
    _run_pretrain_mask(root_dir)
  else:
    names = PROTOCOL_NAMES if _EXPERIMENT.value == 'all' else (_EXPERIMENT.value,)
    for name in names:
      _run_protocol(name, os.path.join(root_dir, name)
                    if _EXPERIMENT.value == 'all' else root_dir)
  logging.info('Results in %s', root_dir)


def _a2c_config(game: str):
  # Imported after flag parsing so that a bad flag answers before TensorFlow loads.
  from saarl_tf.training import a2c_training  # pylint: disable=g-import-not-at-top
  return a2c_training.A2CConfig(
      game=game, variant=_VARIANT.value, seed=_SEED.value,
      num_envs=_NUM_ENVS.value, rollout_steps=_ROLLOUT_STEPS.value,
      total_frames=_TOTAL_FRAMES.value, learning_rate=_LEARNING_RATE.value,
      rmsprop_decay=_RMSPROP_DECAY.value, rmsprop_epsilon=_RMSPROP_EPSILON.value,
      gamma=_GAMMA.value, entropy_coefficient=_ENTROPY.value,
      value_coefficient=_VALUE.value, clip_norm=_CLIP_NORM.value,
      mask_optimizer=_MASK_OPTIMIZER.value, mask_loss_weight=_MASK_LOSS_WEIGHT.value,
      mask_learning_rate=_MASK_LEARNING_RATE.value,
      mask_clip_norm=_MASK_CLIP_NORM.value, delta=_DELTA.value,
      sparsity_weight=_SPARSITY_WEIGHT.value,
      recent_frames_capacity=_RECENT_FRAMES.value,
      mask_pairs=_MASK_PAIRS.value or None,
      mask_start_update=_MASK_START_UPDATE.value,
      mask_checkpoint=_MASK_CHECKPOINT.value,
      mask_init_checkpoint=_MASK_INIT_CHECKPOINT.value, mask_mode=_MASK_MODE.value,
      clip_rewards=_CLIP_REWARDS.value, episodic_life=_EPISODIC_LIFE.value,
      zero_frame_stack=_ZERO_FRAME_STACK.value, eval_every=_EVAL_EVERY.value,
      eval_games=_EVAL_GAMES.value, eval_policy=_EVAL_POLICY.value,
      summary_every=_SUMMARY_EVERY.value,
      image_every=_IMAGE_EVERY.value, checkpoint_every=_CHECKPOINT_EVERY.value,
      precision=_PRECISION.value)


def _pretrain_config(games):
  from saarl_tf.experiments import pretrain_mask  # pylint: disable=g-import-not-at-top
  return pretrain_mask.PretrainConfig(
      games=tuple(games), num_envs=_NUM_ENVS.value,
      collect_steps=_COLLECT_STEPS.value, train_steps=_MASK_TRAIN_STEPS.value,
      batch_size=_MASK_BATCH_SIZE.value, max_gap=_MAX_PAIR_GAP.value,
      learning_rate=_MASK_LEARNING_RATE.value, clip_norm=_MASK_CLIP_NORM.value,
      delta=_DELTA.value, sparsity_weight=_SPARSITY_WEIGHT.value, seed=_SEED.value,
      eval_frames=_EVAL_FRAMES.value, summary_every=_SUMMARY_EVERY.value,
      image_every=_IMAGE_EVERY.value, checkpoint_every=_CHECKPOINT_EVERY.value,
      precision=_PRECISION.value)


def _run_protocol(name: str, root_dir: str):
  from saarl_tf.experiments import protocols  # pylint: disable=g-import-not-at-top
  paths = protocols.run_protocol(
      protocols.PROTOCOLS[name], root_dir, _a2c_config(game=''),
      _pretrain_config(games=()), games=_GAMES.value or None,
      seeds=[int(seed) for seed in _SEEDS.value],
      export_root=_EXPORT_DIR.value or 'export')
  print(f'{name}: {paths["csv"]}, {paths["figure"]}, {paths["summary"]}')


def _run_keypoints(root_dir: str):
  from saarl_tf.experiments import keypoints  # pylint: disable=g-import-not-at-top
  config = keypoints.KeypointsConfig(
      games=tuple(_GAMES.value or keypoints.KeypointsConfig.games),
      num_keypoints=_NUM_KEYPOINTS.value, threshold=_KEYPOINT_THRESHOLD.value,
      min_peak=_KEYPOINT_MIN_PEAK.value, margin=_KEYPOINT_MARGIN.value,
      mask_checkpoint=_MASK_CHECKPOINT.value,
      pretrain=_pretrain_config(games=()),
      transporter_steps=_TRANSPORTER_STEPS.value,
      transporter_batch_size=_MASK_BATCH_SIZE.value,
      transporter_learning_rate=_MASK_LEARNING_RATE.value,
      eval_frames=_EVAL_FRAMES.value, seed=_SEED.value)
  keypoints.run(config, root_dir)
  with open(os.path.join(root_dir, 'keypoints.md')) as f:
    print(f.read())


def _run_a2c(root_dir: str):
  from saarl_tf.training import a2c_training  # pylint: disable=g-import-not-at-top
  config = _a2c_config(_GAMES.value[0])
  run = a2c_training.A2CRun(config, root_dir)
  try:
    result = run.run()
  finally:
    run.close()
  print(f'{config.game} {config.variant}: mean raw return of the last 100 games '
        f'{result.get("mean100_raw_return", float("nan")):.2f} after '
        f'{int(run.train_step.numpy())} updates')


def _run_export():
  from saarl_tf import export  # pylint: disable=g-import-not-at-top
  export_dir = _EXPORT_DIR.value or os.path.join('export', 'mask')
  export.export_from_checkpoint(_CHECKPOINT.value, export_dir,
                                eval_frames=_EVAL_FRAMES.value, eval_seed=_SEED.value)
  metadata = export.read_metadata(export_dir)
  print(f'Exported the mask of {_CHECKPOINT.value} to {export_dir}')
  for game, metrics in metadata['quality'].get('games', {}).items():
    print(f'{game}: object recall {metrics["object_recall"]:.3f}, mass on objects '
          f'{metrics["mass_on_objects"]:.3f}, mask mean {metrics["mask_mean"]:.3f}')


def _run_pretrain_mask(root_dir: str):
  from saarl_tf.experiments import pretrain_mask  # pylint: disable=g-import-not-at-top
  config = _pretrain_config(_GAMES.value or UNIVERSAL_MASK_GAMES)
  _, quality = pretrain_mask.run(config, root_dir)
  for game, metrics in quality.items():
    print(f'{game}: object recall {metrics["object_recall"]:.3f}, mass on objects '
          f'{metrics["mass_on_objects"]:.3f}, mask mean {metrics["mask_mean"]:.3f} '
          f'(object cells {metrics["object_cell_fraction"]:.3f}) over '
          f'{metrics["num_frames"]} frames; overlay {metrics["overlay"]}')


if __name__ == '__main__':
  app.run(main)
