"""The files of an A2C run directory, read and written in one place.

Through `saarl_tf.storage` (`tf.io.gfile`), so a run directory may be on shared or
object storage; TensorFlow loads only when a file is touched. Their names and where
they lie are `saarl_tf.run_layout`'s: the settings and starts (config.json), every
finished training game (episodes.csv: frames when it ended, raw score, agent steps),
every evaluation game per mode (eval.csv, eval_<mode>.csv: frames and update of the
evaluation, game index, raw score, agent steps) and the end record (done.json).

CSV logs are appended as the run goes and cut back to the checkpoint on resume, so a
row is never lost nor counted twice; each checkpoint also holds the rows logged so
far (`CsvLog.journal`), and a resume rebuilds a log from it, so a log cut or damaged
behind the checkpoint loses nothing either. JSON files are written aside and renamed.
"""

import csv
import io
import os
import socket
from typing import Any, Dict, Optional, Sequence

from absl import logging
import numpy as np

from saarl_tf import config as config_lib
from saarl_tf import provenance
from saarl_tf import run_layout
from saarl_tf import runtime
from saarl_tf import storage
from saarl_tf.models import precisions

EPISODE_FIELDS = ('frames', 'raw_return', 'agent_steps')
EVAL_FIELDS = ('frames', 'update', 'game', 'raw_return', 'agent_steps')


class CsvLog:
  """Appends rows to a CSV; on resume, drops the rows the checkpoint lacks.

  Rows are keyed by their first column, the frames at which they were logged: rows
  after `resumed_frames` came from updates the checkpoint does not hold, and are
  made again. With `journal` (the rows as the checkpoint recorded them, `journal()`
  of the log then), the file is rebuilt from it: rows the file lost behind the
  checkpoint (a cut or damaged file) come back, exactly as they were written.
  """

  def __init__(self, path: str, fields: Sequence[str], resumed_frames: int,
               journal: Optional[str] = None):
    text = storage.read_text(path)
    self._fields = fields
    if journal is not None:
      lines = [line for line in journal.split('\n') if line]
      kept = [line for line in lines if self._frames_of(line) <= resumed_frames]
      on_file = _read_lines(path, text, fields) if text else []
      if on_file[:len(kept)] != kept:
        logging.warning('%s: rebuilt from the checkpoint, %d rows up to frame %d (the '
                        'file held %d of them)', path, len(kept), resumed_frames,
                        len(set(on_file) & set(kept)))
    else:
      rows = _complete_rows(path, text, fields) if text else []
      kept = [_format_row([row[field] for field in fields]) for row in rows
              if int(row[fields[0]]) <= resumed_frames]
    self._lines = kept
    # Rewritten whole, then renamed over the old file, so a crash leaves one intact.
    storage.write_atomically(path, ','.join(fields) + '\n'
                             + ''.join(line + '\n' for line in kept))
    self._file = storage.open_file(path, 'a')

  @staticmethod
  def _frames_of(line: str) -> int:
    return int(float(line.split(',', 1)[0]))

  def has_frames(self, frames: int) -> bool:
    """Whether rows logged at `frames` survived the resume."""
    return any(self._frames_of(line) == frames for line in self._lines)

  def last_mean(self, prefix: str = 'eval') -> Dict[str, float]:
    """The mean raw score of the rows at the last logged frames (kept rows only),
    keyed `<prefix>_raw_return_mean`, `_std`, `<prefix>_frames` and, for evaluation
    games, `<prefix>_distinct_games` (`count_distinct_games`)."""
    if not self._lines:
      return {}
    last = max(self._frames_of(line) for line in self._lines)
    rows = [dict(zip(self._fields, line.split(','))) for line in self._lines
            if self._frames_of(line) == last]
    scores = [float(row['raw_return']) for row in rows]
    record = {f'{prefix}_raw_return_mean': float(np.mean(scores)),
              f'{prefix}_raw_return_std': float(np.std(scores)),
              f'{prefix}_frames': last}
    if 'agent_steps' in self._fields and 'game' in self._fields:
      record[f'{prefix}_distinct_games'] = count_distinct_games(
          scores, [float(row['agent_steps']) for row in rows])
    return record

  def append(self, rows: Sequence[Sequence[float]]):
    lines = [_format_row(row) for row in rows]
    self._file.write(''.join(line + '\n' for line in lines))
    self._file.flush()
    self._lines += lines

  def journal(self) -> str:
    """Every row logged so far, as the file holds them (what a checkpoint keeps)."""
    return '\n'.join(self._lines)

  def close(self):
    self._file.close()


def _format_row(values: Sequence[Any]) -> str:
  """One CSV line (no line end), as `csv.writer` writes it."""
  buffer = io.StringIO()
  csv.writer(buffer, lineterminator='').writerow(values)
  return buffer.getvalue()


