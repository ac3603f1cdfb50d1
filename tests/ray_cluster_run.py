"""Helper of test_executors: the smoke transfer protocol on Ray's multi-node test
cluster, losing the node that runs a training task mid-run.

Run in a fresh interpreter (`python tests/ray_cluster_run.py ROOT EXPORT`): a Ray
cluster started from a process where `ray.init` ran before fails to authenticate its
driver. Prints one JSON line: whether a node was removed, the run it was running,
the protocol's exit code and the end of its output.
"""

import json
import os
import subprocess
import sys
import time

from ray.cluster_utils import Cluster

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _ancestors(pid):
  """The process ids above `pid`, nearest first (Linux /proc)."""
  chain = []
  while pid > 1:
    try:
      with open(f'/proc/{pid}/stat') as f:
        pid = int(f.read().rsplit(')', 1)[1].split()[1])
    except (FileNotFoundError, ProcessLookupError):
      break
    chain.append(pid)
  return chain


def read_json(path):
  """A JSON file, or None while it is missing or half-written."""
  try:
    with open(path) as f:
      return json.load(f)
  except (FileNotFoundError, json.JSONDecodeError):
    return None


def main(root, export_dir):
  cluster = Cluster(initialize_head=True, head_node_args={'num_cpus': 0})
  nodes = [cluster.add_node(num_cpus=1) for _ in range(2)]
  cluster.wait_for_nodes()
  removed, victim = False, None
  try:
    process = subprocess.Popen(
        [sys.executable, '-m', 'saarl_tf.launch', '--flagfile=launch/smoke.flags',
         '--experiment=transfer', '--executor=ray', '--cpus_per_run=1',
         f'--ray_address={cluster.address}', '--total_frames=4000',
         '--checkpoint_every=20', f'--root_dir={root}', f'--export_dir={export_dir}'],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    runs = [os.path.join(root, 'runs', 'Sprites', variant, 'seed_0')
            for variant in ('baseline', 'frozen')]
    deadline = time.time() + 900
    while not removed and time.time() < deadline and process.poll() is None:
      for run in runs:
        settings = read_json(os.path.join(run, 'config.json'))
        if (settings and os.path.exists(os.path.join(run, 'checkpoints', 'checkpoint'))
            and not os.path.exists(os.path.join(run, 'done.json'))):
          above = _ancestors(settings['history'][-1]['pid'])
          node = next((n for n in nodes
                       if n.all_processes['raylet'][0].process.pid in above), None)
          if node is not None:
            cluster.remove_node(node)
            removed, victim = True, run
            break
      time.sleep(0.1)
    output, _ = process.communicate(timeout=1200)
  finally:
    cluster.shutdown()
  print(json.dumps({'removed': removed, 'victim': victim,
                    'returncode': process.returncode, 'output': output[-3000:]}))


if __name__ == '__main__':
  main(*sys.argv[1:3])
