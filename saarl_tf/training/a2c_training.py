"""The A2C training loop: tf-agents driver, one train step per rollout, resumable.

Each iteration runs a `DynamicStepDriver` for exactly T steps of N environments into a
replay buffer of length T, appends the state the rollout ended in (for the bootstrap
value), and calls `A2CAgent.train` on the resulting [N, T + 1] trajectory; collection
and training run together in one `tf.function`.

A run directory holds:
  config.json     the run's settings (`A2CConfig`), the precision it resolved to, the
                  package version and git commit of the code that ran it
  train/          TensorBoard: raw game scores, losses, speed, mask mean and images,
                  all against emulator frames (1 agent step = `frames_per_step` frames)
  checkpoints/    tf-agents `Checkpointer`: networks, optimizer slots, update counter,
                  recent-frame ring, return history; restored when the run restarts
  episodes.csv    every finished training game: frames when it ended, raw score,
                  agent steps
  eval.csv        every evaluation game (`eval_every` updates, `eval_games` complete
                  games each): frames and update of the evaluation, game index, raw
                  score, agent steps
  policy/         the greedy policy as a tf-agents `PolicySaver` SavedModel, at the end
  done.json       written last, when the whole budget is done: final losses and scores,
                  the last evaluation, and when the mask collapsed and recovered
"""

import csv
import dataclasses
import json
import os
import time
import warnings
from typing import Dict, List, Optional, Sequence

from absl import logging
import numpy as np
import tensorflow as tf
from tf_agents.drivers import dynamic_step_driver
from tf_agents.environments import tf_py_environment
from tf_agents.policies import policy_saver
from tf_agents.replay_buffers import tf_uniform_replay_buffer
from tf_agents.trajectories import trajectory
from tf_agents.utils import common

from saarl_tf import envs
from saarl_tf import provenance
from saarl_tf.envs import batched
from saarl_tf.agents import a2c
from saarl_tf.models import actor_critic
from saarl_tf.models import attention
from saarl_tf.models import precisions
from saarl_tf.training import mask_pretraining

CONFIG_JSON = 'config.json'
EPISODES_CSV = 'episodes.csv'
EVAL_CSV = 'eval.csv'
DONE_JSON = 'done.json'
_EPISODE_FIELDS = ('frames', 'raw_return', 'agent_steps')
_EVAL_FIELDS = ('frames', 'update', 'game', 'raw_return', 'agent_steps')
EVAL_POLICIES = ('greedy', 'sample')
# Evaluation envs are seeded apart from every training env (seed + i + 7919 k).
_EVAL_SEED_OFFSET = 1_000_000
# The joint mask "collapses" (mean of the rollout's masks below this, seen at
# 0.002-0.005 on Breakout in the authors' code and ours) and "recovers" (back above
# the second); done.json records the first update of each.
MASK_COLLAPSED_BELOW = 0.01
MASK_RECOVERED_ABOVE = 0.05


@dataclasses.dataclass(frozen=True)
class A2CConfig:
  """One A2C run. Defaults: the A2C paper and the authors' code (DESIGN.md s5)."""
  game: str = 'Pong'
  variant: str = 'baseline'
  seed: int = 0
  num_envs: int = 16
  rollout_steps: int = 5
  total_frames: int = 40_000_000        # 1e7 agent steps of 4 frames
  learning_rate: float = 7e-4
  rmsprop_decay: float = 0.99
  rmsprop_epsilon: float = 1e-5
  gamma: float = 0.99
  entropy_coefficient: float = 0.01
  value_coefficient: float = 0.5
  clip_norm: float = 0.5
  mask_optimizer: str = 'separate'
  mask_loss_weight: float = 1.0
  mask_learning_rate: float = 1e-3
  mask_clip_norm: float = 0.5
  delta: float = 0.01
  sparsity_weight: float = 1e-3
  recent_frames_capacity: int = 60
  mask_pairs: Optional[int] = None       # None: one pair per env, as the authors
  mask_start_update: int = 15
  mask_checkpoint: Optional[str] = None  # frozen: a mask pre-training checkpoints/ dir
  mask_init_checkpoint: Optional[str] = None  # joint: start the module from this
  mask_mode: str = 'multiply'            # models/actor_critic.py MASK_MODES
  clip_rewards: bool = True
  episodic_life: bool = True
  zero_frame_stack: bool = True          # envs/atari.py: as the authors' code
  eval_every: int = 1250                 # updates (authors' code); 0: never
  eval_games: int = 10                   # complete games per evaluation
  eval_policy: str = 'greedy'            # greedy (authors' code) or sample
  precision: str = 'auto'                 # models/precisions.py
  summary_every: int = 100               # updates
  image_every: int = 2500                # updates
  checkpoint_every: int = 5000           # updates
  progress: bool = True

  def frames_per_update(self, frames_per_step: int) -> int:
    return self.num_envs * self.rollout_steps * frames_per_step


