import pytest
import torch

from explorer.core.data import shapes
from explorer.core.errors import UsageError
from explorer.core.models import checkpoint
from explorer.core.nets.unet import Denoiser, UNetConfig
from explorer.core.training.train import TrainConfig, denoising_loss, draw_times, fit, train_diffusion

ARCH = dict(size=16, widths=[8, 16], blocks=1, sigma_data=0.3)


def fixed_loss(model, x):
    g = torch.Generator().manual_seed(123)
    t = draw_times(len(x) * 4, g)
    z = torch.randn((len(t), *x.shape[1:]), generator=g)
    with torch.no_grad():
        return float(denoising_loss(model, x.repeat(4, 1, 1, 1), t, z))


def test_training_lowers_the_loss(tmp_path):
    x = shapes.images(0, 0, 16, size=16)
    model = Denoiser(UNetConfig(**ARCH))
    before = fixed_loss(model, x)
    ema, stats = fit(model, x, TrainConfig(steps=150, batch=16, lr=3e-3, ema=0.9), tmp_path / "m.safetensors",
                     "fp", torch.device("cpu"), progress=False)
    after = fixed_loss(ema, x)
    print(f"loss before {before:.3f}, after {after:.3f}")
    assert after < 0.6 * before


def test_resumed_run_equals_uninterrupted_run(tmp_path, monkeypatch):
    from explorer.core.training import train
    monkeypatch.setattr(train, "LOSS_EVERY", 2)
    x = shapes.images(0, 0, 8, size=16)
    tc = TrainConfig(steps=12, batch=4, save_every=5, seed=7)
    torch.manual_seed(0)
    ema_a, stats_a = fit(Denoiser(UNetConfig(**ARCH)), x, tc, tmp_path / "a.safetensors", "fp", torch.device("cpu"),
                   progress=False)

    calls = {"n": 0}

    def dying_loss(m, x0, t, z):
        calls["n"] += 1
        if calls["n"] == 8:
            raise KeyboardInterrupt
        return denoising_loss(m, x0, t, z)

    out = tmp_path / "b.safetensors"
    torch.manual_seed(0)
    with pytest.raises(KeyboardInterrupt):
        fit(Denoiser(UNetConfig(**ARCH)), x, tc, out, "fp", torch.device("cpu"), loss_fn=dying_loss, progress=False)
    assert out.with_name(out.name + ".resume").exists()
    torch.manual_seed(0)
    ema_b, stats = fit(Denoiser(UNetConfig(**ARCH)), x, tc, out, "fp", torch.device("cpu"), progress=False)
    assert stats["resumed_from_step"] == 5
    assert [r[0] for r in stats_a["loss_curve"]] == [2, 4, 6, 8, 10, 12]
    assert stats["loss_curve"] == stats_a["loss_curve"]                # the loss curve survives the resume
    for (k, a), b in zip(ema_a.state_dict().items(), ema_b.state_dict().values()):
        assert torch.equal(a, b), k


def test_train_diffusion_records_how_it_was_made(tmp_path):
    out = tmp_path / "m.safetensors"
    data = {"name": "shapes", "params": {"size": 16}, "n": 6, "split": "S2", "seed": 2}
    ckpt = train_diffusion(data, UNetConfig(**ARCH), out, TrainConfig(steps=4, batch=4), "cpu",
                           command="explorer train ...", progress=False)
    cfg = checkpoint.read_config(out)
    assert cfg["data"]["n"] == 6 and cfg["data"]["split"] == "S2" and cfg["data"]["seed"] == 2
    assert cfg["training"]["steps"] == 4 and cfg["training"]["command"] == "explorer train ..."
    assert 0 < cfg["data"]["std"] and ckpt.parameters > 0
    assert not out.with_name(out.name + ".resume").exists()


def test_seed_fixes_the_initial_weights_and_the_monitor_curve_is_recorded(tmp_path):
    """--seed alone sets the network's initial weights (whatever the global torch RNG did before),
    and a monitored run records the training-set error at the lowest noise levels."""
    data = {"name": "shapes", "params": {"size": 16}, "n": 4, "split": "S1", "seed": 0}
    arch = UNetConfig(channels=1, **ARCH)

    def weights(seed, out, warm_rng, **tc):
        torch.manual_seed(warm_rng)                                 # a different global state each time
        m = train_diffusion(data, arch, tmp_path / out, TrainConfig(steps=2, batch=4, seed=seed, **tc), "cpu",
                            progress=False)
        return m, torch.cat([p.flatten() for p in m.denoiser.parameters()])

    _, a = weights(7, "a.safetensors", 1)
    _, b = weights(7, "b.safetensors", 2)
    _, c = weights(8, "c.safetensors", 1)
    assert torch.equal(a, b) and not torch.equal(a, c)
    m, _ = weights(7, "d.safetensors", 3, monitor_every=1, lr_schedule="cosine")
    curve = m.config["training"]["monitor"]
    assert [row["step"] for row in curve] == [1, 2] and len(curve[0]["mse"]) == 3
    assert TrainConfig(steps=100, lr=1e-3, warmup=1, lr_schedule="cosine").lr_at(99) < 1e-4


