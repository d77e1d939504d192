"""Every module imports on its own, in a fresh interpreter: no circular imports hide behind the
order in which the test suite happens to import things."""

import pkgutil
import subprocess
import sys

import citeline.core
import citeline.evals
import citeline.llm
import citeline.pipeline
import citeline.prompts
import citeline.retrievers
import citeline.verifiers

PACKAGES = [citeline.core, citeline.llm, citeline.pipeline, citeline.retrievers, citeline.verifiers, citeline.evals, citeline.prompts]
MODULES = sorted(name for package in PACKAGES
                 for _, name, _ in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
                 if not name.endswith(".__main__"))  # importing a __main__ runs the program


def test_every_module_imports_alone():
    code = ("import importlib, sys\nfailed = []\nfor name in sys.argv[1:]:\n"
            "    for loaded in [m for m in sys.modules if m.startswith('citeline')]:\n"
            "        del sys.modules[loaded]\n"
            "    try:\n        importlib.import_module(name)\n"
            "    except Exception as error:\n        failed.append(f'{name}: {type(error).__name__}: {error}')\n"
            "print('\\n'.join(failed))")
    done = subprocess.run([sys.executable, "-c", code, *MODULES], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "", done.stdout
