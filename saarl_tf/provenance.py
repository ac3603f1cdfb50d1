"""Where a result came from: the package version, the git commit of its code, and
the machine and library versions it ran on. TensorFlow-free."""

import functools
import importlib.metadata
import os
import platform
import subprocess
from typing import Any, Dict, Optional, Tuple

# The libraries whose versions decide a run's numbers, as pip names them.
RECORDED_PACKAGES = ('tensorflow', 'tf-agents', 'tensorflow-probability', 'ale-py',
                     'numpy')
# CPU features that decide TensorFlow's kernels: AVX-512 and native bfloat16.
RECORDED_CPU_FLAGS = ('avx2', 'avx512f', 'avx512_bf16', 'amx_bf16')
# Caps on the instructions of oneDNN (TensorFlow's and PyTorch's), PyTorch's own
# kernels and MKL (PyTorch's matrix products), e.g. AVX2 to measure an AVX2-only CPU's
# figures on an AVX-512 one.
ONEDNN_ISA_VARIABLE = 'ONEDNN_MAX_CPU_ISA'
ISA_CAP_VARIABLES = (ONEDNN_ISA_VARIABLE, 'ATEN_CPU_CAPABILITY',
                     'MKL_ENABLE_INSTRUCTIONS')


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
  `git_commit` (where the run's format has it), else the first
  start's in `history`; None if neither is recorded."""
  if settings.get('git_commit'):
    return settings['git_commit']
  history = settings.get('history') or [{}]
  return history[0].get('git_commit')


@functools.lru_cache(maxsize=None)
def _cpuinfo() -> Tuple[str, Tuple[str, ...]]:
  """(model name, flags) of the first CPU in /proc/cpuinfo; ('', ()) elsewhere."""
  model, flags = '', ()
  try:
    with open('/proc/cpuinfo') as f:
      for line in f:
        key, _, value = line.partition(':')
        if key.strip() == 'model name' and not model:
          model = value.strip()
        elif key.strip() == 'flags' and not flags:
          flags = tuple(value.split())
  except OSError:
    pass
  return model, flags


def cpu_flags() -> Tuple[str, ...]:
  """The CPU's feature flags (Linux), empty where they cannot be read."""
  return _cpuinfo()[1]


def _version(package: str) -> Optional[str]:
  try:
    return importlib.metadata.version(package)
  except importlib.metadata.PackageNotFoundError:
    return None


def machine(onednn: Optional[bool] = None) -> Dict[str, Any]:
  """What a run's numbers depend on besides its code and settings: the CPU (model,
  cores, the `RECORDED_CPU_FLAGS` it has, the `ISA_CAP_VARIABLES` set), Python and
  `RECORDED_PACKAGES`' versions, and whether TensorFlow's oneDNN kernels are on
  (`onednn`, if the caller knows)."""
  model, flags = _cpuinfo()
  record = {'cpu': model or platform.processor() or platform.machine(),
            'cores': os.cpu_count(),
            'cpu_flags': [flag for flag in RECORDED_CPU_FLAGS if flag in flags],
            'python': platform.python_version(),
            'versions': {package: _version(package) for package in RECORDED_PACKAGES}}
  caps = {name: os.environ[name] for name in ISA_CAP_VARIABLES if name in os.environ}
  if caps:
    record['isa_caps'] = caps
  if onednn is not None:
    record['onednn'] = onednn
  return record


def kernels_text(record: Dict[str, Any]) -> str:
  """'oneDNN on' or 'oneDNN off', then ', NAME=value' for each ISA cap a `machine()`
  record holds, for the lines that name a machine."""
  return (f'oneDNN {"on" if record.get("onednn") else "off"}'
          + ''.join(f', {name}={value}'
                    for name, value in record.get('isa_caps', {}).items()))
