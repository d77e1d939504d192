"""The retriever protocol: find passages (exact spans of documents) for a query.

It is defined in the foundation (``citeline.core.protocols``), so workflows need not import
this package; it is re-exported here for ``from citeline.retrievers import Retriever``."""

from citeline.core.protocols import Retriever

__all__ = ["Retriever"]
