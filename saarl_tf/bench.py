r"""Throughput benchmarks: `python -m saarl_tf.bench --what=env|train|profile|executors`.

  env    the raw `AtariVectorEnv` against our environment under tf-agents drivers;
  train  the A2C training loops (`baseline`, `joint`, `frozen`) as users run them
         (summaries on at their default rate, checkpoints off) and the raw emulator,
         each in a long-lived process of its own (so that its peak resident memory
         is its own), their rounds interleaved. With `--sb3_python=/path/to/python`
         (an interpreter that has stable-baselines3, PyTorch and absl-py),
         Stable-Baselines3's A2C on the same game and settings is measured beside
         them, for comparison.
  profile  where one update's time goes: one variant's training loop under
         TensorFlow's profiler; each op's thread time is charged to a part of the
         update (the environment step, the actor-critic, the mask generator and its
         layer norms, the encoder, the decoder, the optimizers), forward and backward
         apart, per update; the trace stays in `--trace_dir` for TensorBoard.
  executors  the wall-clock of the smoke protocols (launch/smoke.flags) run one after
         another (`--executor=local`) and as Ray tasks (`--executor=ray`, with
         `--cpus_per_run`), each from a fresh process and a fresh root directory.

Every measurement is in agent steps per second (one agent step = 4 emulator frames)
summed over the batch of environments, after warm-up. Measurements of different
configurations are interleaved round by round and the median is reported, so that a
slow spell of the machine hits every configuration alike. Each result names the
machine (`provenance.machine`: CPU, its AVX-512 and bfloat16 flags, library
versions, oneDNN on or off), the precision and the thread pools. Run under
`ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2`, every
process (Stable-Baselines3's included) computes with AVX2 kernels at most, as on an
AVX2-only CPU; the output names the caps.
"""

import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Dict, Optional, Tuple

from absl import app
from absl import flags
import numpy as np

from saarl_tf import config as config_lib
from saarl_tf import provenance
from saarl_tf import run_layout
from saarl_tf import runtime
from saarl_tf.models import precisions

runtime.prefer_onednn()      # before TensorFlow loads, as the launcher does

_WHAT = flags.DEFINE_enum('what', 'env',
                          ['env', 'train', 'profile', 'executors', 'train_one',
                           'sb3_one'],
                          'Which benchmark to run (train_one: one variant, sb3_one: '
                          'Stable-Baselines3; both internal).')
_UPDATES = flags.DEFINE_integer('updates', 100, 'train: A2C updates per round.')
_GAME = flags.DEFINE_string('game', 'Breakout', 'Atari game to benchmark on.')
_STEPS = flags.DEFINE_integer('steps', 300, 'Batched steps per measurement round.')
_ROUNDS = flags.DEFINE_integer('rounds', 5, 'Interleaved measurement rounds.')
_JSON = flags.DEFINE_bool('json', False, 'Print one JSON object instead of a table.')
# As the launcher's: --variant (train_one), --num_envs, --env_groups, --precision,
# --mask_pairs.
config_lib.define_flags(flags.FLAGS, config_lib.A2CConfig,
                        only=('variant', 'num_envs', 'env_groups', 'precision',
                              'mask_pairs'))
_CPUS_PER_RUN = flags.DEFINE_float('cpus_per_run', 1, 'executors: CPUs per Ray task.')
_TRACE_DIR = flags.DEFINE_string('trace_dir', None, 'profile: where the TensorFlow '
                                 'trace is kept (default: a temporary directory, '
                                 'deleted).')
_SB3_PYTHON = flags.DEFINE_string('sb3_python', None, 'train: a Python interpreter with '
                                  'stable-baselines3, to measure its A2C beside ours.')
_BEFORE = flags.DEFINE_string('before', None, 'train: a checkout of another commit (e.g. '
                              'a git worktree) whose baseline, joint and frozen are '
                              'measured in the same rounds, as "<variant> (before)".')
