"""A2C: return math against NumPy, real learning on sprites, frozen masks, resume."""

import glob
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from tf_agents.environments import tf_py_environment
from tf_agents.trajectories import time_step as ts

from saarl_tf.agents import a2c
from saarl_tf.envs import sprites
from saarl_tf.models import attention
from saarl_tf.training import a2c_training
from saarl_tf.training import mask_pretraining

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


def _config(**overrides):
  base = dict(game='Sprites', num_envs=16, rollout_steps=5, progress=False,
              summary_every=20, image_every=50, checkpoint_every=10_000)
  base.update(overrides)
  return a2c_training.A2CConfig(**base)


def _mean_return_over(run: a2c_training.A2CRun, num_updates: int) -> float:
  run.run(num_updates)
  return run.history.means()['raw_return']


LEARNING_UPDATES = 1000


@pytest.mark.parametrize('precision', ['float32', 'mixed_bfloat16'])
@pytest.mark.parametrize('variant', ['baseline', 'joint'])
def test_a2c_learns_the_sprites_game(tmp_path, variant, precision):
  """Real learning: A2C reaches 80% of the optimal return on the sprites catch game.

  The paper's A2C settings throughout (16 envs, 5 steps, RMSprop 7e-4, entropy 0.01;
  the joint variant trains L_mask on one pair per env from update 15). Measured: the
  policy leaves uniform after about 250 updates and catches ~0.9 of the balls by 500.
  In mixed bfloat16 (the fast setting) learning must be as good.
  """
  random_return, _ = sprites.random_policy_return()
  run = a2c_training.A2CRun(_config(variant=variant, total_frames=10**9, seed=1,
                                    precision=precision), str(tmp_path))
  run.run(LEARNING_UPDATES)
  learned = run.history.means()['raw_return']
  print(f'{variant}, {precision}: mean return of the last 100 games {learned:.3f} after '
        f'{LEARNING_UPDATES} updates; random policy {random_return:.3f}, optimal '
        f'{sprites.OPTIMAL_RETURN}')
  assert learned >= 0.8 * sprites.OPTIMAL_RETURN
  assert random_return < 0.5 * sprites.OPTIMAL_RETURN
  run.close()


def _pretrained_mask_dir(root) -> str:
  """A (briefly) pre-trained attention module's checkpoint directory."""
  dataset = mask_pretraining.collect_random_frames(['Sprites'], num_envs=2,
                                                   steps_per_env=30)
  trainer = mask_pretraining.MaskPretrainer(attention.SelfSupervisedAttention(),
                                            dataset, batch_size=4)
  mask_pretraining.pretrain_mask(trainer, str(root), num_steps=3, progress=False)
  return os.path.join(str(root), 'checkpoints')


def _values(variables):
  return [v.numpy().copy() for v in variables]


def test_frozen_mask_is_bit_identical_after_training(tmp_path):
  mask_dir = _pretrained_mask_dir(tmp_path / 'mask')
  pretrained = _values(mask_pretraining.restore_attention(mask_dir).variables)
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


def test_frozen_learner_reuses_the_masks_the_rollout_acted_with(tmp_path):
  """The frozen variant's loss takes Psi from the policy info: same values, no recompute."""
  mask_dir = _pretrained_mask_dir(tmp_path / 'mask')
  run = a2c_training.A2CRun(
      _config(variant='frozen', mask_checkpoint=mask_dir, total_frames=10**9,
              precision='float32'), str(tmp_path / 'run'))
  run.run(3)
  experience = a2c_training.append_bootstrap_state(
      run.buffer.gather_all(), run.tf_env.current_time_step())
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


def test_frozen_without_a_mask_checkpoint_fails_clearly(tmp_path):
  with pytest.raises(ValueError, match='frozen variant needs a pre-trained mask'):
    a2c_training.A2CRun(_config(variant='frozen'), str(tmp_path))
  with pytest.raises(FileNotFoundError, match='No attention checkpoint'):
    a2c_training.A2CRun(_config(variant='frozen', mask_checkpoint=str(tmp_path)),
                        str(tmp_path / 'run'))


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


def _scalar_steps(log_dir: str, tag: str):
  steps = []
  for path in sorted(glob.glob(os.path.join(log_dir, 'events.out.tfevents.*'))):
    for event in tf.compat.v1.train.summary_iterator(path):
      steps += [event.step for value in event.summary.value if value.tag == tag]
  return steps


