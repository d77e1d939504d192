"""Running generated Python (FinLFQA clause code, ConvFinQA-PoT programs, TAT-QA derivations) safely.

Generated code never runs in the caller's process. Three layers, each enough against the common
attacks on its own:

1. **An AST allow-list, in the caller** (``check_program``): statements are assignments
   (``x = ...``, ``x += ...``, tuple targets), expressions, ``if``/``for``/``while`` with
   ``break``/``continue``/``pass``, and plain ``def``/``return`` (FinanceMath-style
   ``def solution(): ...``); expressions are literals, names, arithmetic, comparisons, boolean
   operators, ``a if c else b``, tuples/lists/dicts/sets, subscripts and slices, list
   comprehensions and generator expressions. Calls go only to ``ALLOWED_BUILTINS``, to functions
   the program defines, or to ``math.<name>``; the only imports are ``import math`` and
   ``from math import ...``. Refused: every other import, any name or attribute starting with
   ``_`` (no dunder walks such as ``().__class__.__bases__``), attributes of anything but
   ``math``, ``lambda``, ``class``, ``with``, ``try``/``raise``, ``global``, ``del``,
   decorators, ``async``, f-strings, and the names ``open``, ``eval``, ``exec``, ``getattr``,
   ``globals``, ``__import__`` ... (not callable, not even readable). ``lambda`` is refused
   because nothing in the stand-ins uses it and it is the usual vehicle for smuggling callables.
2. **A restricted evaluator, in a separate process**: asteval (https://github.com/lmfit/asteval,
   pinned in pyproject). Chosen over the alternatives because it *interprets* the AST node by node
   with its own symbol table (no ``exec`` of compiled user code at all), evaluates
   multi-statement programs with loops and function definitions and returns the last value,
   blocks dunder and other unsafe attributes itself, caps ``**`` exponents, shift sizes and string
   lengths, and is maintained (1.0.x, 2025-2026) with no dependencies. simpleeval evaluates a
   single expression only, which ConvFinQA-PoT's ``x0 = ...; ans = x0 / 25.14`` is not;
   RestrictedPython compiles to real bytecode and relies on guard functions the host must write
   (``_getattr_``, ``_getitem_``, ``_write_``...), more surface to get wrong for our
   arithmetic-only needs. Each program gets a fresh ``asteval.Interpreter`` whose symbol table is
   cut down to the allowed builtins and a read-only ``math`` namespace.
3. **Operating-system limits on that process** (``resource.setrlimit``, set by the worker on
   itself before it reads any program): RLIMIT_AS (memory, ``memory_mb``), RLIMIT_CPU (a soft
   limit of ``timeout_s`` CPU seconds per program, re-armed before each one; SIGXCPU kills the
   worker), RLIMIT_FSIZE = 0 (no file writes), RLIMIT_NPROC = 0 (no fork; note the kernel does
   not apply this one to root), RLIMIT_NOFILE (no new files or sockets beyond its pipes) and
   RLIMIT_CORE = 0; plus a wall-clock deadline in the caller, which kills the worker. The worker
   is started with ``python -I`` (no environment variables, no user site), with numpy kept out of
   it (asteval would import it), its stderr discarded and its stdout reserved for results.
   Printed output is captured up to ``max_output`` characters; beyond that the program stops
   with error kind "output". There is no network: no import reaches ``socket`` and no file
   descriptors can be opened.

The answer is the variable ``ans`` (the ConvFinQA-PoT convention) or else the value of the last
statement when it is an expression. Every outcome is a ``SandboxResult``; nothing raises to the
caller: ``error_kind`` is "rejected" (the allow-list, or a syntax error), "timeout" (CPU or wall
clock), "memory", "output", "error" (the program raised, or produced no value) or "crashed"
(the worker died for another reason).

``run_many`` reuses worker processes: ``workers`` of them, each running its share of the
programs one at a time. A reused worker is still isolated per program: each program gets a new
interpreter and symbol table (nothing a program assigns is visible to the next), its own CPU
allowance, and the same memory ceiling; a worker that dies (timeout, memory) is replaced before
the next program. Spawning costs about 50 ms, so 1,000 programs cost ``workers`` spawns, not
1,000.
"""

from __future__ import annotations

import ast
import json
import math
import os
import selectors
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Sequence

ALLOWED_BUILTINS = frozenset({"abs", "round", "min", "max", "sum", "len", "float", "int", "pow", "range",
                              "bool", "str", "list", "tuple", "dict", "set", "sorted", "reversed", "enumerate",
                              "zip", "any", "all", "divmod", "print", "True", "False", "None"})
