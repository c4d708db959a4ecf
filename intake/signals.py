"""What intake tells the apps above it, inside the transaction that caused it.

This is the one mechanism for work that must flow upward (docs/architecture.md, "Upward
work"): intake never imports an app above it; those apps connect receivers here in their
`AppConfig.ready()`.

- Signals are sent with `Signal.send`, never `send_robust`, from inside the sender's
  transaction. A receiver's writes commit or roll back with the change that caused them, and
  a receiver that fails rolls the whole change back: nothing is half done.
- A receiver calls only its own app's services. Anything slow or outside the database (a
  Celery task, a message) is queued by those services on commit, as everywhere else.
"""

from django.dispatch import Signal

# A referral was created (self-referral or partner API). Arguments: referral.
referral_submitted = Signal()

# A referral moved to another status (assessment booked, ready for allocation, allocated,
# in therapy, ended...). Arguments: referral (already saved, row locked), status, previous.
referral_status_changed = Signal()
