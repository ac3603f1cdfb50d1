r"""The entry point: `python -m saarl_tf.launch --flagfile=launch/<protocol>.flags`.

The run flags below say what to run and where; every hyperparameter flag is made
from its declaration in `saarl_tf.config` (default, help and allowed values in one
place), so `--helpfull` lists them all. Bad values stop the launcher before any work,
with one line naming the value and what is allowed (before TensorFlow loads, unless a
path flag needs `tf.io.gfile` to be checked).

Experiments:
  pretrain_mask  train the attention mask offline on random-policy frames of --games,
                 then score it against ground-truth objects (the universal mask of the
                 multi-task protocol by default; --games=JourneyEscape for transfer).
  a2c            one A2C run on one game (--games=Pong): --variant=baseline (no mask),
                 joint (mask trained with the agent) or frozen (--mask_checkpoint).
  export         the attention mask of a pretrain_mask run (--checkpoint) as a
                 SavedModel in --export_dir, scored on --eval_frames frames per game.
  mask_quality   a mask (--checkpoint: an export or a pretrain_mask run's
                 checkpoints/) scored against ground-truth objects on --games, per
                 game and per kind of object, with overlays, into --output.
  single_task    the paper's protocols (Figures 2-4): every game x variant x seed of
  multi_task     the protocol, resumable, with results.csv, learning_curves.png and
  transfer       summary.md; --games and --seeds override the protocol's defaults;
                 --executor=ray runs them as Ray tasks on every core or a cluster.
  all            single_task, multi_task and transfer in turn (launch/smoke.flags).
  keypoints      Figure 5: keypoints from the mask (NMS) against Transporter's, scored
                 against ground-truth boxes on --games (launch/keypoints.flags).
  report         learning curves, results.csv and a summary table with 95% CIs of any
                 runs (--runs='runs/MsPacman/*/seed_*'), grouped by game and variant
                 from their config.json, into --output.
  play           watch an agent: --eval_games complete games of a trained run's policy
                 (--run=runs/.../seed_0) or random play of --games with a mask export
                 (--mask=export/universal_mask), each score printed, and with
                 --video=out.mp4 a video of the screen with the mask over it.
"""

import errno
import logging as std_logging
import os
import sys

# TensorFlow's C++ start-up lines (oneDNN, CUDA stubs, CPU features, TensorRT, and
# three 'Unable to register' errors of every TensorFlow 2.15 import) would bury ours:
# shown only with --verbosity=1 (absl's) or above; a user's own setting wins.
_VERBOSE = any(arg.startswith(('--verbosity=', '-v=')) and arg.split('=')[1] not in
               ('0', '-1', '-2', '-3', 'info', 'warning', 'error', 'fatal')
               for arg in sys.argv[1:])
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '0' if _VERBOSE else '3')

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import flags
from absl import logging

from saarl_tf import config as config_lib
from saarl_tf import protocol_table
from saarl_tf import run_layout
from saarl_tf import runtime
from saarl_tf import storage
from saarl_tf.envs import games as games_lib
from saarl_tf.experiments import executors  # TF-free
from saarl_tf.training import run_files
from saarl_tf.training import run_lease
from saarl_tf.training import stopping

PROTOCOL_NAMES = protocol_table.PROTOCOL_NAMES
EXPERIMENTS = ('pretrain_mask', 'a2c', 'export', 'mask_quality') + PROTOCOL_NAMES + (
    'all', 'keypoints', 'report', 'play')
FLAGS = flags.FLAGS

# Run flags: what to run, on what, and where.
_EXPERIMENT = flags.DEFINE_enum('experiment', 'pretrain_mask', EXPERIMENTS,
                                'Which experiment to run.')
_ROOT_DIR = flags.DEFINE_string(
    'root_dir', None, 'Where logs, checkpoints and results go; default runs/<experiment>.')
_GAMES = flags.DEFINE_list(
    'games', [], 'Games as the paper writes them (or ale ids), or Sprites. Default: '
    "the protocol's games; for pretrain_mask and keypoints "
    + ','.join(config_lib.UNIVERSAL_MASK_GAMES) + '.')
_SEEDS = flags.DEFINE_list('seeds', ['0', '1', '2', '3', '4'],
                           'Protocols: one run per seed (the paper averages 5).')
