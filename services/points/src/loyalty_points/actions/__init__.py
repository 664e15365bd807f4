"""`member.action` (contract 5.3): points for what members do besides buying."""
