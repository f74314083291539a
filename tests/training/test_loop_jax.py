"""The loop on the Keras JAX backend, the path an accelerator trains on: it resumes exactly, and what it saves
loads and predicts the same under TensorFlow, where models are exported and served from.

The backend is fixed when Keras is imported, so the JAX side runs in its own process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
from django.conf import settings

JAX_SIDE = """
import json, sys
from pathlib import Path
import numpy as np
from tests.training.test_loop import EPOCHS, BATCH, data, run
from training.augment import Augmentation
from training.loop import Recipe, where

out = Path(sys.argv[1])
recipe = Recipe(epochs=EPOCHS, batch_size=BATCH, warmup_epochs=0.5, augmentation=Augmentation(mixup=0.2))
whole = run(recipe, out / "whole", init_seed=1)
run(recipe, out / "split", init_seed=1, stop_after_steps=3)
resumed = run(recipe, out / "split", init_seed=99)
gap = max(
    float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
    for a, b in zip([*whole.model.variables, *whole.optimizer.variables], [*resumed.model.variables, *resumed.optimizer.variables])
)
whole.model.save(out / "whole.keras")
images, _, _ = data()
np.save(out / "probs.npy", whole.model.predict(images[:8].astype(np.float32), verbose=0))
print(json.dumps({"where": where(), "gap": gap, "iterations": int(resumed.optimizer.iterations)}))
"""


def test_a_jax_run_resumes_exactly_and_its_model_serves_under_tensorflow(tmp_path: Path) -> None:
    from tests.training.test_loop import BATCH, EPOCHS, SAMPLES, data

    env = {key: value for key, value in os.environ.items() if key != "KERAS_BACKEND"} | {"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    result = subprocess.run(
        [sys.executable, "-c", JAX_SIDE, str(tmp_path)], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])

    assert report["where"].endswith("keras jax on cpu")
    assert report["gap"] <= 1e-6  # weights and optimizer state of the resumed run equal the uninterrupted one's
    assert report["iterations"] == EPOCHS * -(-SAMPLES // BATCH)
    assert keras.backend.backend() == "tensorflow"
    model = keras.models.load_model(tmp_path / "whole.keras")
    images, _, _ = data()
    np.testing.assert_allclose(model.predict(images[:8].astype(np.float32), verbose=0), np.load(tmp_path / "probs.npy"), atol=1e-5)
