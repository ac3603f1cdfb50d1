"""Offline training on frame pairs: the attention mask's pre-training, and Transporter's.

The paper's multi-task and transfer protocols pre-train the mask on frames that a
random policy collects (Asteroids + Assault + MsPacman for the universal mask,
JourneyEscape for transfer), then freeze it; the keypoint comparison trains
Transporter on the same frames. Both are Adam on a loss of (x_s, x_t) pairs drawn
from the same episode of one env, at most `max_gap` agent steps apart: one
`PairTrainer` with the model's loss function, and one resumable loop,
`train_on_pairs`, with TensorBoard summaries, a progress bar and checkpoints that
resume exactly (weights, Adam slots, step, and the pair sampler's random state).
"""

from typing import Callable, Dict, List, NamedTuple, Sequence, Tuple

from absl import logging
import numpy as np
import tensorflow as tf

from saarl_tf import config as config_lib
from saarl_tf import envs
from saarl_tf import plots
from saarl_tf import run_layout
from saarl_tf.models import attention
from saarl_tf.models import transporter as transporter_lib
from saarl_tf.training import frame_pairs
from saarl_tf.training import loop_core
from saarl_tf.training import stopping

# loss_fn(model, source, target) -> (losses with a scalar 'total', model outputs).
PairLoss = Callable[[tf.keras.Model, tf.Tensor, tf.Tensor],
                    Tuple[Dict[str, tf.Tensor], object]]


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
                          seed: int) -> FrameDataset:
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
  progress = stopping.Progress(len(games) * steps_per_env, 0, 1, unit='steps',
                               rate_unit='steps/s',
                               describe=lambda game: f'collecting {game}')
  report_every = max(1, steps_per_env // 5)
  for game_index, game in enumerate(games):
    env = envs.make_environment(game, num_envs=num_envs, seed=seed)
    num_actions = int(env.action_spec().maximum) + 1
    time_step = env.reset()
    game_frames = [time_step.observation[..., -1]]
    game_step_types = [time_step.step_type]
    for step in range(steps_per_env):
      stopping.check()
      time_step = env.step(rng.integers(0, num_actions, num_envs).astype(np.int32))
      if (step + 1) % report_every == 0:
        progress.update(game_index * steps_per_env + step + 1, game)
      game_frames.append(time_step.observation[..., -1])
      game_step_types.append(time_step.step_type)
    env.close()
    frames.append(np.stack(game_frames, axis=1))
    step_types.append(np.stack(game_step_types, axis=1))
    names += [game] * num_envs
  progress.close()
  return FrameDataset(np.concatenate(frames), np.concatenate(step_types), names)


def mask_pair_loss(mask_loss: config_lib.MaskLossConfig) -> PairLoss:
  """L_mask of the attention module on a batch of pairs (`attention.mask_loss`)."""
  def loss_fn(model, source, target):
    outputs = model((source, target), training=True)
    return attention.mask_loss(target, outputs, mask_loss.delta,
                               mask_loss.sparsity_weight), outputs
  return loss_fn


def transporter_pair_loss(model, source, target):
  """Transporter's L2 reconstruction loss on a batch of pairs."""
  outputs = model((source, target), training=True)
  return {'total': transporter_lib.transporter_loss(target, outputs)}, outputs


class PairTrainer(tf.Module):
  """An optimizer (Adam) on a pair loss over pairs drawn from a `FrameDataset`, in
  one `tf.function`."""

  def __init__(self, model: tf.keras.Model, loss_fn: PairLoss, dataset: FrameDataset,
               batch_size: int, max_gap: int,
               optimizer: tf.keras.optimizers.Optimizer, seed: int):
    """Prepares training.

    Args:
      model: the model to train; `model((source, target))` gives its outputs and
        `model.create_variables()` builds it.
      loss_fn: the pair loss (`mask_pair_loss`, `transporter_pair_loss`).
      dataset: frames to draw pairs from.
      batch_size: pairs per update.
      max_gap: pairs are at most this many agent steps apart, in one episode (the
        authors' code keeps each env's last 60 observations).
      optimizer: the optimizer of the model's variables (the mask's:
        `a2c.mask_adam`), as `A2CAgent` takes its own.
      seed: seeds the pair sampler.

    Raises:
      ValueError: the dataset holds no pair within `max_gap`.
    """
    super().__init__(name='pair_trainer')
    self.model = model
    self.batch_size = batch_size
    self._loss_fn = loss_fn
    num_envs, num_steps = dataset.step_types.shape
    pairs = frame_pairs.valid_pair_indices(dataset.step_types, max_gap)
    if not len(pairs):
      raise ValueError(f'no frame pairs within max_gap={max_gap} in the dataset')
    flat = pairs[:, 0] * num_steps
    # Plain tensors are not tracked, so the dataset stays out of checkpoints.
    self._pairs = tf.constant(np.stack([flat + pairs[:, 1], flat + pairs[:, 2]], 1))
    self._frames = tf.constant(
        dataset.frames.reshape(num_envs * num_steps, *dataset.frames.shape[2:], 1))
    self.optimizer = optimizer
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
    """One Adam update; returns the loss terms, the batch and the model's outputs."""
    source, target = self.sample_pairs()
    with tf.GradientTape() as tape:
      losses, outputs = self._loss_fn(self.model, source, target)
    variables = self.model.trainable_variables
    gradients = tape.gradient(losses['total'], variables)
    self.optimizer.apply_gradients(zip(gradients, variables))
    self.step.assign_add(1)
    return losses, source, target, outputs


def write_mask_summaries(losses, source, target, outputs: attention.AttentionOutputs,
                         step: int, images: bool, max_outputs: int = 4):
  """L_mask's terms, the mask's mean and cover; with `images`, x_s, x_t, x^_t,
  x^auto_t and Psi(x_t) over x_t, to the default summary writer."""
  for name, value in losses.items():
    tf.summary.scalar(f'mask_loss/{name}', value, step)
  tf.summary.scalar('mask/mean', losses['sparsity'], step)
  tf.summary.scalar('mask/fraction_above_half', tf.reduce_mean(
      tf.cast(outputs.target_mask >= 0.5, tf.float32)), step)
  if not images:
    return
  clip = lambda x: tf.clip_by_value(x, 0.0, 1.0)
  tf.summary.image('pairs/source', source, step, max_outputs)
  tf.summary.image('pairs/target', target, step, max_outputs)
  tf.summary.image('pairs/reconstruction', clip(outputs.reconstruction), step,
                   max_outputs)
  tf.summary.image('pairs/auto_reconstruction', clip(outputs.auto_reconstruction),
                   step, max_outputs)
  overlays = plots.mask_overlay(target[:max_outputs].numpy(),
                                outputs.target_mask[:max_outputs].numpy(), scale=3)
  labels = [f'update {int(step):,}, pair {i}' for i in range(len(overlays))]
  tf.summary.image('pairs/target_mask_overlay',
                   plots.labelled_pictures(overlays, labels), step, max_outputs)


def write_transporter_summaries(losses, source, target,
                                outputs: transporter_lib.TransporterOutputs,
                                step: int, images: bool, max_outputs: int = 4):
  """Transporter's loss; with `images`, x_s, x_t and the reconstruction."""
  del source
  tf.summary.scalar('transporter_loss/total', losses['total'], step)
  if images:
    tf.summary.image('pairs/target', target, step, max_outputs)
    tf.summary.image('pairs/reconstruction',
                     tf.clip_by_value(outputs.reconstruction, 0.0, 1.0), step,
                     max_outputs)


def checkpointed_step(root_dir: str) -> int:
  """The step of `root_dir`'s newest checkpoint (its name's number), 0 if none."""
  latest = tf.train.latest_checkpoint(run_layout.checkpoints_dir(root_dir))
  return int(latest.rsplit('-', 1)[1]) if latest else 0


def train_on_pairs(trainer: PairTrainer, root_dir: str, num_steps: int,
                   schedule: config_lib.ScheduleConfig,
                   write_summaries: Callable[..., None]) -> Dict[str, float]:
  """Trains until `trainer.step == num_steps`, resuming from `root_dir` if it can.

  Writes TensorBoard summaries to `root_dir/train` (`write_summaries(losses, source,
  target, outputs, step, images)`, plus speed) and checkpoints to
  `root_dir/checkpoints` (every `checkpoint_every` steps and at any end, through
  `loop_core.TrainingLoop`). SIGTERM or SIGINT ends it at the next step, with a
  checkpoint (`stopping.RunInterrupted`).

  Returns:
    The loss terms of the last step, as floats.
  """
  checkpointer = loop_core.checkpointer(
      root_dir, model=trainer.model, optimizer=trainer.optimizer, rng=trainer.rng,
      step=trainer.step)
  start = int(trainer.step.numpy())
  if start:
    logging.info('Resumed training on pairs at step %d from %s', start, root_dir)
  # Plain lines off a terminal, an ETA from this process's own speed (as A2C's).
  progress = (stopping.Progress(max(num_steps, 1), start, 1, unit='steps',
                                rate_unit='updates/s',
                                describe=lambda loss: f'loss {loss:.4f}')
              if schedule.progress else None)
  losses = {}
  speed = loop_core.Speedometer(start)
  step_fn = lambda: int(trainer.step.numpy())
  with loop_core.TrainingLoop(root_dir, checkpointer, step_fn, progress) as loop:
    while step_fn() < num_steps and loop.running:
      losses, source, target, outputs = trainer.train_step()
      step = step_fn()
      images = loop_core.due(step, schedule.image_every, num_steps)
      if loop_core.due(step, schedule.summary_every, num_steps):
        write_summaries(losses, source, target, outputs, step, images)
        tf.summary.scalar('speed/steps_per_second', speed.rate(step), step)
        if progress:
          progress.update(step, float(losses['total']))
      elif images:
        write_summaries(losses, source, target, outputs, step, images)
      if loop_core.checkpoint_due(step, schedule.checkpoint_every, num_steps):
        loop.save()
  return {name: float(value) for name, value in losses.items()}
