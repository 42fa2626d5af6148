"""Each cell of the benchmark's grid as a :class:`~healthforge.pipeline.RunSpec`.

A dataset's *judging* spec says how every method on it is split and evaluated: the raw
rows split with the repeat's seed (``split.before_prepare``: each generator prepares its
own training rows), ``sample_rows`` drawn, and the rows judged against the holdout by
the schema of the training rows (``evaluation.schema: train``), the same for every
method, peers included. The harness runs it once per dataset through 'prepare' and
:meth:`~healthforge.pipeline.Pipeline.branch` es it per repeat (another seed). A job of
ours is that branch's spec with the generator, its parameters and (for a private
method) the public schema: the child process runs it through 'write'
(:mod:`healthforge.benchmark.worker`), and the branch adopts the rows and evaluates them.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from healthforge import pipeline as hp
from healthforge.benchmark.plan import Job
from healthforge.errors import HealthForgeError

# the evaluate() options a benchmark may set: the ones a run specification carries
EVALUATE_OPTIONS = ("n_estimators", "n_attacks", "fairness_by")


def evaluation_spec(options: dict[str, Any] | None) -> hp.EvaluationSpec:
    """The benchmark's evaluation: every method judged by the training rows' schema."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(EVALUATE_OPTIONS))
    if unknown:
        raise HealthForgeError(
            f"unknown evaluation options for the benchmark: {', '.join(unknown)}",
            f"allowed: {', '.join(EVALUATE_OPTIONS)}",
        )
    return hp.EvaluationSpec(schema="train", **options)


def judging_spec(
    name: str, source: Path, target: str | None, settings: dict[str, Any]
) -> hp.RunSpec:
    """How every method on dataset ``name`` (its rows written to ``source``) is split
    and judged; the seed is the first repeat's. Its generator is never built: the rows
    it judges are adopted from the methods' own runs."""
    return hp.RunSpec(
        data=hp.DataSpec(source=str(source), target=target, infer_target=False),
        rows=settings["sample_rows"],
        seed=settings["seed"],
        split=hp.SplitSpec(holdout_fraction=settings["holdout_fraction"], before_prepare=True),
        evaluation=evaluation_spec(settings["evaluate_options"]),
        name=name,
    )


def cell_spec(
    job: Job,
    judging: hp.RunSpec,
    settings: dict[str, Any],
    public_schema: Path | None,
    synthetic: Path,
) -> hp.RunSpec:
    """Job ``job`` of ours on the split of ``judging`` (a repeat's branch): its generator
    and parameters, the public schema of a private method, the rows written to
    ``synthetic``. Not validated here: a generator that fails to import or refuses its
    parameters is recorded by the child, per run."""
    params = dict(settings["generator_params"].get(job.method) or {})
    if job.private:
        # seeded DP noise, so a benchmark can be repeated; real fits use OS noise
        params.setdefault("noise_seed", judging.seed)
        if job.epsilon is not None:
            params["epsilon"] = job.epsilon
    schema = str(public_schema) if job.private and public_schema is not None else None
    return dataclasses.replace(
        judging,
        data=dataclasses.replace(judging.data, schema=schema),
        generator=hp.GeneratorSpec(name=job.method, params=params),
        outputs=hp.OutputSpec(synthetic=str(synthetic)),
        name=f"{judging.name} {job.name}{job.tag} seed {judging.seed}",
    )
