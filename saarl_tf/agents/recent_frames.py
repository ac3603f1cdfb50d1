"""Each environment's most recent frames, the source of the joint variant's pairs.

The authors' code keeps a ring buffer of every env's last 60 observations and, at each
update, draws two distinct slots per env as (x_s, x_t): frames of the agent's own
recent play of the same env, in random order, episode boundaries ignored. This is that
buffer, in TensorFlow variables so that it lives inside the train step's graph and in
checkpoints.
"""

from typing import Optional

import tensorflow as tf


class RecentFrames(tf.Module):
  """A ring of the newest frame of each env's last `capacity` observations."""

  def __init__(self, num_envs: int, capacity: int = 60, frame_size: int = 84,
               seed: int = 0, name: str = 'recent_frames'):
    """Allocates the ring.

    Args:
      num_envs: N, environments (one pair is drawn per env).
      capacity: frames kept per env; pairs are at most capacity - 1 steps apart.
      frame_size: frames are [frame_size, frame_size].
      seed: seeds the slot sampler.
      name: module name.
    """
    super().__init__(name=name)
    if capacity < 2:
      raise ValueError(f'RecentFrames needs capacity >= 2 to form pairs, got {capacity}')
    self.capacity = capacity
    # Slot-major, so that adding T steps is one in-place scatter of T rows.
    self.frames = tf.Variable(
        tf.zeros([capacity, num_envs, frame_size, frame_size, 1], tf.uint8),
        trainable=False, name='frames')
    self.count = tf.Variable(0, dtype=tf.int64, trainable=False, name='count')
    self.rng = tf.random.Generator.from_seed(seed)

  def add(self, observations: tf.Tensor):
    """Appends T steps of every env.

    Args:
      observations: uint8 [N, T, 84, 84, C] stacked frames; the newest is kept.
    """
    num_steps = tf.shape(observations, out_type=tf.int64)[1]
    slots = (self.count + tf.range(num_steps, dtype=tf.int64)) % self.capacity
    newest = tf.transpose(observations[..., -1:], [1, 0, 2, 3, 4])   # [T, N, ...]
    self.frames.scatter_nd_update(slots[:, None], newest)
    self.count.assign_add(num_steps)

  @property
  def num_filled(self) -> tf.Tensor:
    """int64 scalar: slots holding a frame, per env."""
    return tf.minimum(self.count, self.capacity)

  def sample_pairs(self, num_pairs: Optional[int] = None):
    """(x_s, x_t) pairs: two distinct filled slots of one env, in random order.

    Args:
      num_pairs: P; None (the authors' setting) draws one pair from every env, a
        smaller P one pair from each of P envs chosen at random.

    Returns:
      (source, target), each float32 [P, 84, 84, 1] in [0, 1]. Needs at least two
      filled slots.
    """
    num_envs = int(self.frames.shape[1])
    if num_pairs is None or num_pairs >= num_envs:
      envs, num_pairs = tf.range(num_envs), num_envs
    else:
      envs = tf.argsort(self.rng.uniform([num_envs]))[:num_pairs]
    filled = tf.cast(self.num_filled, tf.int32)
    first = self.rng.uniform([num_pairs], 0, filled, tf.int32)
    # An offset in [1, filled) makes the second slot always differ from the first.
    second = (first + self.rng.uniform([num_pairs], 1, filled, tf.int32)) % filled
    source = tf.gather_nd(self.frames, tf.stack([first, envs], axis=1))
    target = tf.gather_nd(self.frames, tf.stack([second, envs], axis=1))
    return (tf.cast(source, tf.float32) / 255.0, tf.cast(target, tf.float32) / 255.0)
