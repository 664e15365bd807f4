"""Birthday points: the program's `birthday_points` for the member's tier, once a year on the
birthday in the program's time zone."""
