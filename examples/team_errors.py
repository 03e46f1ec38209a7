"""Use case 4: errors in one area of the site are reported to a different team.

Unhandled exceptions under /billing are e-mailed to the billing team (through
the mail service in effect); the rest of the site logs them as usual.

    python examples/team_errors.py
    curl http://127.0.0.1:8000/billing/charge   # mailed to billing-team@example.com
    curl http://127.0.0.1:8000/crash            # logged to the 'djng.request' logger
    curl http://127.0.0.1:8000/billing/outbox
"""

import djng

team_outbox = djng.mail.Memory()  # in production: djng.mail.SMTP(...)
djng.mail.configure(team_outbox)


def charge(request):
    raise RuntimeError("the payment gateway timed out")


def crash(request):
    raise ValueError("something else broke")


def outbox(request):
    return [{"to": m.to, "subject": m.subject} for m in team_outbox.outbox]


billing = djng.Router(djng.path("charge", charge), djng.path("outbox", outbox))

app = djng.Router(
    djng.mount(
        "billing",
        djng.reconfigure(billing, errors=djng.errors.Mail(to=["billing-team@example.com"])),
    ),
    djng.path("crash", crash),
)

if __name__ == "__main__":
    djng.serve(app, "127.0.0.1", 8000)