_CHECKPOINT = flags.DEFINE_string(
    'checkpoint', None, 'export, mask_quality: the checkpoints/ directory of a '
    'pretrain_mask run, or an export (export: written anew with this version, its '
    'weights, record and scores kept).')
_RUNS = flags.DEFINE_string(
    'runs', None, "report: a glob of run directories, e.g. 'runs/MsPacman/*/seed_*'.")
_OUTPUT = flags.DEFINE_string('output', None,
                               'report, mask_quality: where its files go.')
_TITLE = flags.DEFINE_string('title', 'A2C runs', "report: the figure's title.")
_REPORT_FRAMES = flags.DEFINE_integer(
    'report_frames', None, 'report: read each run only up to this many frames (e.g. '
    "40M-frame runs at 4M, beside 4M runs); default: each run's budget.", lower_bound=1)
_EXPORT_DIR = flags.DEFINE_string(
    'export_dir', None, 'export: where the SavedModel goes (default export/mask); '
    'protocols: where their pre-trained mask is exported (default export/).')

# Where a protocol's runs execute (experiments/executors.py).
_EXECUTOR = flags.DEFINE_enum(
    'executor', 'local', list(executors.EXECUTORS),
    "Protocols: local runs them one after another here; ray makes each run (and the "
    'mask pre-training) a Ray task, on every core of this machine or a cluster.')
_RAY_ADDRESS = flags.DEFINE_string(
    'ray_address', None, "ray: none starts Ray on this machine; 'auto' or "
    "'ray://host:port' joins a running cluster (ray start --head).")
_CPUS_PER_RUN = flags.DEFINE_float(
    'cpus_per_run', 2, 'ray: CPUs each run asks for (a run alone keeps about 2 '
    'busy; 1 finishes a protocol sooner where runs outnumber the cores); '
    "TensorFlow's thread pools are sized to it.", lower_bound=0.01)
_GPUS_PER_RUN = flags.DEFINE_float(
    'gpus_per_run', 0, 'ray: GPUs each run asks for; fractions share a GPU.',
    lower_bound=0)
_MAX_RETRIES = flags.DEFINE_integer(
    'max_retries', 3, 'ray: how often a run whose worker died is retried; it resumes '
    'from its last checkpoint.', lower_bound=0)

# The TensorFlow runtime of this process (not a run's settings: same results).
runtime.define_flags(FLAGS)
runtime.prefer_onednn()

# Hyperparameters: one flag per setting of the configs.
config_lib.define_flags(FLAGS, config_lib.PretrainConfig, config_lib.A2CConfig,
                        config_lib.KeypointsConfig, config_lib.PlayConfig)


# Checks that span flags; each failure is one line naming the value and the rule.
# Local paths are looked at without TensorFlow (`storage.exists`).


@flags.validator('games')
def _games_are_known(names):
  for name in names:
    try:
      games_lib.check_game(name)
    except ValueError as error:
      raise flags.ValidationError(f'--games: {error}') from None
  return True


@flags.validator('seeds')
def _seeds_are_integers(values):
  if not values or not all(v.strip().lstrip('-').isdigit() for v in values):
    raise flags.ValidationError(
        f'--seeds must be a comma-separated list of integers, got {",".join(values)}')
  return True


@flags.multi_flags_validator(['mask_checkpoint', 'mask_init_checkpoint'])
def _checkpoints_exist(values):
  mask, init = values['mask_checkpoint'], values['mask_init_checkpoint']
  if mask and not (run_layout.holds_checkpoint(mask) or run_layout.holds_export(mask)):
    raise flags.ValidationError(
        f'--mask_checkpoint={mask} holds neither a mask export nor a checkpoint; '
        'expected e.g. export/universal_mask or <pretrain_mask run>/checkpoints')
  if init and not run_layout.holds_checkpoint(init):
    raise flags.ValidationError(
        f'--mask_init_checkpoint={init} holds no checkpoint; expected the '
        'checkpoints/ directory of a pretrain_mask run')
  return True


@flags.multi_flags_validator(['num_envs', 'env_groups'])
def _env_groups_divide_the_envs(values):
  if values['num_envs'] % values['env_groups']:
    raise flags.ValidationError(
        f'--env_groups={values["env_groups"]}: must divide '
        f'--num_envs={values["num_envs"]}; use --env_groups=1')
  return True