def _read_lines(path: str, text: str, fields: Sequence[str]) -> list:
  """The complete data rows of a log's text, as lines."""
  return [_format_row([row[field] for field in fields])
          for row in _complete_rows(path, text, fields, quiet=True)]


def _complete_rows(path: str, text: str, fields: Sequence[str],
                   quiet: bool = False) -> list:
  """The rows of a run's CSV log, a cut last row (a crash mid-write) dropped
  (`quiet`: every damaged row dropped, without a word: the caller rebuilds).

  Raises:
    ValueError: a row other than the last is damaged (one line naming the file).
  """
  rows = list(csv.DictReader(io.StringIO(text)))
  def complete(row):
    try:
      return all(row.get(field) not in (None, '') for field in fields) and all(
          np.isfinite(float(row[field])) for field in fields)
    except ValueError:
      return False
  damaged = [i for i, row in enumerate(rows) if not complete(row)]
  if rows and not text.endswith('\n') and len(rows) - 1 not in damaged:
    damaged.append(len(rows) - 1)            # no line end: cut mid-write
  if quiet:
    return [row for i, row in enumerate(rows) if i not in damaged]
  if damaged and damaged != [len(rows) - 1]:
    raise ValueError(f'{path} is damaged: row {damaged[0] + 2} is incomplete; '
                     'restore the file or move the run aside')
  if damaged:
    logging.warning('%s: dropped a cut last row (%s)', path,
                    ','.join(v or '' for v in rows[-1].values()))
    rows = rows[:-1]
  return rows


def read_episodes(root_dir: str) -> np.ndarray:
  """A run's finished games: float64 [E, 3] of (frames, raw_return, agent_steps)."""
  return _read_csv(os.path.join(root_dir, run_layout.EPISODES_CSV), EPISODE_FIELDS)


def read_evaluations(root_dir: str, mode: str = 'noop') -> np.ndarray:
  """A run's evaluation games of `mode`: float64 [E, 5] of (frames, update, game,
  raw_return, agent_steps), in the order played; [0, 5] if it has none."""
  return _read_csv(os.path.join(root_dir, run_layout.eval_csv(mode)), EVAL_FIELDS)


# Two games with the same score whose lengths differ by at most this many agent steps
# count as one game: with no-op starts a replayed game is shifted by its 0-30 opening
# no-ops (the record's MsPacman evaluations: ten games of score 70 and 525-531 steps).
SAME_GAME_STEPS = 30


def count_distinct_games(scores: Sequence[float], lengths: Sequence[float],
                         tolerance: int = SAME_GAME_STEPS) -> int:
  """How many different games a set of games holds (score, length in agent steps):
  games of one score whose lengths chain within `tolerance` steps count once."""
  count = 0
  for score in set(scores):
    same = sorted(length for s, length in zip(scores, lengths) if s == score)
    count += 1 + sum(1 for a, b in zip(same, same[1:]) if b - a > tolerance)
  return count


def distinct_games(evaluations: np.ndarray) -> np.ndarray:
  """How many different games each evaluation held (`count_distinct_games`).

  Args:
    evaluations: float [E, 5] rows of `read_evaluations`.

  Returns:
    int [V]: per evaluation (in frame order), its number of distinct games.
  """
  frames = np.unique(evaluations[:, 0])
  return np.array([count_distinct_games(*evaluations[evaluations[:, 0] == f][:, 3:5].T)
                   for f in frames], np.int64)


def _read_csv(path: str, fields: Sequence[str]) -> np.ndarray:
  """float64 [rows, len(fields)] of a run's CSV log (a cut last row dropped)."""
  text = storage.read_text(path)
  rows = _complete_rows(path, text, fields) if text else []
  return np.array([[float(row[field]) for field in fields] for row in rows],
                  np.float64).reshape(-1, len(fields))


def write_config(root_dir: str, settings: Dict[str, Any]):
  """Records a run's settings (and provenance) in config.json."""
  storage.write_json(os.path.join(root_dir, run_layout.CONFIG_JSON), settings)


def read_config(root_dir: str) -> Optional[Dict[str, Any]]:
  """A run's recorded settings, or None if it has none.

  Raises:
    ValueError: config.json is not a JSON object (one line).
  """
  path = os.path.join(root_dir, run_layout.CONFIG_JSON)
  settings = storage.read_json(path)
  if settings is not None and not isinstance(settings, dict):
    raise ValueError(_not_settings(path, 'a JSON object'))
  return settings


def _not_settings(path: str, expected: str) -> str:
  """The one line for a config.json that is not a run's settings."""
  return (f'{path} is not a run\'s settings ({expected}): move the directory aside, '
          'or give the run another --root_dir')


