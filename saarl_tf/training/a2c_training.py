"""The A2C training loop: one update per rollout, resumable.

Each update is one `tf.function`, read top to bottom in `A2CRun._update_fn`: the
rollout (`rollout.RolloutDriver`: T steps of N envs, every forward pass on the
gradient tape; with --env_groups > 1 the emulator steps one group of envs while the
network acts for another), the loss (`A2CAgent.loss` on those forward passes), the
gradients and the optimizer steps (`A2CAgent.apply_gradients`).

A run directory holds config.json, train/ (TensorBoard: raw game scores, evaluation
scores, losses, speed, mask mean and images, all against emulator frames),
checkpoints/ (tf-agents `Checkpointer`: networks, optimizer slots, update counter,
recent-frame ring, return history, mask health), episodes.csv, eval.csv, policy/ (the
greedy policy as a `PolicySaver` SavedModel, at the end) and done.json;
`training.run_files` reads and writes the files, docs/ARCHITECTURE.md lays them out.
"""

import base64
import dataclasses
import json
import os
import time
from typing import Any, Dict, List, NamedTuple, Optional
import warnings

from absl import logging
import numpy as np
import tensorflow as tf
from tf_agents.environments import tf_py_environment
from tf_agents.policies import policy_saver
from tensorboard.plugins.hparams import api as hp
from tf_agents.utils import common

from saarl_tf import config as config_lib
from saarl_tf import envs
from saarl_tf import export
from saarl_tf import plots
from saarl_tf import provenance
from saarl_tf import run_layout
from saarl_tf.agents import a2c
from saarl_tf.envs import batched
from saarl_tf.models import actor_critic
from saarl_tf.models import attention
from saarl_tf.models import precisions
from saarl_tf.training import loop_core
from saarl_tf.training import policy_evaluation
from saarl_tf.training import rollout
from saarl_tf.training import run_files
from saarl_tf.training import run_lease
from saarl_tf.training import stopping

# Env seeds: a start at update u seeds its training envs seed + 7919 u, the k-th
# evaluation seed + 1,000,000 + 7919 k (env i adds i): evaluation apart from
# training, and a prime stride keeps starts and evaluations apart.
_EVAL_SEED_OFFSET = 1_000_000
_SEED_STRIDE = 7919
# The joint mask "collapses" (mean of the rollout's masks below this, seen at
# 0.002-0.005 on Breakout in the authors' code and ours) and "recovers" (back above
# the second); done.json records the first update of each.
MASK_COLLAPSED_BELOW = 0.01
MASK_RECOVERED_ABOVE = 0.05


def _roll_in(variable: tf.Variable, new_values) -> np.ndarray:
  """The variable's values with `new_values` appended and the oldest dropped."""
  values = np.concatenate([variable.numpy(), np.asarray(new_values, np.float32)])
  return values[-int(variable.shape[0]):]


def _encode(value: Any) -> Any:
  """NumPy arrays (anywhere in dicts, lists and tuples) as JSON-able records."""
  if isinstance(value, np.ndarray):
    return {'__array__': base64.b64encode(np.ascontiguousarray(value).tobytes()
                                          ).decode(),
            'dtype': value.dtype.str, 'shape': list(value.shape)}
  if isinstance(value, dict):
    return {key: _encode(item) for key, item in value.items()}
  if isinstance(value, (list, tuple)):
    return [_encode(item) for item in value]
  if isinstance(value, np.generic):
    return value.item()
  return value


def _decode(value: Any) -> Any:
  """`_encode`'s inverse (tuples come back as lists)."""
  if isinstance(value, dict) and '__array__' in value:
    return np.frombuffer(base64.b64decode(value['__array__']),
                         np.dtype(value['dtype'])).reshape(value['shape']).copy()
  if isinstance(value, dict):
    return {key: _decode(item) for key, item in value.items()}
  if isinstance(value, list):
    return [_decode(item) for item in value]
  return value


