"""`loyalty chaos`: the platform under fire, checked against an independent oracle."""
