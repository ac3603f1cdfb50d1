"""Game names as the paper writes them, as ale ids and as gym ids (`envs.games`)."""

import pytest

from saarl_tf.envs import games


@pytest.mark.parametrize('name', ['MsPacman', 'ms_pacman', 'MsPacmanNoFrameskip-v4',
                                  'ALE/MsPacman-v5'])
def test_every_spelling_of_a_game_is_its_ale_id(name):
  assert games.ale_game_id(name) == 'ms_pacman'


def test_the_papers_games_are_all_shipped_with_ale_py():
  for name in ('JourneyEscape', 'Asteroids', 'Carnival', 'Assault', 'Breakout'):
    assert games.ale_game_id(name)


def test_a_misspelt_game_is_one_line_naming_close_matches():
  with pytest.raises(ValueError, match=r"Unknown Atari game 'MsPacmn': did you mean "
                                       r'.*ms_pacman'):
    games.ale_game_id('MsPacmn')


def test_sprites_is_a_game_too():
  assert games.check_game('Sprites') == 'Sprites'
  with pytest.raises(ValueError, match='Unknown Atari game'):
    games.check_game('Spritez')
