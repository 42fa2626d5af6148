"""Write the legacy model files that ``tests/generators/test_legacy_models.py`` loads.

The ``.hfm`` files here were written by this script at commit 9113bdb, before the
generator modules moved into family sub-packages: their pickles name the old flat
module paths (``healthforge.generators.cart.CartGenerator``, ``...dp_base.DiscreteColumn``).
Running it again writes files with the *current* paths, which would no longer test the
mapping of old paths; keep the committed files.

    PYTHONPATH=src:. python tests/generators/data/legacy/make_legacy.py
"""

from __future__ import annotations

from pathlib import Path

from healthforge.generators import get_generator, save_model
from tests.generators.data.legacy.models import LEGACY, training_data

HERE = Path(__file__).parent


def main() -> None:
    data, schema = training_data()
    for name, (generator, params, public) in LEGACY.items():
        model = get_generator(generator, **params)
        model.fit(data, schema if public else None)
        save_model(model, HERE / f"{name}.hfm")
        model.sample(40, seed=5).to_csv(HERE / f"{name}.csv", index=False)


if __name__ == "__main__":
    main()
