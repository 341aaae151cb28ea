"""The science of explorer: torch, numpy and pywt only; never Qt."""
