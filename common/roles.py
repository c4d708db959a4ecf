"""Staff roles. Each is a Django group; a user may hold several."""

ASSESSOR = "Assessor"
COORDINATOR = "Coordinator"
THERAPIST = "Therapist"
SERVICE_ADMIN = "Service admin"

ALL = (ASSESSOR, COORDINATOR, THERAPIST, SERVICE_ADMIN)
