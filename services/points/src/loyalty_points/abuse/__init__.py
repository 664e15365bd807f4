"""Abuse controls: the program's `[abuse]` thresholds flag a member, whose new points then stay
pending until support or an admin releases or voids them (docs/points.md#abuse-controls)."""
