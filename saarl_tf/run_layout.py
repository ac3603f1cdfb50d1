"""Where a run's files live: every file and folder name, the run directory of a game,
variant and seed, and whether a run is finished. TensorFlow-free.

The only place that spells these names (docs/ARCHITECTURE.md, "Run directories",
draws the layout). Like tf-agents' `train/learner.py`, the names are module
constants; everything else joins paths through the functions here.

An A2C run directory:
  config.json       settings, commit, a frozen run's mask, one record per start
  lease.json        the one process writing the run (`training.run_lease`)
  train/            TensorBoard
  checkpoints/      tf-agents `Checkpointer` (its index file: `checkpoint`)
  episodes.csv      every finished training game
  eval.csv, eval_<mode>.csv   evaluation games per mode (`eval_csv`)
  policy/           the greedy policy (`PolicySaver`), at the end of the budget
  done.json         written last: the run is finished for its `total_frames`

A mask pre-training run: config.json, lease.json, train/, checkpoints/,
mask_quality.json (its scores; written last, so it also says "finished"),
target_quality.json (a protocol's mask scored on games it was not trained on) and
mask_overlay_<game>.png (`mask_overlay_png`). A protocol's root: mask/ (its
pre-training run), runs/<game>/<variant>/seed_<k>/ (`run_dir`), and the report's
results.csv, learning_curves.png (.svg), summary.md. A mask export: the SavedModel
(saved_model.pb) and mask_metadata.json.
"""

import os
from typing import Any, Dict, Optional

from saarl_tf import storage

# Files and folders of a run directory.
CONFIG_JSON = 'config.json'
LEASE_JSON = 'lease.json'
TENSORBOARD_DIR = 'train'
CHECKPOINTS_DIR = 'checkpoints'
CHECKPOINT_INDEX = 'checkpoint'      # tf.train's index file inside checkpoints/
EPISODES_CSV = 'episodes.csv'
EVAL_CSV = 'eval.csv'                # the noop mode's, `eval_csv('noop')`
POLICY_DIR = 'policy'
DONE_JSON = 'done.json'

# Mask pre-training runs.
MASK_QUALITY_JSON = 'mask_quality.json'
TARGET_QUALITY_JSON = 'target_quality.json'

# A protocol's root directory.
MASK_RUN_DIR = 'mask'
RUNS_DIR = 'runs'
RESULTS_CSV = 'results.csv'
LEARNING_CURVES = 'learning_curves'  # .png and .svg
SUMMARY_MD = 'summary.md'
KEYPOINTS_MD = 'keypoints.md'        # the keypoint comparison's table
KEYPOINTS_CSV = 'keypoints.csv'
TRANSPORTER_RUN_DIR = 'transporter'  # the keypoint comparison's Transporter run

# A mask export (`export.py`): the SavedModel, its metadata among its assets.
SAVED_MODEL = 'saved_model.pb'
EXPORT_ASSETS_DIR = 'assets'
EXPORT_METADATA_JSON = 'mask_metadata.json'

# Where the command line puts things unless told: runs/<experiment>, export/<name>.
DEFAULT_RUNS_ROOT = 'runs'
DEFAULT_EXPORT_ROOT = 'export'


def eval_group(mode: str) -> str:
  """An evaluation mode's (config.EVAL_MODES) name in files and TensorBoard: `eval`
  for noop, the record's mode, so that runs from before the modes read as they were
  written; `eval_<mode>` otherwise (its CSV, TensorBoard group, done.json prefix and
  results.csv kind)."""
  return 'eval' if mode == 'noop' else f'eval_{mode}'


def eval_csv(mode: str) -> str:
  """The evaluation log of `mode`: eval.csv, eval_sticky.csv, eval_sample.csv."""
  return eval_group(mode) + '.csv'


def default_root_dir(experiment: str) -> str:
  """`--root_dir`'s default: runs/<experiment>."""
  return os.path.join(DEFAULT_RUNS_ROOT, experiment)


def protocol_export_dir(export_root: str, protocol: str) -> str:
  """Where a protocol's pre-trained mask is exported: <export_root>/<protocol>_mask."""
  return os.path.join(export_root, f'{protocol}_mask')


def mask_overlay_png(game: str) -> str:
  """A mask pre-training run's picture of `game`'s held-out frames and masks."""
  return f'mask_overlay_{game}.png'


def keypoints_png(game: str) -> str:
  """The keypoint comparison's picture of `game`'s frames with both keypoints."""
  return f'keypoints_{game}.png'


def run_dir(root_dir: str, game: str, variant: str, seed: int) -> str:
  """A protocol's run of `game`, `variant`, `seed`:
  root/runs/<game>/<variant>/seed_<k>."""
  return os.path.join(root_dir, RUNS_DIR, game, variant, f'seed_{seed}')


def mask_run_dir(root_dir: str) -> str:
  """A protocol's mask pre-training run."""
  return os.path.join(root_dir, MASK_RUN_DIR)


def checkpoints_dir(directory: str) -> str:
  """A run's (A2C or pre-training) checkpoint directory."""
  return os.path.join(directory, CHECKPOINTS_DIR)


def tensorboard_dir(directory: str) -> str:
  return os.path.join(directory, TENSORBOARD_DIR)


def holds_checkpoint(directory: str) -> bool:
  """Whether `directory` is a checkpoint directory holding at least one checkpoint."""
  return storage.exists(os.path.join(directory, CHECKPOINT_INDEX))


def holds_export(directory: str) -> bool:
  """Whether `directory` holds a SavedModel (a mask export)."""
  return storage.exists(os.path.join(directory, SAVED_MODEL))


def read_done(directory: str) -> Optional[Dict[str, Any]]:
  """A finished A2C run's done.json, or None if the run has not finished."""
  return storage.read_json(os.path.join(directory, DONE_JSON))


def finished_frames(directory: str) -> int:
  """The frame budget an A2C run finished with, or 0 if it has not finished."""
  done = read_done(directory)
  return int(done['total_frames']) if done else 0


def finished_record(directory: str, total_frames: int) -> Optional[Dict[str, Any]]:
  """The done.json of the A2C run in `directory` if it finished a budget of at least
  `total_frames` (a run finished with a larger budget is read, not redone), else
  None; the file is read once."""
  done = read_done(directory)
  return done if done and int(done['total_frames']) >= total_frames else None


def is_finished(directory: str, total_frames: int) -> bool:
  """Whether `finished_record` has a record."""
  return finished_record(directory, total_frames) is not None


def mask_is_trained(directory: str) -> bool:
  """Whether the mask pre-training run in `directory` finished (its scores are
  written last)."""
  return storage.exists(os.path.join(directory, MASK_QUALITY_JSON))
