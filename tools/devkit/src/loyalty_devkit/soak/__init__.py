"""`loyalty soak`: steady load on the real platform, memory, outbox backlog and lag sampled."""
