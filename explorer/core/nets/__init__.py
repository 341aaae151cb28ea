"""Denoisers: the sigma-conditioned U-Net D(x_t, t) ~ E[x_0 | x_t] and its conditional variant for
wavelet details (`unet`)."""
