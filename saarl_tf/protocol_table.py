"""The paper's three RL protocols as a table: names, games, variants, mask games.

TensorFlow-free (layer 0), so that the launcher lists and checks protocol names
without loading the code that runs them (`experiments/protocols.py`).
"""

import dataclasses
from typing import Tuple

from saarl_tf import config as config_lib


@dataclasses.dataclass(frozen=True)
class Protocol:
  """What one of the paper's protocols runs by default."""
  name: str
  title: str
  games: Tuple[str, ...]
  variants: Tuple[str, ...]
  mask_games: Tuple[str, ...] = ()   # pre-train a mask on these (for `frozen`)


PROTOCOLS = {
    'single_task': Protocol(
        'single_task', 'Single-task: A2C vs attention A2C (Figure 2)',
        ('MsPacman', 'Assault', 'Asteroids', 'Carnival'),
        (config_lib.BASELINE, config_lib.JOINT)),
    'multi_task': Protocol(
        'multi_task', 'Multi-task: universal frozen mask (Figure 3)',
        config_lib.UNIVERSAL_MASK_GAMES,
        (config_lib.BASELINE, config_lib.JOINT, config_lib.FROZEN),
        mask_games=config_lib.UNIVERSAL_MASK_GAMES),
    'transfer': Protocol(
        'transfer', 'Transfer: a JourneyEscape mask, frozen (Figure 4)',
        ('Asteroids', 'Carnival'), (config_lib.BASELINE, config_lib.FROZEN),
        mask_games=('JourneyEscape',)),
}
PROTOCOL_NAMES = tuple(PROTOCOLS)

# What a protocol's plan estimates its duration from before any run has measured its
# own speed (Atari; README, Benchmark): agent steps/s of one run alone on 2 cores, of
# one run with one CPU beside another such run, and mask pre-training updates/s.
PLANNING_AGENT_STEPS_PER_S = {config_lib.BASELINE: 1400, config_lib.JOINT: 800,
                              config_lib.FROZEN: 1300}
PLANNING_ONE_CPU_AGENT_STEPS_PER_S = {config_lib.BASELINE: 950, config_lib.JOINT: 450,
                                      config_lib.FROZEN: 880}
PLANNING_MASK_UPDATES_PER_S = 15


def planning_rate(variant: str, cpus: float) -> float:
  """Agent steps/s to plan a run of `variant` with `cpus` CPUs: a run keeps about 2
  busy, so more do not count; with less than one it shares a core."""
  if cpus >= 2:
    return PLANNING_AGENT_STEPS_PER_S[variant]
  return PLANNING_ONE_CPU_AGENT_STEPS_PER_S[variant] * min(cpus, 1.0)
