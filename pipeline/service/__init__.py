"""citeline as an HTTP service (``citeline serve``; needs the ``serve`` extra: FastAPI, uvicorn).

``create_app(Service(verifier, splitter, ServiceConfig(...)))`` is the ASGI app; the stages are
shared by every request, the verifier behind a micro-batching queue (``MicroBatchVerifier``).
"""

from citeline.pipeline.service.batching import MicroBatchVerifier, Serialised
from citeline.pipeline.service.runtime import ApiError, Service, ServiceConfig

__all__ = ["ApiError", "MicroBatchVerifier", "Serialised", "Service", "ServiceConfig", "create_app"]


def create_app(service: Service):
    """The FastAPI app over ``service`` (imports FastAPI only when called)."""
    from citeline.pipeline.service.app import create_app as build

    return build(service)
