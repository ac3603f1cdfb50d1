"""Environments: real Atari through ale-py, and the synthetic sprites game."""

from saarl_tf.envs.games import SPRITES  # re-exported


def make_environment(game: str, num_envs: int, seed: int = 0, **kwargs):
  """A batched tf-agents `PyEnvironment`: `SpritesEnvironment` for 'Sprites', else Atari.

  Args:
    game: 'Sprites', or an Atari game as the paper writes it or as an ale id.
    num_envs: the batch size.
    seed: environment seed.
    **kwargs: options of the chosen environment class.
  """
  if game.lower() == SPRITES.lower():
    return environment_class(game)(num_envs=num_envs, seed=seed, **kwargs)
  return environment_class(game)(game, num_envs=num_envs, seed=seed, **kwargs)


def environment_class(game: str) -> type:
  """The class `make_environment` builds for `game` (its `frames_per_step` tells
  emulator frames per agent step without building one)."""
  # Imported here so that importing `saarl_tf.envs.games` stays free of TensorFlow.
  from saarl_tf.envs import atari, sprites  # pylint: disable=g-import-not-at-top
  if game.lower() == SPRITES.lower():
    return sprites.SpritesEnvironment
  return atari.AtariEnvironment