class RunJournal(tf.Module):
  """What a checkpoint must hold beside the networks for a run to resume exactly:
  every CSV row logged so far, the last update's losses (done.json's) and, where the
  environment can save them, the games in play (`BatchedFrameEnvironment.get_state`).
  One JSON string, written before each save."""

  def __init__(self, name: str = 'run_journal'):
    super().__init__(name=name)
    self.text = tf.Variable('', dtype=tf.string, trainable=False, name='text')

  def record(self, logs: 'CsvLogs', losses: Dict[str, Any],
             env_state: Optional[Dict[str, Any]]):
    self.text.assign(json.dumps({
        'logs': logs.journals(), 'env': _encode(env_state),
        'losses': {name: float(value) for name, value in losses.items()}}))

  def read(self) -> Dict[str, Any]:
    """{'logs': {file name: rows}, 'losses': {name: value}, 'env': state or None};
    empty for a checkpoint written before the journal (or none)."""
    text = self.text.numpy().decode()
    if not text:
      return {}
    record = json.loads(text)
    return dict(record, env=_decode(record['env']))


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


def build_network(config: config_lib.A2CConfig, observation_spec, num_actions: int
                  ) -> actor_critic.ActorCriticNetwork:
  """The actor-critic of `config.variant`; `frozen` loads `config.mask_checkpoint`.

  Raises:
    ValueError: `frozen` without a mask checkpoint.
    FileNotFoundError: the mask checkpoint directory holds no checkpoint.
  """
  module = None
  if config.variant == config_lib.FROZEN:
    if not config.mask_checkpoint:
      raise ValueError('the frozen variant needs a pre-trained mask: set '
                       'mask_checkpoint to a mask pre-training checkpoints/ directory')
    module = export.load_attention(
        config.mask_checkpoint,
        attention.SelfSupervisedAttention(precision=config.precision))
  elif config.variant == config_lib.JOINT:
    module = attention.SelfSupervisedAttention(precision=config.precision)
    if config.mask_init_checkpoint:
      # Warm start: a resumed run's own checkpoint is restored over this later.
      module = attention.restore_attention(config.mask_init_checkpoint, module)
  return actor_critic.ActorCriticNetwork(observation_spec, num_actions,
                                         attention_module=module,
                                         precision=config.precision,
                                         mask_mode=config.mask_mode)


def build_agent(config: config_lib.A2CConfig, time_step_spec, action_spec,
                network: actor_critic.ActorCriticNetwork,
                train_step: Optional[tf.Variable] = None) -> a2c.A2CAgent:
  """The A2C agent of `config` over `network`, with its optimizers."""
  joint = config.variant == config_lib.JOINT
  return a2c.A2CAgent(
      time_step_spec, action_spec, network,
      optimizer=a2c.pytorch_rmsprop(config.rmsprop), variant=config.variant,
      loss=config.loss, num_envs=config.num_envs,
      mask=config.mask if joint else None,
      mask_optimizer=(a2c.mask_adam(config.mask.adam)
                      if joint and config.mask.update == config_lib.SEPARATE else None),
      seed=config.seed, train_step_counter=train_step)


def env_options(config: config_lib.A2CConfig) -> Dict[str, bool]:
  """The Atari options of `config` as environment arguments (none for sprites)."""
  if config.game.lower() == envs.SPRITES.lower():
    return {}
  return dataclasses.asdict(config.env)


def training_env_options(config: config_lib.A2CConfig) -> Dict[str, Any]:
  """The training envs' options: `env_options` and, on Atari, the env groups."""
  options = env_options(config)
  if options:
    options['num_groups'] = config.env_groups
  return options


def eval_env_options(config: config_lib.A2CConfig, mode: str) -> Dict[str, Any]:
  """The evaluation envs' options in `mode`: training's, and in the sticky mode
  sticky actions too (Atari only: the sprites game's games differ by its seed)."""
  options = env_options(config)
  if mode == config_lib.STICKY and options:
    options['sticky_action_prob'] = config.eval.sticky_action_prob
  return options


