import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    """Every test builds data sets in a private cache, never the user's."""
    monkeypatch.setenv("EXPLORER_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def make_tiny_checkpoint(path: Path, steps: int = 3, n: int = 8, split: str = "S1", size: int = 16, seed: int = 0,
                         name: str | None = None, widths=(8, 16)):
    """A real, tiny checkpoint trained for a few steps on shapes."""
    from explorer.core.nets.unet import UNetConfig
    from explorer.core.training.train import TrainConfig, train_diffusion

    data = {"name": "shapes", "params": {"size": size}, "n": n, "split": split, "seed": 0}
    arch = UNetConfig(channels=1, size=size, widths=list(widths), blocks=1)
    return train_diffusion(data, arch, path, TrainConfig(steps=steps, batch=8, seed=seed, save_every=1000),
                           device="cpu", name=name or path.stem, progress=False)


def allow_a_tenth_of_the_frames(monkeypatch, image_shape, samples: int = 8, frames: int = 51) -> None:
    """Lower the memory limit to a tenth of what `samples` x `frames` kept frames take (x_t and
    x0_hat, float32, and the copy a save stacks), so that such a run is refused and a frame-less one is not."""
    import math

    from explorer.core.files import schema
    monkeypatch.setattr(schema, "MAX_RUN_BYTES", 2 * 2 * 4 * frames * samples * math.prod(image_shape) // 10)


@pytest.fixture(scope="session")
def tiny_ckpt(tmp_path_factory):
    os.environ["EXPLORER_CACHE"] = str(tmp_path_factory.getbasetemp() / "cache")
    return make_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.safetensors")


@pytest.fixture(scope="session")
def tiny_wcrg(tmp_path_factory):
    """A real, tiny WCRG model (J = 2 on 16 x 16 shapes), a few training steps per network."""
    from explorer.core.training import wcrg
    from explorer.core.training.train import TrainConfig

    os.environ["EXPLORER_CACHE"] = str(tmp_path_factory.getbasetemp() / "cache")
    out = tmp_path_factory.mktemp("w") / "tiny.wcrg"
    data = {"name": "shapes", "params": {"size": 16}, "n": 16, "split": "all", "seed": 0}
    tc = TrainConfig(steps=3, batch=8, save_every=1000)
    recipe = wcrg.WCRGRecipe(levels=2, coarse_widths=[8, 16], conditional_widths=[8, 16])
    return wcrg.train(data, recipe, out, tc, tc, "cpu", progress=False)


@pytest.fixture
def window(qtbot, tmp_path, tiny_ckpt):
    """The window on the tiny checkpoint, with settings of its own, shown; closed after the test."""
    from PySide6.QtCore import QSettings
    from windows import open_window

    win = open_window(qtbot, QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat), checkpoint_path=tiny_ckpt.path)
    win.ask_before_closing_a_run = False
    win.show()
    yield win
    if win.is_running():
        win.controller.stop()
