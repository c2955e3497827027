"""Audio Explainer: see what six audio neural networks hear in one clip.

Nothing runs at import time: submodules are imported on first use so that
``python -m explainer`` and the app start quickly.
"""

__all__ = ["analysis", "attribution", "audio", "features", "inspect", "models", "pretrained"]
__version__ = "0.1.0"
