"""The actor-critic: how the mask scales its features."""


import numpy as np
import pytest
import tensorflow as tf
from tf_agents.trajectories import time_step as ts

from saarl_tf import config as config_lib
from saarl_tf.models import attention

FIRST, MID, LAST = ts.StepType.FIRST, ts.StepType.MID, ts.StepType.LAST


def test_mask_modes_multiply_and_residual_scale_the_features():
  from saarl_tf.models import actor_critic  # pylint: disable=g-import-not-at-top
  spec = tf.TensorSpec([84, 84, 4], tf.uint8)
  observations = tf.cast(tf.random.stateless_uniform([2, 84, 84, 4], [0, 1]) * 255,
                         tf.uint8)
  mask = tf.random.stateless_uniform([2, 7, 7], [2, 3])
  networks = {}
  for mode in config_lib.MASK_MODES:
    tf.keras.utils.set_random_seed(0)
    networks[mode] = actor_critic.ActorCriticNetwork(
        spec, 3, attention_module=attention.SelfSupervisedAttention(), mask_mode=mode)
    networks[mode].create_variables(spec)
  plain = networks['multiply'].features(observations).numpy()
  assert plain.any()
  np.testing.assert_allclose(networks['multiply'].features(observations, mask),
                             plain * mask.numpy()[..., None], rtol=1e-6)
  np.testing.assert_allclose(networks['residual'].features(observations, mask),
                             plain * (1 + mask.numpy()[..., None]), rtol=1e-6)
  with pytest.raises(ValueError, match="unknown mask_mode 'add'"):
    actor_critic.ActorCriticNetwork(spec, 3, mask_mode='add')