def test_resume_continues_from_the_checkpoint(tmp_path):
  config = _config(variant='joint', total_frames=16 * 5 * 40, summary_every=5,
                   mask_start_update=2)
  first = a2c_training.A2CRun(config, str(tmp_path))
  first.run(20)
  weights = _values(first.network.variables)
  slots = _values(first.agent.optimizer.variables)
  history = first.history.count.numpy()
  first.close()

  second = a2c_training.A2CRun(config, str(tmp_path))
  assert second.start_update == 20
  for restored, saved in zip(_values(second.network.variables), weights):
    np.testing.assert_array_equal(restored, saved)
  for restored, saved in zip(_values(second.agent.optimizer.variables), slots):
    np.testing.assert_array_equal(restored, saved)
  assert second.history.count.numpy() == history
  second.run()
  assert int(second.train_step.numpy()) == 40

  # The TensorBoard curve goes on from the frames reached, it does not restart.
  steps = _scalar_steps(os.path.join(str(tmp_path), 'train'), 'progress/updates')
  frames_per_update = 16 * 5
  assert steps == [frames_per_update * u for u in range(5, 41, 5)]
  episodes = a2c_training.read_episodes(str(tmp_path))
  assert len(episodes) and np.all(np.diff(episodes[:, 0]) >= 0)
  assert episodes[-1, 0] <= 40 * frames_per_update

  # At the end of its budget the run saves its greedy policy with PolicySaver.
  policy = tf.saved_model.load(os.path.join(str(tmp_path), 'policy'))
  time_step = second.tf_env.reset()
  actions = policy.action(time_step).action.numpy()
  assert actions.shape == (16,) and actions.min() >= 0 and actions.max() <= 2
  second.close()


def test_a_few_updates_on_real_atari(tmp_path):
  run = a2c_training.A2CRun(
      _config(game='Breakout', variant='joint', num_envs=2, mask_start_update=0,
              total_frames=2 * 5 * 4 * 3),
      str(tmp_path))
  assert run.frames_per_step == 4 and run.total_updates == 3
  losses = run.run()
  assert all(np.isfinite(v) for v in losses.values())
  assert int(run.train_step.numpy()) == 3
  run.close()


def test_rmsprop_step_matches_the_authors_pytorch_rmsprop():
  """PyTorch divides by sqrt(v) + eps, Keras by sqrt(v + eps').

  With eps' = eps^2 the two agree within a factor sqrt(2) (where sqrt(v) ~ eps) and
  exactly elsewhere; Keras with eps' = eps would step ~100x shorter on small gradients.
  """
  from saarl_tf.models import actor_critic  # pylint: disable=g-import-not-at-top
  from tf_agents.specs import tensor_spec  # pylint: disable=g-import-not-at-top
  observation_spec = tf.TensorSpec([84, 84, 4], tf.uint8)
  agent = a2c.A2CAgent(
      ts.time_step_spec(observation_spec),
      tensor_spec.BoundedTensorSpec((), tf.int32, 0, 2),
      actor_critic.ActorCriticNetwork(observation_spec, 3))
  optimizer = tf.keras.optimizers.RMSprop.from_config(agent.optimizer.get_config())
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


def test_mask_modes_multiply_and_residual_scale_the_features():
  from saarl_tf.models import actor_critic  # pylint: disable=g-import-not-at-top
  spec = tf.TensorSpec([84, 84, 4], tf.uint8)
  observations = tf.cast(tf.random.stateless_uniform([2, 84, 84, 4], [0, 1]) * 255,
                         tf.uint8)
  mask = tf.random.stateless_uniform([2, 7, 7], [2, 3])
  networks = {}
  for mode in actor_critic.MASK_MODES:
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


