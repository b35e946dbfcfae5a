"""motcua's core: the app factory, configuration, storage, the queue engine, API, realtime, auth, CLI.

Importing this package stays light on purpose: `motcua run` must be able to
monkey-patch eventlet before Flask and the database drivers are imported.
"""


def create_app(config=None, *, engine_clock=None):
    from .app import build_app

    return build_app(config, engine_clock=engine_clock)
