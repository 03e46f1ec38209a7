"""``djng.testing``: test clients for an app, and a Cluster of services for a test.

- :class:`Client` and :class:`AsyncClient` drive an app's WSGI or ASGI callable
  in-process, as a server would (``djng.test_client``);
- :class:`Cluster` wires several services to each other, in-process or under
  real servers on loopback, and records their calls (``djng.cluster``).
"""

from .cluster import Cluster, Recorded
from .test_client import AsyncClient, Client, TestResponse

__all__ = ["AsyncClient", "Client", "Cluster", "Recorded", "TestResponse"]

