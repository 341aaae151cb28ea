"""Training: the denoising loss, the training loop with resume and EMA (`train`), the wavelet RG's
networks (`wcrg`), and torchrun/DDP (`distributed`)."""
