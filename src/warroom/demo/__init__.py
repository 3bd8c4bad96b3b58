"""`warroom demo`: the whole incident loop on this machine, narrated, with nothing to configure."""
