"""The search worker: takes jobs from the channel ``search.jobs`` and asks every
provider at once; each answer is published to ``search.<id>`` as it comes, then
``{"done": true}``.

In one process (``djng.pubsub.Memory``) app.py runs it as a task; across
processes (``DJNG_PUBSUB_URL=redis://...``) app.py starts ``python worker.py``,
and any number of web processes can take part.
"""

import asyncio
import os
import random

import djng

PROVIDERS = ("Skyways", "JetSet", "Cloudhop", "AirDeal", "FlyNow")
#: The longest a provider takes to answer, in seconds (tests make it short).
SLOWEST = float(os.environ.get("SEARCH_SLOWEST", "2.0"))


async def search(id, query):
    """Ask every provider about ``query``; publish each answer to ``search.<id>``."""

    async def ask(provider):
        await asyncio.sleep(random.uniform(SLOWEST / 10, SLOWEST))  # a provider's own pace
        flights = [{"flight": f"{provider[:2].upper()}{random.randint(100, 999)}",
                    "to": query, "price": random.randint(80, 600)}
                   for _ in range(random.randint(1, 3))]
        await djng.pubsub.apublish(f"search.{id}", {"provider": provider, "flights": flights})

    await asyncio.gather(*(ask(provider) for provider in PROVIDERS))
    await djng.pubsub.apublish(f"search.{id}", {"done": True, "providers": len(PROVIDERS)})


async def serve(jobs):
    """Run each job of the subscription ``jobs`` (one task per search)."""
    running = set()
    async for job in jobs:
        if job.missed:
            continue  # a lost connection: those searches' pages will wait in vain
        task = asyncio.create_task(search(job.data["id"], job.data["query"]))
        running.add(task)
        task.add_done_callback(running.discard)


async def main():
    async with djng.pubsub.subscribe("search.jobs") as jobs:
        print("worker: listening on search.jobs", flush=True)
        await serve(jobs)


if __name__ == "__main__":
    asyncio.run(main())
