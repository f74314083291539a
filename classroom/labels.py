"""The seven apparent-expression classes, in the order FER2013 numbers them and every model outputs them.

One copy for the whole project: the domain (``classroom.models.EXPRESSIONS``), the served models and training
(``training.data.CLASS_NAMES``) all read it here. No Django import, so training runs without a configured project.
"""

from __future__ import annotations

EXPRESSIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
