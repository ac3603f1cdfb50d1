"""A run directory's files (`training.run_files`): logs that resume exactly, settings
a resume may and may not change, distinct evaluation games."""

import numpy as np
import pytest

from saarl_tf import config as config_lib
from saarl_tf import run_layout
from saarl_tf.training import run_files


def test_a_resumed_log_drops_the_rows_the_checkpoint_lacks(tmp_path):
  path = str(tmp_path / run_layout.EPISODES_CSV)
  log = run_files.CsvLog(path, run_files.EPISODE_FIELDS, resumed_frames=0)
  log.append([(100, 1.0, 10), (200, 2.0, 20), (300, 3.0, 30)])
  log.close()
  # The checkpoint holds 200 frames: the row logged at 300 is made again.
  log = run_files.CsvLog(path, run_files.EPISODE_FIELDS, resumed_frames=200)
  assert log.has_frames(200) and not log.has_frames(300)
  log.append([(300, 5.0, 31)])
  log.close()
  np.testing.assert_array_equal(run_files.read_episodes(str(tmp_path)),
                                [[100, 1, 10], [200, 2, 20], [300, 5, 31]])


def test_a_resumed_runs_last_evaluation_is_the_mean_of_its_own_games(tmp_path):
  path = str(tmp_path / run_layout.EVAL_CSV)
  log = run_files.CsvLog(path, run_files.EVAL_FIELDS, resumed_frames=0)
  log.append([(100, 1, 0, 2.0, 5), (100, 1, 1, 4.0, 5), (200, 2, 0, 9.0, 5),
              (200, 2, 1, 11.0, 5)])
  log.close()
  log = run_files.CsvLog(path, run_files.EVAL_FIELDS, resumed_frames=200)
  assert log.last_mean('eval') == {'eval_raw_return_mean': 10.0,
                                   'eval_raw_return_std': 1.0, 'eval_frames': 200,
                                   'eval_distinct_games': 2}
  log.close()


def test_replays_shifted_by_their_no_ops_count_as_one_game():
  # Ten copies of one 70-point game, 525-531 steps long (MsPacman's first record).
  assert run_files.count_distinct_games([70.0] * 10, list(range(525, 535))) == 1
  assert run_files.count_distinct_games([70.0, 70.0, 90.0], [500, 600, 500]) == 3
  evaluations = np.array([[100, 1, 0, 5.0, 50], [100, 1, 1, 5.0, 52],
                          [200, 2, 0, 5.0, 50], [200, 2, 1, 6.0, 50]])
  np.testing.assert_array_equal(run_files.distinct_games(evaluations), [1, 2])


def test_a_resume_may_raise_the_budget_and_not_change_the_run(tmp_path):
  config = config_lib.A2CConfig(game='Sprites', total_frames=400)
  run_files.write_config(str(tmp_path), config_lib.to_dict(config))
  longer = config_lib.replace(config, total_frames=800)
  assert run_files.check_settings(str(tmp_path), config_lib.to_dict(longer)) == {
      '--total_frames': [400, 800]}
  faster = config_lib.replace(config, **{'rmsprop.learning_rate': 0.01})
  with pytest.raises(run_files.SettingsChanged, match=r'--learning_rate 0.0007 -> 0.01'):
    run_files.check_settings(str(tmp_path), config_lib.to_dict(faster))


def test_nested_settings_flatten_to_dotted_names():
  assert run_files.flatten({'a': 1, 'mask': {'adam': {'learning_rate': 2}}}) == {
      'a': 1, 'mask.adam.learning_rate': 2}


def test_a_resume_is_refused_only_over_settings_its_variant_reads(tmp_path):
  """A baseline run reads no mask setting: a resume that names another mask mode or
  mask learning rate goes on; a joint run reads both: refused."""
  import dataclasses  # pylint: disable=g-import-not-at-top
  from saarl_tf import config as config_lib  # pylint: disable=g-import-not-at-top
  for variant, refused in (('baseline', False), ('joint', True)):
    root = str(tmp_path / variant)
    config = config_lib.A2CConfig(game='Pong', variant=variant)
    run_files.record_start(root, config_lib.to_dict(config), {'update': 0})
    other = config_lib.replace(config, mask_mode='residual',
                               **{'mask.adam.learning_rate': 3e-4})
    if refused:
      with pytest.raises(run_files.SettingsChanged, match='--mask_mode') as error:
        run_files.check_settings(root, config_lib.to_dict(other))
      assert '--mask_learning_rate' in str(error.value)
    else:
      assert run_files.check_settings(root, config_lib.to_dict(other)) == {}
    changed = dataclasses.replace(config, seed=1)      # read by every variant
    with pytest.raises(run_files.SettingsChanged, match='--seed 0 -> 1'):
      run_files.check_settings(root, config_lib.to_dict(changed))
