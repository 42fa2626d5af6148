"""The model's steps of a run: build the generator, fit it (:func:`fit_model`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from healthforge.pipeline.steps import RunState, seeds_of
from healthforge.progress import ProgressCallback

if TYPE_CHECKING:
    from healthforge.data.schema import Schema


def build(state: RunState) -> None:
    """Construct the generator (imports its module) without fitting it."""
    from healthforge.generators import get_generator

    spec, seed = state.spec, seeds_of(state.spec)["model"]
    fair = spec.generator.fair
    if fair is not None:  # one model of the generator per group of fair.by
        from healthforge.generators import FairGenerator

        state.model = FairGenerator(
            base=state.generator,
            fair_by=fair.by,
            params=state.params,
            balance=fair.balance,
            min_group_rows=fair.min_group_rows,
            seed=seed,
        )
    else:
        state.model = get_generator(state.generator, seed=seed, **state.params)


def fit(state: RunState) -> None:
    spec, model, progress = state.spec, state.model, state.progress
    if spec.split.before_prepare:  # raw rows: the generator prepares them itself
        public = state.public_schema
        if spec.data.schema is None and not model.is_private:
            public = None  # a domain read off the data is public only to a DP generator
        fit_model(
            model, state.train, schema=public, public=True, target=state.target, progress=progress
        )
    elif state.public_schema is not None:  # a DP generator: the schema is public knowledge
        fit_model(model, state.train, schema=state.public_schema, public=True, progress=progress)
    else:
        prepared = state.prepared
        fit_model(
            model,
            state.train,
            schema=prepared.schema,
            excluded=prepared.excluded,
            progress=progress,
        )


def fit_model(
    model: Any,
    rows: pd.DataFrame,
    *,
    schema: Schema | None = None,
    public: bool = False,
    target: str | None = None,
    excluded: dict[str, str] | None = None,
    progress: ProgressCallback | None = None,
) -> Any:
    """Fit generator ``model`` on ``rows``: the one place the library calls a generator's
    ``fit``, so no front end chooses between its forms. Returns the fitted model.

    ``schema=None``: the generator infers the schema from ``rows`` (``target`` names the
    outcome). ``public=True``: ``schema`` was declared, not read off these rows (a schema
    file, a published codebook): ``rows`` are checked against it and a private generator
    takes its bounds and categories as public knowledge. Otherwise ``schema`` is the one
    ``rows`` were prepared under (inferred from the private rows; ``excluded``: the
    columns left out while preparing), kept as it is and never treated as public.
    """
    if schema is None or public:
        return model.fit(rows, schema, target=target, progress=progress)
    from healthforge.data.prepare import PreparedData

    return model.fit(PreparedData(rows, schema, dict(excluded or {})), progress=progress)
