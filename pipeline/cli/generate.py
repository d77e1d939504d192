"""``citeline generate``: answer a question from sources with inline citations. Stdlib-only imports."""

from __future__ import annotations

import argparse
import json

from citeline.pipeline.cli.options import add_command, add_llm, add_sources, add_verifier, fail, llm_from_args

GENERATE_EXAMPLES = """\
examples:
  # the local CPU model (SmolLM2-135M-Instruct, converted once into ~/.cache/citeline)
  citeline generate --question "Where is the Eiffel Tower?" --source eiffel.txt --source louvre.txt

  # vLLM in-process, or any OpenAI-compatible server (vllm serve, llama.cpp, ...)
  citeline generate --question Q --source a.txt --backend vllm --model /path/to/model
  citeline generate --question Q --source a.txt --backend openai --base-url http://127.0.0.1:8000/v1

  # post-hoc: cite an answer written without citations (BM25 over the sources + the verifier)
  citeline generate --answer "The tower is in Paris. It opened in 1889." --source eiffel.txt

exit status: 0 an answer came back and every citation points at a source; 1 some citation points
at no source, or the answer is empty; 2 bad input or the engine answered something unusable;
3 environment failure (the engine is missing or the server cannot be reached); 4 internal error.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    generate = add_command(
        subparsers, "generate", help="answer a question from sources, with inline [n] citations",
        description="Generate an answer citing the given sources as [1], [2], ... and flag bad citations.",
        epilog=GENERATE_EXAMPLES)
    task = generate.add_mutually_exclusive_group(required=True)
    task.add_argument("--question", help="the question to answer")
    task.add_argument("--answer", help="post-hoc: an answer without citations to attach citations to")
    add_sources(generate)
    add_llm(generate)
    generate.add_argument("--prompt", default="cited_answer", help="prompt file in prompts/ (cited_answer)")
    generate.add_argument("--max-tokens", type=int, default=300)
    generate.add_argument("--temperature", type=float, default=0.0)
    generate.add_argument("--seed", type=int, default=0)
    add_verifier(generate, "post-hoc only: ")
    generate.add_argument("--json", action="store_true", help="print JSON instead of text")
    generate.set_defaults(func=run_generate)


def _documents(args: argparse.Namespace):
    from citeline.pipeline.records import documents_from_files

    return documents_from_files(args.source, args.sources, ids_from_names=False)


def run_generate(args: argparse.Namespace) -> int:
    from citeline.core.errors import EnvironmentFailure
    from citeline.core.generation import LLMError
    from citeline.pipeline.cited import CitedAnswerer
    from citeline.prompts import PromptError

    try:
        documents = _documents(args)
        if args.answer is not None:
            return _show(_post_hoc(args, documents), args)
        answerer = CitedAnswerer(llm_from_args(args), prompt=args.prompt, max_tokens=args.max_tokens,
                                 temperature=args.temperature, seed=args.seed)
        cited = answerer.answer(args.question, documents)
    except EnvironmentFailure:  # a server that cannot be reached, a missing engine: exit status 3, from main
        raise
    except (OSError, ValueError, PromptError, LLMError) as error:
        return fail(str(error))
    return _show(cited, args)


def _show(cited, args: argparse.Namespace) -> int:
    print(json.dumps(cited.to_dict(), indent=2, ensure_ascii=False) if args.json else _as_text(cited))
    bad = cited.invalid_citations or not cited.answer.text
    return 1 if bad else 0


def _post_hoc(args: argparse.Namespace, documents):
    """Sentences of the sources as candidates, BM25 to rank them, the verifier to accept them."""
    from citeline.pipeline.posthoc import PostHocCiter, sources_retriever
    from citeline.verifiers.default import load_verifier

    if not args.answer.strip():
        raise ValueError("--answer is empty: there is nothing to cite")
    return PostHocCiter(sources_retriever(documents), load_verifier(args.verifier)).cite(args.answer)


def _as_text(cited) -> str:
    lines = [cited.answer.text or "(empty answer)", "", f"engine: {cited.engine}, model: {cited.model}"]
    for number, claim in enumerate(cited.claims, 1):
        cites = ", ".join(claim.source_ids) or "none"
        lines.append(f"  claim {number}: cites {cites}" +
                     (f"; points at no source: {', '.join(claim.invalid_citations)}"
                      if claim.invalid_citations else ""))
    lines += [f"problem: {p}" for p in cited.problems]
    return "\n".join(lines)
