"""A diffusers UNet2DModel folder opens like any model, and explorer's DDIM run on it equals
diffusers' own DDIMScheduler loop with that UNet on the same noise and timesteps (SCIENCE.md 10)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

diffusers = pytest.importorskip("diffusers")

from explorer.cli import main  # noqa: E402
from explorer.core.models import Model, RunSpec, open_model  # noqa: E402
from explorer.core.sampling.trajectory import drain  # noqa: E402


def tiny_folder(folder, prediction: str = "epsilon", clip: bool = False, scheduler: str = "DDIMScheduler"):
    torch.manual_seed(0)
    unet = diffusers.UNet2DModel(sample_size=8, in_channels=1, out_channels=1, block_out_channels=(8, 16),
                                 layers_per_block=1, norm_num_groups=4, down_block_types=("DownBlock2D", "DownBlock2D"),
                                 up_block_types=("UpBlock2D", "UpBlock2D"))
    unet.save_pretrained(folder)
    getattr(diffusers, scheduler)(num_train_timesteps=1000, beta_schedule="linear", prediction_type=prediction,
                                  clip_sample=clip, steps_offset=1).save_pretrained(folder)
    return unet.eval()


def diffusers_ddim(folder, unet, x: torch.Tensor, steps: int) -> torch.Tensor:
    """diffusers' own DDIM loop (eta = 0) with the scheduler saved in `folder`; with a clipping
    scheduler, eps re-derived from the clipped x0 (`use_clipped_model_output`): one denoiser
    x0_hat drives both terms, as in explorer (diffusers' default mixes the clipped x0 with the
    unclipped eps)."""
    sched = diffusers.DDIMScheduler.from_pretrained(folder)
    sched.set_timesteps(steps)
    with torch.no_grad():
        for t in sched.timesteps:
            x = sched.step(unet(x, t).sample, t, x, use_clipped_model_output=True).prev_sample
    return x


@pytest.mark.parametrize("prediction,clip", [("epsilon", False), ("v_prediction", False), ("sample", False),
                                             ("epsilon", True)])
def test_explorer_ddim_equals_diffusers_ddim(tmp_path, prediction, clip):
    unet = tiny_folder(tmp_path, prediction, clip)
    model = open_model(tmp_path)
    assert isinstance(model, Model) and model.kind == "diffusers" and model.image_shape == (1, 8, 8)
    x_init = torch.randn(3, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    ours = drain(model.run(RunSpec("ddim", 20, n=3, x_init=x_init))).sample
    theirs = diffusers_ddim(tmp_path, unet, x_init.clone(), 20)
    err = float((ours - theirs).abs().max())
    scale = float(theirs.abs().max())
    print(f"{prediction} clip={clip}: max |explorer - diffusers| = {err:.2e} (max |x| = {scale:.3g})")
    assert err <= 1e-4 * max(1.0, scale)


def test_other_samplers_run_on_the_scheduler_grid(tmp_path):
    tiny_folder(tmp_path, "epsilon", True, scheduler="DDPMScheduler")
    model = open_model(tmp_path)
    for sampler in model.samplers:
        traj = drain(model.run(RunSpec(sampler, 5, n=2, seed=3)))
        assert len(traj.frames) == model.frame_count(RunSpec(sampler, 5, n=2).resolved(model))
        assert np.isfinite(np.asarray(traj.sample)).all()


def test_a_pickled_bin_is_refused_and_the_cli_says_why(tmp_path, capsys):
    tiny_folder(tmp_path)
    (tmp_path / "diffusion_pytorch_model.safetensors").rename(tmp_path / "diffusion_pytorch_model.bin")
    assert main(["info", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "never unpickles" in err and len(err.strip().splitlines()) == 1


def test_the_cli_samples_a_diffusers_folder(tmp_path, capsys):
    tiny_folder(tmp_path / "m")
    assert main(["info", str(tmp_path / "m")]) == 0
    assert "diffusers UNet2DModel" in capsys.readouterr().out
    assert main(["sample", str(tmp_path / "m"), "--sampler", "ddim", "--steps", "4", "--n", "2",
                 "--out", str(tmp_path / "r.npz")]) == 0


def test_the_basis_of_a_diffusers_model_with_attention(tmp_path):
    """The UNet's mid-block attention goes through the maths kernel, which forward-mode AD supports."""
    from explorer.core.analysis.basis import basis, jacobian
    tiny_folder(tmp_path)
    model = open_model(tmp_path)
    x = torch.randn(1, 8, 8, generator=torch.Generator().manual_seed(0))
    b = basis(model.denoiser, x, 0.5, k=4)
    assert np.isfinite(b.values).all() and b.vectors.shape == (4, 1, 8, 8)
    J = jacobian(model.denoiser, x, 0.5)
    auto = torch.autograd.functional.jacobian(lambda z: model.denoiser(z[None], torch.tensor([0.5]))[0], x)
    assert float((J.float() - auto.reshape(64, 64)).abs().max()) < 1e-4


def test_scheduler_limits_are_usage_errors(tmp_path):
    from explorer.core.errors import UsageError
    torch.manual_seed(0)
    diffusers.UNet2DModel(sample_size=8, in_channels=1, out_channels=1, block_out_channels=(8, 16), layers_per_block=1,
                          norm_num_groups=4, down_block_types=("DownBlock2D", "DownBlock2D"),
                          up_block_types=("UpBlock2D", "UpBlock2D")).save_pretrained(tmp_path)
    diffusers.DDIMScheduler(num_train_timesteps=100).save_pretrained(tmp_path)          # steps_offset 0
    model = open_model(tmp_path)
    with pytest.raises(UsageError, match="at most 100 steps"):       # when the spec is checked, before any work
        RunSpec("ddim", 200, n=1).resolved(model)
    with pytest.raises(UsageError, match="first training level"):
        model.run(RunSpec("ddim", 5, n=1, final_denoise=False).resolved(model))
