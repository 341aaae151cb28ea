"""The window paints before pyqtgraph and torch are loaded (#31): its modules import neither, its
views are built and its first model (torch) opened once the window has painted."""
import os
import subprocess
import sys
import textwrap


def _run(code: str) -> str:
    """`code` in a fresh interpreter (this one has torch loaded already), offscreen; its stdout."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], check=True, capture_output=True, text=True,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, timeout=120).stdout


def test_the_window_s_modules_import_neither_torch_nor_pyqtgraph():
    out = _run("""
        import sys
        import explorer.app.launch, explorer.app.main_window
        heavy = sorted(m for m in ("torch", "pyqtgraph", "safetensors", "scipy", "kymatio", "diffusers") if m in sys.modules)
        print(heavy)
    """)
    assert out.strip() == "[]"


def test_the_first_model_waits_for_the_first_paint(tmp_path):
    out = _run(f"""
        import sys, time
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        from explorer.app.main_window import MainWindow
        w = MainWindow(QSettings({str(tmp_path / "s.ini")!r}, QSettings.IniFormat), paint_first=True)
        end = time.monotonic() + 0.5
        while time.monotonic() < end:                     # not shown: never painted
            app.processEvents()
        print(w.opening, w.model is None, "torch" in sys.modules, "pyqtgraph" in sys.modules, w.start_run(),
              "A model is opening" in w.message.text())
        w.show()
        end = time.monotonic() + 60
        while w.opening and time.monotonic() < end:
            app.processEvents()
        print(w.model is not None, "torch" in sys.modules, w.tabs.widget(0) is w.view)
        import os; os._exit(0)
    """)
    before, after = out.split("\n")[:2]
    assert before == "True True False False False True"      # waiting, no torch nor views, Run refused
    assert after == "True True True"