def _roll_in(variable: tf.Variable, new_values) -> np.ndarray:
  """The variable's values with `new_values` appended and the oldest dropped."""
  values = np.concatenate([variable.numpy(), np.asarray(new_values, np.float32)])
  return values[-int(variable.shape[0]):]


class EpisodeHistory(tf.Module):
  """The last `capacity` finished games' raw scores and lengths, checkpointed."""

  def __init__(self, capacity: int = 100, name: str = 'episode_history'):
    super().__init__(name=name)
    self.raw_returns = tf.Variable(tf.zeros([capacity]), trainable=False,
                                   name='raw_returns')
    self.lengths = tf.Variable(tf.zeros([capacity]), trainable=False, name='lengths')
    self.count = tf.Variable(0, dtype=tf.int64, trainable=False, name='count')

  def add(self, records: List[batched.EpisodeRecord]):
    """Appends finished games, oldest first; the newest `capacity` are kept."""
    if records:
      self.raw_returns.assign(
          _roll_in(self.raw_returns, [r.raw_return for r in records]))
      self.lengths.assign(
          _roll_in(self.lengths, [r.agent_steps for r in records]))
      self.count.assign_add(len(records))

  def means(self) -> Dict[str, float]:
    """Mean raw return and length (agent steps) of the last `capacity` games."""
    filled = min(int(self.count.numpy()), int(self.raw_returns.shape[0]))
    if not filled:
      return {}
    return {'raw_return': float(np.mean(self.raw_returns.numpy()[-filled:])),
            'length': float(np.mean(self.lengths.numpy()[-filled:]))}


def build_network(config: A2CConfig, observation_spec, num_actions: int
                  ) -> actor_critic.ActorCriticNetwork:
  """The actor-critic of `config.variant`; `frozen` loads `config.mask_checkpoint`.

  Raises:
    ValueError: `frozen` without a mask checkpoint.
    FileNotFoundError: the mask checkpoint directory holds no checkpoint.
  """
  module = None
  if config.variant == 'frozen':
    if not config.mask_checkpoint:
      raise ValueError('the frozen variant needs a pre-trained mask: set '
                       'mask_checkpoint to a mask pre-training checkpoints/ directory')
    module = mask_pretraining.restore_attention(
        config.mask_checkpoint,
        attention.SelfSupervisedAttention(precision=config.precision))
  elif config.variant == 'joint':
    module = attention.SelfSupervisedAttention(precision=config.precision)
    if config.mask_init_checkpoint:
      # Warm start: a resumed run's own checkpoint is restored over this later.
      module = mask_pretraining.restore_attention(config.mask_init_checkpoint, module)
  return actor_critic.ActorCriticNetwork(observation_spec, num_actions,
                                         attention_module=module,
                                         precision=config.precision,
                                         mask_mode=config.mask_mode)


def append_bootstrap_state(rollout: trajectory.Trajectory,
                           final_time_step) -> trajectory.Trajectory:
  """[N, T] rollout + the state it ended in -> the agent's [N, T + 1] experience.

  The appended item carries the final observation and step type; its action, reward
  and discount are placeholders that the agent never reads.
  """
  last = tf.nest.map_structure(lambda x: tf.zeros_like(x[:, -1:]), rollout)
  last = last._replace(step_type=final_time_step.step_type[:, None],
                       observation=final_time_step.observation[:, None],
                       discount=tf.ones_like(last.discount))
  return tf.nest.map_structure(lambda a, b: tf.concat([a, b], axis=1), rollout, last)


