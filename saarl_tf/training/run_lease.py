"""One writer per run directory: a lease that its holder renews.

Two processes writing one run directory (a double submit, a retried cluster task whose
first worker still lives) would interleave their CSV rows, TensorBoard events and
checkpoints. So a process that writes a run holds `lease.json` in it: host, process
id, since when, and when it last renewed it (every `RENEW_EVERY` seconds, on a daemon
thread). A second start refuses in one line naming the holder.

A holder that died does not block a resume: on the same host its process id is looked
up (a dead process frees the run at once; a live one, even paused by SIGSTOP, holds
it); from another host a lease not renewed for `EXPIRES_AFTER` seconds is free. Local
leases are written whole aside and hard-linked into place (a link fails if the lease
exists), so of two starts at once exactly one wins and a start stopped at any moment
never leaves half a lease that would block every later start (the next start removes
the record it wrote aside, at once if its process is dead); on object stores (gs://,
s3://, which have no exclusive create) the lease is written, left to settle for
`SETTLE` seconds and read back, and the start whose token is not there refuses.
"""

import datetime
import errno
import json
import os
import re
import socket
import threading
import time
from typing import Any, Dict, Optional
import uuid

from saarl_tf import run_layout
from saarl_tf import storage

RENEW_EVERY = 30.0      # seconds between renewals
EXPIRES_AFTER = 300.0   # seconds without renewal after which another host may take it
SETTLE = 2.0            # seconds a non-local lease is left before it is read back
LITTER_AFTER = 60.0     # seconds after which a lease written aside is left over
_ASIDE = re.compile(re.escape(run_layout.LEASE_JSON) + r'\.[0-9a-f]{32}')  # + token
# How long a start waits for a live holder to end before it refuses: 0 on the command
# line (refuse at once); a retried cluster task sets it (`set_wait`), since the worker
# it replaces may still be dying when the retry starts.
_wait = {'seconds': 0.0}


def set_wait(seconds: float):
  """Makes this process's starts wait up to `seconds` for a live holder to end."""
  _wait['seconds'] = float(seconds)


class RunBusy(RuntimeError):
  """Another live process writes this run directory."""


def _is_local(path: str) -> bool:
  return '://' not in path


def _process_alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except OSError as error:
    return error.errno == errno.EPERM      # alive, someone else's
  return True


def _parse(text: Optional[str]) -> Optional[Dict[str, Any]]:
  """A lease's record, or None if there is none or it is damaged (holds nothing)."""
  try:
    record = None if text is None else json.loads(text)
  except ValueError:
    return None
  return record if isinstance(record, dict) else None


def _here(record: Dict[str, Any]) -> bool:
  """Whether a lease record names a process of this host (its pid can be looked up)."""
  return record.get('host') == socket.gethostname() and 'pid' in record


