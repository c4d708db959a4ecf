"""HL7 FHIR R4 export and import of referrals (UK Core profiles where they exist)."""
