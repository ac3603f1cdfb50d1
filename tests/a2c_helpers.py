"""Shared by the A2C tests: a small sprites config and a briefly pre-trained mask."""

import os

from saarl_tf import config as config_lib
from saarl_tf.agents import a2c
from saarl_tf.models import attention
from saarl_tf.training import pair_training


# Test shorthands for nested settings.
_NESTED = {'mask_start_update': 'mask.start_update', 'eval_every': 'eval.every',
           'eval_games': 'eval.games', 'summary_every': 'schedule.summary_every',
           'checkpoint_every': 'schedule.checkpoint_every'}


def config(**overrides):
  """A sprites run without evaluation games unless asked, quiet, rarely saved."""
  settings = {'game': 'Sprites', 'variant': 'baseline', 'num_envs': 16,
              'schedule.progress': False, 'schedule.summary_every': 20,
              'schedule.image_every': 50, 'schedule.checkpoint_every': 10_000,
              'eval.every': 0}
  settings.update({_NESTED.get(k, k): v for k, v in overrides.items()})
  return config_lib.replace(config_lib.A2CConfig(), **settings)


def pretrained_mask_dir(root) -> str:
  """A (briefly) pre-trained attention module's checkpoint directory."""
  dataset = pair_training.collect_random_frames(['Sprites'], num_envs=2,
                                                steps_per_env=30, seed=0)
  trainer = pair_training.PairTrainer(
      attention.SelfSupervisedAttention(),
      pair_training.mask_pair_loss(config_lib.MaskLossConfig()), dataset,
      batch_size=4, max_gap=59, optimizer=a2c.mask_adam(config_lib.AdamConfig()), seed=0)
  pair_training.train_on_pairs(trainer, str(root), 3,
                               config_lib.ScheduleConfig(progress=False),
                               pair_training.write_mask_summaries)
  return os.path.join(str(root), 'checkpoints')


def values(variables):
  return [v.numpy().copy() for v in variables]
