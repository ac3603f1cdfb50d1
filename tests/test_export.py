"""The mask export: a fresh process loads it without saarl_tf, other agents use it."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from tf_agents.agents.dqn import dqn_agent
from tf_agents.drivers import dynamic_step_driver
from tf_agents.environments import tf_py_environment
from tf_agents.networks import network
from tf_agents.replay_buffers import tf_uniform_replay_buffer

from saarl_tf import config as config_lib
from saarl_tf import export
from saarl_tf.agents import a2c
from saarl_tf.envs import ground_truth
from saarl_tf.envs import sprites
from saarl_tf.evaluation import mask_quality
from saarl_tf.experiments import export_mask
from saarl_tf.models import attention
from saarl_tf.training import pair_training

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UNIVERSAL_MASK = os.path.join(REPO, 'export', 'universal_mask')


def _observations(count=6, seed=0):
  env = sprites.SpritesEnvironment(num_envs=count, seed=seed)
  env.reset()
  for _ in range(3):
    step = env.step(np.ones(count, np.int32))
  return step.observation


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
  """A briefly trained attention module and its export directory."""
  root = tmp_path_factory.mktemp('mask')
  dataset = pair_training.collect_random_frames(['Sprites'], num_envs=2,
                                                steps_per_env=30, seed=0)
  tf.keras.utils.set_random_seed(3)
  model = attention.SelfSupervisedAttention()
  trainer = pair_training.PairTrainer(
      model, pair_training.mask_pair_loss(config_lib.MaskLossConfig()), dataset,
      batch_size=4, max_gap=59, optimizer=a2c.mask_adam(config_lib.AdamConfig()), seed=0)
  pair_training.train_on_pairs(trainer, str(root), 5,
                               config_lib.ScheduleConfig(progress=False),
                               pair_training.write_mask_summaries)
  export_dir = export_mask.export_from_checkpoint(
      os.path.join(str(root), 'checkpoints'), str(root / 'export'), eval_frames=0,
      eval_seed=0)
  return model, export_dir


def test_fresh_process_without_saarl_tf_gets_the_same_masks(exported, tmp_path):
  model, export_dir = exported
  observations = _observations()
  np.save(tmp_path / 'obs.npy', observations)
  script = f'''
import sys
import numpy as np
import tensorflow as tf
mask = tf.saved_model.load({export_dir!r})
obs = np.load({str(tmp_path / 'obs.npy')!r})
np.save({str(tmp_path / 'mask.npy')!r}, mask(obs).numpy())
np.save({str(tmp_path / 'served.npy')!r},
        mask.signatures['serving_default'](observations=tf.constant(obs))['mask'].numpy())
np.save({str(tmp_path / 'resized.npy')!r},
        mask.signatures['resized'](observations=tf.constant(obs),
                                   size=tf.constant([11, 11]))['mask'].numpy())
assert len(mask.trainable_variables) == 0 and len(mask.variables) > 0
assert not any(name.startswith('saarl_tf') for name in sys.modules), 'imported saarl_tf'
'''
  # Run from an empty directory with a clean path, so saarl_tf cannot be imported.
  env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
  result = subprocess.run([sys.executable, '-c', script], cwd=str(tmp_path), env=env,
                          capture_output=True, text=True, timeout=300, check=False)
  assert result.returncode == 0, result.stderr[-2000:]
  expected = model.mask(tf.constant(observations)).numpy()
  np.testing.assert_allclose(np.load(tmp_path / 'mask.npy'), expected, atol=1e-6)
  np.testing.assert_allclose(np.load(tmp_path / 'served.npy'), expected, atol=1e-6)
  resized = np.load(tmp_path / 'resized.npy')
  assert resized.shape == (len(observations), 11, 11)
  assert resized.min() >= 0 and resized.max() <= 1


def test_metadata_describes_the_export(exported):
  _, export_dir = exported
  metadata = export.read_metadata(export_dir)
  # No machine-local path: the checkpoint is named, not located.
  assert os.sep not in metadata['training']['checkpoint']
  assert metadata['receptive_field'] == {'first_cell_centre_px': 17.5, 'stride_px': 8}
  assert metadata['mask_shape'] == [None, 7, 7]
  assert metadata['input_dtype'] == 'uint8'
  assert metadata['training']['checkpoint'].endswith('ckpt-5')
  assert metadata['package_version']


def test_bad_inputs_fail_with_one_line(exported, tmp_path):
  _, export_dir = exported
  with pytest.raises(ValueError, match='is not a saarl_tf mask export') as error:
    export.MaskLayer(str(tmp_path))
  assert '\n' not in str(error.value)
  layer = export.MaskLayer(export_dir)
  for bad in (tf.zeros([2, 80, 80, 4], tf.uint8), tf.zeros([2, 84, 84, 4])):
    with pytest.raises(ValueError, match='MaskLayer expects uint8 observations') as error:
      layer(bad)
    assert '\n' not in str(error.value)
  for size in ((0, 7), (7, 85), (7,), 0, 'big'):
    with pytest.raises(ValueError, match='output_size must be an int or') as error:
      export.MaskLayer(export_dir, output_size=size)
    assert '\n' not in str(error.value)
  assert export.MaskLayer(export_dir, output_size=9).output_size == (9, 9)
  loaded = tf.saved_model.load(export_dir)
  with pytest.raises(tf.errors.InvalidArgumentError, match='two positive integers'):
    loaded.resized(_observations(1), tf.constant([0, 5]))


class MaskedQNetwork(network.Network):
  """A DQN Q-network (tf-agents' QNetwork layout) whose conv features are masked."""

  def __init__(self, input_tensor_spec, num_actions, export_dir,
               name='MaskedQNetwork'):
    super().__init__(input_tensor_spec=input_tensor_spec, state_spec=(), name=name)
    self._mask = export.MaskLayer(export_dir, output_size=(9, 9))
    self._convs = [tf.keras.layers.Conv2D(16, 8, 4, activation='relu'),
                   tf.keras.layers.Conv2D(16, 4, 2, activation='relu')]   # 9x9
    self._flatten = tf.keras.layers.Flatten()
    self._q_values = tf.keras.layers.Dense(num_actions)

  def call(self, observations, step_type=None, network_state=(), training=False):
    features = tf.cast(observations, tf.float32) / 255.0
    for conv in self._convs:
      features = conv(features)
    features = features * self._mask(observations)[..., None]
    return self._q_values(self._flatten(features)), network_state


def test_a_tf_agents_dqn_trains_with_the_frozen_mask(exported):
  _, export_dir = exported
  env = tf_py_environment.TFPyEnvironment(sprites.SpritesEnvironment(num_envs=4))
  q_network = MaskedQNetwork(env.observation_spec(),
                             int(env.action_spec().maximum) + 1, export_dir)
  agent = dqn_agent.DqnAgent(
      env.time_step_spec(), env.action_spec(), q_network=q_network,
      optimizer=tf.keras.optimizers.Adam(1e-3), epsilon_greedy=0.3)
  agent.initialize()
  mask_before = [v.numpy().copy() for v in q_network._mask.mask_variables]
  q_before = [v.numpy().copy() for v in q_network.trainable_variables]
  assert not any(v.name.startswith('mask_generator')
                 for v in q_network.trainable_variables)

  replay = tf_uniform_replay_buffer.TFUniformReplayBuffer(
      agent.collect_data_spec, batch_size=4, max_length=200)
  dynamic_step_driver.DynamicStepDriver(
      env, agent.collect_policy, observers=[replay.add_batch], num_steps=160).run()
  dataset = replay.as_dataset(sample_batch_size=16, num_steps=2)
  losses = [float(agent.train(experience).loss)
            for experience, _ in dataset.take(20)]

  assert all(np.isfinite(losses))
  for after, before in zip(q_network._mask.mask_variables, mask_before):
    np.testing.assert_array_equal(after.numpy(), before)
  assert all(not np.array_equal(v.numpy(), b)
             for v, b in zip(q_network.trainable_variables, q_before))


@pytest.mark.skipif(not os.path.isdir(UNIVERSAL_MASK),
                    reason='no universal mask shipped in export/')
@pytest.mark.slow
def test_shipped_universal_mask_gives_the_metrics_its_readme_states():
  pytest.importorskip('ocatari')      # Atari ground truth: the eval extra
  metadata = export.read_metadata(UNIVERSAL_MASK)
  stated = metadata['quality']
  mask = tf.saved_model.load(UNIVERSAL_MASK)
  with open(os.path.join(REPO, 'export', 'README.md')) as f:
    readme = f.read()
  for game, numbers in stated['games'].items():
    labelled = ground_truth.labelled_frames(game, stated['eval_frames'],
                                            stated['eval_seed'])
    observations = labelled.observations
    masks = np.concatenate([mask(observations[i:i + 100]).numpy()
                            for i in range(0, len(observations), 100)])
    measured = mask_quality.mask_quality(masks, labelled.centres,
                                         labelled.object_pixels)
    for name in ('object_recall', 'mass_on_objects', 'mask_mean'):
      assert measured[name] == pytest.approx(numbers[name], abs=1e-4), (game, name)
      assert f'{numbers[name]:.3f}' in readme, (game, name)


def test_the_savedmodel_refuses_what_it_cannot_read_and_cannot_be_fine_tuned(exported):
  """Plain TensorFlow, no saarl_tf: a float array in [0, 1] (which a signature would
  cast to uint8 zeros), a 64x64 frame, channels first or no batch are errors, not
  wrong masks; and a GradientTape sees no variable to train."""
  _, export_dir = exported
  mask = tf.saved_model.load(export_dir)
  good = _observations(2)
  for bad in (good.astype(np.float32) / 255, np.zeros((2, 64, 64, 4), np.uint8),
              np.transpose(good, (0, 3, 1, 2)), good[0]):
    with pytest.raises(ValueError, match='Could not find matching concrete function'):
      mask(bad)
  # The signatures cast nothing but do not check shapes themselves: each bad shape is
  # named in the export's own message (TensorFlow frames it in a few lines).
  for bad in (np.zeros((2, 64, 64, 4), np.uint8), np.transpose(good, (0, 3, 1, 2)),
              good[0], good[..., :0]):
    for name, arguments in (('serving_default', {}), ('resized', {'size': [9, 9]})):
      with pytest.raises(tf.errors.InvalidArgumentError) as error:
        mask.signatures[name](observations=tf.constant(bad),
                              **{k: tf.constant(v) for k, v in arguments.items()})
      message = str(error.value)
      assert 'observations must be uint8 [batch, 84, 84, C]' in message, (name, message)
      assert f'got shape] [{" ".join(map(str, bad.shape))}]' in message, (name, message)
  assert mask.signatures['serving_default'](
      observations=tf.constant(good))['mask'].shape == (2, 7, 7)
  assert all(not variable.trainable for variable in mask.variables)
  with tf.GradientTape() as tape:
    total = tf.reduce_sum(mask(good))
  assert not tape.watched_variables() and np.isfinite(total.numpy())


def test_an_export_written_anew_keeps_its_weights_record_and_scores(exported, tmp_path):
  """`--experiment=export --checkpoint=<an export>`: how a shipped mask gets this
  version's serving functions without its pre-training run."""
  _, export_dir = exported
  again = export_mask.export_from_checkpoint(export_dir, str(tmp_path / 'again'),
                                        eval_frames=0, eval_seed=0)
  before, after = export.read_metadata(export_dir), export.read_metadata(again)
  assert after['training'] == before['training'] and after['quality'] == before['quality']
  observations = _observations()
  np.testing.assert_array_equal(tf.saved_model.load(again)(observations).numpy(),
                                tf.saved_model.load(export_dir)(observations).numpy())
  assert not any(v.trainable for v in tf.saved_model.load(again).variables)


@pytest.mark.parametrize('suffix', ['keras', 'h5'])
def test_mask_layer_round_trips_through_keras_own_formats(exported, tmp_path, suffix):
  """A model holding a MaskLayer saves as .keras or .h5 and loads back with Keras'
  plain `load_model` (the layer is registered), still frozen and giving the same
  masks."""
  _, export_dir = exported
  inputs = tf.keras.Input([84, 84, 4], dtype=tf.uint8)
  outputs = tf.keras.layers.Flatten()(export.MaskLayer(export_dir, output_size=(5, 6))(
      inputs))
  model = tf.keras.Model(inputs, outputs)
  observations = _observations()
  path = str(tmp_path / f'model.{suffix}')
  model.save(path)
  loaded = tf.keras.models.load_model(path)
  np.testing.assert_allclose(loaded(observations), model(observations), atol=1e-6)
  assert loaded(observations).shape == (6, 30)
  assert not loaded.trainable_weights


def test_resized_takes_int64_and_numpy_sizes(exported):
  _, export_dir = exported
  mask = tf.saved_model.load(export_dir)
  observations = _observations()
  want = mask.resized(observations, tf.constant([11, 11], tf.int32))
  np.testing.assert_allclose(mask.resized(observations, tf.constant([11, 11], tf.int64)),
                             want)
  np.testing.assert_allclose(mask.resized(observations, np.array([11, 11])), want)
