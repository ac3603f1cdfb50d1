"""A rollout with the emulator and the network at work together, each forward once.

`RolloutDriver` is a tf-agents `Driver` that collects T steps of every env inside the
caller's `tf.function`, the environment behind `tf.numpy_function`. Its envs form
groups (`BatchedFrameEnvironment.group_bounds`; one, or `AtariEnvironment`'s
`num_groups`): while the network acts for one group, the emulator steps another
(ale-py's `send` returns at once, `recv` waits), as EnvPool's and moolib's
double-buffered envs do. Every action of a rollout comes from the same weights, so
this is the same algorithm as stepping all envs together; with two groups A, B:

  t = 0:      act(A) send(A)  act(B) send(B)
  t = 1..T-1: recv(A) act(A) send(A)  recv(B) act(B) send(B)
  end:        recv(A) value(A)        recv(B) value(B)      (the bootstrap state)

Each `act` is the policy's forward pass; its logits, value and mask are kept in the
trajectory's policy info, so that a learner taking its loss under the same gradient
tape (`a2c_training`) differentiates the rollout's own forward passes instead of
computing them again. Actions are drawn by the Gumbel-max trick from noise keyed by
(seed, step of the run, env), so an env's actions do not depend on how the envs are
grouped.
"""

from typing import List, Sequence, Tuple

import numpy as np
import tensorflow as tf
from tf_agents.drivers import driver
from tf_agents.trajectories import time_step as ts
from tf_agents.trajectories import trajectory

from saarl_tf.agents import a2c
from saarl_tf.envs import batched


def gumbel_max_actions(logits: tf.Tensor, noise: tf.Tensor) -> tf.Tensor:
  """Samples of Categorical(logits): argmax(logits + Gumbel noise).

  Args:
    logits: float32 [B, A].
    noise: float32 [B, A], uniform in (0, 1).

  Returns:
    int32 [B].
  """
  return tf.argmax(logits - tf.math.log(-tf.math.log(noise)), axis=-1,
                   output_type=tf.int32)


class RolloutDriver(driver.Driver):
  """T steps of every env of a batched environment, its groups overlapped."""

  def __init__(self, env: batched.BatchedFrameEnvironment,
               policy: a2c.ActorCriticPolicy, num_steps: int, seed: int = 0):
    """Args:
      env: the Python environment; its groups are stepped apart.
      policy: acts; its info holds the forward pass (`a2c.ActorCriticPolicy`).
      num_steps: T, steps of every env per `run`.
      seed: keys the action noise.
    """
    super().__init__(env, policy)
    self._bounds = env.group_bounds
    self._num_steps = num_steps
    self._seed = seed
    self._num_envs = env.batch_size
    self._num_actions = int(env.action_spec().maximum) + 1
    self._observation_shape = tuple(env.observation_spec().shape)

  def reset(self) -> ts.TimeStep:
    """Resets every env; the first time step [N], as tensors."""
    return tf.nest.map_structure(tf.convert_to_tensor, self.env.reset())

  def _recv(self, group: int) -> ts.TimeStep:
    size = self._bounds[group][1] - self._bounds[group][0]
    fields = tf.numpy_function(
        lambda: tuple(self.env.recv(group)), [],
        (tf.int32, tf.float32, tf.float32, tf.uint8), stateful=True,
        name=f'recv_{group}')
    shapes = ([size], [size], [size], [size, *self._observation_shape])
    for field, shape in zip(fields, shapes):
      field.set_shape(shape)
    return ts.TimeStep(*fields)

  def _send(self, group: int, actions: tf.Tensor):
    def send(values):
      self.env.send(group, values)
      return np.bool_(True)
    tf.numpy_function(send, [actions], tf.bool, stateful=True, name=f'send_{group}')

  def _forward(self, time_step: ts.TimeStep):
    """The policy's forward pass on one group's time step: its info (logits, value,
    mask)."""
    return self.policy.distribution(time_step).info

  def run(self, time_step: ts.TimeStep, step_index: tf.Tensor
          ) -> Tuple[trajectory.Trajectory, ts.TimeStep]:
    """One rollout: T steps of every env from `time_step`.

    Args:
      time_step: the time step [N] every env is in (`reset`, or the last `run`'s).
      step_index: int64 scalar, this rollout's index in the run (the update
        counter): keys the action noise.

    Returns:
      (experience, final time step): a `Trajectory` [N, T + 1] whose item T holds
      the final observation and step type (its action, reward and discount are
      placeholders) and whose policy info holds every forward pass (item T's: the
      bootstrap state's, outside the gradient's path); and the time step [N] the
      envs are in.
    """
    groups = range(len(self._bounds))
    current = [tf.nest.map_structure(lambda x, b=bounds: x[b[0]:b[1]], time_step)
               for bounds in self._bounds]
    columns = [[] for _ in groups]     # per group, per step: (time step, action, info)
    rewards = [[] for _ in groups]
    seed = tf.stack([tf.constant(self._seed, tf.int64),
                     tf.cast(step_index, tf.int64) * self._num_steps])
    for t in range(self._num_steps):
      noise = tf.random.stateless_uniform(
          [self._num_envs, self._num_actions], seed + [0, t], minval=1e-12,
          maxval=1.0)
      for g in groups:
        if t:
          current[g] = self._recv(g)
          rewards[g].append(current[g])
        start, stop = self._bounds[g]
        info = self._forward(current[g])
        actions = gumbel_max_actions(info[a2c.LOGITS_INFO], noise[start:stop])
        columns[g].append((current[g], actions, info))
        self._send(g, actions)
    for g in groups:
      current[g] = self._recv(g)
      rewards[g].append(current[g])
      # The bootstrap state's forward pass: its value is a target, not a prediction.
      info = tf.nest.map_structure(tf.stop_gradient, self._forward(current[g]))
      columns[g].append((current[g], None, info))
    experience = _concat([_group_trajectory(columns[g], rewards[g]) for g in groups])
    final = tf.nest.map_structure(lambda *parts: tf.concat(parts, 0), *current)
    return experience, final


def _group_trajectory(column: Sequence[tuple], landed: Sequence[ts.TimeStep]
                      ) -> trajectory.Trajectory:
  """One group's [n, T + 1] trajectory from its T + 1 (time step, action, info) and
  the T time steps its actions landed in (their rewards and discounts)."""
  stack = lambda values: tf.stack(values, axis=1)
  steps = [time_step for time_step, _, _ in column]
  actions = [action for _, action, _ in column[:-1]]
  actions.append(tf.zeros_like(actions[-1]))
  rewards = [step.reward for step in landed] + [tf.zeros_like(landed[-1].reward)]
  discounts = [step.discount for step in landed] + [tf.ones_like(landed[-1].discount)]
  infos = tf.nest.map_structure(lambda *parts: stack(parts),
                                *[info for _, _, info in column])
  step_types = stack([step.step_type for step in steps])
  next_types = tf.concat([step_types[:, 1:], step_types[:, -1:]], axis=1)
  return trajectory.Trajectory(
      step_type=step_types, observation=stack([step.observation for step in steps]),
      action=stack(actions), policy_info=infos, next_step_type=next_types,
      reward=stack(rewards), discount=stack(discounts))


def _concat(parts: List[trajectory.Trajectory]) -> trajectory.Trajectory:
  return tf.nest.map_structure(lambda *values: tf.concat(values, axis=0), *parts)
