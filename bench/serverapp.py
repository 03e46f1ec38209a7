"""The WSGI app gunicorn serves in server mode: ``bench.serverapp:app``.

``BENCH_CONTENDER`` and ``BENCH_ITEM`` say which contender's app for which item.
"""

from __future__ import annotations

import importlib
import os

from .contenders import CONTENDERS

_module = importlib.import_module(
    f".contenders.{CONTENDERS[os.environ['BENCH_CONTENDER']].module}", __package__
)
_item = os.environ["BENCH_ITEM"]
app = _module.build()[_item]
if hasattr(_module, "activate"):
    _module.activate(_item)
