"""`explorer train` under torchrun with 2 CPU processes (DistributedDataParallel over gloo): it
trains, writes one checkpoint, and a run killed mid-way resumes to the same weights."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from safetensors.torch import load_file

from explorer.core.models import checkpoint


def torchrun(out, steps: int, cache) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "explorer",
            "--", "train", "diffusion", "--data", "shapes", "--n", "8", "--size", "16", "--widths", "8,16",
            "--steps", str(steps), "--batch", "8", "--save-every", "5", "--seed", "3", "--out", str(out)]


@pytest.fixture
def env(tmp_path):
    return {**os.environ, "OMP_NUM_THREADS": "1", "EXPLORER_CACHE": str(tmp_path / "cache")}


def test_two_processes_train_one_checkpoint(tmp_path, env):
    out = tmp_path / "ddp.safetensors"
    p = subprocess.run(torchrun(out, 10, tmp_path), env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    cfg = checkpoint.read_config(out)
    assert cfg["training"]["processes"] == 2 and cfg["training"]["steps"] == 10
    assert not out.with_name(out.name + ".resume").exists()
    assert p.stderr.count("wrote ") == 1                        # rank 0 alone reports (and writes)


def test_a_killed_two_process_run_resumes_to_the_same_weights(tmp_path, env):
    steps = 60
    whole = tmp_path / "whole.safetensors"
    assert subprocess.run(torchrun(whole, steps, tmp_path), env=env, capture_output=True, timeout=300).returncode == 0
    out = tmp_path / "cut.safetensors"
    resume = out.with_name(out.name + ".resume")
    p = subprocess.Popen(torchrun(out, steps, tmp_path), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not resume.exists() and p.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    subprocess.run(["pkill", "-9", "-f", str(out)])            # the launcher and its workers (their own groups)
    p.wait()
    assert resume.exists() and not out.exists(), "the run ended before it could be killed"
    q = subprocess.run(torchrun(out, steps, tmp_path), env=env, capture_output=True, text=True, timeout=300)
    assert q.returncode == 0, q.stderr[-2000:]
    assert checkpoint.read_config(out)["training"]["resumed_from_step"] > 0, q.stderr[-3000:]
    a, b = load_file(str(whole)), load_file(str(out))
    assert a.keys() == b.keys() and all(bool((a[k] == b[k]).all()) for k in a)
