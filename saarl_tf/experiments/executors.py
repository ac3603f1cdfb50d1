"""Where a protocol's runs execute: one after another in this process, or on Ray.

A protocol hands its work to an executor as `submit(function, *args)` calls and
collects the results with `gather`; an argument may be the handle of an earlier
submission (the frozen runs take the pre-trained mask's), which the executor resolves
first.

* `LocalExecutor` calls each function at once, in this process: the protocol runs one
  run after another, as it always did.
* `RayExecutor` makes each call a Ray task (Ray core). With no address it starts an
  embedded Ray on this machine, using all its cores; with `auto` or `ray://host:port`
  it joins a cluster. Each task asks for `cpus_per_run` CPUs and `gpus_per_run` GPUs
  (fractions allowed), so Ray runs as many at once as the nodes have room for, and
  sets TensorFlow's thread pools to its CPUs so that runs sharing a machine don't
  oversubscribe it. Each task gets a fresh worker process (TensorFlow's thread pools
  can be set once per process). A task whose worker dies (killed, out of memory, node
  lost) is retried up to `max_retries` times; the run resumes from the last checkpoint
  in its run directory, which every node must reach (`saarl_tf.storage`: a shared
  filesystem or gs://...). Tasks that wait on another's result (a frozen run on the
  mask) start when it is ready; the others start at once.

Ray core tasks rather than Ray Tune: a protocol is a fixed grid of runs with no search
or early stopping, and Tune would move each run's results and checkpoints into its own
layout and trial names; tasks keep the run directories, resume logic and reports the
package already has.
"""

import dataclasses
import importlib.util
import os
from typing import Any, Callable, List, Optional, Sequence

from saarl_tf import provenance
from saarl_tf import runtime
from saarl_tf.training import run_lease

EXECUTORS = ('local', 'ray')


@dataclasses.dataclass(frozen=True)
class Capacity:
  """How an executor's runs share the CPUs: `runs_at_once` side by side, each with
  `cpus_per_run` of them."""
  runs_at_once: int
  cpus_per_run: float


def machine_cpus() -> int:
  """The CPUs this process may run on."""
  return len(os.sched_getaffinity(0))


class LocalExecutor:
  """Runs each submitted function at once, here; handles are the results."""

  name = 'local'

  def capacity(self) -> Capacity:
    """One run at a time, with every CPU of this machine."""
    return Capacity(1, float(machine_cpus()))

  def submit(self, function: Callable[..., Any], *args) -> Any:
    return function(*args)

  def gather(self, handles: Sequence[Any]) -> List[Any]:
    return list(handles)

  def close(self):
    pass


def limit_threads(cpus: float):
  """Sizes TensorFlow's thread pools to `cpus` (before TensorFlow starts its runtime):
  one thread per kernel, up to `runtime.DEFAULT_INTER_OP_THREADS` kernels side by
  side."""
  runtime.set_threads(runtime.DEFAULT_INTRA_OP_THREADS,
                      max(1, min(runtime.DEFAULT_INTER_OP_THREADS, int(cpus))))


def _in_worker(cpus: float, function: Callable[..., Any], *args) -> Any:
  """A Ray task's body: thread pools sized to the task's CPUs, then the work.

  A retried task may start while the worker it replaces is still dying (a node
  being removed): its run's lease is waited for, as long as a lost node's would take
  to expire, rather than refused at once.
  """
  runtime.prefer_onednn()
  limit_threads(cpus)
  run_lease.set_wait(run_lease.EXPIRES_AFTER)
  return function(*args)


class RayExecutor:
  """Each submitted function is a Ray task (module docstring)."""

  name = 'ray'

  def __init__(self, address: Optional[str] = None, cpus_per_run: float = 2,
               gpus_per_run: float = 0, max_retries: int = 3,
               num_cpus: Optional[int] = None):
    """Connects to Ray, or starts it here.

    Args:
      address: None starts an embedded Ray on this machine; 'auto' or
        'ray://host:port' joins a running cluster.
      cpus_per_run, gpus_per_run: what each task asks for (fractions allowed).
      max_retries: how often a task whose worker died is retried.
      num_cpus: the embedded Ray's CPUs (default: all of this machine's).
    """
    import ray  # pylint: disable=g-import-not-at-top
    self._ray = ray
    self._started = not ray.is_initialized()
    if self._started:
      ray.init(address=address, num_cpus=num_cpus if address is None else None,
               include_dashboard=False, logging_level='WARNING',
               # Workers import this package as the driver does (the same
               # interpreter on one box; installed on every node of a cluster).
               runtime_env={'env_vars': {
                   'PYTHONPATH': provenance.pythonpath_with_package()}}
               if address is None else None)
    self._cpus, self._gpus = cpus_per_run, gpus_per_run
    self._task = ray.remote(num_cpus=cpus_per_run, num_gpus=gpus_per_run,
                            max_retries=max_retries, max_calls=1)(_in_worker)

  def capacity(self) -> Capacity:
    """As many runs at once as the cluster's CPUs (and GPUs, if runs ask for them)
    have room for."""
    resources = self._ray.cluster_resources()
    room = resources.get('CPU', 0) // self._cpus
    if self._gpus:
      room = min(room, resources.get('GPU', 0) // self._gpus)
    return Capacity(max(1, int(room)), self._cpus)

  def submit(self, function: Callable[..., Any], *args):
    return self._task.remote(self._cpus, function, *args)

  def gather(self, handles: Sequence[Any]) -> List[Any]:
    return self._ray.get(list(handles))

  def close(self):
    if self._started:
      self._ray.shutdown()


def ray_installed() -> bool:
  """Whether Ray (the `cluster` extra) can be imported."""
  return importlib.util.find_spec('ray') is not None


def make_executor(name: str, address: Optional[str] = None, cpus_per_run: float = 2,
                  gpus_per_run: float = 0, max_retries: int = 3):
  """`LocalExecutor()` or `RayExecutor(...)` by name.

  Raises:
    ValueError: an unknown name (one line).
    ImportError: `ray` without Ray installed (one line naming the extra).
  """
  if name == 'local':
    return LocalExecutor()
  if name == 'ray':
    if not ray_installed():
      raise ImportError('--executor=ray needs Ray, which is not installed: '
                        'pip install -e ".[cluster]"')
    return RayExecutor(address, cpus_per_run, gpus_per_run, max_retries)
  raise ValueError(f'executor {name!r}: expected one of {", ".join(EXECUTORS)}')
