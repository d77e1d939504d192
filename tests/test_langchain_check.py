"""The citation check as a LangChain Runnable, alone, batched and in LCEL compositions."""

import pytest

pytest.importorskip("langchain_core")
from langchain_core.documents import Document as LCDocument  # noqa: E402
from langchain_core.messages import AIMessage  # noqa: E402
from langchain_core.runnables import RunnableLambda, RunnableParallel  # noqa: E402

import citeline  # noqa: E402
from citeline.core.types import Report  # noqa: E402
from citeline.pipeline.langchain import CitationCheck, with_citation_report  # noqa: E402

DOCS = [LCDocument(page_content="Paris is the capital of France.", metadata={"title": "Paris"}),
        LCDocument(page_content="Berlin is the capital of Germany.", metadata={"id": "de"})]
ANSWER = "Paris is the capital of France [1]. Berlin is in Spain [de]."


def check() -> CitationCheck:
    return CitationCheck(verifier="lexical", splitter="regex")


def test_invoke_gives_the_report_citeline_check_gives():
    report = check().invoke({"question": "Capitals?", "answer": ANSWER, "documents": DOCS})
    assert isinstance(report, Report)
    assert [r.citations.recall for r in report.claims] == [1.0, 0.0]
    assert [d.id for d in report.documents] == ["1", "de"] and report.documents[0].title == "Paris"
    same = citeline.check(ANSWER, [{"text": d.page_content, "id": d.metadata.get("id")} for d in DOCS],
                          verifier="lexical", splitter="regex")
    assert report.metrics == same.metrics


def test_batch_and_chat_messages():
    inputs = [{"answer": AIMessage(content=ANSWER), "context": DOCS}, {"answer": "Paris is in France [1].",
                                                                        "documents": ["Paris is in France."]}]
    reports = check().batch(inputs)
    assert [len(r.claims) for r in reports] == [2, 1] and reports[1].metrics["citation_recall"] == 1.0
    with pytest.raises(KeyError, match="documents"):
        check().invoke({"answer": ANSWER})


def test_lcel_composition_attaches_the_report_to_a_chains_result():
    retriever = RunnableLambda(lambda question: DOCS)
    llm = RunnableLambda(lambda inputs: AIMessage(content=ANSWER))
    rag = RunnableParallel(context=retriever, question=lambda q: q).assign(answer=llm)
    result = with_citation_report(rag, check()).invoke("Which are the capitals?")
    assert result["answer"].content == ANSWER and result["context"] == DOCS
    assert [r.citations.recall for r in result["report"].claims] == [1.0, 0.0]
    as_dict = (rag | check() | (lambda report: report.to_dict())).invoke("Which are the capitals?")
    assert as_dict["metrics"]["claims"] == 2.0
