"""Default configuration.

Order of precedence (later wins): these defaults, ``instance/config.py``,
``CAMPAIGN_*`` environment variables, and the mapping a test passes to
``create_app``.
"""

#: Placeholder secret; the app refuses to start with it outside debug and testing.
DEV_SECRET_KEY = "dev-only-not-secret"

SECRET_KEY = DEV_SECRET_KEY
#: Older keys still accepted when verifying signed tokens and sessions (key rotation).
SECRET_KEY_FALLBACKS: list[str] = []

#: Relative SQLite paths are put in the instance folder by Flask-SQLAlchemy.
SQLALCHEMY_DATABASE_URI = "sqlite:///campaign.sqlite3"
SQLALCHEMY_ENGINE_OPTIONS: dict = {}
#: Seconds a SQLite connection waits for a write lock before "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 15000

#: No MAIL_SERVER means: write mails as .eml files under instance/outbox/.
MAIL_SERVER: str | None = None
MAIL_PORT = 25
MAIL_USE_TLS = False
MAIL_USE_SSL = False
MAIL_USERNAME: str | None = None
MAIL_PASSWORD: str | None = None
MAIL_DEFAULT_SENDER: str | None = None
#: Flask-Mail would suppress sending whenever app.testing; we decide explicitly.
MAIL_SUPPRESS_SEND = False
#: Where mails go as .eml files when there is no MAIL_SERVER; None means instance/outbox/.
OUTBOX_DIR: str | None = None
#: Where uploaded files (campaign files, key-figure CSVs) wait for their confirmation;
#: None means instance/uploads/.
UPLOAD_DIR: str | None = None

#: Public address put in mails and on key-figure pages (no trailing slash).
BASE_URL = "http://127.0.0.1:5000"

#: Biggest request body accepted (CSV uploads included), in bytes.
MAX_CONTENT_LENGTH = 5 * 1024 * 1024

#: Minutes after close during which a response already in progress may still be submitted.
SURVEY_GRACE_MINUTES = 60

#: Level of the log written to stderr (DEBUG also logs every saved survey page and opened link).
LOG_LEVEL = "INFO"
#: Tests (and dry runs) may set a callable returning an aware UTC datetime: see campaign/clock.py.
CLOCK = None

#: Where the rate limits count (Flask-Limiter): memory:// counts per process (the
#: embedded default); in production with several workers, redis://HOST:6379/0.
RATELIMIT_STORAGE_URI = "memory://"
#: The limits themselves: campaign/ratelimits.py (DEFAULTS), each a setting of its own.
RATELIMIT_ENABLED = True

#: Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host are trusted
#: (werkzeug's ProxyFix); 0 trusts none.  Behind one nginx: 1.
PROXY_COUNT = 0

#: A respondent's session (which response is theirs, for resuming on the same device)
#: outlives the browser: kept this many seconds after its last change (120 days: a
#: campaign from June to October).  A coordinator's session stays a browser session.
PERMANENT_SESSION_LIFETIME = 120 * 24 * 3600
SESSION_REFRESH_EACH_REQUEST = False

#: Session and remember cookies are also marked Secure whenever BASE_URL is https
#: (campaign/security.py).
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
REMEMBER_COOKIE_HTTPONLY = True
REMEMBER_COOKIE_SAMESITE = "Lax"
#: Seconds without a request after which a coordinator's session ends (8 hours), unless
#: they chose "Aangemeld blijven" (then the remember cookie keeps them logged in).
COORDINATOR_IDLE_TIMEOUT = 8 * 3600
WTF_CSRF_TIME_LIMIT = None
