"""Opening balances brought over from the loyalty system this one replaces."""