class Lease:
  """The lease on one run directory; a context manager.

  `lost` turns true if another process took the lease over (this one was thought
  dead: another host saw no renewal for `EXPIRES_AFTER` s); the holder should stop.
  """

  def __init__(self, root_dir: str, renew_every: float = RENEW_EVERY,
               expires_after: float = EXPIRES_AFTER, settle: float = SETTLE):
    self.root_dir = root_dir
    self.path = os.path.join(root_dir, run_layout.LEASE_JSON)
    self._renew_every = renew_every
    self._expires_after = expires_after
    self._settle = settle
    self._record = None
    self._stop = threading.Event()
    self._thread = None
    self.lost = False

  # --- taking it ---------------------------------------------------------------------

  def acquire(self) -> 'Lease':
    """Takes the lease, or raises RunBusy (one line naming the holder)."""
    storage.makedirs(self.root_dir)
    now = time.time()
    self._record = {'host': socket.gethostname(), 'pid': os.getpid(),
                    'since': datetime.datetime.fromtimestamp(now).astimezone()
                    .isoformat(timespec='seconds'),
                    'renewed': now, 'token': uuid.uuid4().hex}
    self._sweep_asides()
    deadline = time.time() + _wait['seconds']
    # A damaged lease is removed once it is SETTLE s old: try that long at least.
    give_up = max(deadline, time.time() + 2 * SETTLE)
    while True:
      text = self._text()
      holder = _parse(text)
      if holder is not None and self._held(holder):
        if time.time() < deadline:
          time.sleep(1.0)
          continue
        raise RunBusy(self._busy_message(holder))
      if holder is not None or (text is not None and self._age() >= SETTLE):
        self._remove_if_unchanged(text)   # a dead holder's, or a damaged one
      if self._create():
        break
      time.sleep(0.2)
      if time.time() >= give_up:
        raise RunBusy(self._busy_message(self._read() or {}))
    self._thread = threading.Thread(target=self._renew_loop, daemon=True,
                                    name=f'lease {self.root_dir}')
    self._thread.start()
    return self

  def _create(self) -> bool:
    """Writes our record if no lease exists; whether it is ours now."""
    text = json.dumps(self._record, indent=2)
    if _is_local(self.path):
      aside = f'{self.path}.{self._record["token"]}'
      try:
        with open(aside, 'w') as f:
          f.write(text)
        os.link(aside, self.path)
      except (FileExistsError, FileNotFoundError):
        return False           # a lease exists, or our aside was swept: try again
      except OSError:          # a file system without hard links: create, then fill
        return self._create_exclusive(text)
      finally:
        storage.remove_quietly(aside)
      return True
    storage.write_atomically(self.path, text)
    time.sleep(self._settle)
    holder = self._read()
    return holder is not None and holder.get('token') == self._record['token']

  def _sweep_asides(self):
    """Removes lease records written aside (`_create`, `storage.write_atomically`)
    and left by a process stopped mid-write: those naming a dead process of this host,
    and any `LITTER_AFTER` s old (none is in flight)."""
    if not _is_local(self.path):
      return
    renewal = run_layout.LEASE_JSON + storage.TEMPORARY_SUFFIX
    for name in os.listdir(self.root_dir):
      if name == renewal or _ASIDE.fullmatch(name):
        path = os.path.join(self.root_dir, name)
        try:
          left = time.time() - os.stat(path).st_mtime >= LITTER_AFTER
        except OSError:
          continue        # removed meanwhile
        if not left:      # fresh: left over only if it names a dead process here
          writer = _parse(storage.read_text(path)) or {}
          left = _here(writer) and not _process_alive(int(writer['pid']))
        if left:
          storage.remove_quietly(path)

  def _create_exclusive(self, text: str) -> bool:
    try:
      descriptor = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
      return False
    with os.fdopen(descriptor, 'w') as f:
      f.write(text)
    return True

  def _held(self, holder: Dict[str, Any]) -> bool:
    """Whether the holder of `holder` is (to our knowledge) alive."""
    if holder.get('token') == (self._record or {}).get('token'):
      return False
    if _here(holder):
      return _process_alive(int(holder['pid']))
    return time.time() - float(holder.get('renewed', 0)) < self._expires_after

  def _age(self) -> float:
    """Seconds since the lease file last changed (0 if it is gone)."""
    try:
      return time.time() - storage.gfile().stat(self.path).mtime_nsec / 1e9
    except Exception:  # pylint: disable=broad-except
      return 0.0       # removed meanwhile: nothing to remove

  def _remove_if_unchanged(self, text: str):
    """Removes a lease that holds nothing (a dead holder's, or one that is not a whole
    record: starts write leases whole, see above, so it is left from a start stopped
    mid-write or a damaged disk), unless another start replaced it meanwhile."""
    if self._text() == text:
      storage.remove_quietly(self.path)   # gone already: another start removed it

  def _busy_message(self, holder: Dict[str, Any]) -> str:
    age = time.time() - float(holder.get('renewed', time.time()))
    return (f'{self.root_dir} is being written by another process: host '
            f'{holder.get("host", "?")}, pid {holder.get("pid", "?")}, since '
            f'{holder.get("since", "?")} (lease renewed {age:.0f} s ago). Wait for it '
            f'or stop it; a holder that died frees the run (at once on its host, after '
            f'{self._expires_after:.0f} s without renewal elsewhere)')

  def _text(self) -> Optional[str]:
    try:
      return storage.read_text(self.path)
    except OSError:
      return None       # unreadable: holds nothing

  def _read(self) -> Optional[Dict[str, Any]]:
    return _parse(self._text())

  # --- keeping it --------------------------------------------------------------------

  def _renew_loop(self):
    while not self._stop.wait(self._renew_every):
      self.renew()

  def renew(self):
    """Writes a fresh renewal time, or notes that the lease was taken over."""
    holder = self._read()
    if holder is None or holder.get('token') != self._record['token']:
      self.lost = True
      self._stop.set()
      return
    self._record['renewed'] = time.time()
    storage.write_atomically(self.path, json.dumps(self._record, indent=2))

  def release(self):
    """Ends the renewals and removes the lease if it is still ours."""
    self._stop.set()
    if self._thread is not None:
      self._thread.join()
      self._thread = None
    holder = self._read()
    if self._record and holder and holder.get('token') == self._record['token']:
      storage.gfile().remove(self.path)

  def __enter__(self) -> 'Lease':
    return self.acquire()

  def __exit__(self, *exc_info):
    self.release()