def environment_specs(config: config_lib.A2CConfig):
  """(time_step_spec, action_spec, frames per agent step) of `config.game`'s env."""
  probe = envs.make_environment(config.game, num_envs=1, seed=0, **env_options(config))
  probe_tf = tf_py_environment.TFPyEnvironment(probe)
  specs = probe_tf.time_step_spec(), probe_tf.action_spec(), probe.frames_per_step
  probe.close()
  return specs


class TrainedNetwork(NamedTuple):
  """A run's settings, its actor-critic with the latest checkpointed weights, the
  env's specs and the update the checkpoint holds."""
  config: config_lib.A2CConfig
  network: actor_critic.ActorCriticNetwork
  time_step_spec: Any
  action_spec: Any
  update: int


def restore_trained_network(root_dir: str) -> TrainedNetwork:
  """The actor-critic of the run in `root_dir` as its latest checkpoint holds it.

  Reads the run's config.json and checkpoints/ only; writes nothing.

  Raises:
    ValueError: `root_dir` holds no config.json or no checkpoint (one line).
  """
  settings = run_files.read_config(root_dir)
  if settings is None:
    raise ValueError(f'{root_dir} is not an A2C run directory: it holds no '
                     f'{run_layout.CONFIG_JSON}')
  latest = tf.train.latest_checkpoint(run_layout.checkpoints_dir(root_dir))
  if latest is None:
    raise ValueError(f'{root_dir} holds no checkpoint in '
                     f'{run_layout.CHECKPOINTS_DIR}/ yet')
  config = config_lib.from_dict(config_lib.A2CConfig, settings)
  time_step_spec, action_spec, _ = environment_specs(config)
  network = build_network(config, time_step_spec.observation,
                          int(action_spec.maximum) + 1)
  train_step = tf.Variable(0, dtype=tf.int64, name='train_step')
  agent = build_agent(config, time_step_spec, action_spec, network, train_step)
  # The Checkpointer's layout (agent=, global_step=); optimizer slots, histories
  # and the frame ring are not needed to act.
  status = tf.train.Checkpoint(agent=agent.network_checkpoint(),
                               global_step=train_step).restore(latest)
  status.expect_partial()
  status.assert_existing_objects_matched()
  return TrainedNetwork(config, network, time_step_spec, action_spec,
                        int(train_step.numpy()))


def train(config: config_lib.A2CConfig, root_dir: str,
          position: Optional[stopping.RunPosition] = None) -> Dict[str, Any]:
  """Runs (or resumes) the A2C run in `root_dir` to its budget; returns its done.json
  record. A finished run is not redone. `position`: its place in a protocol, for
  the progress lines."""
  done = run_layout.finished_record(root_dir, config.total_frames)
  if done:
    return done
  with stopping.phase(f'the set-up of the A2C run {root_dir}'):
    run = A2CRun(config, root_dir)
  try:
    return run.run(position=position)
  finally:
    run.close()


