"""``/api/me``, ``/api/generators`` and ``/api/leaderboard``: who you are, what can run,
and how your finished runs on a dataset compare."""

from __future__ import annotations

import functools
from typing import Any

from fastapi import APIRouter

from healthforge.service.deps import ServiceDep, UserDep
from healthforge.service.errors import not_found
from healthforge.service.routes.models import PROBLEMS, Generator, Me

router = APIRouter(prefix="/api", tags=["catalog"], responses=PROBLEMS)


@router.get("/me")
def me(service: ServiceDep, user: UserDep) -> Me:
    """The signed-in user, and the partner's language model (null: its rule-based router)."""
    model = getattr(service.conversations, "model", None)
    return Me(
        name=user["name"], auth=service.config.auth, language_model=getattr(model, "name", None)
    )


@functools.cache
def _generators() -> tuple[Generator, ...]:
    from healthforge.generators import generator_class, generator_names, is_private

    found = []
    for name in generator_names(installed_only=True):
        try:
            cls = generator_class(name)
        except Exception:  # an optional dependency missing here: not offered
            continue
        found.append(
            Generator(name=name, summary=cls.summary, family=cls.family, private=is_private(name))
        )
    return tuple(found)


@router.get("/generators")
def generators(user: UserDep) -> list[Generator]:
    """The generators a run specification may name."""
    return list(_generators())


@router.get("/leaderboard")
def leaderboard(service: ServiceDep, user: UserDep, dataset_id: str) -> list[dict[str, Any]]:
    """Your finished, evaluated runs on one dataset, best fidelity first."""
    if service.db.owned("datasets", dataset_id, user["id"]) is None:
        raise not_found("dataset")
    rows = []
    for job in service.db.owned_list("jobs", user["id"], dataset_id=dataset_id, state="done"):
        evaluation = (job["result"] or {}).get("evaluation")
        if evaluation is None:
            continue
        spec = job["spec"]
        rows.append(
            {
                "job_id": job["id"],
                "generator": job["result"].get("generator"),
                "privacy": spec.get("privacy"),
                "rows": job["result"].get("rows"),
                "seconds": round((job["finished"] or 0) - (job["started"] or 0), 1),
                **evaluation,
            }
        )
    return sorted(rows, key=lambda r: -(r.get("fidelity") or 0.0))
