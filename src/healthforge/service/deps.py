"""FastAPI dependencies: the service and the signed-in user of a request."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from healthforge.service.auth import bearer_token, local_user, user_for_token
from healthforge.service.core import Service
from healthforge.service.errors import ServiceError


def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def current_user(request: Request) -> dict[str, Any]:
    """The user of the request's bearer token (the local user in ``--no-auth`` mode)."""
    service = get_service(request)
    if not service.config.auth:
        return local_user(service.db)
    user = user_for_token(service.db, bearer_token(request.headers.get("authorization")))
    if user is None:
        raise ServiceError(
            "sign in with your token (Authorization: Bearer TOKEN)",
            "an administrator makes one with `healthforge serve --create-user NAME`",
            401,
        )
    return user


ServiceDep = Annotated[Service, Depends(get_service)]
UserDep = Annotated[dict[str, Any], Depends(current_user)]
