"""The A2C agent: return maths against NumPy, the PyTorch-style RMSprop, what each
variant trains and what it leaves alone."""


import numpy as np
import pytest
import tensorflow as tf
from tf_agents.trajectories import time_step as ts

from a2c_helpers import config as _config
from a2c_helpers import values as _values
from saarl_tf import config as config_lib
from saarl_tf.agents import a2c
from saarl_tf.models import attention
from saarl_tf.training import a2c_training

FIRST, MID, LAST = ts.StepType.FIRST, ts.StepType.MID, ts.StepType.LAST


def reference_returns(rewards, discounts, step_types, values, bootstrap, gamma):
  """n-step returns by walking forward from each step, one env at a time."""
  num_envs, length = rewards.shape
  returns = np.zeros_like(rewards)
  for i in range(num_envs):
    for t in range(length):
      if step_types[i, t] == LAST:        # boundary: its action is ignored
        continue
      total, scale, j = 0.0, 1.0, t
      while True:
        total += scale * rewards[i, j]
        scale *= gamma * discounts[i, j]
        if j + 1 == length:                # rollout end: bootstrap
          total += scale * bootstrap[i]
          break
        if step_types[i, j + 1] == LAST:   # episode end: V of the last state
          total += scale * values[i, j + 1]
          break
        j += 1
      returns[i, t] = total
  return returns


def test_n_step_targets_match_numpy_on_terminations_and_truncations():
  gamma = 0.9
  # env 0: termination inside; env 1: truncation inside (discount stays 1);
  # env 2: no episode end; env 3: the rollout ends on a LAST state.
  step_types = np.array([
      [MID, MID, LAST, FIRST, MID, MID, MID],
      [FIRST, MID, MID, LAST, FIRST, MID, MID],
      [MID, MID, MID, MID, MID, MID, MID],
      [MID, MID, MID, MID, MID, MID, LAST]], np.int32)
  discounts = np.ones(step_types.shape, np.float32)
  discounts[0, 1] = 0.0       # the step into env 0's LAST terminates
  discounts[3, 5] = 0.0       # env 3 terminates in its final state
  rng = np.random.default_rng(0)
  rewards = rng.normal(size=step_types.shape).astype(np.float32)
  rewards[step_types == LAST] = 0.0
  values = rng.normal(size=step_types.shape).astype(np.float32)
  bootstrap = rng.normal(size=[4]).astype(np.float32)

  targets = a2c.n_step_targets(
      tf.constant(rewards), tf.constant(discounts), tf.constant(step_types),
      tf.constant(values), tf.constant(bootstrap), gamma)

  expected = reference_returns(rewards, discounts, step_types, values, bootstrap,
                               gamma)
  weights = (step_types != LAST).astype(np.float32)
  np.testing.assert_allclose(targets.weights.numpy(), weights)
  np.testing.assert_allclose(targets.returns.numpy() * weights, expected, rtol=1e-5,
                             atol=1e-6)
  np.testing.assert_allclose(targets.advantages.numpy(),
                             (expected - values) * weights, rtol=1e-5, atol=1e-6)
  # The truncated episode bootstraps from its last state's value; the terminated one
  # does not.
  assert targets.returns.numpy()[1, 2] == pytest.approx(
      rewards[1, 2] + gamma * values[1, 3])
  assert targets.returns.numpy()[0, 1] == pytest.approx(rewards[0, 1])


def test_frozen_mask_is_bit_identical_after_training(tmp_path, pretrained_mask_dir):
  mask_dir = pretrained_mask_dir
  pretrained = _values(attention.restore_attention(mask_dir).variables)
  run = a2c_training.A2CRun(
      _config(variant='frozen', mask_checkpoint=mask_dir, total_frames=10**9),
      str(tmp_path / 'run'))
  module = run.network.attention_module
  np.testing.assert_array_equal(_values(module.variables)[0], pretrained[0])
  actor_before = _values(run.network.variables)
  losses = run.run(30)

  assert 'rollout_mask_mean' in losses and 'mask_total' not in losses
  for after, before in zip(_values(module.variables), pretrained):
    np.testing.assert_array_equal(after, before)
  changed = [not np.array_equal(a, b)
             for a, b in zip(_values(run.network.variables), actor_before)]
  assert sum(changed) == len(changed) - len(pretrained)  # everything else learns
  run.close()


def test_frozen_learner_reuses_the_masks_the_rollout_acted_with(tmp_path,
                                                                  pretrained_mask_dir):
  """The frozen variant's loss takes Psi from the policy info: same values, no recompute."""
  mask_dir = pretrained_mask_dir
  run = a2c_training.A2CRun(
      _config(variant='frozen', mask_checkpoint=mask_dir, total_frames=10**9,
              precision='float32'), str(tmp_path / 'run'))
  run.run(3)
  experience, _ = run.driver.run(run.driver.reset(), run.train_step)
  observations = experience.observation.numpy()
  acted_masks = experience.policy_info[a2c.MASK_INFO][:, :-1].numpy()
  assert acted_masks.shape == (16, 5, 7, 7)
  recomputed = run.network.mask(observations[:, :-1].reshape(-1, 84, 84, 4)).numpy()
  np.testing.assert_allclose(acted_masks.reshape(-1, 7, 7), recomputed, atol=1e-5)

  reused = run.agent.rl_loss(experience)
  run.agent._reuse_rollout_masks = False   # pylint: disable=protected-access
  from_scratch = run.agent.rl_loss(experience)
  for name in reused:
    np.testing.assert_allclose(reused[name], from_scratch[name], rtol=1e-4,
                               atol=1e-6, err_msg=name)
  run.close()


