"""saarl_tf: Self-Supervised Attention-Aware Reinforcement Learning in TensorFlow."""
def _quiet_gym_notice():
  """tf-agents imports old `gym` (its multiprocessing helper), which prints a notice
  that gym is unmaintained to every process's stderr. saarl_tf uses gymnasium and
  ale-py, never gym: the notice would only bury our own lines, so it is cleared
  before gym is first imported."""
  try:
    from gym_notices import notices  # pylint: disable=g-import-not-at-top
  except ImportError:
    return
  notices.notices.clear()


_quiet_gym_notice()