# What may differ when a run resumes: how long it runs (upwards only), how often it
# reports and how its envs are grouped (the same algorithm). Any other change would
# make one run of two settings.
_REPORT_RATES = 'schedule.'
_SPEED_ONLY = ('env_groups',)
_PROVENANCE = ('resolved_precision', 'package_version', 'git_commit', 'history',
               'mask_provenance', 'num_frames')


class SettingsChanged(ValueError):
  """A run directory holds a run made with other settings."""


def flatten(settings: Dict[str, Any], prefix: str = '') -> Dict[str, Any]:
  """Nested settings -> {'mask.adam.learning_rate': ..., ...}."""
  flat = {}
  for key, value in settings.items():
    if isinstance(value, dict):
      flat.update(flatten(value, f'{prefix}{key}.'))
    else:
      flat[prefix + key] = value
  return flat


def _flag_names(config_class: type) -> Dict[str, str]:
  """'mask.adam.learning_rate' -> '--mask_learning_rate', for a config's settings."""
  return {'.'.join(path): '--' + config_lib.flag_name(field)
          for path, field in config_lib.leaves(config_class)}


def _budget_field(config_class: type) -> str:
  """The setting that says how long a run of `config_class` runs."""
  return 'train_steps' if config_class is config_lib.PretrainConfig else 'total_frames'


def check_settings(root_dir: str, settings: Dict[str, Any],
                   config_class: type = config_lib.A2CConfig) -> Dict[str, Any]:
  """Compares a run's settings with those its directory was made with.

  Args:
    root_dir: the run directory.
    settings: the new run's `config.to_dict(config_class(...))`.
    config_class: `A2CConfig` (budget: `total_frames`) or `PretrainConfig`
      (budget: `train_steps`).

  Returns:
    The settings that changed in ways a resume allows ({name: [old, new]}; empty for
    a new directory).

  Raises:
    SettingsChanged: a setting that alters the run differs (one line naming each,
      with its old and new value), or the budget went down.
  """
  old = read_config(root_dir)
  if old is None:
    return {}
  budget = _budget_field(config_class)
  if budget not in old:
    raise SettingsChanged(_not_settings(
        os.path.join(root_dir, run_layout.CONFIG_JSON),
        f'a JSON object with the run\'s settings, {budget} among them'))
  old_flat = flatten({k: v for k, v in old.items() if k not in _PROVENANCE})
  new_flat = flatten({k: v for k, v in settings.items() if k not in _PROVENANCE})
  names = _flag_names(config_class)
  allowed, refused = {}, []
  variant = new_flat.get('variant')
  for key in sorted(set(old_flat) | set(new_flat)):
    before, after = old_flat.get(key), new_flat.get(key)
    if before == after or (config_class is config_lib.A2CConfig
                           and variant == old_flat.get('variant')
                           and config_lib.unused_by(variant, key)):
      continue
    name = names.get(key, key)
    if key == budget and before is not None and after is not None and after < before:
      refused.append(f'{name} {before} -> {after} (a run may only be extended)')
    elif key == budget or key.startswith(_REPORT_RATES) or key in _SPEED_ONLY:
      allowed[name] = [before, after]
    else:
      refused.append(f'{name} {before!r} -> {after!r}')
  if refused:
    raise SettingsChanged(
        f'{root_dir} holds a run with other settings: {"; ".join(refused)}. Resume '
        'it with its own settings, or give the new run its own --root_dir')
  return allowed


def record_start(root_dir: str, settings: Dict[str, Any], start: Dict[str, Any],
                 extra: Optional[Dict[str, Any]] = None):
  """Writes config.json: the run's commit at the top level (its first start's), the
  settings, `extra` records (e.g. the frozen mask's provenance) and per start of the
  run (`history`) `start` (the step it started from, the precision it resolved to)
  with the package version, commit, host, process id and machine (CPU, library
  versions, oneDNN on or off: `provenance.machine`; TensorFlow's thread pools)."""
  old = read_config(root_dir) or {}
  start = dict(start, package_version=provenance.package_version(),
               git_commit=provenance.git_commit(), host=socket.gethostname(),
               pid=os.getpid(),
               machine=dict(provenance.machine(precisions.onednn_enabled()),
                            tf_threads=runtime.threads()))
  history = old.get('history', [])
  if not history or history[-1] != start:
    history = history + [start]
  record = {'git_commit': provenance.run_commit(old) or start['git_commit']}
  record.update(settings, history=history)
  record.update(extra or {})
  write_config(root_dir, record)


def write_done(root_dir: str, record: Dict[str, Any]):
  """Marks a run finished: its final scores and losses in done.json."""
  storage.write_json(os.path.join(root_dir, run_layout.DONE_JSON), record)

