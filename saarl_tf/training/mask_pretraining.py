"""Offline training of the attention module on random-policy frames.

The paper's multi-task and transfer protocols pre-train the mask on frames that a
random policy collects (Asteroids + Assault + MsPacman for the universal mask,
JourneyEscape for transfer), then freeze it. This module collects such frames, samples
(x_s, x_t) pairs from them and minimises L_mask, with TensorBoard summaries, a progress
bar and checkpoints that resume exactly (weights, Adam slots, step, and the state of
the pair-sampling random generator).
"""

import os
import time
from typing import Dict, List, NamedTuple, Optional, Sequence

from absl import logging
import numpy as np
import tensorflow as tf
from tf_agents.utils import common

from saarl_tf import envs
from saarl_tf import mask_metrics
from saarl_tf.models import attention
from saarl_tf.training import frame_pairs


class FrameDataset(NamedTuple):
  """Newest frames of random-policy trajectories.

  frames: uint8 [E, T, 84, 84]: E trajectories (environments) of T steps.
  step_types: int32 [E, T] tf-agents step types.
  games: the game of each trajectory, E names.
  """
  frames: np.ndarray
  step_types: np.ndarray
  games: List[str]


def collect_random_frames(games: Sequence[str], num_envs: int, steps_per_env: int,
                          seed: int = 0) -> FrameDataset:
  """Plays each game with a uniformly random policy and keeps the newest frames.

  Args:
    games: game names ('Sprites' or Atari games).
    num_envs: environments per game.
    steps_per_env: agent steps per environment (T = steps_per_env + 1 frames).
    seed: seeds the environments and the random policy.

  Returns:
    A `FrameDataset` with E = len(games) * num_envs trajectories.
  """
  frames, step_types, names = [], [], []
  rng = np.random.default_rng(seed)
  for game in games:
    env = envs.make_environment(game, num_envs=num_envs, seed=seed)
    num_actions = int(env.action_spec().maximum) + 1
    time_step = env.reset()
    game_frames = [time_step.observation[..., -1]]
    game_step_types = [time_step.step_type]
    for _ in range(steps_per_env):
      time_step = env.step(rng.integers(0, num_actions, num_envs).astype(np.int32))
      game_frames.append(time_step.observation[..., -1])
      game_step_types.append(time_step.step_type)
    env.close()
    frames.append(np.stack(game_frames, axis=1))
    step_types.append(np.stack(game_step_types, axis=1))
    names += [game] * num_envs
  return FrameDataset(np.concatenate(frames), np.concatenate(step_types), names)


class MaskPretrainer(tf.Module):
  """Adam on L_mask over pairs drawn from a `FrameDataset`, in one `tf.function`."""

  def __init__(self,
               model: attention.SelfSupervisedAttention,
               dataset: FrameDataset,
               batch_size: int = 32,
               max_gap: int = 59,
               learning_rate: float = 1e-3,
               clip_norm: float = 0.5,
               delta: float = 0.01,
               sparsity_weight: float = 1e-3,
               seed: int = 0):
    """Prepares training.

    Args:
      model: the attention module to train.
      dataset: frames to draw pairs from.
      batch_size: pairs per update.
      max_gap: pairs are at most this many agent steps apart, in one episode (the
        authors' code keeps each env's last 60 observations).
      learning_rate: Adam's step size.
      clip_norm: gradients are clipped to this global norm.
      delta: threshold of the reconstruction term, on squared errors of [0, 1] pixels.
      sparsity_weight: lambda_m, the weight of the mask's L1 term.
      seed: seeds the pair sampler.
    """
    super().__init__(name='mask_pretrainer')
    self.model = model
    self.batch_size = batch_size
    self.delta = delta
    self.sparsity_weight = sparsity_weight
    num_envs, num_steps = dataset.step_types.shape
    pairs = frame_pairs.valid_pair_indices(dataset.step_types, max_gap)
    if not len(pairs):
      raise ValueError(f'no frame pairs within max_gap={max_gap} in the dataset')
    flat = pairs[:, 0] * num_steps
    # Plain tensors are not tracked, so the dataset stays out of checkpoints.
    self._pairs = tf.constant(np.stack([flat + pairs[:, 1], flat + pairs[:, 2]], 1))
    self._frames = tf.constant(
        dataset.frames.reshape(num_envs * num_steps, *dataset.frames.shape[2:], 1))
    self.optimizer = tf.keras.optimizers.Adam(learning_rate, global_clipnorm=clip_norm)
    self.rng = tf.random.Generator.from_seed(seed)
    self.step = tf.Variable(0, dtype=tf.int64, name='step')
    model.create_variables()
    self.optimizer.build(model.trainable_variables)

  def sample_pairs(self):
    """(x_s, x_t): float32 [batch_size, 84, 84, 1] each, in [0, 1]."""
    rows = self.rng.uniform([self.batch_size], 0, tf.shape(self._pairs)[0], tf.int32)
    pairs = tf.gather(self._pairs, rows)
    source = tf.gather(self._frames, pairs[:, 0])
    target = tf.gather(self._frames, pairs[:, 1])
    return (attention.preprocess_frames(source),
            attention.preprocess_frames(target))

  @tf.function
  def train_step(self):
    """One Adam update; returns the loss terms and the batch's tensors."""
    source, target = self.sample_pairs()
    with tf.GradientTape() as tape:
      outputs = self.model((source, target), training=True)
      losses = attention.mask_loss(target, outputs, self.delta, self.sparsity_weight)
    variables = self.model.trainable_variables
    gradients = tape.gradient(losses['total'], variables)
    self.optimizer.apply_gradients(zip(gradients, variables))
    self.step.assign_add(1)
    return losses, source, target, outputs


