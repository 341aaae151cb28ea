"""What one learns from models: S1/S2 runs and the copy verdict (`generalization`), the denoiser's
Jacobian basis (`basis`), forks (`fork`), every model of a field against its data (`head_to_head`),
denoising PSNR (`evaluate`)."""
