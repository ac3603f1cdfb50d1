"""Settings: declared once, checked the same way in the library and on the command
line, and turned into flags and back."""

import dataclasses

from absl import flags
import pytest

from saarl_tf import config as config_lib

CONFIGS = (config_lib.PretrainConfig, config_lib.A2CConfig, config_lib.KeypointsConfig)


def _flag_values(*args):
  flag_values = flags.FlagValues()
  config_lib.define_flags(flag_values, *CONFIGS)
  flag_values(['prog', *args])
  return flag_values


def test_flags_give_the_declared_defaults():
  assert config_lib.from_flags(config_lib.A2CConfig, _flag_values(),
                               game='Pong') == config_lib.A2CConfig(game='Pong')
  assert config_lib.from_flags(config_lib.PretrainConfig,
                               _flag_values()) == config_lib.PretrainConfig()


def test_one_flag_sets_a_shared_setting_everywhere():
  flag_values = _flag_values('--mask_learning_rate=3e-4', '--checkpoint_every=7',
                             '--delta=0.02')
  a2c = config_lib.from_flags(config_lib.A2CConfig, flag_values)
  pretrain = config_lib.from_flags(config_lib.PretrainConfig, flag_values)
  assert a2c.mask.adam.learning_rate == pretrain.adam.learning_rate == 3e-4
  assert a2c.schedule.checkpoint_every == pretrain.schedule.checkpoint_every == 7
  assert a2c.mask.mask_loss.delta == pretrain.mask_loss.delta == 0.02
  # Transporter has its own: the mask's flags no longer set it.
  keypoints = config_lib.from_flags(config_lib.KeypointsConfig, flag_values)
  assert keypoints.transporter.learning_rate == 1e-3


def test_every_flag_name_is_one_setting_with_one_default():
  seen = {}
  for config_class in CONFIGS:
    for path, field in config_lib.leaves(config_class):
      name = config_lib.flag_name(field)
      assert seen.setdefault(name, field.default) == field.default, name
  assert 'mask_update' in seen and 'mask_optimizer' not in seen


@pytest.mark.parametrize('make, message', [
    (lambda: config_lib.A2CConfig(num_envs=0), '--num_envs=0: must be >= 1'),
    (lambda: config_lib.A2CConfig(variant='both'),
     '--variant=both: expected one of baseline, joint, frozen'),
    (lambda: config_lib.RMSpropConfig(learning_rate=0.0),
     '--learning_rate=0.0: must be > 0'),
    (lambda: config_lib.A2CLossConfig(gamma=1.5), '--gamma=1.5: must be <= 1'),
    (lambda: config_lib.JointMaskConfig(recent_frames=1),
     '--recent_frames=1: must be >= 2'),
])
def test_the_library_checks_values_as_the_command_line_does(make, message):
  with pytest.raises(ValueError) as error:
    make()
  assert str(error.value) == message


def test_replace_reaches_nested_settings_and_leaves_the_rest():
  base = config_lib.A2CConfig()
  changed = config_lib.replace(base, variant='frozen', **{'eval.every': 0,
                                                          'mask.adam.learning_rate': 1})
  assert (changed.variant, changed.eval.every, changed.mask.adam.learning_rate) == (
      'frozen', 0, 1)
  assert changed.eval.games == base.eval.games and changed.rmsprop == base.rmsprop
  with pytest.raises(dataclasses.FrozenInstanceError):
    changed.variant = 'joint'


def test_recorded_settings_rebuild_the_config_nested_or_flat():
  """A run's config.json rebuilds its config: today's nested form round-trips, and the
  flat form keyed by flag names (runs recorded before nesting) reads the same."""
  config = config_lib.replace(config_lib.A2CConfig(), game='MsPacman', variant='frozen',
                              mask_checkpoint='export/m', **{'rmsprop.learning_rate': 3e-4,
                                                             'mask.adam.learning_rate': 5e-4,
                                                             'eval.games': 4})
  recorded = dict(config_lib.to_dict(config), history=[{'update': 0}])
  assert config_lib.from_dict(config_lib.A2CConfig, recorded) == config
  flat = {'game': 'MsPacman', 'variant': 'frozen', 'mask_checkpoint': 'export/m',
          'learning_rate': 3e-4, 'mask_learning_rate': 5e-4, 'eval_games': 4,
          'git_commit': 'abc'}
  assert config_lib.from_dict(config_lib.A2CConfig, flat) == config
