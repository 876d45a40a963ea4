"""Start localstripe keeping its state in memory only.

Upstream, its store pickles itself whole to one fixed file, /tmp/localstripe.pickle, on every
write: each Stripe call gets slower as the store grows, and two test runs on one machine
overwrite each other's state. A test server needs neither.
"""

from localstripe import resources, server

resources.Store.dump_to_disk = lambda self: None
resources.Store.try_load_from_disk = lambda self: None

if __name__ == "__main__":
    server.start()