def mask_overlay(frames: tf.Tensor, masks: tf.Tensor) -> tf.Tensor:
  """Frames with the mask in red, each pixel shaded by the cell it belongs to.

  Args:
    frames: float32 [B, H, W, 1] in [0, 1].
    masks: float32 [B, m, m] in [0, 1].

  Returns:
    float32 [B, H, W, 3] in [0, 1].
  """
  size = int(frames.shape[1])
  cells = mask_metrics.pixel_to_cell(np.arange(size), int(masks.shape[-1]))
  upsampled = tf.gather(tf.gather(masks, cells, axis=1), cells, axis=2)[..., None]
  gray = tf.concat([frames] * 3, axis=-1)
  red = tf.constant([1.0, 0.0, 0.0])
  return (1 - 0.6 * upsampled) * gray + 0.6 * upsampled * red


def write_image_summaries(source, target, outputs: attention.AttentionOutputs,
                          step, max_outputs: int = 4):
  """x_s, x_t, x^_t, x^auto_t and Psi(x_t) over x_t, to the default summary writer."""
  clip = lambda x: tf.clip_by_value(x, 0.0, 1.0)
  tf.summary.image('pairs/source', source, step, max_outputs)
  tf.summary.image('pairs/target', target, step, max_outputs)
  tf.summary.image('pairs/reconstruction', clip(outputs.reconstruction), step,
                   max_outputs)
  tf.summary.image('pairs/auto_reconstruction', clip(outputs.auto_reconstruction),
                   step, max_outputs)
  tf.summary.image('pairs/target_mask_overlay',
                   mask_overlay(target, outputs.target_mask), step, max_outputs)


def pretrain_mask(trainer: MaskPretrainer,
                  root_dir: str,
                  num_steps: int,
                  summary_every: int = 100,
                  image_every: int = 1000,
                  checkpoint_every: int = 1000,
                  progress: bool = True) -> Dict[str, float]:
  """Trains until `trainer.step == num_steps`, resuming from `root_dir` if it can.

  Writes TensorBoard summaries to `root_dir/train` and checkpoints to
  `root_dir/checkpoints` (every `checkpoint_every` steps and at the end).

  Returns:
    The loss terms of the last step, as floats.
  """
  checkpointer = common.Checkpointer(
      ckpt_dir=os.path.join(root_dir, 'checkpoints'), max_to_keep=2,
      model=trainer.model, optimizer=trainer.optimizer, rng=trainer.rng,
      step=trainer.step)
  start = int(trainer.step.numpy())
  if start:
    logging.info('Resumed mask pre-training at step %d from %s', start, root_dir)
  writer = tf.summary.create_file_writer(os.path.join(root_dir, 'train'))
  progbar = (tf.keras.utils.Progbar(num_steps, stateful_metrics=['steps/s'])
             if progress else None)
  if progbar:
    progbar.update(start)
  losses = {}
  last_time, last_step = time.perf_counter(), start
  with writer.as_default():
    while int(trainer.step.numpy()) < num_steps:
      losses, source, target, outputs = trainer.train_step()
      step = int(trainer.step.numpy())
      if step % summary_every == 0 or step == num_steps:
        now = time.perf_counter()
        steps_per_second = (step - last_step) / max(now - last_time, 1e-9)
        last_time, last_step = now, step
        for name, value in losses.items():
          tf.summary.scalar(f'mask_loss/{name}', value, step)
        tf.summary.scalar('mask/mean', losses['sparsity'], step)
        tf.summary.scalar('mask/fraction_above_half', tf.reduce_mean(
            tf.cast(outputs.target_mask >= 0.5, tf.float32)), step)
        tf.summary.scalar('speed/steps_per_second', steps_per_second, step)
        if progbar:
          progbar.update(step, [('loss', float(losses['total'])),
                                ('mask_mean', float(losses['sparsity'])),
                                ('steps/s', steps_per_second)])
      if step % image_every == 0 or step == num_steps:
        write_image_summaries(source, target, outputs, step)
      if step % checkpoint_every == 0 and step < num_steps:
        checkpointer.save(global_step=step)
  checkpointer.save(global_step=trainer.step.numpy())
  writer.flush()
  return {name: float(value) for name, value in losses.items()}


def masks_of(model: attention.SelfSupervisedAttention, observations: np.ndarray,
             batch_size: int = 256) -> np.ndarray:
  """Psi of many observations, float32 [F, 7, 7], in batches.

  Args:
    observations: uint8 [F, 84, 84, C] (the newest channel is used).
  """
  mask_fn = tf.function(model.mask, reduce_retracing=True)
  return np.concatenate([
      mask_fn(tf.constant(observations[i:i + batch_size])).numpy()
      for i in range(0, len(observations), batch_size)])


def restore_attention(checkpoint_dir: str,
                      model: Optional[attention.SelfSupervisedAttention] = None
                      ) -> attention.SelfSupervisedAttention:
  """Loads the attention module's weights from a pre-training checkpoint directory.

  Raises:
    FileNotFoundError: no checkpoint in `checkpoint_dir`.
  """
  latest = tf.train.latest_checkpoint(checkpoint_dir)
  if latest is None:
    raise FileNotFoundError(f'No attention checkpoint in {checkpoint_dir!r}: '
                            'expected the checkpoints/ folder of a mask pre-training run')
  model = model or attention.SelfSupervisedAttention()
  model.create_variables()
  tf.train.Checkpoint(model=model).read(latest).expect_partial()
  return model
