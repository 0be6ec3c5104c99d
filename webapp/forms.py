"""The WTForms of the app (each one carries its CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from registry.roles import ROLES
from registry.users import MIN_PASSWORD_LENGTH

# WTForms has no Indonesian catalogue: every validator carries its own message, or the pages
# would answer in English ("This field is required.").
REQUIRED = _l("Wajib diisi.")
TOO_LONG = _l("Paling banyak %(max)d karakter.")
TOO_SHORT = _l("Paling sedikit %(min)d karakter.")


def required() -> DataRequired:
    return DataRequired(message=REQUIRED)


def at_most(n: int) -> Length:
    return Length(max=n, message=TOO_LONG)


def at_least(n: int) -> Length:
    return Length(min=n, message=TOO_SHORT)


class LoginForm(FlaskForm):
    username = StringField(_l("Nama pengguna"), validators=[required(), at_most(64)])
    password = PasswordField(_l("Kata sandi"), validators=[required(), at_most(256)])


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Kata sandi lama"), validators=[required()])
    new = PasswordField(
        _l("Kata sandi baru"), validators=[required(), at_least(MIN_PASSWORD_LENGTH)]
    )
    confirm = PasswordField(
        _l("Ulangi kata sandi baru"),
        validators=[required(), EqualTo("new", message=_l("Kedua kata sandi baru berbeda."))],
    )


class UserForm(FlaskForm):
    username = StringField(_l("Nama pengguna"), validators=[required(), at_most(64)])
    nama_lengkap = StringField(_l("Nama lengkap"), validators=[Optional(), at_most(200)])
    # The role is checked by registry.users (one Indonesian line), not WTForms ("Not a valid
    # choice.").
    role = SelectField(_l("Peran"), choices=[role.value for role in ROLES], validate_choice=False)
    wilayah = StringField(_l("Kode wilayah"), validators=[Optional(), at_most(20)])
    password = PasswordField(
        _l("Kata sandi awal"), validators=[required(), at_least(MIN_PASSWORD_LENGTH)]
    )
