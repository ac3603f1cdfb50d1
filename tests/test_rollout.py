"""The overlapped rollout: the same trajectories as one vector env, the same loss and
gradients as a forward pass computed again."""

import numpy as np
import pytest
import tensorflow as tf
from tf_agents.utils import common

from a2c_helpers import config as _config
from saarl_tf import config as config_lib
from saarl_tf.envs import atari
from saarl_tf.training import a2c_training
from saarl_tf.training import rollout


def _agent(game, variant, num_envs, seed=0):
  """A float32 agent of `variant` on `game` (its weights from the global seed)."""
  config = _config(game=game, variant=variant, num_envs=num_envs, precision='float32',
                   seed=seed)
  tf.keras.utils.set_random_seed(seed)
  time_step_spec, action_spec, _ = a2c_training.environment_specs(config)
  network = a2c_training.build_network(config, time_step_spec.observation,
                                       int(action_spec.maximum) + 1)
  return a2c_training.build_agent(config, time_step_spec, action_spec, network)


def _rollouts(agent, env, num_rollouts, num_steps=5):
  driver = rollout.RolloutDriver(env, agent.collect_policy, num_steps, seed=3)
  run = common.function(driver.run)
  time_step, experiences = driver.reset(), []
  for index in range(num_rollouts):
    experience, time_step = run(time_step, tf.constant(index, tf.int64))
    experiences.append(experience)
  return experiences


def test_env_groups_play_the_games_one_vector_env_plays():
  """Two groups of 4 Breakout envs stepped apart (the network acting for one while
  the other emulates) give the trajectories of 8 envs stepped together: the same
  observations, actions, rewards, discounts and step types, for the same weights."""
  agent = _agent('Breakout', 'baseline', 8)
  together, apart = (
      _rollouts(agent, atari.AtariEnvironment('Breakout', num_envs=8, seed=5,
                                              num_groups=groups), 40)
      for groups in (1, 2))
  for one, two in zip(together, apart):
    for field in ('observation', 'action', 'reward', 'discount', 'step_type'):
      np.testing.assert_array_equal(getattr(one, field), getattr(two, field),
                                    err_msg=field)
    for name in ('logits', 'value'):
      np.testing.assert_allclose(one.policy_info[name], two.policy_info[name],
                                 rtol=1e-5, atol=1e-5, err_msg=name)
  steps = np.concatenate([e.step_type.numpy() for e in together])
  assert (steps == 2).sum() > 0, 'no life or game ended: too short to tell'
  # The actions are drawn, not argmax: several per env.
  actions = np.concatenate([e.action[:, :-1].numpy() for e in together], axis=1)
  assert all(len(set(row)) > 1 for row in actions)


def test_gumbel_max_draws_the_categorical_distribution():
  logits = tf.math.log(tf.constant([[0.7, 0.2, 0.1]]))
  noise = tf.random.stateless_uniform([20000, 3], [1, 2], minval=1e-12)
  actions = rollout.gumbel_max_actions(tf.tile(logits, [20000, 1]), noise)
  np.testing.assert_allclose(np.bincount(actions.numpy(), minlength=3) / 20000,
                             [0.7, 0.2, 0.1], atol=0.015)


@pytest.mark.parametrize('variant', ['baseline', 'joint', 'frozen'])
def test_the_rollouts_forward_passes_give_the_loss_and_gradients_of_new_ones(
    variant, pretrained_mask_dir):
  """L_RL on the forward passes the rollout recorded on the tape equals L_RL with
  the forward pass computed again from the observations (what `A2CAgent.train`
  does), in value and in gradient of every variable it trains."""
  config_overrides = ({'mask_checkpoint': pretrained_mask_dir}
                      if variant == config_lib.FROZEN else {})
  config = _config(game='Breakout', variant=variant, num_envs=4,
                   precision='float32', **config_overrides)
  tf.keras.utils.set_random_seed(0)
  time_step_spec, action_spec, _ = a2c_training.environment_specs(config)
  network = a2c_training.build_network(config, time_step_spec.observation,
                                       int(action_spec.maximum) + 1)
  agent = a2c_training.build_agent(config, time_step_spec, action_spec, network)
  env = atari.AtariEnvironment('Breakout', num_envs=4, seed=1, num_groups=2)
  driver = rollout.RolloutDriver(env, agent.collect_policy, 5)
  time_step = driver.reset()
  variables = agent._rl_variables  # pylint: disable=protected-access
  for index in range(3):
    with tf.GradientTape() as tape:
      experience, time_step = driver.run(time_step, tf.constant(index, tf.int64))
      taped = agent.rl_loss(experience, taped_outputs=True)
    taped_gradients = tape.gradient(taped['rl_total'], variables)
    with tf.GradientTape() as tape:
      again = agent.rl_loss(experience)
    again_gradients = tape.gradient(again['rl_total'], variables)
    for name in again:
      np.testing.assert_allclose(taped[name], again[name], rtol=1e-5, atol=1e-6,
                                 err_msg=name)
    assert sum(g is not None for g in taped_gradients) == len(variables)
    for variable, ours, theirs in zip(variables, taped_gradients, again_gradients):
      np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6,
                                 err_msg=variable.name)
  env.close()