_SERVE = flags.DEFINE_bool('serve', False, 'train_one, sb3_one, env: after warm-up, one '
                           "round per 'round' line on stdin (internal: --what=train).")
runtime.define_flags(flags.FLAGS)


def _peak_rss_mib() -> float:
  """This process's peak resident memory so far, in MiB (Linux reports KiB)."""
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _median_rate(fns: Dict[str, Callable[[], int]], rounds: int) -> Dict[str, float]:
  """Runs each fn once per round, interleaved; fn returns agent steps it made."""
  rates = {name: [] for name in fns}
  for _ in range(rounds):
    for name, fn in fns.items():
      start = time.perf_counter()
      steps = fn()
      rates[name].append(steps / (time.perf_counter() - start))
  return {name: statistics.median(r) for name, r in rates.items()}


def raw_env_rounds(game: str, num_envs: int, steps: int):
  """(a round of `steps` batched steps of ale-py's `AtariVectorEnv` with random
  actions, returning the agent steps it made; the env)."""
  from ale_py.vector_env import AtariVectorEnv  # pylint: disable=g-import-not-at-top
  from saarl_tf.envs import games  # pylint: disable=g-import-not-at-top
  raw = AtariVectorEnv(games.ale_game_id(game), num_envs, reward_clipping=False)
  raw.reset(seed=0)
  rng = np.random.default_rng(0)
  num_actions = raw.single_action_space.n

  def run_raw():
    for _ in range(steps):
      raw.step(rng.integers(0, num_actions, num_envs, dtype=np.int32))
    return steps * num_envs
  return run_raw, raw