def test_evaluation_plays_complete_games_with_unclipped_scores(tmp_path):
  """Each evaluation game is a whole MsPacman game (all 3 lives), its score the sum of
  the emulator's raw rewards, though training rewards are clipped."""
  run = a2c_training.A2CRun(
      _config(game='MsPacman', variant='baseline', num_envs=2, eval_games=2,
              total_frames=10**9, precision='float32'), str(tmp_path))
  games = run.evaluator.play(seed=21)
  assert [game.env_index for game in games] == [0, 1]

  # The same greedy policy, the same seed, on envs that do not clip: sum each env's
  # raw rewards until its game ends, counting the lives it loses on the way. (In
  # float32: an untrained net's logits are near-tied, and bfloat16's rounding in
  # graph and eager mode can differ enough to change an argmax.)
  from saarl_tf.envs import atari  # pylint: disable=g-import-not-at-top
  reference = atari.AtariEnvironment('MsPacman', num_envs=2, seed=21,
                                     clip_rewards=False)
  tf_env = tf_py_environment.TFPyEnvironment(reference)
  time_step = tf_env.reset()
  totals, lasts, done = np.zeros(2), np.zeros(2, int), np.zeros(2, bool)
  while not done.all():
    time_step = tf_env.step(run.agent.policy.action(time_step).action)
    finished = {r.env_index for r in reference.finished_episodes()}
    live = ~done
    totals[live] += time_step.reward.numpy()[live]
    lasts[live] += time_step.step_type.numpy()[live] == LAST
    done = np.array([i in finished for i in range(2)])
  np.testing.assert_allclose([game.raw_return for game in games], totals)
  assert all(count == 3 for count in lasts), lasts       # MsPacman's three lives
  assert max(totals) > 20 and all(total % 10 == 0 for total in totals)
  run.close()


def _eval_rows(root):
  return a2c_training.read_evaluations(str(root))


def test_an_evaluation_cut_by_a_stop_is_redone_once_with_the_same_scores(tmp_path):
  config = _config(variant='baseline', num_envs=4, total_frames=4 * 5 * 30,
                   eval_every=10, eval_games=3, checkpoint_every=10)
  run = a2c_training.A2CRun(config, str(tmp_path))
  run.run(20)
  run.close()
  rows = _eval_rows(tmp_path)
  assert sorted(set(rows[:, 1])) == [10, 20] and len(rows) == 2 * 3
  assert np.all(rows[:, 0] == rows[:, 1] * 4 * 5)
  at_20 = rows[rows[:, 1] == 20]
  # A stop during the evaluation at update 20: its checkpoint is written, its rows are
  # not. And rows of an update the checkpoint never reached (a crash after them).
  path = os.path.join(str(tmp_path), a2c_training.EVAL_CSV)
  with open(path) as f:
    lines = f.read().splitlines()
  with open(path, 'w') as f:
    f.write('\n'.join(lines[:1 + 3] + ['500,25,0,1.0,12']) + '\n')

  resumed = a2c_training.A2CRun(config, str(tmp_path))
  assert resumed.start_update == 20
  result = resumed.run()
  resumed.close()
  rows = _eval_rows(tmp_path)
  updates = rows[:, 1].tolist()
  assert updates == [10] * 3 + [20] * 3 + [30] * 3     # none lost, none twice
  # Greedy policy, restored weights, same evaluation seed: the same games again.
  np.testing.assert_array_equal(rows[rows[:, 1] == 20], at_20)
  assert result['eval_frames'] == 30 * 4 * 5
  assert result['eval_raw_return_mean'] == pytest.approx(rows[-3:, 3].mean())


def test_mask_health_records_the_first_collapse_and_the_recovery_after_it():
  health = a2c_training.MaskHealth()
  assert health.record() == {'mask_collapsed_update': None,
                             'mask_recovered_update': None}
  for update, mean in [(16, 0.4), (17, 0.2), (18, 0.004), (19, 0.03), (20, 0.003),
                       (21, 0.06), (22, 0.002), (23, 0.3)]:
    health.observe(update, mean)
  assert health.record() == {'mask_collapsed_update': 18,
                             'mask_recovered_update': 21}


def test_joint_run_records_its_mask_health_in_done_json(tmp_path):
  run = a2c_training.A2CRun(
      _config(variant='joint', num_envs=2, total_frames=2 * 5 * 6, mask_start_update=2,
              eval_every=0), str(tmp_path))
  run.run()
  run.close()
  with open(os.path.join(str(tmp_path), a2c_training.DONE_JSON)) as f:
    done = json.load(f)
  assert 'mask_collapsed_update' in done and 'mask_recovered_update' in done
  assert len(_eval_rows(tmp_path)) == 0                  # --eval_every=0: none


def test_joint_module_can_start_from_a_pretrained_mask(tmp_path):
  mask_dir = _pretrained_mask_dir(tmp_path / 'mask')
  pretrained = _values(mask_pretraining.restore_attention(mask_dir).variables)
  run = a2c_training.A2CRun(
      _config(variant='joint', mask_init_checkpoint=mask_dir, total_frames=10**9),
      str(tmp_path / 'run'))
  for got, want in zip(_values(run.network.attention_module.variables), pretrained):
    np.testing.assert_array_equal(got, want)
  run.close()
