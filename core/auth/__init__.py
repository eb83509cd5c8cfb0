"""Who is acting: local users with memory-hard password hashes, OIDC role mapping, sessions."""
