"""The study's database: Optuna's storage with heartbeats, and its URL as messages show it."""
import os

__all__ = ["open_storage", "with_driver", "shown", "quiet_database_logs"]


def quiet_database_logs():
    """Keep SQLAlchemy's log records off stderr. An interruption that lands inside a database
    call makes its connection pool log the KeyboardInterrupt with a traceback while it cleans
    up; every real database error is raised as an exception, and reported as one."""
    import logging
    logger = logging.getLogger("sqlalchemy")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())
    logger.propagate = False


def shown(url):
    """The URL without its password, for messages."""
    try:
        from sqlalchemy.engine import make_url
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001  (not even a URL: show it as given)
        return url


def with_driver(url: str) -> str:
    """``url`` with the PostgreSQL driver the ``tune`` extra installs (psycopg2) when it names
    none. ``postgresql://`` is the form Optuna's documentation uses, but SQLAlchemy 2.1 reads it
    as psycopg 3, which the extra does not install; a URL naming its driver is kept as given, as
    is a bare one when psycopg2 is missing (SQLAlchemy's own choice then)."""
    if url.startswith("postgresql://"):
        import importlib.util
        if importlib.util.find_spec("psycopg2") is not None:
            return "postgresql+psycopg2://" + url[len("postgresql://"):]
    return url


def open_storage(url: str, heartbeat: int = 10):
    """Optuna's database storage at ``url`` with heartbeats every ``heartbeat`` seconds (a
    trial silent for ``3 x heartbeat`` is failed); ValueError if it cannot be opened."""
    import warnings

    import optuna
    quiet_database_logs()
    # Heartbeats and fail_stale_trials are "experimental" in Optuna: said once here, not per
    # trial.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    if url.startswith("sqlite:///"):
        os.makedirs(os.path.dirname(url[len("sqlite:///"):]) or ".", exist_ok=True)
        # Several processes write one file: wait for its lock rather than fail at once.
        engine = {"connect_args": {"timeout": 60}}
    elif url.startswith("postgresql"):
        engine = {"connect_args": {"connect_timeout": 10}}
    else:
        engine = {}
    try:
        return optuna.storages.RDBStorage(with_driver(url), engine_kwargs=engine,
                                          heartbeat_interval=heartbeat,
                                          grace_period=3 * heartbeat)
    except Exception as error:  # noqa: BLE001  (driver, URL and connection errors alike)
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"--storage {shown(url)}: cannot open the study database "
                         f"({type(error).__name__}: {first})") from None
