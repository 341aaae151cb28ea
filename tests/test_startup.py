"""The window paints before torch is loaded (#31): its modules import no torch, and its first
model, which imports torch, is opened only once the window has painted."""
import os
import subprocess
import sys
import textwrap


def _run(code: str) -> str:
    """`code` in a fresh interpreter (this one has torch loaded already), offscreen; its stdout."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], check=True, capture_output=True, text=True,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, timeout=120).stdout


def test_the_window_s_modules_import_no_torch():
    out = _run("""
        import sys
        import explorer.app.launch, explorer.app.main_window
        heavy = sorted(m for m in ("torch", "safetensors", "scipy", "kymatio", "diffusers") if m in sys.modules)
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
        w = MainWindow(QSettings({str(tmp_path / "s.ini")!r}, QSettings.IniFormat), open_when_painted=True)
        end = time.monotonic() + 0.5
        while time.monotonic() < end:                     # not shown: never painted
            app.processEvents()
        print(w.opener.busy, w.model is None, "torch" in sys.modules, w.start_run())
        w.show()
        end = time.monotonic() + 60
        while w.opener.busy and time.monotonic() < end:
            app.processEvents()
        print(w.model is not None, "torch" in sys.modules)
        import os; os._exit(0)
    """)
    before, after = out.split("\n")[:2]
    assert before == "True True False False"          # waiting, no torch, Run refused ("A model is opening")
    assert after == "True True"