@flags.multi_flags_validator(['experiment', 'games', 'variant', 'mask_checkpoint'])
def _a2c_flags_agree(values):
  if values['experiment'] != 'a2c':
    return True
  if len(values['games']) != 1:
    raise flags.ValidationError(
        f'--experiment=a2c trains on one game; got --games={",".join(values["games"])}')
  if values['variant'] == config_lib.FROZEN and not values['mask_checkpoint']:
    raise flags.ValidationError(
        '--variant=frozen needs --mask_checkpoint=<pretrain_mask run>/checkpoints')
  return True


@flags.multi_flags_validator(['experiment', 'checkpoint'])
def _export_flags_agree(values):
  experiment = values['experiment']
  if experiment not in ('export', 'mask_quality'):
    return True
  checkpoint = values['checkpoint']
  if not checkpoint or not (run_layout.holds_checkpoint(checkpoint)
                            or run_layout.holds_export(checkpoint)):
    raise flags.ValidationError(
        f'--experiment={experiment} needs --checkpoint=<pretrain_mask run>/checkpoints '
        f'holding a checkpoint, or a mask export; got --checkpoint={checkpoint}')
  return True


@flags.multi_flags_validator(['experiment', 'games', 'output'])
def _mask_quality_flags_agree(values):
  if values['experiment'] == 'mask_quality' and not (values['games']
                                                     and values['output']):
    raise flags.ValidationError(
        '--experiment=mask_quality needs --games=<games with ground truth, e.g. '
        f'Carnival,Asteroids> and --output=<directory>; got --games='
        f'{",".join(values["games"])} --output={values["output"]}')
  return True


@flags.multi_flags_validator(['experiment', 'runs', 'output'])
def _report_flags_agree(values):
  if values['experiment'] == 'report' and not (values['runs'] and values['output']):
    raise flags.ValidationError(
        "--experiment=report needs --runs='<glob of run directories>' and "
        '--output=<directory>')
  return True


@flags.multi_flags_validator(['experiment', 'run', 'mask', 'video', 'games'])
def _play_flags_agree(values):
  if values['experiment'] != 'play':
    return True
  run, mask, video = values['run'], values['mask'], values['video']
  if bool(run) == bool(mask):
    raise flags.ValidationError(
        '--experiment=play needs one of --run=<A2C run directory> or '
        f'--mask=<mask export>; got --run={run} --mask={mask}')
  if run and not storage.exists(os.path.join(run, run_layout.CONFIG_JSON)):
    raise flags.ValidationError(
        f'--run={run} is not an A2C run directory (it holds no '
        f'{run_layout.CONFIG_JSON})')
  if mask and not run_layout.holds_export(mask):
    raise flags.ValidationError(
        f'--mask={mask} is not a mask export (no {run_layout.SAVED_MODEL}); expected '
        'e.g. export/universal_mask')
  if mask and len(values['games']) != 1:
    raise flags.ValidationError(
        f'--mask plays one game; got --games={",".join(values["games"])}')
  if video:
    try:
      config_lib.check_video_path(video)
    except ValueError as error:
      raise flags.ValidationError(str(error)) from None
  return True


def _a2c_config(game: str) -> config_lib.A2CConfig:
  return config_lib.from_flags(config_lib.A2CConfig, FLAGS, game=game)


def _pretrain_config(games) -> config_lib.PretrainConfig:
  return config_lib.from_flags(config_lib.PretrainConfig, FLAGS, games=tuple(games))


# Experiments that write under --root_dir (the others read runs or write --output).
_WRITES_ROOT_DIR = ('a2c', 'pretrain_mask', 'keypoints', 'all') + PROTOCOL_NAMES


def _output_locations(root_dir: str):
  """(flag=value, directory) of every place the command will write."""
  experiment, places = _EXPERIMENT.value, []
  if experiment in _WRITES_ROOT_DIR:
    places.append((f'--root_dir={root_dir}', root_dir))
  exports = [name for name in PROTOCOL_NAMES if experiment in (name, 'all')
             and config_lib.FROZEN in protocol_table.PROTOCOLS[name].variants]
  if exports:
    export_root = _EXPORT_DIR.value or run_layout.DEFAULT_EXPORT_ROOT
    places.append((f'--export_dir={export_root}', export_root))
  elif experiment == 'export':
    export_dir = _EXPORT_DIR.value or os.path.join(run_layout.DEFAULT_EXPORT_ROOT,
                                                   'mask')
    places.append((f'--export_dir={export_dir}',
                   os.path.dirname(os.path.abspath(export_dir))))
  elif experiment in ('report', 'mask_quality'):
    places.append((f'--output={_OUTPUT.value}', _OUTPUT.value))
  elif experiment == 'play':
    for flag in ('video', 'strip', 'play_records'):
      if FLAGS[flag].value:
        places.append((f'--{flag}={FLAGS[flag].value}',
                       os.path.dirname(os.path.abspath(FLAGS[flag].value))))
  return places


