"""``djng.testing``: test clients for an app, and a Cluster of services for a test.

- :class:`Client` and :class:`AsyncClient` drive an app's WSGI or ASGI callable
  in-process, as a server would (``djng.test_client``);
- :class:`Cluster` wires several services to each other, in-process or under
  real servers on loopback, and records their calls (``djng.cluster``);
- :func:`check_contract` runs schemathesis against an app's OpenAPI, and
  :func:`check_calls` checks a Cluster's recorded calls against the callees'
  documents (``djng.contracts``).
"""

from .cluster import Cluster, Recorded
from .contracts import ContractBroken, check_calls, check_contract
from .test_client import AsyncClient, Client, TestResponse, WebSocketRefused

__all__ = [
    "AsyncClient", "Client", "Cluster", "ContractBroken", "Recorded", "TestResponse",
    "WebSocketRefused", "check_calls", "check_contract",
]

