"""The docs site builds with no warning, and its results pages agree with the benchmarks' JSON
they are rendered from (a page typed by hand, or left stale, fails here)."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_results_pages_are_rendered_from_their_json():
    done = subprocess.run([sys.executable, "scripts/render_docs.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_docs_site_builds_strictly(tmp_path):
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")], cwd=ROOT,
                          capture_output=True, text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stderr
    site = tmp_path / "site"
    assert (site / "index.html").exists() and (site / "results" / "generalisation" / "index.html").exists()


def test_the_window_pictures_in_the_guide_are_of_this_version():
    """The README showed version 0.1.0 with 4 tabs (#32): every window picture of the README and the
    guide made by `explorer screenshot` (screenshot*.png) records the version that drew it."""
    import re

    from PIL import Image

    from explorer import __version__

    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    pictures = {(page.parent / m).resolve() for page in pages
                for m in re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", page.read_text(encoding="utf-8"))}
    windows = [p for p in pictures if p.name.startswith("screenshot")]
    assert windows
    for p in windows:
        with Image.open(p) as im:
            assert im.text.get("explorer_version") == __version__, f"{p.relative_to(ROOT)} is stale: re-make it"
