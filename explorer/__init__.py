"""explorer: watch generative models build images and physical fields."""

__version__ = "0.2.0"