class A2CRun:
  """One resumable A2C run in `root_dir`."""

  def __init__(self, config: config_lib.A2CConfig, root_dir: str):
    """Builds the run, resuming from `root_dir`'s checkpoint if it has one.

    Raises:
      run_files.SettingsChanged: `root_dir` holds a run made with settings that
        alter the run (before anything is built or written).
    """
    self.config = config
    self.root_dir = root_dir
    settings = config_lib.to_dict(config)
    resume_changes = run_files.check_settings(root_dir, settings)
    # One writer per run directory, from before anything is written to after close.
    self.lease = run_lease.Lease(root_dir).acquire()
    try:
      self._build(settings, resume_changes)
    except BaseException:
      self.lease.release()
      raise

  def _build(self, settings: Dict[str, Any], resume_changes: Dict[str, Any]):
    """The run's networks, agent, checkpointer, envs, driver and evaluators."""
    config, root_dir = self.config, self.root_dir
    tf.keras.utils.set_random_seed(config.seed)
    self.train_step = tf.Variable(0, dtype=tf.int64, name='train_step')
    self.history = EpisodeHistory()
    self.mask_health = MaskHealth()
    self.journal = RunJournal()
    self.losses = {}
    # The games in play are checkpointed (the journal) where the environment can
    # save them (sprites); elsewhere a resumed run starts new games, seeded apart
    # from the ones already played.
    time_step_spec, action_spec, self.frames_per_step = environment_specs(config)
    self.network = build_network(config, time_step_spec.observation,
                                 int(action_spec.maximum) + 1)
    self.agent = build_agent(config, time_step_spec, action_spec, self.network,
                             self.train_step)
    self.checkpointer = loop_core.checkpointer(
        root_dir, agent=self.agent, history=self.history, mask_health=self.mask_health,
        journal=self.journal, global_step=self.train_step)
    self.start_update = int(self.train_step.numpy())
    # Games finished so far (the env's counter) and the training speed, both
    # started again by each `_train_until`.
    self._seen_episodes = 0
    self._speed = loop_core.Speedometer(self.start_update)
    self._record_settings(settings, resume_changes)
    self.env = envs.make_environment(
        config.game, num_envs=config.num_envs,
        seed=config.seed + _SEED_STRIDE * self.start_update,
        **training_env_options(config))
    self.driver = rollout.RolloutDriver(self.env, self.agent.collect_policy,
                                        config.rollout_steps, seed=config.seed)
    self._update_step = common.function(self._update_fn)
    # One evaluator per evaluation mode, each on envs of its own.
    self.evaluators = {mode: policy_evaluation.PolicyEvaluator(
        self._evaluation_policy(mode),
        envs.make_environment(config.game, num_envs=config.eval.games,
                              seed=_EVAL_SEED_OFFSET,
                              **eval_env_options(config, mode)))
                       for mode in (config.eval.modes if config.eval.every else ())}

  def _evaluation_policy(self, mode: str):
    """The sample mode's policy samples; the others follow --eval_policy."""
    greedy = mode != config_lib.SAMPLE and self.config.eval.policy == 'greedy'
    return self.agent.policy if greedy else self.agent.collect_policy

  def _record_settings(self, settings: Dict[str, Any],
                       resume_changes: Dict[str, Any]):
    """config.json: the settings, the commit, a frozen run's mask, and per start of
    this run its update, precision and what a resume changed."""
    start = {'update': self.start_update,
             'resolved_precision': precisions.resolve(self.config.precision)}
    if resume_changes:
      start['changed'] = resume_changes
    extra = {}
    if self.config.variant == config_lib.FROZEN:
      # Which mask: by a path a reader can find in the repository and by content.
      extra['mask_provenance'] = {
          'path': provenance.repository_path(self.config.mask_checkpoint),
          'variables': export.mask_digest(self.network.attention_module)}
    run_files.record_start(self.root_dir, settings, start, extra)

  def _write_settings_summaries(self, frames: int):
    """The settings as TensorBoard HParams and as a text summary of config.json."""
    flat = run_files.flatten(config_lib.to_dict(self.config))
    values = {name: value if isinstance(value, (bool, int, float, str)) else
              str(value) for name, value in flat.items()}
    # The scores the HParams dashboard compares runs by.
    metrics = [hp.Metric('episode/raw_return_mean100',
                         display_name='training score (last 100 games)')]
    metrics += [hp.Metric(f'{run_layout.eval_group(mode)}/raw_return_mean',
                          display_name=f'evaluation score ({mode})')
                for mode in self.evaluators]
    hp.hparams_config(hparams=[hp.HParam(name) for name in values], metrics=metrics)
    hp.hparams(values, trial_id=self.root_dir)
    tf.summary.text('config', '```\n' + json.dumps(
        run_files.read_config(self.root_dir), indent=2) + '\n```', frames)

  def _evaluation_due(self, update: int) -> bool:
    every = self.config.eval.every
    return bool(every) and update > 0 and (update % every == 0
                                           or update == self.total_updates)

  def _evaluate(self, update: int, eval_logs: Dict[str, run_files.CsvLog],
                modes: Optional[List[str]] = None):
    """Plays `eval.games` complete games per evaluation mode (all, or `modes`) with
    the current weights (the same seeds in every mode); logs them."""
    seed = (self.config.seed + _EVAL_SEED_OFFSET
            + _SEED_STRIDE * (update // self.config.eval.every))
    frames = update * self.frames_per_update
    for mode in modes or list(self.evaluators):
      evaluator = self.evaluators[mode]
      with stopping.phase(f'an evaluation ({mode}) of the A2C run {self.root_dir} '
                          f'at update {update} (checkpointed; it is played again)'):
        games = evaluator.play(seed)
      eval_logs[mode].append([(frames, update, i, game.raw_return, game.agent_steps)
                              for i, game in enumerate(games)])
      scores = np.array([game.raw_return for game in games])
      distinct = run_files.count_distinct_games(
          [game.raw_return for game in games], [game.agent_steps for game in games])
      group = run_layout.eval_group(mode)
      # To the loop's writer (the default one).
      tf.summary.scalar(f'{group}/raw_return_mean', scores.mean(), frames)
      tf.summary.scalar(f'{group}/raw_return_std', scores.std(), frames)
      tf.summary.scalar(f'{group}/raw_return_min', scores.min(), frames)
      tf.summary.scalar(f'{group}/raw_return_max', scores.max(), frames)
      tf.summary.scalar(f'{group}/length_mean',
                        np.mean([game.agent_steps for game in games]), frames)
      tf.summary.scalar(f'{group}/distinct_games', distinct, frames)
      logging.info('Evaluation (%s) at %d frames: %s games (%d distinct), mean raw '
                   'score %.1f (+- %.1f)', mode, frames, len(games), distinct,
                   scores.mean(), scores.std())

  @property
  def frames_per_update(self) -> int:
    return self.config.frames_per_update(self.frames_per_step)

  @property
  def total_updates(self) -> int:
    return -(-self.config.total_frames // self.frames_per_update)   # ceil

  def _update_fn(self, time_step):
    """One update, as one `tf.function`: the rollout from `time_step` with every
    forward pass on the tape, L_RL (and L_mask) on those forward passes, the
    gradients, the optimizer steps. Returns the time step the envs are in and the
    losses."""
    with tf.GradientTape(persistent=self.agent.trains_mask) as tape:
      experience, time_step = self.driver.run(time_step, self.train_step)
      losses = self.agent.loss(experience, taped_outputs=True)
    return time_step, self.agent.apply_gradients(tape, losses).extra

  def run(self, num_updates: Optional[int] = None,
          position: Optional[stopping.RunPosition] = None) -> Dict[str, Any]:
    """Trains until `num_updates` (default: the whole budget) updates are done.

    A finished run (done.json for this budget) is not touched: its record comes back.
    SIGTERM or SIGINT ends the loop at the next update boundary, after which the
    checkpoint, logs and TensorBoard are written and `stopping.RunInterrupted` raised.

    Returns:
      The last losses, the mean raw return/length of the last 100 games, the last
      evaluation and, with a mask, when it collapsed and recovered.
    """
    done = run_layout.finished_record(self.root_dir, self.config.total_frames)
    if done:
      return done
    target = self.total_updates if num_updates is None else min(num_updates,
                                                                self.total_updates)
    resumed_frames = self._update() * self.frames_per_update
    if resumed_frames:
      logging.info('Resuming %s at update %d (%d frames)', self.root_dir,
                   self._update(), resumed_frames)
    progress = (stopping.Progress(self.config.total_frames, resumed_frames,
                                  self.frames_per_step, position=position)
                if self.config.schedule.progress else None)
    journal = self.journal.read()
    self.losses = journal.get('losses', self.losses)
    with CsvLogs(self.root_dir, self.evaluators, resumed_frames,
                 journal.get('logs')) as logs, \
        loop_core.TrainingLoop(
            self.root_dir, self.checkpointer, self._update, progress,
            before_save=lambda: self.journal.record(logs, self.losses,
                                                    self.env.get_state())
        ) as loop:
      self._write_settings_summaries(resumed_frames)
      self._redo_cut_evaluation(logs, resumed_frames)
      time_step = self._train_until(target, loop, logs, journal.get('env'))
      self._write_last_mask_images(time_step.observation)
    if self.lease.lost:
      raise run_lease.RunBusy(f'{self.root_dir}: another process took over this '
                              f'run at update {self._update()}; this one stopped')
    with stopping.phase(f'the end of the A2C run {self.root_dir} (its training is '
                        'done and checkpointed)'):
      return self._finish(logs)

  def _update(self) -> int:
    """Updates done (the checkpointed counter)."""
    return int(self.train_step.numpy())

  def _redo_cut_evaluation(self, logs: 'CsvLogs', resumed_frames: int):
    """An evaluation cut by a stop is played again in the modes whose rows were
    dropped or never written."""
    update = self._update()
    cut = [mode for mode, log in logs.evaluations.items()
           if not log.has_frames(resumed_frames)]
    if self._evaluation_due(update) and cut:
      self._evaluate(update, logs.evaluations, cut)

  def _train_until(self, target: int, loop: loop_core.TrainingLoop,
                   logs: 'CsvLogs', env_state: Optional[Dict[str, Any]] = None):
    """Collect-and-train iterations until `target` updates, a stop or a lost lease,
    continuing the games `env_state` holds (a checkpoint's) or starting new ones;
    returns the time step the last rollout ended in."""
    if env_state:
      self.env.set_state(env_state)
      time_step = tf.nest.map_structure(
          tf.convert_to_tensor, self.env.current_time_step())
    else:
      time_step = self.driver.reset()
    self._seen_episodes = self.env.num_finished_episodes
    self._speed = loop_core.Speedometer(self._update())
    while self._update() < target and loop.running and not self.lease.lost:
      time_step, self.losses = self._update_step(time_step)
      self._record_update(logs)
      self._periodic_work(target, time_step.observation, logs, loop)
    return time_step

  def _record_update(self, logs: 'CsvLogs'):
    """The games the last rollout finished (history, episodes.csv) and the mask's
    health."""
    update = self._update()
    new = self.env.num_finished_episodes - self._seen_episodes
    self._seen_episodes = self.env.num_finished_episodes
    if new:
      records = self.env.finished_episodes(last=new)
      self.history.add(records)
      logs.episodes.append([(update * self.frames_per_update, r.raw_return,
                             r.agent_steps) for r in records])
    if (self.config.variant == config_lib.JOINT
        and update > self.config.mask.start_update):
      self.mask_health.observe(update, float(self.losses['rollout_mask_mean']))

  def _periodic_work(self, target: int, observations, logs: 'CsvLogs',
                     loop: loop_core.TrainingLoop):
    """Summaries and progress, mask images, evaluation and checkpoints when due."""
    schedule, update = self.config.schedule, self._update()
    frames = update * self.frames_per_update
    if loop_core.due(update, schedule.summary_every, target):
      self._write_scalars(self.losses, frames,
                          self._speed.rate(update) * self.frames_per_update)
      if loop.progress:
        loop.progress.update(frames, self.history.means().get('raw_return'))
    if update % schedule.image_every == 0 and self.network.attention_module:
      self._write_mask_images(observations, frames)
    if self._evaluation_due(update):
      started = time.perf_counter()
      self._evaluate(update, logs.evaluations)
      seconds = time.perf_counter() - started             # not training time
      self._speed.pause(seconds)
      if loop.progress:
        loop.progress.pause(seconds)
    if loop_core.checkpoint_due(update, schedule.checkpoint_every, target):
      loop.save()

  def _write_last_mask_images(self, observations):
    """Every run ends with its mask in TensorBoard, however short."""
    update = self._update()
    if (self.network.attention_module and update % self.config.schedule.image_every
        and update > self.start_update):
      self._write_mask_images(observations, update * self.frames_per_update)

  def _finish(self, logs: 'CsvLogs') -> Dict[str, Any]:
    """The run's record; at the end of the budget also its policy and done.json."""
    result = {k: float(v) for k, v in self.losses.items()}
    result.update({f'mean100_{k}': v for k, v in self.history.means().items()})
    for mode, log in logs.evaluations.items():
      result.update(log.last_mean(run_layout.eval_group(mode)))
    if self.network.attention_module is not None:
      result.update(self.mask_health.record())
    update = self._update()
    if update >= self.total_updates:
      self.save_policy()
      result.update(total_frames=self.config.total_frames, updates=update)
      run_files.write_done(self.root_dir, result)
    return result

  def _write_scalars(self, losses, frames: int, fps: float):
    for name, value in losses.items():
      if name == 'total' and not (self.config.variant == config_lib.JOINT
                                  and self.config.mask.update == config_lib.SUMMED):
        continue              # the same as rl_total unless L_mask is summed in
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
    """Newest frames with their masks, 3x, labelled with the game and frame count."""
    observations = observations[:max_outputs]
    masks = self.network.mask(observations)
    overlays = plots.mask_overlay(
        attention.preprocess_frames(observations).numpy(), masks.numpy(), scale=3)
    labels = [f'{self.config.game}, frame {frames:,}, env {i}'
              for i in range(len(overlays))]
    tf.summary.image('mask/overlay', plots.labelled_pictures(overlays, labels),
                     frames, max_outputs)

  def save_policy(self):
    """The greedy policy, as a `PolicySaver` SavedModel in `root_dir/policy`."""
    # PolicySaver warns once per nested input name that tf.function renames; the
    # names inside the SavedModel are its own business, not the user's.
    # Likewise TensorFlow's note that loading needs TFP's Deterministic spec
    # registered (the README's snippet imports tensorflow_probability first).
    verbosity = logging.get_verbosity()
    logging.set_verbosity(logging.ERROR)
    try:
      with warnings.catch_warnings():
        warnings.filterwarnings('ignore', message='Encoding a StructuredValue')
        saver = policy_saver.PolicySaver(self.agent.policy,
                                         train_step=self.train_step)
        saver.save(os.path.join(self.root_dir, run_layout.POLICY_DIR))
    finally:
      logging.set_verbosity(verbosity)

  def close(self):
    self.env.close()
    for evaluator in self.evaluators.values():
      evaluator.close()
    self.lease.release()


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

  def record(self) -> Dict[str, Any]:
    """{'mask_collapsed_update', 'mask_recovered_update'}: an update, or None."""
    def value(variable):
      update = int(variable.numpy())
      return update if update >= 0 else None
    return {'mask_collapsed_update': value(self.collapsed_update),
            'mask_recovered_update': value(self.recovered_update)}


class CsvLogs:
  """A run's CSV logs, open while it trains: episodes.csv and one evaluation log
  per mode (`run_files.CsvLog`, cut back to the checkpoint on opening)."""

  def __init__(self, root_dir: str, modes, resumed_frames: int,
               journals: Optional[Dict[str, str]] = None):
    """`journals`: each file's rows as a checkpoint recorded them (`journals()`)."""
    journals = journals or {}
    self.episodes = run_files.CsvLog(
        os.path.join(root_dir, run_layout.EPISODES_CSV), run_files.EPISODE_FIELDS,
        resumed_frames, journals.get(run_layout.EPISODES_CSV))
    self.evaluations = {mode: run_files.CsvLog(
        os.path.join(root_dir, run_layout.eval_csv(mode)), run_files.EVAL_FIELDS,
        resumed_frames, journals.get(run_layout.eval_csv(mode))) for mode in modes}

  def journals(self) -> Dict[str, str]:
    """Each file's rows so far, by file name."""
    return dict({run_layout.EPISODES_CSV: self.episodes.journal()},
                **{run_layout.eval_csv(mode): log.journal()
                   for mode, log in self.evaluations.items()})

  def __enter__(self) -> 'CsvLogs':
    return self

  def __exit__(self, *exc_info) -> bool:
    self.episodes.close()
    for log in self.evaluations.values():
      log.close()
    return False