class A2CRun:
  """One resumable A2C run in `root_dir`."""

  def __init__(self, config: A2CConfig, root_dir: str):
    self.config = config
    self.root_dir = root_dir
    tf.keras.utils.set_random_seed(config.seed)
    self.train_step = tf.Variable(0, dtype=tf.int64, name='train_step')
    self.history = EpisodeHistory()
    self.mask_health = MaskHealth()
    self.last_eval = {}
    # The environment's own state is not checkpointed: a resumed run starts new
    # games, seeded apart from the ones already played.
    probe = envs.make_environment(config.game, num_envs=1, seed=0,
                                  **self._env_options())
    self.frames_per_step = probe.frames_per_step
    probe_tf = tf_py_environment.TFPyEnvironment(probe)
    time_step_spec, action_spec = probe_tf.time_step_spec(), probe_tf.action_spec()
    probe.close()
    self.network = build_network(config, time_step_spec.observation,
                                 int(action_spec.maximum) + 1)
    self.agent = a2c.A2CAgent(
        time_step_spec, action_spec, self.network, variant=config.variant,
        num_envs=config.num_envs, learning_rate=config.learning_rate,
        rmsprop_decay=config.rmsprop_decay, rmsprop_epsilon=config.rmsprop_epsilon,
        gamma=config.gamma, entropy_coefficient=config.entropy_coefficient,
        value_coefficient=config.value_coefficient, clip_norm=config.clip_norm,
        mask_optimizer=config.mask_optimizer,
        mask_loss_weight=config.mask_loss_weight,
        mask_learning_rate=config.mask_learning_rate,
        mask_clip_norm=config.mask_clip_norm, delta=config.delta,
        sparsity_weight=config.sparsity_weight,
        recent_frames_capacity=config.recent_frames_capacity,
        mask_pairs=config.mask_pairs,
        mask_start_update=config.mask_start_update, seed=config.seed,
        train_step_counter=self.train_step)
    self.checkpointer = common.Checkpointer(
        ckpt_dir=os.path.join(root_dir, 'checkpoints'), max_to_keep=2,
        agent=self.agent, history=self.history, mask_health=self.mask_health,
        global_step=self.train_step)
    self.start_update = int(self.train_step.numpy())
    write_config(config, root_dir)
    self.env = envs.make_environment(
        config.game, num_envs=config.num_envs,
        seed=config.seed + 7919 * self.start_update, **self._env_options())
    self.tf_env = tf_py_environment.TFPyEnvironment(self.env)
    self.buffer = tf_uniform_replay_buffer.TFUniformReplayBuffer(
        self.agent.collect_data_spec, batch_size=config.num_envs,
        max_length=config.rollout_steps)
    # num_steps is only an upper bound: each run stops after maximum_iterations.
    self.driver = dynamic_step_driver.DynamicStepDriver(
        self.tf_env, self.agent.collect_policy, observers=[self.buffer.add_batch],
        num_steps=config.num_envs * config.rollout_steps * 1000)
    self._iteration = common.function(self._iteration_fn)
    self.evaluator = None
    if config.eval_every:
      self.evaluator = PolicyEvaluator(
          self.agent.policy if config.eval_policy == 'greedy'
          else self.agent.collect_policy,
          envs.make_environment(config.game, num_envs=config.eval_games,
                                seed=_EVAL_SEED_OFFSET, **self._env_options()))

  def _env_options(self) -> Dict[str, bool]:
    if self.config.game.lower() == envs.SPRITES.lower():
      return {}
    return {'clip_rewards': self.config.clip_rewards,
            'episodic_life': self.config.episodic_life,
            'zero_frame_stack': self.config.zero_frame_stack}

  def _evaluation_due(self, update: int) -> bool:
    every = self.config.eval_every
    return bool(every) and update > 0 and (update % every == 0
                                           or update == self.total_updates)

  def _evaluate(self, update: int, eval_log: '_CsvLog', writer):
    """Plays `eval_games` complete games with the current weights; logs them."""
    games = self.evaluator.play(self.config.seed + _EVAL_SEED_OFFSET
                                + 7919 * (update // self.config.eval_every))
    frames = update * self.frames_per_update
    eval_log.append([(frames, update, i, game.raw_return, game.agent_steps)
                     for i, game in enumerate(games)])
    scores = np.array([game.raw_return for game in games])
    with writer.as_default():
      tf.summary.scalar('eval/raw_return_mean', scores.mean(), frames)
      tf.summary.scalar('eval/raw_return_std', scores.std(), frames)
      tf.summary.scalar('eval/raw_return_min', scores.min(), frames)
      tf.summary.scalar('eval/raw_return_max', scores.max(), frames)
      tf.summary.scalar('eval/length_mean',
                        np.mean([game.agent_steps for game in games]), frames)
    self.last_eval = {'eval_raw_return_mean': float(scores.mean()),
                      'eval_raw_return_std': float(scores.std()),
                      'eval_frames': frames}
    logging.info('Evaluation at %d frames: %s games, mean raw score %.1f (+- %.1f)',
                 frames, len(games), scores.mean(), scores.std())

  @property
  def frames_per_update(self) -> int:
    return self.config.frames_per_update(self.frames_per_step)

  @property
  def total_updates(self) -> int:
    return -(-self.config.total_frames // self.frames_per_update)   # ceil

  def _iteration_fn(self, time_step):
    time_step, _ = self.driver.run(time_step, (),
                                   maximum_iterations=self.config.rollout_steps)
    experience = append_bootstrap_state(self.buffer.gather_all(), time_step)
    loss_info = self.agent.train(experience)
    return time_step, loss_info.extra

  def run(self, num_updates: Optional[int] = None) -> Dict[str, float]:
    """Trains until `num_updates` (default: the whole budget) updates are done.

    Returns:
      The last losses and the mean raw return/length of the last 100 games.
    """
    config = self.config
    target = self.total_updates if num_updates is None else min(num_updates,
                                                                self.total_updates)
    update = int(self.train_step.numpy())
    if update:
      logging.info('Resuming %s at update %d (%d frames)', self.root_dir, update,
                   update * self.frames_per_update)
    resumed_frames = update * self.frames_per_update
    episodes_log = _CsvLog(os.path.join(self.root_dir, EPISODES_CSV), _EPISODE_FIELDS,
                           resumed_frames)
    eval_log = _CsvLog(os.path.join(self.root_dir, EVAL_CSV), _EVAL_FIELDS,
                       resumed_frames)
    writer = tf.summary.create_file_writer(os.path.join(self.root_dir, 'train'))
    progbar = (tf.keras.utils.Progbar(self.total_updates,
                                      stateful_metrics=['frames/s', 'return'])
               if config.progress else None)
    seen_episodes = self.env.num_finished_episodes
    time_step = self.tf_env.reset()
    losses = {}
    watch_mask = config.variant == 'joint'
    try:
      # An evaluation cut by a stop is redone: its rows were dropped or never written.
      if self._evaluation_due(update) and not eval_log.has_frames(resumed_frames):
        self._evaluate(update, eval_log, writer)
      last_time, last_update = time.perf_counter(), update
      with writer.as_default():
        while update < target:
          time_step, losses = self._iteration(time_step)
          update = int(self.train_step.numpy())
          frames = update * self.frames_per_update
          new = self.env.num_finished_episodes - seen_episodes
          seen_episodes = self.env.num_finished_episodes
          if new:
            records = self.env.finished_episodes(last=new)
            self.history.add(records)
            episodes_log.append([(frames, r.raw_return, r.agent_steps)
                                 for r in records])
          if watch_mask and update > config.mask_start_update:
            self.mask_health.observe(update, float(losses['rollout_mask_mean']))
          if update % config.summary_every == 0 or update == target:
            now = time.perf_counter()
            fps = (update - last_update) * self.frames_per_update / max(
                now - last_time, 1e-9)
            self._write_scalars(losses, frames, fps)
            if progbar:
              progbar.update(update, [('frames/s', fps), ('return', self.history.means()
                                                          .get('raw_return', np.nan))])
          if update % config.image_every == 0 and self.network.attention_module:
            self._write_mask_images(time_step.observation, frames)
          if self._evaluation_due(update):
            self._evaluate(update, eval_log, writer)
          if update % config.summary_every == 0 or update == target:
            # Evaluations and summaries do not count against training speed.
            last_time, last_update = time.perf_counter(), update
          if update % config.checkpoint_every == 0 and update < target:
            self.checkpointer.save(global_step=self.train_step)
    finally:
      # Whatever stops the loop, the work done so far is kept.
      self.checkpointer.save(global_step=self.train_step)
      episodes_log.close()
      eval_log.close()
      writer.flush()
    result = {k: float(v) for k, v in losses.items()}
    result.update({f'mean100_{k}': v for k, v in self.history.means().items()})
    result.update(self.last_eval or eval_log.last_mean())
    if self.network.attention_module is not None:
      result.update(self.mask_health.record())
    if update >= self.total_updates:
      self.save_policy()
      write_done(self.root_dir, dict(result, total_frames=self.config.total_frames,
                                     updates=update))
    return result

  def _write_scalars(self, losses, frames: int, fps: float):
    for name, value in losses.items():
      group = 'mask' if 'mask' in name else 'loss'
      tf.summary.scalar(f'{group}/{name}', value, frames)
    means = self.history.means()
    if means:
      tf.summary.scalar('episode/raw_return_mean100', means['raw_return'], frames)
      tf.summary.scalar('episode/length_mean100', means['length'], frames)
    tf.summary.scalar('episode/count', self.history.count, frames)
    tf.summary.scalar('speed/frames_per_second', fps, frames)
    tf.summary.scalar('speed/agent_steps_per_second', fps / self.frames_per_step,
                      frames)
    tf.summary.scalar('progress/updates', self.train_step, frames)

  def _write_mask_images(self, observations, frames: int, max_outputs: int = 4):
    observations = observations[:max_outputs]
    masks = self.network.mask(observations)
    tf.summary.image('mask/overlay', mask_pretraining.mask_overlay(
        attention.preprocess_frames(observations), masks), frames, max_outputs)

  def save_policy(self):
    """The greedy policy, as a `PolicySaver` SavedModel in `root_dir/policy`."""
    saver = policy_saver.PolicySaver(self.agent.policy, train_step=self.train_step)
    saver.save(os.path.join(self.root_dir, 'policy'))

  def close(self):
    self.env.close()
    if self.evaluator:
      self.evaluator.close()


class _CsvLog:
  """Appends rows to a CSV; on resume, drops the rows the checkpoint lacks.

  Rows are keyed by their first column, the frames at which they were logged: rows
  after `resumed_frames` came from updates the checkpoint does not hold, and are
  made again.
  """

  def __init__(self, path: str, fields: Sequence[str], resumed_frames: int):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    kept = []
    if os.path.exists(path):
      with open(path, newline='') as f:
        kept = [row for row in csv.DictReader(f)
                if int(row[fields[0]]) <= resumed_frames]
    self._kept = kept
    # Rewritten whole, then renamed over the old file, so a crash leaves one intact.
    temporary = path + '.tmp'
    with open(temporary, 'w', newline='') as f:
      writer = csv.DictWriter(f, fields)
      writer.writeheader()
      writer.writerows(kept)
    os.replace(temporary, path)
    self._fields = fields
    self._file = open(path, 'a', newline='')
    self._writer = csv.writer(self._file)

  def has_frames(self, frames: int) -> bool:
    """Whether rows logged at `frames` survived the resume."""
    return any(int(row[self._fields[0]]) == frames for row in self._kept)

  def last_mean(self) -> Dict[str, float]:
    """The mean raw score of the rows at the last logged frames (kept rows only)."""
    if not self._kept:
      return {}
    last = max(int(row[self._fields[0]]) for row in self._kept)
    scores = [float(row['raw_return']) for row in self._kept
              if int(row[self._fields[0]]) == last]
    return {'eval_raw_return_mean': float(np.mean(scores)),
            'eval_raw_return_std': float(np.std(scores)), 'eval_frames': last}

  def append(self, rows: Sequence[Sequence[float]]):
    self._writer.writerows(rows)
    self._file.flush()

  def close(self):
    self._file.close()


class PolicyEvaluator:
  """Plays complete games (all lives) with a policy, one per env of its own batch.

  Each env's first game counts, so that short games are not favoured over long ones
  (taking the first N games to end from a batch would be). Scores are raw (unclipped)
  game scores.
  """

  def __init__(self, policy, env: batched.BatchedFrameEnvironment,
               chunk_steps: int = 50):
    """`env`: the evaluation envs (batch size = games per evaluation)."""
    self.env = env
    self._tf_env = tf_py_environment.TFPyEnvironment(env)
    driver = dynamic_step_driver.DynamicStepDriver(
        self._tf_env, policy, observers=[], num_steps=env.batch_size * chunk_steps)
    self._chunk_steps = chunk_steps
    self._run = common.function(
        lambda time_step: driver.run(time_step, (),
                                     maximum_iterations=self._chunk_steps)[0])

  def play(self, seed: int) -> List[batched.EpisodeRecord]:
    """One complete game per env from `seed`; the records in env order."""
    self.env.reseed(seed)
    seen = self.env.num_finished_episodes
    time_step = self._tf_env.reset()
    firsts = {}
    # Every game ends: Atari truncates at `max_episode_frames`, a sprite ball lands.
    while len(firsts) < self.env.batch_size:
      time_step = self._run(time_step)
      new = self.env.num_finished_episodes - seen
      seen = self.env.num_finished_episodes
      for record in self.env.finished_episodes(last=new) if new else []:
        firsts.setdefault(record.env_index, record)
    return [firsts[i] for i in range(self.env.batch_size)]

  def close(self):
    self.env.close()


class MaskHealth(tf.Module):
  """When the joint mask first collapsed and first recovered, checkpointed.

  Collapsed: the mean of a rollout's masks below `MASK_COLLAPSED_BELOW`; recovered:
  after a collapse, above `MASK_RECOVERED_ABOVE`. -1 until it happens.
  """

  def __init__(self, name: str = 'mask_health'):
    super().__init__(name=name)
    self.collapsed_update = tf.Variable(-1, dtype=tf.int64, trainable=False,
                                        name='collapsed_update')
    self.recovered_update = tf.Variable(-1, dtype=tf.int64, trainable=False,
                                        name='recovered_update')

  def observe(self, update: int, mask_mean: float):
    """Notes update `update` whose rollout's mean mask was `mask_mean`."""
    if self.collapsed_update < 0:
      if mask_mean < MASK_COLLAPSED_BELOW:
        self.collapsed_update.assign(update)
    elif self.recovered_update < 0 and mask_mean > MASK_RECOVERED_ABOVE:
      self.recovered_update.assign(update)

  def record(self) -> Dict[str, Optional[int]]:
    """{'mask_collapsed_update', 'mask_recovered_update'}: an update, or None."""
    def value(variable):
      update = int(variable.numpy())
      return update if update >= 0 else None
    return {'mask_collapsed_update': value(self.collapsed_update),
            'mask_recovered_update': value(self.recovered_update)}


def read_episodes(root_dir: str) -> np.ndarray:
  """A run's finished games: float64 [E, 3] of (frames, raw_return, agent_steps)."""
  return _read_csv(os.path.join(root_dir, EPISODES_CSV), len(_EPISODE_FIELDS))


def read_evaluations(root_dir: str) -> np.ndarray:
  """A run's evaluation games: float64 [E, 5] of (frames, update, game, raw_return,
  agent_steps), in the order played."""
  return _read_csv(os.path.join(root_dir, EVAL_CSV), len(_EVAL_FIELDS))


def _read_csv(path: str, columns: int) -> np.ndarray:
  if not os.path.exists(path):
    return np.zeros((0, columns))
  with warnings.catch_warnings():    # a header and no rows yet
    warnings.simplefilter('ignore', UserWarning)
    data = np.loadtxt(path, delimiter=',', skiprows=1, ndmin=2)
  return data.reshape(-1, columns)


def write_config(config: A2CConfig, root_dir: str):
  """Records the run's settings and provenance in config.json (atomically)."""
  record = dict(dataclasses.asdict(config),
                resolved_precision=precisions.resolve(config.precision),
                package_version=provenance.package_version(),
                git_commit=provenance.git_commit())
  os.makedirs(root_dir, exist_ok=True)
  path = os.path.join(root_dir, CONFIG_JSON)
  with open(path + '.tmp', 'w') as f:
    json.dump(record, f, indent=2)
  os.replace(path + '.tmp', path)


def write_done(root_dir: str, record: Dict[str, float]):
  """Marks a run finished (atomically: written aside, then renamed)."""
  path = os.path.join(root_dir, DONE_JSON)
  with open(path + '.tmp', 'w') as f:
    json.dump(record, f, indent=2)
  os.replace(path + '.tmp', path)


def finished_frames(root_dir: str) -> int:
  """The frame budget a run finished with, or 0 if it has not finished."""
  path = os.path.join(root_dir, DONE_JSON)
  if not os.path.exists(path):
    return 0
  with open(path) as f:
    return int(json.load(f)['total_frames'])
