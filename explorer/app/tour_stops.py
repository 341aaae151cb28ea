"""The guided tour's stops, in the lecture's order: plain data, for a teacher to edit.

Each stop names a bundled model (a file of checkpoints/) or a bundled S1/S2 pair (by its N; the
S1 model is opened), the tab to show, the Run panel's spec (small: a stop is ready in seconds on
two CPU cores), what to compute after the run, and says what to look at. `explorer/app/tour.py`
drives them; tests/test_tour.py walks every one.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Stop:
    title: str
    formula: str                        # shown set apart; the text says what it means
    text: str                           # two or three sentences: what to look at
    tab: str                            # a tab's title, as on the tab
    model: str = ""                     # a bundled model's file name (checkpoints/)
    pair: int | None = None             # or the bundled S1/S2 pair of this N, run on "Compare S1 / S2"
    run: dict = field(default_factory=dict)   # RunPanel.set_spec keywords: sampler, steps, n, seed (not a pair's)
    samples: int = 4                    # per model, for a pair
    at: float | None = None             # after the run, the step whose σ/α is nearest this (None: the last)
    xt: str = "x_t"                     # the Trajectory tab's left panel: "x_t" or "x_t / α"
    then: tuple[str, ...] = ()          # after the run, in turn: "basis", "fork", "spread"
    panel: str = ""                     # a tab inside the tab, by the start of its title


SHAPES = "shapes-N10000-S1.safetensors"

STOPS = (
    Stop(
        title="1. Noising, and Tweedie's denoiser",
        formula="x_t = e⁻ᵗ x_0 + √(1 − e⁻²ᵗ) z\nx0_hat = x_t/α + (σ²/α) ∇log p(x_t)",
        text="Noising shrinks an image by α = e⁻ᵗ and adds noise σ z; the curve at the bottom is σ/α along the "
             "run, and the slider stands at σ/α ≈ 1. Left: x_t; right: the denoiser's estimate x0_hat = E[x_0 | x_t], "
             "the score in disguise (Tweedie). Scrub: at large σ/α x0_hat is a blur of shapes; as σ/α falls it "
             "sharpens into one.",
        tab="Trajectory", model=SHAPES, run={"sampler": "ddim", "steps": 20, "n": 8, "seed": 0}, at=1.0),
    Stop(
        title="2. Reverse diffusion",
        formula="dx = (x + 2 ∇log p_t(x)) ds + √2 dB\nin reversed time s = T − t",
        text="Run backwards, the noising becomes a generator: from pure noise the reverse SDE follows the score the "
             "denoiser gives, plus fresh noise. The left panel is x_t/α = x_0 + (σ/α) z, the data's scale: the "
             "shapes appear in the shaded band 0.1 ≤ σ/α ≤ 2. Play (Space) shows it again; Run draws new samples.",
        tab="Trajectory", model=SHAPES, run={"sampler": "sde", "steps": 50, "n": 8, "seed": 1}, xt="x_t / α"),
    Stop(
        title="3. Memorise: N = 10",
        formula="copy:  ‖x − x_(1)‖ / ‖x − x_(2)‖ < 1/3",
        text="Two networks of one architecture, trained on disjoint sets S1 and S2 of N = 10 shapes, run from the "
             "same noise. Each returns one of its own training images: the nearest, x_(1), is much nearer than the "
             "second, x_(2), at cosine ≈ 1. The two samples differ: each network learnt its ten images.",
        tab="Compare S1 / S2", pair=10, panel="bundled pairs"),
    Stop(
        title="4. Generalise: N = 10⁴",
        formula="cos(S1 sample, S2 sample) → 1\nas N grows",
        text="Trained on 10⁴ images each, none in common, the two networks draw nearly the same image from the "
             "same noise, and neither copies: both learnt the same density. The plot: median cos(S1, S2) against N "
             "for three network sizes; the transition N*, where it crosses 0.5, grows with the network.",
        tab="Compare S1 / S2", pair=10000, panel="capacity axis"),
    Stop(
        title="5. The adaptive basis",
        formula="A = α ∂x0_hat/∂x_t = Σ λ_k e_k e_kᵀ",
        text="Near x_t the denoiser is almost linear: it keeps x_t/α along a few eigenvectors e_k of its Jacobian "
             "(λ_k ≈ 1) and shrinks the rest (λ_k ≈ 0). At σ/α ≈ 1 the top eigenvectors follow the shapes' "
             "contours: a basis adapted to the image. Their number, the effective dimension tr A, grows as σ/α falls.",
        tab="Basis", model=SHAPES, run={"sampler": "ddim", "steps": 20, "n": 4, "seed": 0}, at=1.0, then=("basis",)),
    Stop(
        title="6. Forks: what each noise level decides",
        formula="spread = √(mean_i ‖x_i − x̄‖² / D)",
        text="From the step where σ/α ≈ 0.5 the rest of the run is drawn 8 times with fresh noise: the endings share "
             "the large shape and differ in details. The curve: the endings' spread against σ/α at the fork; it "
             "falls to 0 where the image is decided, the coarse features first.",
        tab="Fork", model=SHAPES, run={"sampler": "sde", "steps": 60, "n": 4, "seed": 0}, at=0.5,
        then=("fork", "spread")),
    Stop(
        title="7. The wavelet hierarchy, scale by scale",
        formula="p(x) = p_J(x_J) Π_j p̄_j(x̄_j | x_j)",
        text="A wavelet renormalisation-group model draws the φ⁴ field scale by scale: the coarse x_J by diffusion, "
             "then each finer scale's details x̄_j given the image above, x_(j−1) = W⁻¹(x_j, x̄_j). The Scales tab "
             "shows the frame's pyramid; its slider walks the run from coarse to fine, a few steps per scale.",
        tab="Scales", model="phi4-wcrg.wcrg", run={"sampler": "ode", "steps": 10, "n": 4, "seed": 0,
                                                   "coarse_sampler": ""}),
    Stop(
        title="8. Scattering spectra and higher moments",
        formula="x = argmin ‖(Φ(x) − Φ_data)/s‖²",
        text="No network: the model is Φ, the scattering spectra (wavelet statistics) of the cosmic web's log "
             "density, and sampling moves white noise by L-BFGS until Φ(x) matches the data's. The Statistics tab "
             "checks what Φ did not fix: the spectrum, the histogram, the bispectrum (far from 0: the web is not "
             "Gaussian), its parity-odd part (0 for a mirror-symmetric law) and the trispectrum.",
        tab="Statistics", model="cosmic-web-scattering.scat.safetensors",
        run={"sampler": "lbfgs", "steps": 50, "n": 4, "seed": 0}, panel="bispectrum"),
)
