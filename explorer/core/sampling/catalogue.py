"""The samplers explorer knows, in words and numbers: their default steps, names and tooltips for
the window, which walk a fixed time grid, which stop by themselves. No torch: the Run panel
shows them before torch is loaded; the samplers themselves are in `samplers`."""

DEFAULT_STEPS = {"sde": 100, "ode": 50, "ddim": 50, "dpm2m": 20, "ascent": 1000}
LABELS = {"sde": "SDE (reverse Langevin)", "ode": "ODE (probability flow, Heun)", "ddim": "DDIM",
          "dpm2m": "DPM-Solver++ (2M)", "ascent": "Stochastic ascent (Kadkhodaie-Simoncelli)"}
TIPS = {  # what each sampler does, for a newcomer (the window's tooltips)
    "sde": "the reverse damped-Langevin SDE, dx = [x + 2 score] dt + sqrt(2) dW backwards in t: fresh noise at every "
           "step; needs ~100 steps",
    "ode": "the probability-flow ODE, dx = [x + score] dt, by Heun's method (two denoiser calls per step): "
           "deterministic, ~50 steps",
    "ddim": "DDIM: the deterministic jump x_s = alpha_s x0_hat + sigma_s eps_hat from each step to the next",
    "dpm2m": "DPM-Solver++ (2M): a second-order multistep ODE solver in x0_hat; good samples in ~20 steps",
    "ascent": "Kadkhodaie & Simoncelli's stochastic coarse-to-fine ascent: steps along the denoiser's residual with "
              "injected noise, until sigma reaches 0.05",
    "lbfgs": "microcanonical sampling: white noise moved by L-BFGS until its scattering spectra match the data's",
    "spectral": "a Gaussian field drawn in Fourier space with the data's power spectrum, shell by shell",
}
GRID_SAMPLERS = ("sde", "ode", "ddim", "dpm2m")        # a fixed time grid: steps + 1 frames
STOPPING = {"ascent": "the ascent stops by itself when its noise level reaches σ∞ = 0.05; steps is only its limit"}
