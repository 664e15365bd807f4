"""Members brought over from the loyalty system this one replaces: their tier and spend."""
