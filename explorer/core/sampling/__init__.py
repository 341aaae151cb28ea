"""Sampling: the OU schedule (alpha = e^{-t}, sigma/alpha), the samplers over any denoiser (each
yields Frames), and the data model that flows out of them (`trajectory`: Frame, Trajectory)."""
