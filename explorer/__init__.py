"""explorer: watch generative models build images and physical fields."""

__version__ = "0.1.0"
