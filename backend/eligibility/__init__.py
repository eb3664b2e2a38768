"""Monthly eligibility lists: formed by the social pedagogue, approved by the head, cross-checked."""
