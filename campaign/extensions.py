"""Flask extensions, created unbound and initialised in ``create_app``."""

from typing import TYPE_CHECKING

from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

#: Named constraints, so that migrations can alter them later (SQLite batch mode needs names).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


#: A commit does not expire the session's objects.  A session lives for one request (or
#: one command, or one pass of a background loop, which starts with a fresh session), so
#: re-reading after our own commit only costs queries: every survey view touches the
#: link, campaign and response again after its write.  Our own UPDATE statements keep
#: loaded objects in step through the ORM's update synchronisation.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})

if TYPE_CHECKING:
    # mypy cannot follow ``db.Model`` (a class made at run time from ``Base``, python/mypy
    # issue 8603); for type checking, models are plain typed declarative classes.
    Model = Base
else:
    Model = db.Model
migrate = Migrate()
mail = Mail()
login_manager = LoginManager()
csrf = CSRFProtect()
