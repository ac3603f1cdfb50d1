"""Comments and docstrings in saarl_tf/ say why, not what was measured when: no dates,
timings, speed-ups or machine names (they belong in docs/ARCHITECTURE.md,
docs/BENCHMARK.md, README's Benchmark or results/)."""

import ast
import io
import os
import re
import tokenize

import pytest

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       'saarl_tf')

# A lab note: a date, a duration in ms/us, an "Nx faster/slower", a CPU model, a
# measured series "0.68 -> 0.40", or "idle" of a benchmark machine.
LAB_NOTE = re.compile(
    r'\b20\d\d-\d\d-\d\d\b'
    r'|\b\d+(\.\d+)? ?(ms|us|µs)\b'
    r'|\b\d+(\.\d+)?x (faster|slower)\b'
    r'|\b(EPYC|Xeon|Ryzen)\b'
    r'|\b\d+\.\d+ -> \d'
    r'|\bidle \d-core\b')


def _docstrings(tree: ast.AST):
  """(line, text) of every module, class and function docstring."""
  for node in ast.walk(tree):
    if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                         ast.AsyncFunctionDef)):
      docstring = ast.get_docstring(node, clean=False)
      if docstring:
        yield node.body[0].lineno, docstring


def _comments(source: str):
  """(line, text) of every comment."""
  for token in tokenize.generate_tokens(io.StringIO(source).readline):
    if token.type == tokenize.COMMENT:
      yield token.start[0], token.string


def lab_notes(source: str):
  """(line, matched text) of each lab note in the source's comments and docstrings."""
  found = []
  texts = list(_docstrings(ast.parse(source))) + list(_comments(source))
  for line, text in texts:
    for offset, text_line in enumerate(text.splitlines()):
      match = LAB_NOTE.search(text_line)
      if match:
        found.append((line + offset, match.group(0)))
  return sorted(found)


def _modules():
  for directory, _, files in os.walk(PACKAGE):
    for name in sorted(files):
      if name.endswith('.py'):
        yield os.path.relpath(os.path.join(directory, name), PACKAGE)


@pytest.mark.parametrize('module', sorted(_modules()))
def test_comments_and_docstrings_carry_no_measurements_or_dates(module):
  with open(os.path.join(PACKAGE, module), encoding='utf-8') as f:
    notes = lab_notes(f.read())
  assert not notes, f'{module}: lab notes at (line, text) {notes}'


def test_the_checker_finds_dates_timings_and_speedups_but_not_code():
  source = '''
"""Module. Measured 2026-12-02 on an idle 2-core EPYC."""
# one pass: 32.7 -> 29.3 ms
def f():
  """2.5x slower than this."""
  timeout_ms = 10   # a setting, not a note
  return '2026-12-02 in a string is output, not a note'
'''
  assert [text for _, text in lab_notes(source)] == [
      '2026-12-02', '32.7 -> 2', '2.5x slower']