def test_noise_levels_confine_the_training_levels():
    """--noise-levels lo,hi: half of the levels s = sigma/alpha drawn lie in [lo, hi], log-uniformly
    (the mean of log s is the middle); the other half still span the samplers' range, as
    without it; bad ranges are refused before any work."""
    import math

    from explorer.core.sampling import schedule
    log_s = torch.log(schedule.sigma_over_alpha(draw_times(20000, torch.Generator().manual_seed(0), [0.05, 0.2])))
    focus, rest = log_s.view(-1, 4)[:, 2:].flatten(), log_s.view(-1, 4)[:, :2].flatten()
    assert focus.min() >= math.log(0.05) - 1e-9 and focus.max() <= math.log(0.2) + 1e-9
    assert abs(float(focus.mean()) - 0.5 * math.log(0.05 * 0.2)) < 0.01            # s.e. 0.004
    assert rest.max() > math.log(100) and float((rest > math.log(1)).float().mean()) > 0.3
    for bad in ([0.2, 0.05], [0.01, 0.2], [0.05, 1e4], [0.1], ["a", "b"], [True, 0.2]):
        with pytest.raises(UsageError):
            TrainConfig(noise_levels=bad)


def test_init_starts_from_a_checkpoint_of_the_same_data_and_network(tmp_path):
    """--init: training starts from that file's weights and keeps its training record; a model of
    other data or another network, or an --out that would replace the --init file, is refused."""
    data = {"name": "shapes", "params": {"size": 16}, "n": 4, "split": "S1", "seed": 0}
    first = train_diffusion(data, UNetConfig(**ARCH), tmp_path / "a.safetensors", TrainConfig(steps=3, batch=4),
                            "cpu", command="explorer train first", progress=False)
    second = train_diffusion(data, UNetConfig(**ARCH), tmp_path / "b.safetensors",
                             TrainConfig(steps=2, batch=4, lr=1e-8, seed=5, noise_levels=[0.05, 0.2]), "cpu",
                             command="explorer train second", progress=False, init=tmp_path / "a.safetensors")
    for (k, a), b in zip(first.denoiser.state_dict().items(), second.denoiser.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-5), k                  # lr 1e-8: still the first model's weights
    record = second.config["training"]
    assert record["command"] == "explorer train second" and record["noise_levels"] == [0.05, 0.2]
    assert record["init"]["sha256"] == first.sha256 and record["init"]["command"] == "explorer train first"
    text = checkpoint.describe(second.checkpoint)
    assert "made by   explorer train first" in text.split("started from")[1] and first.sha256[:12] in text
    for other, arch in (({**data, "n": 5}, ARCH), (data, {**ARCH, "widths": [8, 8]})):
        with pytest.raises(UsageError, match="init"):
            train_diffusion(other, UNetConfig(**arch), tmp_path / "c.safetensors", TrainConfig(steps=1, batch=4),
                            "cpu", progress=False, init=tmp_path / "a.safetensors")
    before = (tmp_path / "a.safetensors").read_bytes()
    with pytest.raises(UsageError, match="replace"):
        train_diffusion(data, UNetConfig(**ARCH), tmp_path / "a.safetensors", TrainConfig(steps=1, batch=4),
                        "cpu", progress=False, init=tmp_path / "a.safetensors")
    assert (tmp_path / "a.safetensors").read_bytes() == before and not (tmp_path / "c.safetensors").exists()


def test_fit_trains_the_plain_maths_in_its_faster_layout_and_optimiser(tmp_path, monkeypatch):
    """fit runs channels-last with fused Adam on the CPU (`memory_format`, `adam_options`): the
    same loss at every step, to float32 round-off, as the plain loop written out here (NCHW,
    Adam's default loop), draw for draw, and an EMA model that denoises as well as the plain
    loop's (the weights themselves part by up to ~lr where a gradient is ~0: Adam's m / sqrt(v)
    turns round-off there into whole steps); the model it returns is laid out as usual."""
    import copy

    from explorer.core.training import train

    monkeypatch.setattr(train, "LOSS_EVERY", 1)
    x = shapes.images(0, 0, 16, size=16)
    tc = TrainConfig(steps=8, batch=8, lr=3e-3, ema=0.9, seed=3, warmup=4)
    cfg = UNetConfig(**ARCH)
    assert train.memory_format(Denoiser(cfg), torch.device("cpu"), tc) == torch.channels_last
    assert train.adam_options(torch.device("cpu")) == {"fused": True}
    ema, stats = fit(train.seeded_model(cfg, 0), x, tc, tmp_path / "m.safetensors", "fp", torch.device("cpu"),
                     progress=False)
    model = train.seeded_model(cfg, 0)
    ref = copy.deepcopy(model).requires_grad_(False)
    opt = torch.optim.Adam(model.parameters(), lr=tc.lr)
    g = torch.Generator().manual_seed(tc.seed)
    losses = []
    for step in range(tc.steps):
        idx = torch.randint(0, len(x), (tc.batch,), generator=g)
        t = draw_times(tc.batch, g)
        x0 = x[idx]
        z = torch.randn(x0.shape, generator=g)
        opt.param_groups[0]["lr"] = tc.lr_at(step)
        loss = denoising_loss(model, x0, t, z)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            for pe, pm in zip(ref.parameters(), model.parameters()):
                pe.lerp_(pm, 1 - min(tc.ema, (1 + step) / (10 + step)))
        losses.append([step + 1, pytest.approx(loss.item(), abs=2e-5)])
    assert stats["loss_curve"] == losses
    assert fixed_loss(ema, x) == pytest.approx(fixed_loss(ref, x), rel=1e-3)
    assert all(p.is_contiguous() for p in ema.parameters())
