"""Staff roles. Each is a Django group; a user may hold several."""

ASSESSOR = "Assessor"
COORDINATOR = "Coordinator"
THERAPIST = "Therapist"
SERVICE_ADMIN = "Service admin"
# An account a GP practice or partner service uses to send referrals through the API.
PARTNER_REFERRER = "Partner referrer"

STAFF = (ASSESSOR, COORDINATOR, THERAPIST, SERVICE_ADMIN)
ALL = (*STAFF, PARTNER_REFERRER)
