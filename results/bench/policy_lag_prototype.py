"""A2C with one update of policy lag, against today's loop: agent steps/s only.

A prototype outside the package (docs/BENCHMARK.md, "One update of policy lag"): an
actor thread rolls out with a copy of the network while a learner thread takes the
update on the rollout before, computing its forward pass again with its own weights;
the actor takes the learner's newest weights at the start of each rollout. This is
another algorithm (the rollouts are one update behind), measured to see what overlap
could give at best. Rounds of 100 updates alternate with today's loop, in one process.

  python results/bench/policy_lag_prototype.py baseline 4   # variant, rounds

Run it from the repository's root, with the package installed (`pip install -e .`).
"""

import queue
import sys
import tempfile
import threading
import time

from saarl_tf import runtime

runtime.set_threads()
# pylint: disable=g-import-not-at-top,wrong-import-position,protected-access
import tensorflow as tf

from saarl_tf import bench
from saarl_tf.agents import a2c
from saarl_tf.training import a2c_training, rollout

UPDATES_PER_ROUND = 100


def main(variant: str, rounds: int):
  run, config = bench._training_run(
      tempfile.mkdtemp(), 'Breakout', variant, 16, 'mixed_bfloat16', 0)
  steps_per_update = config.num_envs * config.rollout_steps
  learner_net = run.network
  actor_net = a2c_training.build_network(config, learner_net.input_tensor_spec,
                                         learner_net.num_actions)
  actor_net.create_variables()
  if actor_net.attention_module is not None:   # the decoder's variables too
    frames = tf.zeros([1, 84, 84, 1])
    actor_net.attention_module((frames, frames), training=True)
  policy = a2c.ActorCriticPolicy(run.agent.time_step_spec, run.agent.action_spec,
                                 actor_net)
  driver = rollout.RolloutDriver(run.env, policy, config.rollout_steps, seed=0)
  collect = tf.function(driver.run)
  learn = tf.function(lambda experience: run.agent._train(experience).loss)

  @tf.function
  def copy_weights():
    for actor_variable, learner_variable in zip(actor_net.variables,
                                                learner_net.variables):
      actor_variable.assign(learner_variable)

  def today_round() -> float:
    start = time.perf_counter()
    _, busy = bench._cores_busy(
        lambda: run.run(int(run.train_step.numpy()) + UPDATES_PER_ROUND))
    wall = time.perf_counter() - start
    print(f'  today: {busy:.2f} cores busy')
    return UPDATES_PER_ROUND * steps_per_update / wall

  def lag_round(time_step):
    rollouts, fresh_weights = queue.Queue(maxsize=1), threading.Event()
    actor_seconds = [0.0]

    def actor():
      nonlocal time_step
      for index in range(UPDATES_PER_ROUND + 1):
        if fresh_weights.is_set():
          fresh_weights.clear()
          copy_weights()
        start = time.perf_counter()
        experience, time_step = collect(time_step, tf.constant(index, tf.int64))
        actor_seconds[0] += time.perf_counter() - start
        rollouts.put(experience)

    def learner() -> float:
      experience, seconds = first, 0.0
      for _ in range(UPDATES_PER_ROUND):
        began = time.perf_counter()
        learn(experience)
        seconds += time.perf_counter() - began
        fresh_weights.set()
        experience = rollouts.get()
      return seconds

    # A daemon, so that Ctrl-C in the learner does not wait on an actor blocked in put.
    thread = threading.Thread(target=actor, daemon=True)
    thread.start()
    first = rollouts.get()   # the first rollout overlaps nothing: not timed
    start = time.perf_counter()
    learn_seconds, busy = bench._cores_busy(learner)
    wall = time.perf_counter() - start
    thread.join()
    print(f'  lag: an update {learn_seconds / UPDATES_PER_ROUND * 1e3:.1f} ms, a '
          f'rollout {actor_seconds[0] / (UPDATES_PER_ROUND + 1) * 1e3:.1f} ms, wall '
          f'{wall / UPDATES_PER_ROUND * 1e3:.1f} ms per update, '
          f'{busy:.2f} cores busy')
    return UPDATES_PER_ROUND * steps_per_update / wall, time_step

  copy_weights()
  time_step = driver.reset()
  _, time_step = lag_round(time_step)   # warm-up: traces the functions
  for index in range(rounds):
    today = today_round()
    lagged, time_step = lag_round(time_step)
    print(f'{variant} round {index}: today {today:.0f}, one update of lag '
          f'{lagged:.0f} agent steps/s', flush=True)


if __name__ == '__main__':
  main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3)
