import subprocess
import sys

CODE = r"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph'):
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
import explorer.core.schedule, explorer.core.samplers, explorer.core.checkpoint, explorer.core.nets
import explorer.core.train, explorer.core.export, explorer.core.trajectory, explorer.core.data
import explorer.core.data.shapes, explorer.core.data.phi4, explorer.core.evaluate, explorer.core.sampling
import explorer.cli
assert not any(m.split('.')[0] in ('PySide6', 'pyqtgraph') for m in sys.modules)
try:
    import PySide6
except ImportError:
    print('ok')
"""


def test_core_imports_without_pyside6():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
