"""The README's quick start works as written, and a newcomer's first lines are useful."""

import os
import re
import signal
import subprocess
import sys

import imageio.v2 as imageio
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _quick_start_commands():
  """The quick start's launcher commands (the install line is CI's own)."""
  with open(os.path.join(REPO, 'README.md')) as f:
    text = f.read()
  block = text[text.index('<!-- quick-start'):]
  block = block[block.index('```bash\n') + len('```bash\n'):]
  block = block[:block.index('\n```')]
  return [line for line in block.splitlines()
          if line.startswith('python -m saarl_tf.launch')]


def _run(command, tmp_path):
  """A README command with its runs/ folder under `tmp_path`, in this interpreter."""
  args = command.replace('runs/', f'{tmp_path}/').split()[1:]
  return subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True,
                        text=True, timeout=1200, check=False)


def test_the_quick_start_holds_the_smoke_run_and_a_video_in_the_readmes_first_lines():
  with open(os.path.join(REPO, 'README.md')) as f:
    head = f.read().splitlines()[:40]
  commands = _quick_start_commands()
  assert len(commands) == 2 and all(command in head for command in commands)
  assert any('launch/transfer.flags' in line for line in head)


@pytest.mark.slow
def test_the_quick_starts_smoke_run_reports_and_its_video_shows_a_game(tmp_path):
  smoke, play = _quick_start_commands()
  result = _run(smoke, tmp_path)
  assert result.returncode == 0, result.stderr[-3000:]
  # Its first line is the plan, not a library's start-up noise.
  assert result.stdout.startswith('transfer: 2 runs (Sprites x baseline, frozen x '
                                  'seeds 0), 400 frames each')
  assert 'Unable to register' not in result.stderr
  assert (tmp_path / 'quick' / 'summary.md').exists()
  assert (tmp_path / 'quick' / 'export' / 'transfer_mask' / 'saved_model.pb').exists()

  result = _run(play, tmp_path)
  assert result.returncode == 0, result.stderr[-3000:]
  assert re.search(r'^game 1: score \d+ in \d+ agent steps', result.stdout, re.M)
  video = imageio.get_reader(str(tmp_path / 'mspacman.mp4'))
  assert video.count_frames() > 100                 # one whole game, step by step
  video.close()


@pytest.mark.slow
def test_the_main_job_says_its_plan_and_estimate_before_any_work(tmp_path):
  """launch/transfer.flags first prints its runs, frames, folder, mask and an
  estimate; stopped at once, it says where in one line."""
  process = subprocess.Popen(
      [sys.executable, '-m', 'saarl_tf.launch', '--flagfile=launch/transfer.flags',
       f'--root_dir={tmp_path}/transfer', f'--export_dir={tmp_path}/export'],
      cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
  lines = [process.stdout.readline() for _ in range(3)]
  process.send_signal(signal.SIGINT)
  _, stderr = process.communicate(timeout=60)
  assert lines[0].startswith(
      'transfer: 20 runs (Asteroids, Carnival x baseline, frozen x seeds 0,1,2,3,4), '
      f'40,000,000 frames each, into {tmp_path}/transfer; 0 finished, 20 to run')
  assert lines[1].strip() == ('mask: to pre-train on JourneyEscape (16 x 2,500 '
                              'random-policy steps, 20,000 updates)')
  assert re.match(r'  estimate: \d+\.\d days on 2 CPUs one run after another',
                  lines[2])
  assert process.returncode == 130
  assert stderr.strip().splitlines()[-1].startswith('saarl_tf: stopped by SIGINT')