def _check_writable(directory: str, flag: str):
  """Raises ValueError (one line, naming `flag`) unless files can be written in
  `directory`; a local one is looked at, not made (nothing is written before the work
  starts), a remote one (tf.io.gfile) is made and a probe file written."""
  try:
    if '://' in directory:             # through tf.io.gfile
      probe = os.path.join(directory, f'.write_probe_{os.getpid()}')
      storage.makedirs(directory)
      storage.write_atomically(probe, '')
      storage.gfile().remove(probe)
    else:                              # a local path: no TensorFlow to load
      path = os.path.abspath(directory)
      existing = path
      while not os.path.exists(existing):
        existing = os.path.dirname(existing)
      if not os.path.isdir(existing):
        raise NotADirectoryError(errno.ENOTDIR, 'Not a directory', directory)
      if not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, 'Permission denied', existing)
  except Exception as error:  # pylint: disable=broad-except
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    raise ValueError(f'{flag} is not writable: {reason}') from None


def _run(root_dir: str):
  """The experiment's handler; those that write under `root_dir` get it."""
  handler = _HANDLERS[_EXPERIMENT.value]
  with stopping.phase(_PHASES.get(_EXPERIMENT.value, 'set-up')):
    if _EXPERIMENT.value in _WRITES_ROOT_DIR:
      handler(root_dir)
      logging.info('Results in %s', root_dir)
    else:
      handler()


# TensorFlow-heavy modules are imported after flag parsing, so that a bad flag
# answers at once.


def _absolute(path: str) -> str:
  """A local path made absolute (Ray workers may start elsewhere); URLs as they are."""
  return path if '://' in path else os.path.abspath(path)


def _run_protocols(root_dir: str):
  """The protocol (or, for `all`, each in turn) on the chosen executor."""
  from saarl_tf.experiments import protocols  # pylint: disable=g-import-not-at-top
  try:
    executor = executors.make_executor(
        _EXECUTOR.value, _RAY_ADDRESS.value, _CPUS_PER_RUN.value, _GPUS_PER_RUN.value,
        _MAX_RETRIES.value)
  except ImportError as error:
    print(f'saarl_tf: {error}', file=sys.stderr)
    sys.exit(2)
  names = PROTOCOL_NAMES if _EXPERIMENT.value == 'all' else (_EXPERIMENT.value,)
  try:
    for name in names:
      directory = os.path.join(root_dir, name) if _EXPERIMENT.value == 'all' \
          else root_dir
      paths = protocols.run_protocol(
          protocol_table.PROTOCOLS[name], _absolute(directory), _a2c_config(game=''),
          _pretrain_config(games=()), games=_GAMES.value or None,
          seeds=[int(seed) for seed in _SEEDS.value],
          export_root=_absolute(_EXPORT_DIR.value or run_layout.DEFAULT_EXPORT_ROOT),
          executor=executor)
      print(f'{name}: {paths["csv"]}, {paths["figure"]}, {paths["summary"]}')
  finally:
    executor.close()


def _run_keypoints(root_dir: str):
  from saarl_tf.experiments import keypoint_comparison  # pylint: disable=g-import-not-at-top
  config = config_lib.from_flags(
      config_lib.KeypointsConfig, FLAGS,
      pretrain=_pretrain_config(_GAMES.value or config_lib.UNIVERSAL_MASK_GAMES))
  keypoint_comparison.run(config, root_dir)
  print(storage.read_text(os.path.join(root_dir, run_layout.KEYPOINTS_MD)))


