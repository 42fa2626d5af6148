"""HealthForge as a service: a REST API and a web page over the same library.

``healthforge serve`` starts it (:mod:`.server`). The pieces, one concept per module:
:mod:`.config` (limits and folders), :mod:`.db` (SQLite: users, datasets, jobs,
conversations), :mod:`.auth` (hashed tokens, the current user), :mod:`.uploads` (checking
and profiling an uploaded table), :mod:`.specs` (a job's run specification, pinned to the
user's dataset and the server's output files), :mod:`.jobs` (the scheduler of worker
processes), :mod:`.worker` (one job in its own process, through
:func:`healthforge.pipeline.run`), :mod:`.conversations` (the AI partner per user and
dataset), :mod:`.routes` (one module per resource) and :mod:`.app` (the FastAPI app).
FastAPI and uvicorn come with the ``service`` extra: ``pip install 'healthforge[service]'``.
"""

from healthforge.service.config import ServiceConfig

__all__ = ["ServiceConfig"]
