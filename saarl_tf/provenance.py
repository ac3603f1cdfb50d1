"""Where a result came from: the package version and the git commit of its code."""

import importlib.metadata
import os
import subprocess
from typing import Optional


def package_version() -> str:
  """saarl_tf's installed version, or 'unknown' when it runs from a bare checkout."""
  try:
    return importlib.metadata.version('saarl_tf')
  except importlib.metadata.PackageNotFoundError:
    return 'unknown'


def package_root() -> str:
  """The directory holding the saarl_tf package (the repository root of a checkout)."""
  return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pythonpath_with_package() -> str:
  """PYTHONPATH with `package_root()` first, so that another process (another
  interpreter, a Ray worker) imports this package as this one does."""
  return os.pathsep.join([package_root()] + [
      path for path in os.environ.get('PYTHONPATH', '').split(os.pathsep) if path])


def git_commit() -> Optional[str]:
  """The commit of the checkout the package runs from ('+dirty' if it has edits),
  or None outside a git checkout."""
  package_dir = os.path.dirname(os.path.abspath(__file__))
  try:
    commit = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=package_dir,
                            capture_output=True, text=True, check=True,
                            timeout=10).stdout.strip()
    dirty = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no'],
                           cwd=package_dir, capture_output=True, text=True,
                           check=True, timeout=10).stdout.strip()
  except (OSError, subprocess.SubprocessError):
    return None
  return commit + ('+dirty' if dirty else '')


def repository_path(path: str) -> str:
  """`path` relative to the repository (`package_root()`) when it lies inside it, so
  that a record names a committed file the same way on every machine; else as given."""
  root = package_root()
  absolute = os.path.abspath(path)
  if '://' in path or os.path.commonpath([root, absolute]) != root:
    return path
  return os.path.relpath(absolute, root)


def run_commit(settings: dict) -> Optional[str]:
  """The commit a run started at, from its config.json in any format: the top-level
  `git_commit` (written since 2026-12-02 and by the first runs), else the first
  start's in `history`; None if neither is recorded."""
  if settings.get('git_commit'):
    return settings['git_commit']
  history = settings.get('history') or [{}]
  return history[0].get('git_commit')
