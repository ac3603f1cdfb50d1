"""tf-agents checkpointers that survive a damaged newest checkpoint.

A run killed while its checkpoint was being written, or a disk that lost a block, can
leave the newest checkpoint unreadable (TensorFlow: 'Read less bytes than requested',
naming no file). Each loop keeps two checkpoints (`max_to_keep=2`), so the previous
one is tried: the damaged files are renamed `*.damaged` (kept for a look), the
checkpoint state points at the previous one, and the run resumes from there, saying so.
"""

from absl import logging
import tensorflow as tf
from tf_agents.utils import common


class DamagedCheckpoint(ValueError):
  """The newest checkpoint is unreadable and no older one is kept."""


def restoring_checkpointer(ckpt_dir: str, max_to_keep: int = 2,
                           **objects) -> common.Checkpointer:
  """`common.Checkpointer(ckpt_dir, max_to_keep, **objects)`, restored from the
  newest checkpoint that reads.

  Raises:
    DamagedCheckpoint: no kept checkpoint reads (one line naming the newest).
  """
  while True:
    try:
      return common.Checkpointer(ckpt_dir=ckpt_dir, max_to_keep=max_to_keep,
                                 **objects)
    except (tf.errors.OpError, ValueError, IndexError, OSError) as error:
      # (TensorFlow 2.15 reports a cut data file as an IndexError.)
      state = tf.train.get_checkpoint_state(ckpt_dir)
      if state is None or not state.model_checkpoint_path:
        raise
      newest = state.model_checkpoint_path
      reason = (getattr(error, 'message', None) or str(error)).strip()
      reason = (reason.splitlines() or [type(error).__name__])[0][:200]
      older = [path for path in state.all_model_checkpoint_paths if path != newest]
      if not older:
        raise DamagedCheckpoint(f'{newest} is damaged ({reason}) and no older '
                                'checkpoint is kept; move the run aside to start '
                                'afresh') from None
      logging.warning('%s is damaged (%s); resuming from the previous checkpoint, %s',
                      newest, reason, older[-1])
      for path in tf.io.gfile.glob(newest + '.*'):
        tf.io.gfile.rename(path, path + '.damaged', overwrite=True)
      tf.compat.v1.train.update_checkpoint_state(ckpt_dir, older[-1],
                                                 all_model_checkpoint_paths=older)