def _print_a2c_result(config: config_lib.A2CConfig, root_dir: str, result):
  evaluation = (f'; evaluation {result["eval_raw_return_mean"]:.1f} at '
                f'{result["eval_frames"]:,} frames' if 'eval_raw_return_mean' in result
                else '')
  score = (f'mean raw score of the last 100 games {result["mean100_raw_return"]:.2f}'
           if 'mean100_raw_return' in result else 'no game finished')
  files = [run_layout.EPISODES_CSV]
  if config.eval.every:
    files += [run_layout.eval_csv(mode) for mode in config.eval.modes]
  files += [run_layout.DONE_JSON, f'{run_layout.TENSORBOARD_DIR}/ for TensorBoard']
  print(f'{config.game} {config.variant}: {score} after {config.total_frames:,} '
        f'frames{evaluation}; results in {root_dir} ({", ".join(files)})')


def _run_a2c(root_dir: str):
  config = _a2c_config(_GAMES.value[0])
  # Both checks read JSON only: a refused or finished run loads no TensorFlow model
  # and writes nothing.
  run_files.check_settings(root_dir, config_lib.to_dict(config))
  done = run_layout.finished_record(root_dir, config.total_frames)
  if done:
    print('Already finished. ', end='')
    _print_a2c_result(config, root_dir, done)
    return
  from saarl_tf.training import a2c_training  # pylint: disable=g-import-not-at-top
  _print_a2c_result(config, root_dir, a2c_training.train(config, root_dir))


def _run_report():
  from saarl_tf.experiments import report  # pylint: disable=g-import-not-at-top
  try:
    runs = report.find_runs(_RUNS.value)
  except ValueError as error:
    print(f'saarl_tf: {error}', file=sys.stderr)
    sys.exit(2)
  if _REPORT_FRAMES.value:
    runs = [run.up_to(_REPORT_FRAMES.value) for run in runs]
  paths = report.write_report(runs, _OUTPUT.value, _TITLE.value,
                              max(run.total_frames for run in runs))
  print(f'{len(runs)} runs: {paths["csv"]}, {paths["figure"]}, {paths["summary"]}')
  print(storage.read_text(paths['summary']))


def _run_play():
  from saarl_tf.experiments import play  # pylint: disable=g-import-not-at-top
  config = config_lib.from_flags(config_lib.PlayConfig, FLAGS)
  if config.run:
    player = play.run_player(config.run, config.policy)
    same = lambda name: name.lower().replace('_', '')
    if _GAMES.value and same(_GAMES.value[0]) != same(player.game):
      print(f'saarl_tf: --games={_GAMES.value[0]} but {config.run} was trained on '
            f'{player.game}', file=sys.stderr)
      sys.exit(2)
  else:
    player = play.mask_player(config.mask, _GAMES.value[0], config.seed)
  strip = (play.Strip(config.strip, config.strip_every, config.strip_frames)
           if config.strip else None)
  records = play.play(player, config.games, config.seed, config.video, config.fps,
                      config.scale, strip)
  for record in records:
    print(f'game {record.game + 1}: score {record.raw_return:g} in '
          f'{record.agent_steps} agent steps; action {record.top_action} in '
          f'{record.top_action_share:.0%} of them')
  if config.records:
    play.write_records(records, config.records)
  scores = [record.raw_return for record in records]
  print(f'{player.label}: mean score {sum(scores) / len(scores):.1f} over '
        f'{len(scores)} games' + (f'; video {config.video}' if config.video else '')
        + (f'; strip {config.strip}' if config.strip else ''))


def _run_export():
  # pylint: disable=g-import-not-at-top
  from saarl_tf import export
  from saarl_tf.experiments import export_mask
  export_dir = _EXPORT_DIR.value or os.path.join(run_layout.DEFAULT_EXPORT_ROOT,
                                                 'mask')
  pretrain = _pretrain_config(games=())
  export_mask.export_from_checkpoint(_CHECKPOINT.value, export_dir,
                                eval_frames=pretrain.eval_frames,
                                eval_seed=pretrain.quality_seed)
  metadata = export.read_metadata(export_dir)
  print(f'Exported the mask of {_CHECKPOINT.value} to {export_dir}')
  for game, metrics in metadata['quality'].get('games', {}).items():
    _print_quality(game, metrics)


def _print_quality(game: str, metrics):
  """A game's mask quality (`mask_quality.mask_quality`), a line and a line per
  kind of object."""
  print(f'{game}: object recall {metrics["object_recall"]:.3f}, mass on objects '
        f'{metrics["mass_on_objects"]:.3f}, mask mean {metrics["mask_mean"]:.3f} '
        f'(object cells {metrics["object_cell_fraction"]:.3f}) over '
        f'{metrics["num_frames"]} frames'
        + (f'; overlay {metrics["overlay"]}' if 'overlay' in metrics else ''))
  for kind, numbers in metrics.get('by_category', {}).items():
    print(f'  {kind}: recall {numbers["object_recall"]:.3f}, mask at its cells '
          f'{numbers["mask_at_objects"]:.3f} ({numbers["num_objects"]} objects)')


