"""Use case 2: premium users send e-mail through a separate SMTP pool.

The view pushes the premium mail backend for premium users; Django's own
send_mail() obeys it for that request only.

    python examples/premium_mail.py
    curl -X POST 'http://127.0.0.1:8000/welcome?user=alice'   # premium
    curl -X POST 'http://127.0.0.1:8000/welcome?user=bob'     # standard
    curl http://127.0.0.1:8000/outboxes

In production both pools are SMTP servers, for example
``djng.mail.SMTP("smtp.example.com", 587, use_tls=True)`` and
``djng.mail.SMTP("premium-smtp.example.com", 587, use_tls=True)``; here they are
in-memory outboxes so the example runs anywhere.
"""

from django.core.mail import send_mail

import djng

standard_pool = djng.mail.Memory()
premium_pool = djng.mail.Memory()
djng.mail.configure(standard_pool)

PREMIUM_USERS = {"alice", "carol"}


def welcome(request):
    user = request.GET.get("user", "guest")
    if user in PREMIUM_USERS:
        djng.mail.push(premium_pool)  # this request only
    send_mail("Welcome!", f"Hello {user}", "hello@example.com", [f"{user}@example.com"])
    return {"user": user, "pool": "premium" if user in PREMIUM_USERS else "standard"}


def outboxes(request):
    return {
        "standard": [m.to[0] for m in standard_pool.outbox],
        "premium": [m.to[0] for m in premium_pool.outbox],
    }


app = djng.Router(
    djng.path("welcome", welcome, methods=["POST"]),
    djng.path("outboxes", outboxes),
)

if __name__ == "__main__":
    djng.serve(app, "127.0.0.1", 8000)
