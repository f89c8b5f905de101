"""brian_stdp's tests (a package, so that pytest puts the repository root on ``sys.path`` and
the helpers in :mod:`tests.support` import as ``tests.support.X``)."""