def _run_pretrain_mask(root_dir: str):
  from saarl_tf.experiments import pretrain_mask  # pylint: disable=g-import-not-at-top
  config = _pretrain_config(_GAMES.value or config_lib.UNIVERSAL_MASK_GAMES)
  _, quality = pretrain_mask.run(config, root_dir)
  for game, metrics in quality.items():
    _print_quality(game, metrics)


def _run_mask_quality():
  # pylint: disable=g-import-not-at-top
  from saarl_tf import export
  from saarl_tf.experiments import pretrain_mask
  from saarl_tf.models import attention
  pretrain = _pretrain_config(_GAMES.value)
  # float32, as the protocols and export score their masks.
  model = export.load_attention(_CHECKPOINT.value, attention.SelfSupervisedAttention())
  quality = pretrain_mask.evaluate(model, _GAMES.value, pretrain.eval_frames,
                                   pretrain.quality_seed, _OUTPUT.value)
  if not quality:
    raise ValueError(f'no ground truth for any of --games={",".join(_GAMES.value)}; '
                     'OCAtari (the eval extra) reads most Atari games, and Sprites')
  print(f'Mask quality of {_CHECKPOINT.value} in {_OUTPUT.value}')
  for game, metrics in quality.items():
    _print_quality(game, metrics)


# What a stop outside the experiments' own phases says the process was doing.
_PHASES = {'report': 'the report', 'export': 'the mask export', 'play': 'play',
           'mask_quality': 'mask quality'}

# Every experiment's handler (`EXPERIMENTS`); protocols and `all` share one.
_HANDLERS = dict({'a2c': _run_a2c, 'keypoints': _run_keypoints,
                  'pretrain_mask': _run_pretrain_mask, 'export': _run_export,
                  'report': _run_report, 'play': _run_play, 'all': _run_protocols,
                  'mask_quality': _run_mask_quality},
                 **{name: _run_protocols for name in PROTOCOL_NAMES})


class _LibraryDetail(std_logging.Filter):
  """Keeps the libraries' INFO lines (tf-agents' 'No checkpoint available', Keras'
  and TensorFlow's saving notes) out of the terminal unless --verbosity >= 1."""

  _LIBRARIES = tuple(os.sep + name + os.sep
                     for name in ('tf_agents', 'tensorflow', 'keras'))

  def filter(self, record: std_logging.LogRecord) -> bool:
    return (record.levelno >= std_logging.WARNING or logging.get_verbosity() >= 1
            or not any(name in record.pathname for name in self._LIBRARIES))


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {" ".join(argv[1:])}')
  logging.get_absl_handler().addFilter(_LibraryDetail())
  root_dir = _ROOT_DIR.value or run_layout.default_root_dir(_EXPERIMENT.value)
  stopping.install()
  try:
    for flag, directory in _output_locations(root_dir):
      _check_writable(directory, flag)   # before anything is built
    runtime.set_threads(FLAGS.intra_op_threads, FLAGS.inter_op_threads)
    _run(root_dir)
  except (stopping.RunInterrupted, stopping.Interrupted) as stop:
    _exit_stopped(stop)
  except (run_files.SettingsChanged, run_lease.RunBusy, ValueError) as error:
    if stopping.pending():
      _exit_stopped(stopping.pending())
    print(f'saarl_tf: {error}', file=sys.stderr)
    sys.exit(2)
  except Exception:  # pylint: disable=broad-except
    # A stop raised inside library code can surface as another exception.
    if stopping.pending():
      _exit_stopped(stopping.pending())
    raise


def _exit_stopped(stop):
  """The work is saved: says where in one line and ends as the signal would, without
  the interpreter's clean-up, whose finalizers can wait forever on a library's lock
  that the stop left taken (seen in a mask export's garbage collection)."""
  print(f'saarl_tf: {stop}', file=sys.stderr)
  sys.stdout.flush()
  sys.stderr.flush()
  os._exit(stop.exit_code)  # pylint: disable=protected-access


if __name__ == '__main__':
  app.run(main)