def bench_env(game: str, num_envs: int, steps: int, rounds: int) -> Dict[str, float]:
  """Raw `AtariVectorEnv` against `AtariEnvironment` under tf-agents drivers.

  Both step `num_envs` games with uniformly random actions.

  Returns:
    agent steps/s of: 'raw_vector_env'; 'tf_driver' (`TFPyEnvironment` +
    `DynamicStepDriver` + `RandomTFPolicy`, one `steps`-long run per call);
    'tf_driver_5_step_calls' (the same, one 5-step rollout per call, as A2C
    collects); and each driver's '..._ratio' to the raw env.
  """
  # Imported here so that `--help` and flag errors come back without TF's start-up.
  from tf_agents.drivers import dynamic_step_driver
  from tf_agents.environments import tf_py_environment
  from tf_agents.policies import random_tf_policy
  from tf_agents.utils import common

  from saarl_tf.envs import atari

  run_raw, raw = raw_env_rounds(game, num_envs, steps)

  tf_env = tf_py_environment.TFPyEnvironment(
      atari.AtariEnvironment(game, num_envs=num_envs, seed=0))
  policy = random_tf_policy.RandomTFPolicy(tf_env.time_step_spec(),
                                           tf_env.action_spec())
  state = {'time_step': tf_env.reset()}

  def make_driver_fn(steps_per_call):
    driver = dynamic_step_driver.DynamicStepDriver(
        tf_env, policy, num_steps=steps_per_call * num_envs)
    driver_run = common.function(driver.run)

    def run():
      for _ in range(steps // steps_per_call):
        state['time_step'], _ = driver_run(state['time_step'])
      return (steps // steps_per_call) * steps_per_call * num_envs
    return run

  fns = {'raw_vector_env': run_raw,
         'tf_driver': make_driver_fn(steps),
         'tf_driver_5_step_calls': make_driver_fn(5)}
  for fn in fns.values():
    fn()  # warm-up; traces the drivers
  rates = _median_rate(fns, rounds)
  for key in ('tf_driver', 'tf_driver_5_step_calls'):
    rates[key + '_ratio'] = rates[key] / rates['raw_vector_env']
  raw.close()
  tf_env.close()
  return rates


def _training_run(root: str, game: str, variant: str, num_envs: int,
                  precision: str, mask_pairs: int, env_groups: int = 1):
  """An A2C run in `root` as the training benchmarks measure it: the training loop
  alone (no evaluation games, no checkpoints, no progress line), warmed up (its
  update traced). Returns (run, config)."""
  # pylint: disable=g-import-not-at-top
  import tensorflow as tf
  from saarl_tf.models import attention
  from saarl_tf.training import a2c_training
  mask_checkpoint = None
  if variant == config_lib.FROZEN:
    module = attention.SelfSupervisedAttention()
    module.create_variables()
    mask_checkpoint = run_layout.mask_run_dir(root)
    tf.train.Checkpoint(model=module).save(os.path.join(mask_checkpoint, 'ckpt'))
  config = config_lib.replace(
      config_lib.A2CConfig(), game=game, variant=variant, num_envs=num_envs,
      env_groups=env_groups if game.lower() != 'sprites' else 1,
      total_frames=10**12, mask_checkpoint=mask_checkpoint, precision=precision,
      **{'mask.pairs': mask_pairs, 'eval.every': 0,
         'schedule.checkpoint_every': 10**9, 'schedule.progress': False})
  run = a2c_training.A2CRun(config, os.path.join(root, 'run'))
  run.run(20)   # warm-up: traces the update
  return run, config


def _cores_busy(function: Callable[[], Any]) -> Tuple[Any, float]:
  """`function()` and the cores this process kept busy meanwhile (CPU time over
  wall-clock: every thread, the emulator's included)."""
  before, start = os.times(), time.perf_counter()
  result = function()
  after, wall = os.times(), time.perf_counter() - start
  cpu = after.user + after.system - before.user - before.system
  return result, cpu / max(wall, 1e-9)


def train_one_rounds(game: str, variant: str, num_envs: int, updates: int,
                     precision: str, mask_pairs: int, env_groups: int,
                     root: str) -> Tuple[Callable[[], int], Callable[[], Dict]]:
  """One A2C variant's training loop, warmed up: (a round of `updates` updates
  returning the agent steps it made, the record: precision, oneDNN, cores busy in
  the last round, peak RSS)."""
  run, config = _training_run(root, game, variant, num_envs, precision, mask_pairs,
                              env_groups)
  busy = {}

  def train_round():
    _, busy['cores'] = _cores_busy(
        lambda: run.run(int(run.train_step.numpy()) + updates))
    return updates * num_envs * config.rollout_steps

  def record():
    run.close()
    return {'variant': variant, 'precision': precisions.resolve(precision),
            'onednn': precisions.onednn_enabled(), 'cores_busy': busy.get('cores'),
            'peak_rss_mib': _peak_rss_mib(),
            'package': os.path.dirname(os.path.abspath(__file__))}
  return train_round, record


def bench_train_one(game: str, variant: str, num_envs: int, updates: int,
                    rounds: int, precision: str, mask_pairs: int,
                    env_groups: int = 1) -> Dict[str, Any]:
  """Agent steps/s of one A2C variant's training loop (5-step rollouts), median of
  `rounds` rounds of `updates` updates after a warm-up, with `train_one_rounds`'
  record."""
  with tempfile.TemporaryDirectory() as root:
    train_round, record = train_one_rounds(game, variant, num_envs, updates,
                                           precision, mask_pairs, env_groups, root)
    rate = _median_rate({variant: train_round}, rounds)[variant]
    return {'agent_steps_per_s': rate, **record()}


def _serve(round_fn: Callable[[], int], record: Callable[[], Dict[str, Any]]):
  """A benchmark process of `bench_train`: says it is ready, then plays one round per
  'round' line on stdin, printing its agent steps/s as JSON; on 'end', prints
  `record()`."""
  print(json.dumps({'ready': True}), flush=True)
  for line in sys.stdin:
    if line.strip() != 'round':
      break
    start = time.perf_counter()
    steps = round_fn()
    print(json.dumps({'rate': steps / (time.perf_counter() - start)}), flush=True)
  print(json.dumps(record()), flush=True)


# The parts of an update an op is charged to, by the name scopes Keras and the agent
# give it, first match wins ('gradient_tape/' marks the backward pass: a custom
# gradient's ops would need a scope of their own to be told apart).
PROFILE_PARTS = (
    ('environment step (Python + emulator)', ('EagerPyFunc', 'PyFunc')),
    ('decoder', ('decoder/',)),
    ('mask generator layer norms', ('mask_generator/convs/norm',)),
    ('mask generator', ('mask_generator/',)),
    ('encoder', ('encoder/',)),
    ('actor-critic', ('conv0/', 'conv1/', 'conv2/', 'hidden/', 'logits/', 'value/',
                      'flatten/')),
    ('optimizers', ('RMSprop/', 'Adam/')),
)
# Ops that only run other ops (loops, conditionals, function calls): their events
# span their children's, which are counted themselves.
_CONTAINER_OPS = ('While', 'StatelessWhile', 'If', 'StatelessIf', 'PartitionedCall',
                  'StatefulPartitionedCall', 'Case', 'StatelessCase')


def profile_part(event_name: str) -> Optional[str]:
  """The part of an update a TensorFlow op event belongs to.

  Args:
    event_name: a profiler event of a TensorFlow op, 'scope/.../name:OpType'.

  Returns:
    '<part> forward' or '<part> backward' (a part of `PROFILE_PARTS`, or 'other'),
    or None for an event that is not an op's own work (executor bookkeeping, ops that
    only contain other ops).
  """
  name, _, op_type = event_name.rpartition(':')
  if not name or '::' in event_name or op_type in _CONTAINER_OPS:
    return None
  backward = 'gradient_tape/' in name
  for part, markers in PROFILE_PARTS:
    if any(marker in name or marker == op_type for marker in markers):
      return part if part.startswith('environment') else (
          f'{part} {"backward" if backward else "forward"}')
  return f'other {"backward" if backward else "forward"}'


def bench_profile(game: str, variant: str, num_envs: int, updates: int,
                  precision: str, mask_pairs: int,
                  trace_dir: Optional[str] = None,
                  env_groups: int = 1) -> Dict[str, Any]:
  """Where the time of one variant's update goes, from TensorFlow's profiler.

  Returns:
    'wall_ms_per_update': the loop's wall-clock per update while profiled (the
      checkpoint the loop saves at its end included);
    'thread_ms_per_update': {part: ms of TensorFlow threads' time per update}, summed
    over threads (two threads busy at once count twice), largest first;
    'busy_threads': their sum over the wall-clock (the mean number of busy threads);
    'cores_busy': the process's CPU time over the wall-clock (every thread, the
    emulator's too); 'precision', 'updates' and 'trace_dir' (None once deleted).
  """
  # pylint: disable=g-import-not-at-top
  import tensorflow as tf
  # The profiler's own trace format (XSpace), as TensorFlow 2.15 (pinned) ships it.
  from tensorflow.tsl.profiler.protobuf import xplane_pb2
  with tempfile.TemporaryDirectory() as root:
    run, _ = _training_run(root, game, variant, num_envs, precision, mask_pairs,
                           env_groups)
    trace = trace_dir or os.path.join(root, 'trace')
    first = int(run.train_step.numpy())
    tf.profiler.experimental.start(trace)
    start = time.perf_counter()
    _, cores_busy = _cores_busy(lambda: run.run(first + updates))
    wall = time.perf_counter() - start
    tf.profiler.experimental.stop()
    run.close()
    parts = {}
    for path in tf.io.gfile.glob(os.path.join(trace, 'plugins', 'profile', '*',
                                              '*.xplane.pb')):
      space = xplane_pb2.XSpace.FromString(tf.io.gfile.GFile(path, 'rb').read())
      for plane in space.planes:
        for line in plane.lines:
          if not line.name.startswith('tf_Compute'):
            continue
          for event in line.events:
            part = profile_part(plane.event_metadata[event.metadata_id].name)
            if part:
              parts[part] = parts.get(part, 0.0) + event.duration_ps / 1e9 / updates
  total = sum(parts.values())
  return {'wall_ms_per_update': wall * 1000 / updates,
          'thread_ms_per_update': dict(sorted(parts.items(), key=lambda kv: -kv[1])),
          'busy_threads': total / (wall * 1000 / updates), 'cores_busy': cores_busy,
          'precision': precisions.resolve(precision), 'updates': updates,
          'trace_dir': trace_dir}


# What the Stable-Baselines3 interpreter needs (module, package): SB3's Atari wrappers
# assert that OpenCV is installed; OpenCV below 4.11 keeps NumPy 1.x.
SB3_PACKAGES = (('stable_baselines3', 'stable-baselines3'), ('torch', 'torch'),
                ('cv2', 'opencv-python-headless<4.11'), ('ale_py', 'ale-py==0.12.1'),
                ('absl', 'absl-py'), ('numpy', 'numpy<2'))
SB3_PIP = ' '.join(f'"{package}"' for _, package in SB3_PACKAGES)


def bench_sb3_one(game: str, num_envs: int, updates: int, rounds: int,
                  serve: bool = False) -> Dict[str, float]:
  """Stable-Baselines3's A2C as its RL zoo runs Atari, median agent steps/s.

  `make_atari_env` (noop, frame skip 4 with max-pooling, episodic life, FIRE reset,
  84x84 gray, reward clipping), 4-frame stack, n_steps 5, RMSpropTFLike, entropy 0.01
  and value loss weight 0.5, gradient norm clipped at 0.5: our settings
  (`config.A2CConfig`'s defaults). Runs in an interpreter that has stable-baselines3
  (no TF needed). `serve`: as a process of `bench_train` (`_serve`).
  """
  missing = [package for module, package in SB3_PACKAGES
             if importlib.util.find_spec(module) is None]
  if missing:
    raise SystemExit(f'the Stable-Baselines3 interpreter {sys.executable} lacks '
                     f'{", ".join(missing)}: pip install {SB3_PIP}')
  # pylint: disable=g-import-not-at-top
  import ale_py
  import gymnasium
  from stable_baselines3 import A2C
  from stable_baselines3.common.env_util import make_atari_env
  from stable_baselines3.common.sb2_compat.rmsprop_tf_like import RMSpropTFLike
  from stable_baselines3.common.vec_env import VecFrameStack

  from saarl_tf.envs.games import ale_game_id
  gymnasium.register_envs(ale_py)
  env_id = ''.join(part.capitalize() for part in ale_game_id(game).split('_'))
  env = VecFrameStack(make_atari_env(f'{env_id}NoFrameskip-v4', n_envs=num_envs,
                                     seed=0), n_stack=4)
  model = A2C('CnnPolicy', env, n_steps=5, ent_coef=0.01, vf_coef=0.5, seed=0,
              policy_kwargs=dict(optimizer_class=RMSpropTFLike,
                                 optimizer_kwargs=dict(eps=1e-5)), device='cpu')
  model.learn(20 * num_envs * 5)   # warm-up

  def train_round():
    model.learn(updates * num_envs * 5, reset_num_timesteps=False)
    return updates * num_envs * 5

  def record():
    env.close()
    return {'peak_rss_mib': _peak_rss_mib()}
  if serve:
    _serve(train_round, record)
    return {}
  rate = _median_rate({'sb3': train_round}, rounds)['sb3']
  return {'agent_steps_per_s': rate, **record()}


class _Child:
  """One benchmark process of `bench_train`, serving rounds (`_serve`)."""

  def __init__(self, name: str, command, environment, cwd: Optional[str] = None):
    self.name = name
    self.process = subprocess.Popen(command, stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, env=environment, cwd=cwd)
    self.rates = []
    self._read('ready')

  def _read(self, key: str) -> Dict[str, Any]:
    """The next JSON line holding `key` that the process prints."""
    for line in self.process.stdout:
      if line.startswith('{'):
        record = json.loads(line)
        if key in record:
          return record
    error = self.process.stderr.read().strip().splitlines() or ['no output']
    raise RuntimeError(f'benchmark of {self.name} failed: {error[-1]}')

  def round(self):
    self.process.stdin.write('round\n')
    self.process.stdin.flush()
    self.rates.append(self._read('rate')['rate'])

  def end(self) -> Dict[str, Any]:
    self.process.stdin.write('end\n')
    self.process.stdin.flush()
    record = self._read('peak_rss_mib')
    self.process.wait()
    return dict(record, agent_steps_per_s=statistics.median(self.rates))


def bench_train(game: str, num_envs: int, updates: int, rounds: int, steps: int,
                precision: str, mask_pairs: int, env_groups: int = 1,
                sb3_python: Optional[str] = None,
                threads: Tuple[int, int] = (runtime.DEFAULT_INTRA_OP_THREADS,
                                            runtime.DEFAULT_INTER_OP_THREADS),
                before: Optional[str] = None) -> Dict[str, Any]:
  """The raw env, every A2C variant and optionally SB3, each in a long-lived process
  of its own, warmed up one after another, then measured round by round in turn
  (one process works at a time); the median round of each, and `machine`. With
  `before` (a checkout of another commit), its variants too, as '<variant> (before)',
  each run from that checkout's own package."""
  common = [f'--game={game}', f'--num_envs={num_envs}', f'--updates={updates}',
            f'--steps={steps}', '--serve', '--json']
  ours = [sys.executable, '-m', 'saarl_tf.bench', f'--intra_op_threads={threads[0]}',
          f'--inter_op_threads={threads[1]}']
  train = ['--what=train_one', f'--precision={precision}', f'--mask_pairs={mask_pairs}',
           f'--env_groups={env_groups}']
  commands = {'raw_vector_env': ours + ['--what=env'],
              'baseline': ours + train + ['--variant=baseline'],
              'joint': ours + train + ['--variant=joint'],
              'frozen': ours + train + ['--variant=frozen']}
  if sb3_python:
    commands['stable_baselines3'] = [sb3_python, '-m', 'saarl_tf.bench',
                                     '--what=sb3_one']
  # So that another interpreter finds this package too.
  environment = dict(os.environ, PYTHONPATH=provenance.pythonpath_with_package())
  places = {name: (environment, None) for name in commands}
  if before:
    before = os.path.abspath(before)
    for variant in config_lib.VARIANTS:
      name = f'{variant} (before)'
      commands[name] = commands[variant]
      places[name] = (dict(os.environ, PYTHONPATH=before), before)
  children = []
  try:
    for name, command in commands.items():
      children.append(_Child(name, command + common, *places[name]))
    for _ in range(rounds):
      for child in children:
        child.round()
    results = {child.name: child.end() for child in children}
  finally:
    for child in children:
      if child.process.poll() is None:
        child.process.kill()
  limit = results['raw_vector_env']['agent_steps_per_s']
  for record in results.values():
    record['frames_per_s'] = 4 * record['agent_steps_per_s']
    record['of_raw'] = record['agent_steps_per_s'] / limit
  onednn = results['baseline'].get('onednn')
  return dict(results, machine=provenance.machine(onednn),
              threads={'intra_op': threads[0], 'inter_op': threads[1]},
              env_groups=env_groups)


def bench_executors(cpus_per_run: float) -> Dict[str, Dict[str, float]]:
  """Seconds the smoke protocols take with each executor, and the most runs seen in
  flight at once (started, config.json written, not yet done), polled every 0.2 s."""
  import glob  # pylint: disable=g-import-not-at-top
  results = {}
  for executor in ('local', 'ray'):
    with tempfile.TemporaryDirectory() as root:
      command = [sys.executable, '-m', 'saarl_tf.launch',
                 '--flagfile=launch/smoke.flags', f'--root_dir={root}/runs',
                 f'--export_dir={root}/export', f'--executor={executor}',
                 f'--cpus_per_run={cpus_per_run}']
      started = time.perf_counter()
      log = open(os.path.join(root, 'log'), 'w+')   # a pipe could fill and block
      process = subprocess.Popen(command, cwd=provenance.package_root(),
                                 stdout=subprocess.DEVNULL,
                                 stderr=log, text=True,
                                 env=dict(os.environ, RAY_USAGE_STATS_ENABLED='0'))
      in_flight = 0
      while process.poll() is None:
        # root/runs/<protocol>/ is each protocol's root (`--experiment=all`).
        protocol_roots = os.path.join(root, run_layout.RUNS_DIR, '*')
        runs = glob.glob(run_layout.run_dir(protocol_roots, '*', '*', '*'))
        in_flight = max(in_flight, sum(
            os.path.exists(os.path.join(run, run_layout.CONFIG_JSON))
            and not os.path.exists(os.path.join(run, run_layout.DONE_JSON))
            for run in runs))
        time.sleep(0.2)
      seconds = time.perf_counter() - started
      log.seek(0)
      error = log.read()
      log.close()
    if process.returncode:
      raise RuntimeError(f'benchmark of --executor={executor} failed: '
                         f'{error.strip().splitlines()[-1]}')
    results[executor] = {'seconds': seconds, 'runs_in_flight': in_flight}
  return results


def _main_executors():
  results = bench_executors(_CPUS_PER_RUN.value)
  if _JSON.value:
    print(json.dumps({'benchmark': 'executors', 'cpus': os.cpu_count(),
                      'cpus_per_run': _CPUS_PER_RUN.value, **results}))
    return
  print(f'launch/smoke.flags (every protocol, tiny budget), {os.cpu_count()} CPUs')
  for name, record in results.items():
    print(f'--executor={name:<6}{record["seconds"]:>8.1f} s wall-clock, '
          f'{record["runs_in_flight"]} run(s) in flight')


def _main_train_one():
  if _SERVE.value:
    with tempfile.TemporaryDirectory() as root:
      _serve(*train_one_rounds(
          _GAME.value, flags.FLAGS.variant, flags.FLAGS.num_envs, _UPDATES.value,
          flags.FLAGS.precision, flags.FLAGS.mask_pairs, flags.FLAGS.env_groups,
          root))
    return
  print(json.dumps(bench_train_one(
      _GAME.value, flags.FLAGS.variant, flags.FLAGS.num_envs, _UPDATES.value,
      _ROUNDS.value, flags.FLAGS.precision, flags.FLAGS.mask_pairs,
      flags.FLAGS.env_groups)))


def _main_sb3_one():
  record = bench_sb3_one(_GAME.value, flags.FLAGS.num_envs, _UPDATES.value,
                         _ROUNDS.value, _SERVE.value)
  if not _SERVE.value:
    print(json.dumps(record))


def _main_profile():
  record = bench_profile(_GAME.value, flags.FLAGS.variant, flags.FLAGS.num_envs,
                         _UPDATES.value, flags.FLAGS.precision,
                         flags.FLAGS.mask_pairs, _TRACE_DIR.value,
                         flags.FLAGS.env_groups)
  if _JSON.value:
    print(json.dumps({'benchmark': 'profile', 'game': _GAME.value,
                      'variant': flags.FLAGS.variant,
                      'num_envs': flags.FLAGS.num_envs, **record}))
    return
  print(f'{_GAME.value}, {flags.FLAGS.variant}, {flags.FLAGS.num_envs} envs, '
        f'precision {record["precision"]}, {record["updates"]} updates profiled: '
        f'{record["wall_ms_per_update"]:.1f} ms per update, '
        f'{record["busy_threads"]:.2f} TensorFlow threads busy on average, '
        f'{record["cores_busy"]:.2f} cores busy (the emulator included)')
  total = sum(record['thread_ms_per_update'].values())
  print(f'{"part of the update":<44}{"thread-ms":>10}{"share":>8}')
  for part, ms in record['thread_ms_per_update'].items():
    print(f'{part:<44}{ms:>10.1f}{ms / total:>8.0%}')


def _main_train():
  threads = (flags.FLAGS.intra_op_threads, flags.FLAGS.inter_op_threads)
  results = bench_train(_GAME.value, flags.FLAGS.num_envs, _UPDATES.value,
                        _ROUNDS.value, _STEPS.value, flags.FLAGS.precision,
                        flags.FLAGS.mask_pairs, flags.FLAGS.env_groups,
                        _SB3_PYTHON.value, threads, _BEFORE.value)
  mask_pairs = flags.FLAGS.mask_pairs or flags.FLAGS.num_envs
  if _JSON.value:
    print(json.dumps({'benchmark': 'train', 'game': _GAME.value,
                      'num_envs': flags.FLAGS.num_envs, 'cpus': os.cpu_count(),
                      'mask_pairs': mask_pairs, **results}))
    return
  machine = results.pop('machine')
  for key in ('threads', 'env_groups'):
    results.pop(key)
  print(f'{_GAME.value}, {flags.FLAGS.num_envs} envs in {flags.FLAGS.env_groups} '
        f'group(s), 5-step rollouts, median of {_ROUNDS.value} interleaved rounds x '
        f'{_UPDATES.value} updates; precision {results["baseline"]["precision"]}, '
        f'joint mask pairs {mask_pairs}; TensorFlow threads {threads[0]} per kernel, '
        f'{threads[1]} kernels side by side')
  print(f'{machine["cpu"]}, {machine["cores"]} cores, flags '
        f'{" ".join(machine["cpu_flags"]) or "-"}, {provenance.kernels_text(machine)}')
  print(f'{"":<30}{"agent steps/s":>14}{"frames/s":>10}{"of raw":>8}'
        f'{"peak RSS":>10}{"cores busy":>12}')
  for name, record in results.items():
    busy = record.get('cores_busy')
    print(f'{name:<30}{record["agent_steps_per_s"]:>14,.0f}'
          f'{record["frames_per_s"]:>10,.0f}{record["of_raw"]:>8.0%}'
          f'{record["peak_rss_mib"]:>7,.0f} MiB'
          + (f'{busy:>12.2f}' if busy is not None else ''))


def _main_env():
  if _SERVE.value:
    run_raw, raw = raw_env_rounds(_GAME.value, flags.FLAGS.num_envs, _STEPS.value)
    run_raw()   # warm-up
    _serve(run_raw, lambda: (raw.close(), {'peak_rss_mib': _peak_rss_mib()})[1])
    return
  results = {
      'benchmark': _WHAT.value, 'game': _GAME.value, 'num_envs': flags.FLAGS.num_envs,
      **bench_env(_GAME.value, flags.FLAGS.num_envs, _STEPS.value, _ROUNDS.value),
      'peak_rss_mib': _peak_rss_mib()}
  if _JSON.value:
    print(json.dumps(results))
    return
  print(f'{_GAME.value}, {flags.FLAGS.num_envs} envs, random actions, median of '
        f'{_ROUNDS.value} rounds x {_STEPS.value} batched steps')
  print(f'{"":<42}{"agent steps/s":>14}{"frames/s":>10}')
  rows = (('raw_vector_env', 'ale_py AtariVectorEnv (the limit)'),
          ('tf_driver', 'AtariEnvironment + DynamicStepDriver'),
          ('tf_driver_5_step_calls', '  same, 5-step rollout per call'))
  for key, label in rows:
    ratio = (f'{results[key + "_ratio"]:>8.0%} of raw'
             if key + '_ratio' in results else '')
    print(f'{label:<42}{results[key]:>14,.0f}{4 * results[key]:>10,.0f}{ratio}')


_MAINS = {'env': _main_env, 'train': _main_train, 'profile': _main_profile,
          'executors': _main_executors, 'train_one': _main_train_one,
          'sb3_one': _main_sb3_one}


def main(argv):
  del argv
  if _WHAT.value in ('train_one', 'profile', 'env'):
    runtime.set_threads(flags.FLAGS.intra_op_threads, flags.FLAGS.inter_op_threads)
  _MAINS[_WHAT.value]()


if __name__ == '__main__':
  app.run(main)