MATH_NAMES = frozenset(name for name in dir(math) if not name.startswith("_"))
DENIED_NAMES = frozenset({"open", "eval", "exec", "compile", "getattr", "setattr", "delattr", "hasattr",
                          "globals", "locals", "vars", "dir", "input", "breakpoint", "help", "type", "object",
                          "super", "memoryview", "bytearray", "classmethod", "staticmethod", "property",
                          "exit", "quit", "id", "hash", "iter", "next", "format", "repr", "ascii", "chr", "ord",
                          "isinstance", "issubclass", "callable", "frozenset", "map", "filter"})
_STATEMENTS = (ast.Module, ast.Expr, ast.Assign, ast.AugAssign, ast.If, ast.For, ast.While, ast.Break,
               ast.Continue, ast.Pass, ast.FunctionDef, ast.Return, ast.Import, ast.ImportFrom)
_EXPRESSIONS = (ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Call, ast.Constant, ast.Name,
                ast.Tuple, ast.List, ast.Dict, ast.Set, ast.Subscript, ast.Slice, ast.ListComp,
                ast.GeneratorExp, ast.comprehension, ast.Attribute, ast.keyword, ast.arguments, ast.arg,
                ast.alias, ast.Load, ast.Store, ast.operator, ast.unaryop, ast.boolop, ast.cmpop,
                ast.expr_context)
MAX_CODE_CHARS = 20_000
WORKER_START_GRACE_S = 10.0  # the worker's own start (interpreter + asteval import) is not the program's time


@dataclass(frozen=True)
class SandboxResult:
    ok: bool
    value: Any = None  # int, float, bool, str, None or a list of those
    error_kind: str = ""  # "", "rejected", "timeout", "memory", "output", "error", "crashed"
    error: str = ""
    stdout: str = ""


@dataclass(frozen=True)
class Limits:
    timeout_s: float = 2.0
    memory_mb: int = 256
    max_output: int = 10_000


# ------------------------------------------------------------------------------ the allow-list


def check_program(code: str) -> str:
    """Why ``code`` is refused, or "" when it passes the allow-list."""
    if len(code) > MAX_CODE_CHARS:
        return f"the program is {len(code):,} characters; at most {MAX_CODE_CHARS:,}"
    try:
        tree = ast.parse(code, mode="exec")
    except SyntaxError as error:
        return f"syntax error: {error.msg} (line {error.lineno})"
    except (RecursionError, MemoryError, ValueError) as error:  # "1+1+...": the parser's own limits
        return f"the program is nested too deeply to parse ({type(error).__name__})"
    nodes = list(ast.walk(tree))
    unknown = next((n for n in nodes if not isinstance(n, _STATEMENTS + _EXPRESSIONS)), None)
    if unknown is not None:  # the kind of node first: "Lambda is not allowed" says more than "calling it"
        return f"line {getattr(unknown, 'lineno', '?')}: {type(unknown).__name__} is not allowed"
    defined = {n.name for n in nodes if isinstance(n, ast.FunctionDef)}
    for node in nodes:
        reason = _refusal(node, defined)
        if reason:
            return f"line {getattr(node, 'lineno', '?')}: {reason}"
    return ""


def _refusal(node: ast.AST, defined: set[str]) -> str:
    if isinstance(node, ast.Name) and (node.id.startswith("_") or node.id in DENIED_NAMES):
        return f"the name {node.id!r} is not allowed"
    if isinstance(node, ast.Attribute):
        return _attribute_refusal(node)
    if isinstance(node, ast.Call):
        return _call_refusal(node, defined)
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return _import_refusal(node)
    if isinstance(node, ast.FunctionDef):
        if node.decorator_list or node.name.startswith("_") or node.name in DENIED_NAMES | ALLOWED_BUILTINS:
            return f"the function definition {node.name!r} is not allowed (decorated or shadowing a name)"
    if isinstance(node, ast.arg) and node.arg.startswith("_"):
        return f"the argument name {node.arg!r} is not allowed"
    if isinstance(node, ast.Constant) and isinstance(node.value, bytes):
        return "bytes literals are not allowed"
    return ""


def _attribute_refusal(node: ast.Attribute) -> str:
    if node.attr.startswith("_"):
        return f"the attribute {node.attr!r} is not allowed"
    if not (isinstance(node.value, ast.Name) and node.value.id == "math" and node.attr in MATH_NAMES):
        return f"attribute access is limited to math.<function>, not .{node.attr}"
    if isinstance(node.ctx, ast.Store):
        return "math is read-only"
    return ""


def _call_refusal(node: ast.Call, defined: set[str]) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return ""  # checked as an attribute: math.<function> only
    if isinstance(func, ast.Name) and (func.id in ALLOWED_BUILTINS or func.id in MATH_NAMES or func.id in defined):
        return ""
    name = func.id if isinstance(func, ast.Name) else type(func).__name__
    return f"calling {name!r} is not allowed"


