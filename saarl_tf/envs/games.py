"""Game names: the paper's spelling ('MsPacman') to ale-py's ROM ids ('ms_pacman').

Kept free of TensorFlow so that flag validation answers at once.
"""

import difflib
import re

from ale_py import roms

SPRITES = 'Sprites'


def ale_game_id(name: str) -> str:
  """Maps a game name as the paper writes it ('MsPacman') or an ale id to the ale id.

  Args:
    name: 'MsPacman', 'ms_pacman', 'JourneyEscape', 'Pong', ... Gym-style suffixes such
      as 'NoFrameskip-v4' and an 'ALE/' prefix are accepted too.

  Returns:
    The ale-py ROM id, e.g. 'ms_pacman'.

  Raises:
    ValueError: the name is no ROM that ale-py ships; the message names close matches.
  """
  stem = re.sub(r'^ALE/', '', name.strip())
  stem = re.sub(r'(NoFrameskip)?-v\d+$', '', stem)
  game_id = re.sub(r'(?<=[a-z0-9])(?=[A-Z])', '_', stem).lower()
  known = roms.get_all_rom_ids()
  if game_id in known:
    return game_id
  close = difflib.get_close_matches(game_id, known, n=3, cutoff=0.6)
  hint = f'did you mean {", ".join(close)}?' if close else (
      f'ale-py ships {len(known)} games, e.g. ms_pacman, asteroids, pong')
  raise ValueError(f'Unknown Atari game {name!r}: {hint}')


def check_game(name: str) -> str:
  """`name` itself if it is 'Sprites' or an Atari game; else ValueError as above."""
  if name.lower() != SPRITES.lower():
    ale_game_id(name)
  return name
