# Runs 60 updates of MsPacman baseline and joint (16 envs, seed 0, float32) with the code of
# the checkout it runs from and prints the last losses: run it from worktrees of two
# commits (cd runs/wt_C && PYTHONPATH=$PWD python ../../results/provenance/compare_commits.py)
# to see whether they compute the same thing.
import sys, json, tempfile, dataclasses
from saarl_tf.training import a2c_training
out = {}
for variant in ('baseline', 'joint'):
  import os
  if os.path.exists('saarl_tf/config.py'):
    from saarl_tf import config as config_lib
    cfg = config_lib.replace(config_lib.A2CConfig(), game='MsPacman', variant=variant, num_envs=16, total_frames=10**9, precision='float32',
                             **{'eval.every': 0, 'schedule.checkpoint_every': 10**6, 'schedule.progress': False})
  else:
    cfg = a2c_training.A2CConfig(game='MsPacman', variant=variant, num_envs=16, total_frames=10**9, precision='float32', eval_every=0, checkpoint_every=10**6, progress=False)
  run = a2c_training.A2CRun(cfg, tempfile.mkdtemp())
  losses = run.run(60)
  out[variant] = {k: float(v) for k, v in losses.items() if v is not None and not isinstance(v, str)}
  out[variant]['episodes'] = [list(map(float, r[:3])) for r in run.env.finished_episodes()]
  run.close()
print('RESULT', json.dumps(out))
