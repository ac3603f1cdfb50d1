"""Imports run one way: config -> envs, models -> evaluation -> plots, export ->
agents -> training -> experiments -> launch, bench (docs/ARCHITECTURE.md)."""

import ast
import os

import pytest

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       'saarl_tf')
# Each unit (a subpackage or a top-level module) and its layer; a unit may import only
# from its own unit or from lower layers.
LAYERS = {
    'config': 0, 'provenance': 0, 'storage': 0,
    'envs': 1, 'models': 1, 'run_layout': 1, 'protocol_table': 1, 'runtime': 1,
    'evaluation': 2,
    'plots': 3, 'export': 3,
    'agents': 4,
    'training': 5,
    'experiments': 6,
    'launch': 7, 'bench': 7,
}


def _unit(path: str) -> str:
  relative = os.path.relpath(path, PACKAGE)
  return relative.split(os.sep)[0].removesuffix('.py')


def _imported_units(tree: ast.AST):
  """(line, unit) of every saarl_tf unit a module imports."""
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      for alias in node.names:
        parts = alias.name.split('.')
        if parts[0] == 'saarl_tf' and len(parts) > 1:
          yield node.lineno, parts[1]
    elif isinstance(node, ast.ImportFrom) and node.module:
      parts = node.module.split('.')
      if parts[0] != 'saarl_tf':
        continue
      if len(parts) > 1:
        yield node.lineno, parts[1]
      else:                                  # from saarl_tf import x
        for alias in node.names:
          yield node.lineno, alias.name


def _modules():
  for directory, _, files in os.walk(PACKAGE):
    for name in sorted(files):
      if name.endswith('.py'):
        yield os.path.join(directory, name)


def test_every_unit_has_a_layer():
  units = {_unit(path) for path in _modules()} - {'__init__'}
  assert units <= set(LAYERS), units - set(LAYERS)


# The package's own __init__.py runs before every unit: it may import none of them.
_PACKAGE_INIT = os.path.join(PACKAGE, '__init__.py')


def test_the_package_init_imports_no_unit():
  with open(_PACKAGE_INIT) as f:
    assert list(_imported_units(ast.parse(f.read()))) == []


@pytest.mark.parametrize('path', [p for p in _modules() if p != _PACKAGE_INIT],
                         ids=lambda p: os.path.relpath(p, PACKAGE))
def test_imports_never_run_back_up_the_layers(path):
  unit = _unit(path)
  with open(path) as f:
    tree = ast.parse(f.read())
  for line, imported in _imported_units(tree):
    assert imported in LAYERS, f'{path}:{line} imports unknown unit {imported}'
    assert imported == unit or LAYERS[imported] < LAYERS[unit], (
        f'{os.path.relpath(path, PACKAGE)}:{line}: {unit} (layer {LAYERS[unit]}) '
        f'imports {imported} (layer {LAYERS[imported]})')


def test_the_checker_catches_an_import_back_up():
  tree = ast.parse('from saarl_tf.training import a2c_training\n'
                   'import saarl_tf.launch\nfrom saarl_tf import plots\n')
  assert list(_imported_units(tree)) == [(1, 'training'), (2, 'launch'),
                                         (3, 'plots')]
