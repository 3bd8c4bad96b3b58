"""warroom: self-hosted incident response."""

import sys
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

__version__ = "0.1.0"


def _logs_to_stderr(structlog: Any) -> None:
    # Logs go to stderr from the first import on (structlog's default is stdout): a CLI command's stdout is
    # its answer (`--json`), and a background thread's log line must never land in it.
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))


class _ConfigureStructlogOnImport:
    """Configures structlog right after whatever imports it first. Importing it here took ~0.1 s of every CLI
    call, and a client command (`warroom incident list`) never logs."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        if name != "structlog":
            return None
        sys.meta_path.remove(self)
        from importlib.util import find_spec

        spec = find_spec(name)
        loader: Any = spec.loader if spec is not None else None
        if spec is None or loader is None or not hasattr(loader, "exec_module"):
            return spec
        run = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            _logs_to_stderr(module)

        loader.exec_module = exec_module
        return spec


if "structlog" in sys.modules:
    _logs_to_stderr(sys.modules["structlog"])
else:
    sys.meta_path.insert(0, _ConfigureStructlogOnImport())
