"""Flask extensions, created once and bound to each app in create_app()."""

from __future__ import annotations

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()
# Storage comes from RATELIMIT_STORAGE_URI (memory:// unless configured).
limiter = Limiter(key_func=get_remote_address)