def test_joint_variant_trains_the_whole_attention_module(tmp_path):
  run = a2c_training.A2CRun(
      _config(variant='joint', total_frames=10**9, mask_start_update=2),
      str(tmp_path))
  module = run.network.attention_module
  before = {name: _values(part.variables) for name, part in (
      ('encoder', module.encoder), ('mask_generator', module.mask_generator),
      ('decoder', module.decoder))}
  losses = run.run(6)
  for name, part in (('encoder', module.encoder),
                     ('mask_generator', module.mask_generator),
                     ('decoder', module.decoder)):
    assert any(not np.array_equal(a, b)
               for a, b in zip(_values(part.variables), before[name])), name
  for name in ('mask_total', 'mask_reconstruction', 'mask_auto_reconstruction',
               'mask_sparsity', 'rollout_mask_mean', 'policy', 'value', 'entropy'):
    assert np.isfinite(losses[name]), name
  assert int(run.network.attention_module is not None)
  assert int(run.agent.recent_frames.count.numpy()) == 6 * 5
  run.close()


@pytest.mark.parametrize('rl_gradient', [True, False])
def test_the_rl_gradient_reaches_psi_only_when_asked(tmp_path, rl_gradient):
  """Before L_mask starts (mask_start_update) only L_RL can move Psi: it does with
  --mask_rl_gradient (the authors' code), and leaves it bit-identical without."""
  run = a2c_training.A2CRun(
      _config(variant='joint', num_envs=4, total_frames=10**9,
              mask_start_update=1000, **{'mask.rl_gradient': rl_gradient}),
      str(tmp_path))
  psi = run.network.attention_module.mask_generator
  before = _values(psi.variables)
  head_before = _values(run.network.trainable_variables[-2:])
  run.run(3)
  moved = any(not np.array_equal(a, b) for a, b in zip(_values(psi.variables), before))
  assert moved == rl_gradient
  assert any(not np.array_equal(a, b) for a, b in
             zip(_values(run.network.trainable_variables[-2:]), head_before))
  run.close()


def test_rmsprop_step_matches_the_authors_pytorch_rmsprop():
  """PyTorch divides by sqrt(v) + eps, Keras by sqrt(v + eps').

  With eps' = eps^2 the two agree within a factor sqrt(2) (where sqrt(v) ~ eps) and
  exactly elsewhere; Keras with eps' = eps would step ~100x shorter on small gradients.
  """
  optimizer = a2c.pytorch_rmsprop(config_lib.RMSpropConfig())
  gradients = np.array([1e-6, 1e-4, 1e-2, 1.0], np.float32) * 0.1  # below the clip
  variable = tf.Variable(np.zeros(4, np.float32))
  velocity = np.zeros(4)
  expected = np.zeros(4)
  for _ in range(3):
    optimizer.apply_gradients([(tf.constant(gradients), variable)])
    velocity = 0.99 * velocity + 0.01 * gradients.astype(np.float64) ** 2
    expected -= 7e-4 * gradients / (np.sqrt(velocity) + 1e-5)
  ratio = variable.numpy() / expected
  # sqrt(v + eps^2) <= sqrt(v) + eps <= sqrt(2) sqrt(v + eps^2)
  assert np.all(ratio >= 1 - 1e-3) and np.all(ratio <= 2 ** 0.5 + 1e-3), ratio
  assert ratio[0] == pytest.approx(1, rel=0.01) and ratio[-1] == pytest.approx(1, rel=0.01)


def test_agent_refuses_settings_that_disagree():
  from saarl_tf.models import actor_critic  # pylint: disable=g-import-not-at-top
  from tf_agents.specs import tensor_spec  # pylint: disable=g-import-not-at-top
  spec = tf.TensorSpec([84, 84, 4], tf.uint8)
  specs = (ts.time_step_spec(spec), tensor_spec.BoundedTensorSpec((), tf.int32, 0, 2))
  rmsprop = lambda: a2c.pytorch_rmsprop(config_lib.RMSpropConfig())
  loss = config_lib.A2CLossConfig()
  with_mask = lambda: actor_critic.ActorCriticNetwork(
      spec, 3, attention_module=attention.SelfSupervisedAttention())
  with pytest.raises(ValueError, match="variant 'baseline' needs a network without"):
    a2c.A2CAgent(*specs, with_mask(), rmsprop(), 'baseline', loss, num_envs=2)
  with pytest.raises(ValueError, match='joint variant needs its mask settings'):
    a2c.A2CAgent(*specs, with_mask(), rmsprop(), 'joint', loss, num_envs=2)
  with pytest.raises(ValueError, match="'separate' needs a mask_optimizer"):
    a2c.A2CAgent(*specs, with_mask(), rmsprop(), 'joint', loss, num_envs=2,
                 mask=config_lib.JointMaskConfig())
  with pytest.raises(ValueError, match="unknown A2C variant 'both'"):
    a2c.A2CAgent(*specs, with_mask(), rmsprop(), 'both', loss, num_envs=2)
