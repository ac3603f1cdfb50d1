"""Exporting a mask pre-training run: its attention module as a SavedModel
(`saarl_tf.export`'s format), with the run's settings and its mask-quality scores.

`python -m saarl_tf.launch --experiment=export --checkpoint=<run>/checkpoints` and the
protocols' `prepare_mask` call `export_from_checkpoint`; the format itself (the module,
its metadata, `MaskLayer`) stays in `saarl_tf/export.py`.
"""

import os
from typing import Any, Dict, Sequence

import tensorflow as tf

from saarl_tf import export
from saarl_tf import run_layout
from saarl_tf import storage
from saarl_tf.evaluation import mask_quality
from saarl_tf.models import attention


def mask_quality_of(model: attention.SelfSupervisedAttention, games: Sequence[str],
                    eval_frames: int, eval_seed: int) -> Dict[str, Any]:
  """Mask quality against ground truth on each game (sprites or OCAtari frames)."""
  per_game = {game: mask_quality.mask_quality_on(model, game, eval_frames,
                                                 eval_seed)[2]
              for game in games}
  return {'eval_frames': eval_frames, 'eval_seed': eval_seed, 'games': per_game}


def export_from_checkpoint(checkpoint_dir: str, export_dir: str,
                           eval_frames: int, eval_seed: int) -> str:
  """Exports the attention module of a mask pre-training run, or re-exports an export.

  Args:
    checkpoint_dir: a pre-training run's `checkpoints/` directory; the run's
      `config.json` next to it, if any, becomes the metadata's `training` entry. Or
      an export (`export/universal_mask`): its weights, `training` and `quality`
      entries are kept and the SavedModel is written anew with this package's
      serving functions (it may be `export_dir` itself).
    export_dir: where the SavedModel goes.
    eval_frames: if > 0, the mask is scored on this many ground-truth frames of each
      training game (OCAtari for Atari: the `eval` extra) and the scores stored in
      the metadata's `quality` entry; if 0, the scores the pre-training run wrote
      (its `mask_quality.json`) or the export holds, if any, are stored instead.
    eval_seed: seed of the evaluation frames (`PretrainConfig.quality_seed`, apart
      from training seeds).
  """
  model = export.load_attention(checkpoint_dir)
  if run_layout.holds_export(checkpoint_dir):
    metadata = export.read_metadata(checkpoint_dir)
    training, quality = metadata['training'], metadata['quality'] or None
  else:
    run_dir = os.path.dirname(checkpoint_dir.rstrip('/'))
    training = storage.read_json(os.path.join(run_dir, run_layout.CONFIG_JSON)) or {}
    # The checkpoint's name, not its path: metadata must not hold machine-local paths.
    training['checkpoint'] = os.path.basename(
        tf.train.latest_checkpoint(checkpoint_dir))
    quality = None
    # The scores the pre-training run measured on its held-out frames, if any.
    measured = storage.read_json(os.path.join(run_dir, run_layout.MASK_QUALITY_JSON))
    if measured is not None:
      per_game = {game: {k: v for k, v in scores.items() if k != 'overlay'}
                  for game, scores in measured.items()}
      quality = {'eval_frames': training.get('eval_frames'),
                 'eval_seed': training.get('quality_seed'), 'games': per_game}
  if eval_frames > 0 and training.get('games'):
    quality = mask_quality_of(model, training['games'], eval_frames, eval_seed)
  return export.export_mask(model, export_dir, training, quality)
