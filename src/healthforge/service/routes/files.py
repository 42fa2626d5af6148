"""Who may read one file of a job or a conversation: a ticket's user, or the signed-in one.

Both the jobs and the partner routes serve their files the same two ways: to the signed-in
user, or through a short-lived ticket (:mod:`healthforge.service.tickets`) for a link or a
frame that cannot send the token. These two functions are that shared logic.
"""

from __future__ import annotations

from fastapi import Request

from healthforge.service.deps import ServiceDep, current_user
from healthforge.service.routes.models import Ticket
from healthforge.service.tickets import TICKET_SECONDS, make_ticket, ticket_user


def reader_id(
    request: Request, service: ServiceDep, ticket: str | None, item_id: str, name: str
) -> str:
    """The id of the user a valid ``ticket`` for file ``name`` of ``item_id`` was made for;
    without a valid ticket, the signed-in user's (a 401 when nobody is signed in)."""
    user_id = ticket_user(service.secret, ticket, item_id, name) if ticket else None
    if user_id is None:
        user_id = current_user(request)["id"]
    return user_id


def file_ticket(service: ServiceDep, user_id: str, item_id: str, name: str, url: str) -> Ticket:
    """A ticket for file ``name`` of ``item_id``, as a link: ``url`` (the file's address)
    with the signed ticket, valid for :data:`TICKET_SECONDS`."""
    signed = make_ticket(service.secret, user_id, item_id, name)
    return Ticket(url=f"{url}?ticket={signed}", expires_in=TICKET_SECONDS)
