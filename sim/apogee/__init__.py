"""A deterministic synthetic Apogée: the offer (VETs, ELP trees, groups) and its students."""
