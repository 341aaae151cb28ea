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
