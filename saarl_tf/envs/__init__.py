"""Environments: real Atari through ale-py, and the synthetic sprites game."""

from tf_agents.environments import py_environment

from saarl_tf.envs import atari
from saarl_tf.envs import sprites

SPRITES = 'Sprites'


def make_environment(game: str, num_envs: int, seed: int = 0,
                     **kwargs) -> py_environment.PyEnvironment:
  """A batched environment: `SpritesEnvironment` for 'Sprites', else Atari.

  Args:
    game: 'Sprites', or an Atari game as the paper writes it or as an ale id.
    num_envs: the batch size.
    seed: environment seed.
    **kwargs: options of the chosen environment class.
  """
  if game.lower() == SPRITES.lower():
    return sprites.SpritesEnvironment(num_envs=num_envs, seed=seed, **kwargs)
  return atari.AtariEnvironment(game, num_envs=num_envs, seed=seed, **kwargs)
