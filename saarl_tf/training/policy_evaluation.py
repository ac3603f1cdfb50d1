"""Evaluation games during training: the paper's "test scores during learning".

The authors' code plays complete games with the greedy policy every 1250 updates
(their evaluation.py); `PolicyEvaluator` does that on envs of its own, seeded apart
from training, one game per env so that short games are not favoured.
"""

from typing import List

from tf_agents.drivers import dynamic_step_driver
from tf_agents.environments import tf_py_environment
from tf_agents.utils import common

from saarl_tf.envs import batched
from saarl_tf.training import stopping


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
    self.policy = policy
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
      stopping.check(inside_loops=True)     # a cut evaluation is played again
      time_step = self._run(time_step)
      new = self.env.num_finished_episodes - seen
      seen = self.env.num_finished_episodes
      for record in self.env.finished_episodes(last=new) if new else []:
        firsts.setdefault(record.env_index, record)
    return [firsts[i] for i in range(self.env.batch_size)]

  def close(self):
    self.env.close()
