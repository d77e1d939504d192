"""``citeline serve``: the HTTP API and the OpenAI-compatible proxy. Stdlib-only imports (fast --help)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from citeline.core.checks import MAX_ANSWER_CHARS
from citeline.pipeline.cli.options import add_command, add_llm, add_splitter, add_verifier, fail

EXAMPLES = """\
examples:
  citeline serve --port 8080                                   # POST /v1/check, /v1/cite, /v1/revise
  curl -s localhost:8080/v1/check -H 'content-type: application/json' \\
       -d '{"answer": "Paris is in France [1].", "sources": ["Paris is the capital of France."]}'

  # a proxy in front of vLLM: point the app's OpenAI client at http://127.0.0.1:8080/v1
  citeline serve --upstream http://127.0.0.1:8000/v1
  # ... or search your own corpus for the documents an answer is checked against
  citeline index build docs/ --out runs/idx && citeline serve --upstream URL --index runs/idx

  CITELINE_API_KEYS=key1,key2 citeline serve                    # clients send 'Authorization: Bearer key1'

endpoints: POST /v1/check /v1/cite /v1/revise /v1/chat/completions, GET /healthz /readyz /metrics,
the OpenAPI schema at /openapi.json and /docs. RARR (/v1/revise, the proxy's revise mode) uses
--backend/--model/--base-url (default: the local SmolLM2, loaded on first use).
exit status: 0 stopped cleanly; 2 bad arguments; 3 environment failure (a missing package or model,
a port in use).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "serve", help="serve the HTTP API and an OpenAI-compatible proxy",
                         description="Serve check, cite and revise over HTTP, and proxy OpenAI-compatible "
                                     "chat completions with a verified citation report on every answer.",
                         epilog=EXAMPLES)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (8080)")
    add_verifier(parser)
    add_splitter(parser)
    proxy = parser.add_argument_group("proxy")
    proxy.add_argument("--upstream", help="the OpenAI-compatible server /v1/chat/completions forwards to, "
                                          "e.g. http://127.0.0.1:8000/v1")
    proxy.add_argument("--upstream-api-key", default=os.environ.get("CITELINE_UPSTREAM_API_KEY"),
                       help="bearer token for the upstream (default: $CITELINE_UPSTREAM_API_KEY; without one, "
                            "a client's Authorization header is forwarded when the server has no API keys)")
    proxy.add_argument("--index", type=Path, help="a `citeline index build` folder: the documents of a request "
                                                  "that brings none, and of /v1/cite and /v1/revise without any")
    proxy.add_argument("--index-k", type=int, default=5, help="passages taken from --index per request (5)")
    limits = parser.add_argument_group("limits")
    limits.add_argument("--max-concurrency", type=int, default=8, help="requests worked on at once (8)")
    limits.add_argument("--max-queue", type=int, default=32,
                        help="requests waiting for a worker; beyond it the server answers 429 (32)")
    limits.add_argument("--request-timeout", type=float, default=60.0,
                        help="seconds per request before 504, for the upstream and for citeline's work (60)")
    limits.add_argument("--max-body-bytes", type=int, default=1_000_000, help="largest request body (1,000,000)")
    limits.add_argument("--max-answer-chars", type=int, default=20_000,
                        help=f"longest answer (20,000; the command line's limit is {MAX_ANSWER_CHARS:,})")
    limits.add_argument("--max-sources", type=int, default=100, help="most sources per request (100)")
    limits.add_argument("--api-keys-file", type=Path, help="API keys, one per line; also $CITELINE_API_KEYS "
                                                           "(comma-separated); none: no authentication")
    batching = parser.add_argument_group("micro-batching of verifier work across requests")
    batching.add_argument("--no-batching", action="store_true", help="verify each request's pairs on their own")
    batching.add_argument("--batch-max-pairs", type=int, default=256, help="pairs per verifier batch (256)")
    batching.add_argument("--batch-wait-ms", type=float, default=5.0,
                          help="how long a batch waits for more requests after its first (5 ms)")
    rarr = parser.add_argument_group("RARR's LLM (/v1/revise and the proxy's revise mode)")
    add_llm(rarr)
    parser.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from citeline.core.errors import EnvironmentFailure

    try:
        from citeline.pipeline.service import Service, ServiceConfig, create_app
        from citeline.pipeline.service.runtime import read_api_keys
        import uvicorn
    except ImportError as error:
        raise EnvironmentFailure(f"{error}: citeline serve needs its extra: pip install 'citeline[serve]'") \
            from error
    try:
        config = ServiceConfig(
            max_concurrency=args.max_concurrency, max_queue=args.max_queue, timeout=args.request_timeout,
            max_body_bytes=args.max_body_bytes, max_answer_chars=args.max_answer_chars,
            max_sources=args.max_sources, batching=not args.no_batching, batch_max_pairs=args.batch_max_pairs,
            batch_wait=args.batch_wait_ms / 1000, api_keys=read_api_keys(args.api_keys_file, dict(os.environ)),
            upstream=args.upstream, upstream_api_key=args.upstream_api_key, index_k=args.index_k)
        verifier, splitter, llm, index = _stages(args)
        service = Service(verifier, splitter, config, llm=llm, index=index,
                          llm_concurrency=_llm_concurrency(args, config))
    except (OSError, ValueError) as error:
        return fail(str(error))
    service.start()  # the models load now: a missing one stops here (exit status 3), not on a request
    keys = f"{len(config.api_keys)} API key(s)" if config.api_keys else "no authentication"
    print(f"citeline: serving on http://{args.host}:{args.port} (verifier {service.verifier.name}, micro-batching "
          f"{'on' if config.batching else 'off'}, {keys}"
          f"{', upstream ' + config.upstream if config.upstream else ''})", file=sys.stderr, flush=True)
    uvicorn.run(create_app(service), host=args.host, port=args.port, log_level="warning" if args.quiet else "info",
                limit_concurrency=2 * (config.max_concurrency + config.max_queue) + 16, timeout_graceful_shutdown=5)
    return 0


def _stages(args: argparse.Namespace) -> tuple:
    """The verifier, the splitter (by --verifier, --splitter), the RARR LLM and the --index retriever."""
    from citeline.core.sentences import make_splitter
    from citeline.pipeline.cli.options import llm_from_args
    from citeline.verifiers.default import load_verifier

    verifier = load_verifier(args.verifier)
    index = None
    if args.index:
        from citeline.retrievers.index import IndexLoadError, load_index

        try:
            index = load_index(args.index)
        except IndexLoadError as error:
            raise ValueError(str(error)) from error
    return verifier, make_splitter(args.splitter), llm_from_args(args), index


def _llm_concurrency(args: argparse.Namespace, config) -> int:
    """A server backend takes concurrent calls; one in this process takes one at a time."""
    from citeline.llm.backends import LLMS

    return config.max_concurrency if LLMS.get(args.backend).takes("base_url") else 1
