"""Run files on any filesystem TensorFlow supports, through `tf.io.gfile`.

Local disks, shared filesystems, gs://, s3:// (with tensorflow-io's plug-in) and
TensorFlow's in-memory ram:// (tests) alike: every CSV, JSON, figure and video of a run
goes through here, checkpoints through tf-agents' `Checkpointer` and TensorBoard events
through `tf.summary`, which use `tf.io.gfile` themselves. So `--root_dir` may be
storage that every node of a cluster shares, and no code path assumes a local POSIX
path.

TensorFlow is imported on first use, so that the launcher's flag checks answer before
it loads unless they have a file to look at.
"""

import csv
import io
import json
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union


def gfile():
  """`tf.io.gfile`, imported on first use."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  return tf.io.gfile


def exists(path: str) -> bool:
  """Local paths without TensorFlow (so that the launcher's flag checks answer before
  it loads); gs://, ram://... through `tf.io.gfile`."""
  return gfile().exists(path) if '://' in path else os.path.exists(path)


def makedirs(path: str):
  """Makes `path` and its parents; nothing for '' (the current directory)."""
  if path:
    gfile().makedirs(path)


def open_file(path: str, mode: str = 'r'):
  """A `tf.io.gfile.GFile` (modes r, w, a, rb, wb)."""
  return gfile().GFile(path, mode)


def glob(pattern: str) -> List[str]:
  return gfile().glob(pattern)


TEMPORARY_SUFFIX = '.tmp'    # what `write_atomically` writes aside


def write_atomically(path: str, data: Union[str, bytes]):
  """Writes `data` aside, then renames it over `path`: a reader (or a crash) never
  sees half a file. On object stores the rename is a copy, still whole."""
  makedirs(os.path.dirname(path))
  temporary = path + TEMPORARY_SUFFIX
  try:
    with open_file(temporary, 'wb' if isinstance(data, bytes) else 'w') as f:
      f.write(data)
    gfile().rename(temporary, path, overwrite=True)
  except BaseException:       # a stop (signals raise) or a full disk leaves no litter
    remove_quietly(temporary)
    raise


def remove_quietly(path: str):
  """Removes `path` if it is there."""
  try:
    gfile().remove(path)
  except Exception:  # pylint: disable=broad-except
    pass             # not there (never written, or removed by another process)


def write_csv(path: str, fields: Sequence[str], rows: Sequence[Mapping[str, Any]]):
  """A CSV with a header of `fields` and one line per row (dicts), atomically."""
  table = io.StringIO()
  writer = csv.DictWriter(table, fields, lineterminator='\n')
  writer.writeheader()
  writer.writerows(rows)
  write_atomically(path, table.getvalue())


def read_text(path: str) -> Optional[str]:
  """The file's text, or None if it does not exist (or is removed while being read:
  another process's lease file, for one)."""
  if not exists(path):
    return None
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  try:
    with open_file(path) as f:
      return f.read()
  except (tf.errors.NotFoundError, FileNotFoundError):
    return None


def write_json(path: str, record: Dict[str, Any]):
  """JSON, indented, written atomically."""
  write_atomically(path, json.dumps(record, indent=2))


def read_json(path: str) -> Optional[Dict[str, Any]]:
  """The JSON record in `path`, or None if there is none.

  Raises:
    ValueError: the file is not valid JSON (one line naming it and where).
  """
  text = read_text(path)
  if text is None:
    return None
  try:
    return json.loads(text)
  except json.JSONDecodeError as error:
    raise ValueError(f'{path} is damaged: not valid JSON ({error.msg} at line '
                     f'{error.lineno}, column {error.colno}); restore it or move the '
                     'run aside') from None


def save_figure(figure, path: str, **savefig_args):
  """A Matplotlib figure as the format `path`'s suffix names (png, svg...)."""
  buffer = io.BytesIO()
  figure.savefig(buffer, format=os.path.splitext(path)[1][1:], **savefig_args)
  write_atomically(path, buffer.getvalue())
