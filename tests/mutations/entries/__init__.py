"""One module per guarantee family; importing them registers their mutations."""

# duplicates: every entry is a @mutation(name, breaks, tests) registration and its patch,
# alike in shape by design; what they share beyond that lives in catalogue.py

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
