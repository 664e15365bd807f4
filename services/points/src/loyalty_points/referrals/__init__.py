"""Referrals (contract 5.3): a bonus for both members once the referred one's first purchase is
available."""
