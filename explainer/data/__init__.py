"""Training data for the `sound-types` model set.

Six classes, from open sources that Debian packages provide: real recordings of people
speaking, produced music and sampled drum kits (see `real.py`), beside synthetic speech
(espeak-ng, flite), music and percussion (fluidsynth with the FluidR3 GM SoundFont, plus
struck objects made with numpy), and tone, noise and silence (numpy). Every clip then goes
through a browser microphone's chain (`augment.py`). Val and test use speakers, tracks,
programs, kits and parameter ranges that train never uses; see `sources.py`.

    python -m explainer.data --out DIR [--seed 0] [--per-class N] [--sequences M] [--no-real]
    python -m explainer.data --examples examples/

Nothing here runs at import time; the Debian programs are only called by `generate`
and `write_examples`.
"""

from .config import CLASSES, SAMPLE_RATE, SPLITS, AugmentConfig, DataConfig
from .generate import generate, write_examples
from .tools import MissingToolError, missing_tools

__all__ = [
    "CLASSES", "SAMPLE_RATE", "SPLITS", "AugmentConfig", "DataConfig", "MissingToolError",
    "generate", "missing_tools", "write_examples",
]