def _import_refusal(node: ast.Import | ast.ImportFrom) -> str:
    if isinstance(node, ast.Import):
        if all(alias.name == "math" and alias.asname in (None, "math") for alias in node.names):
            return ""
        return "only `import math` is allowed"
    if node.module == "math" and node.level == 0 and all(a.name in MATH_NAMES and (a.asname or a.name) == a.name
                                                         for a in node.names):
        return ""
    return "only `from math import <function>` is allowed"


def prepare(code: str) -> str:
    """The checked program as the worker runs it: imports dropped (the worker provides ``math``
    and its functions) and generator expressions as list comprehensions (asteval lacks them)."""

    class Rewrite(ast.NodeTransformer):
        def visit_Import(self, node: ast.AST) -> ast.AST:
            return ast.Pass()

        visit_ImportFrom = visit_Import

        def visit_GeneratorExp(self, node: ast.GeneratorExp) -> ast.AST:
            self.generic_visit(node)
            return ast.ListComp(elt=node.elt, generators=node.generators)

    tree = ast.parse(code)
    if not any(isinstance(node, (ast.Import, ast.ImportFrom, ast.GeneratorExp)) for node in ast.walk(tree)):
        return code  # nothing to rewrite (and no unparse, which recurses on long expressions)
    return ast.unparse(ast.fix_missing_locations(Rewrite().visit(tree)))


# -------------------------------------------------------------------------------- the worker


def _worker_main(limits: Limits) -> None:
    """Runs in the sandbox process: limit itself, then answer one JSON line per program."""
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    sys.stdout = sys.stderr  # nothing the program does reaches the protocol channel
    sys.modules["numpy"] = None  # asteval imports numpy when present: keep it (and its threads) out
    import resource

    import asteval

    memory = limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (8, 8))
    for line in sys.stdin:
        _arm_cpu_limit(resource, limits.timeout_s)
        reply = _evaluate(asteval, json.loads(line)["code"], limits.max_output)
        protocol.write(json.dumps(reply) + "\n")
        protocol.flush()


def _arm_cpu_limit(resource: Any, timeout_s: float) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    soft = int(math.ceil(used + timeout_s))
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


class _OutputLimit(Exception):
    pass


class _CappedWriter:
    def __init__(self, limit: int) -> None:
        self.limit, self.parts, self.size, self.overflowed = limit, [], 0, False

    def write(self, text: str) -> None:
        self.size += len(text)
        if self.size > self.limit:
            self.overflowed = True
            raise _OutputLimit(f"the program printed more than {self.limit:,} characters")
        self.parts.append(text)

    def flush(self) -> None:
        pass


def _evaluate(asteval: Any, code: str, max_output: int) -> dict[str, Any]:
    out = _CappedWriter(max_output)
    interpreter = _interpreter(asteval, out)
    try:
        last = interpreter.eval(code, show_errors=False)
    except MemoryError:
        return _reply(False, None, "memory", "MemoryError", out)
    except Exception as error:  # asteval reports the program's errors itself; this is its own failing
        return _reply(False, None, "error", f"{type(error).__name__}: {error}"[:500], out)
    if out.overflowed:
        return _reply(False, None, "output", f"the program printed more than {max_output:,} characters", out)
    if interpreter.error:
        name, message = interpreter.error[0].get_error()
        kind = "memory" if name == "MemoryError" else "error"
        detail = message.strip().splitlines()[-1] if message and message.strip() else name  # asteval's last line names the error
        return _reply(False, None, kind, detail, out)
    value = interpreter.symtable["ans"] if "ans" in interpreter.symtable else last
    if value is None and "ans" not in interpreter.symtable:
        return _reply(False, None, "error", "the program sets no `ans` and does not end with an expression", out)
    return _reply(True, _plain(value), "", "", out)


def _interpreter(asteval: Any, out: _CappedWriter) -> Any:
    import types

    interpreter = asteval.Interpreter(use_numpy=False, writer=out, err_writer=out, builtins_readonly=True,
                                      config={"import": False, "importfrom": False, "with": False, "try": False,
                                              "raise": False, "lambda": False, "delete": False, "assert": False})
    allowed = ALLOWED_BUILTINS | MATH_NAMES
    for name in [n for n in interpreter.symtable if n not in allowed]:
        del interpreter.symtable[name]
    interpreter.symtable["math"] = types.SimpleNamespace(**{n: getattr(math, n) for n in MATH_NAMES})
    return interpreter


