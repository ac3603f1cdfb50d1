r"""Throughput benchmarks: `python -m saarl_tf.bench --what=env`.

Every measurement is in agent steps per second (one agent step = 4 emulator frames)
summed over the batch of environments, after warm-up. Measurements of different
configurations are interleaved round by round and the median is reported, so that a
slow spell of the machine hits every configuration alike.
"""

import json
import statistics
import time
from typing import Callable, Dict

from absl import app
from absl import flags
import numpy as np

_WHAT = flags.DEFINE_enum('what', 'env', ['env'], 'Which benchmark to run.')
_GAME = flags.DEFINE_string('game', 'Breakout', 'Atari game to benchmark on.')
_NUM_ENVS = flags.DEFINE_integer('num_envs', 16, 'Environments stepped together.')
_STEPS = flags.DEFINE_integer('steps', 300, 'Batched steps per measurement round.')
_ROUNDS = flags.DEFINE_integer('rounds', 5, 'Interleaved measurement rounds.')
_JSON = flags.DEFINE_bool('json', False, 'Print one JSON object instead of a table.')


def _median_rate(fns: Dict[str, Callable[[], int]], rounds: int) -> Dict[str, float]:
  """Runs each fn once per round, interleaved; fn returns agent steps it made."""
  rates = {name: [] for name in fns}
  for _ in range(rounds):
    for name, fn in fns.items():
      start = time.perf_counter()
      steps = fn()
      rates[name].append(steps / (time.perf_counter() - start))
  return {name: statistics.median(r) for name, r in rates.items()}


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
  from ale_py.vector_env import AtariVectorEnv
  from tf_agents.drivers import dynamic_step_driver
  from tf_agents.environments import tf_py_environment
  from tf_agents.policies import random_tf_policy
  from tf_agents.utils import common

  from saarl_tf.envs import atari

  raw = AtariVectorEnv(atari.ale_game_id(game), num_envs, reward_clipping=False)
  raw.reset(seed=0)
  rng = np.random.default_rng(0)
  num_actions = raw.single_action_space.n

  def run_raw():
    for _ in range(steps):
      raw.step(rng.integers(0, num_actions, num_envs, dtype=np.int32))
    return steps * num_envs

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


def main(argv):
  del argv
  results = {
      'benchmark': _WHAT.value, 'game': _GAME.value, 'num_envs': _NUM_ENVS.value,
      **bench_env(_GAME.value, _NUM_ENVS.value, _STEPS.value, _ROUNDS.value)}
  if _JSON.value:
    print(json.dumps(results))
    return
  print(f'{_GAME.value}, {_NUM_ENVS.value} envs, random actions, median of '
        f'{_ROUNDS.value} rounds x {_STEPS.value} batched steps')
  print(f'{"":<42}{"agent steps/s":>14}{"frames/s":>10}')
  rows = (('raw_vector_env', 'ale_py AtariVectorEnv (the limit)'),
          ('tf_driver', 'AtariEnvironment + DynamicStepDriver'),
          ('tf_driver_5_step_calls', '  same, 5-step rollout per call'))
  for key, label in rows:
    ratio = (f'{results[key + "_ratio"]:>8.0%} of raw'
             if key + '_ratio' in results else '')
    print(f'{label:<42}{results[key]:>14,.0f}{4 * results[key]:>10,.0f}{ratio}')


if __name__ == '__main__':
  app.run(main)
