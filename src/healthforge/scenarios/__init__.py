"""Scenarios: named presets for common research needs (dataset, conditions, generator, privacy).

A scenario is a small YAML file::

    name: geriatric
    title: NHEFS participants aged 65 and over
    description: ...
    dataset: bundled:nhefs          # or a file path
    drop: [yrdth, modth, dadth]     # optional
    target: death                   # optional
    conditions: [age_group=65+]     # every synthetic row satisfies them
    generator: bayesian_network
    params: {}                      # generator parameters, optional
    rows: 500
    privacy: none                   # none | standard | strict
    schema: public_schema.yaml      # optional; strict needs it: public bounds (see below)
    fair_by: race                   # optional: one generator per group (FairGenerator)
    fairness_by: sex                # optional: per-group evaluation
    holdout_fraction: 0.2
    seed: 0

:func:`run_scenario` fits the generator on a training split of the *whole* dataset,
samples rows satisfying the conditions and evaluates them against the real training
rows satisfying the same conditions (with the real holdout rows satisfying them as the
holdout). Shipped presets live in ``presets/``; :func:`list_scenarios` lists them.

Modules: :mod:`.model` (the :class:`Scenario` type, its parsing and its run
specification), :mod:`.shipped` (the YAML files in ``presets/``, a user's file; not named
``presets`` so that it does not share a name with that folder) and :mod:`.run`
(:func:`run_scenario`, a thin call into :mod:`healthforge.pipeline`).

``privacy: strict`` runs the privacy preset's differentially private generator (``aim``
unless the scenario names another DP generator) at its epsilon with the privacy filter.
A DP generator may only take numeric bounds and categories that are public knowledge,
never ones read off the data: such a scenario names a ``schema`` file (a path relative
to the scenario file) that declares them, and fails with a clear message without one.
Conditions may use value labels (``sex=female``) where the schema has them.
"""

from healthforge.scenarios.model import PRIVACY_CHOICES, Scenario
from healthforge.scenarios.run import ScenarioResult, run_scenario
from healthforge.scenarios.shipped import list_scenarios, load_scenario, load_spec

__all__ = [
    "PRIVACY_CHOICES",
    "Scenario",
    "ScenarioResult",
    "list_scenarios",
    "load_scenario",
    "load_spec",
    "run_scenario",
]