def _plain(value: Any) -> Any:
    """A JSON-safe copy of the answer: numbers, bools, short strings, lists of those."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if abs(value) < 2 ** 63 else float("inf") if value > 0 else float("-inf")
    if isinstance(value, float):
        return value
    if isinstance(value, (list, tuple)) and len(value) <= 1000:
        return [_plain(v) for v in value]
    return repr(value)[:1000] if not isinstance(value, str) else value[:1000]


def _reply(ok: bool, value: Any, kind: str, error: str, out: _CappedWriter) -> dict[str, Any]:
    return {"ok": ok, "value": value, "error_kind": kind, "error": error, "stdout": "".join(out.parts)}


# ------------------------------------------------------------------------------ the caller side


class _Worker:
    """One sandbox process, restarted after it dies."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.process: subprocess.Popen | None = None
        self._grace = 0.0  # extra wall-clock time for the first program: the worker's own start
        self._timed_out = False

    def run(self, code: str) -> SandboxResult:
        if self.process is None or self.process.poll() is not None:
            self._start()
        assert self.process is not None and self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps({"code": code}) + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError) as error:
            return self._died(f"could not hand the program to the worker: {error}")
        line = self._read_line(self.limits.timeout_s + self._grace)
        self._grace = 0.0
        if line is None:
            return self._died("")
        try:
            reply = json.loads(line)
            return SandboxResult(reply["ok"], reply["value"], reply["error_kind"], reply["error"], reply["stdout"])
        except (ValueError, KeyError, TypeError):  # a torn line: the worker died while answering
            return self._died(f"the worker's answer was cut off: {line[:80]!r}")

    def _start(self) -> None:
        # This file runs as a script, so the worker imports nothing of citeline (nor numpy) before
        # its limits are set.
        settings = json.dumps(self.limits.__dict__)
        self.process = subprocess.Popen(
            [sys.executable, "-I", os.path.abspath(__file__), settings], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, encoding="utf-8", cwd="/", env={}, start_new_session=True)
        self._grace = WORKER_START_GRACE_S

    def _read_line(self, timeout_s: float) -> str | None:
        assert self.process is not None and self.process.stdout is not None
        deadline = time.monotonic() + timeout_s
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if selector.select(timeout=max(0.0, deadline - time.monotonic())):
                    line = self.process.stdout.readline()
                    return line or None
        self._timed_out = True
        return None

    def _died(self, detail: str) -> SandboxResult:
        timed_out, self._timed_out = self._timed_out, False
        self.close()
        code = self.process.returncode if self.process else None
        if timed_out or code == -signal.SIGXCPU:  # the CPU limit
            return SandboxResult(False, None, "timeout", f"stopped after {self.limits.timeout_s:g} s")
        if code == -signal.SIGKILL:  # not by us (that is a timeout): the kernel's OOM killer
            return SandboxResult(False, None, "memory", "the worker was killed (memory)")
        return SandboxResult(False, None, "crashed", detail or f"the worker exited with status {code}")

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        if self.process is not None:
            self.process.wait()
            for stream in (self.process.stdin, self.process.stdout):
                if stream:
                    stream.close()


def _worker_entry(settings: str) -> None:
    _worker_main(Limits(**json.loads(settings)))


def run_program(code: str, timeout_s: float = 2.0, memory_mb: int = 256, max_output: int = 10_000) -> SandboxResult:
    """Run one program in a fresh sandbox process; see the module docstring."""
    return run_many([code], workers=1, timeout_s=timeout_s, memory_mb=memory_mb, max_output=max_output)[0]


def run_many(programs: Sequence[str], workers: int = 2, timeout_s: float = 2.0, memory_mb: int = 256,
             max_output: int = 10_000) -> list[SandboxResult]:
    """Run programs in ``workers`` reused sandbox processes; results in input order."""
    limits = Limits(timeout_s=timeout_s, memory_mb=memory_mb, max_output=max_output)
    results: list[SandboxResult | None] = [None] * len(programs)
    accepted = []
    for index, code in enumerate(programs):
        reason = check_program(code)
        if not reason:
            try:
                accepted.append((index, prepare(code)))
                continue
            except (RecursionError, MemoryError, ValueError) as error:
                reason = f"the program is nested too deeply to rewrite ({type(error).__name__})"
        results[index] = SandboxResult(False, None, "rejected", reason)
    shares = [accepted[k::max(1, workers)] for k in range(max(1, workers))]

    def run_share(share: list[tuple[int, str]]) -> None:
        worker = _Worker(limits)
        try:
            for index, code in share:
                results[index] = worker.run(code)
        finally:
            worker.close()

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        list(pool.map(run_share, [s for s in shares if s]))
    return [r for r in results if r is not None]


if __name__ == "__main__":
    _worker_entry(sys.argv[1])
