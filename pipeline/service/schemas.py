"""Request bodies of the HTTP API, as pydantic models: they validate, and they are the OpenAPI schema.

Fields are the record fields the command line reads (``citeline check --record``), so a record
file can be posted as it is. Unknown fields are refused, naming them, rather than ignored.
"""

from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

PARIS = "Paris is the capital and largest city of France."
BERLIN = "Berlin is the capital of Germany."


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Union[str, int, None] = Field(None, description="cite it as [id]; [n] always cites the n-th source")
    title: Union[str, None] = ""
    text: str
    metadata: Union[dict[str, Any], None] = None


Sources = list[Union[str, Source]]


class CheckBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"question": "What is the capital of France?", "answer": "Paris is the capital of France [1].",
         "sources": [PARIS, {"id": "berlin", "title": "Berlin", "text": BERLIN}]}]})

    id: Union[str, int, None] = None
    question: Union[str, None] = ""
    answer: str = Field(description="the answer, with inline citations like [1] or [id]")
    sources: Sources = Field(description="strings or {id?, title?, text} objects, in citation order")
    check_every_source: bool = Field(True, description="also check each claim against every source alone "
                                                       "(tells a wrong citation from an unsupported claim)")


class CiteBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"answer": "Paris is the capital of France. Berlin is the capital of Germany.",
         "sources": [PARIS, BERLIN]}]})

    question: Union[str, None] = ""
    answer: str = Field(description="an answer written without citations")
    sources: Union[Sources, None] = Field(None, description="passages to cite; default: the server's --index")


class ReviseBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"text": "Paris is the capital of Germany.", "documents": [PARIS, BERLIN]}]})

    id: Union[str, int, None] = None
    text: str = Field(description="the answer to research and revise (RARR)")
    documents: Union[Sources, None] = Field(None, description="documents to research in; "
                                                              "default: the server's --index")


class LocalizeBody(BaseModel):
    model_config = ConfigDict(extra="allow")


class ProxyOptions(BaseModel):
    """The ``citeline`` field of a chat completion request; removed before forwarding."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["annotate", "cite", "revise"] = Field(
        "annotate", description="annotate: add the report only; cite: also repair citations in the message "
                                "(a claim its citations do not support is cited to the source that does); "
                                "revise: also run RARR on an answer with unsupported claims")
    documents: Union[Sources, None] = Field(None, description="the sources the answer should cite; default: the "
                                                              "request's own 'documents' (vLLM's field), else the "
                                                              "server's --index searched with the last user message")
