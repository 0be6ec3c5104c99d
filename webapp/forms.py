"""The WTForms of the app (each one carries its CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from registry.models import ROLES
from registry.users import MIN_PASSWORD_LENGTH


class LoginForm(FlaskForm):
    username = StringField(_l("Nama pengguna"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Kata sandi"), validators=[DataRequired(), Length(max=256)])


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Kata sandi lama"), validators=[DataRequired()])
    new = PasswordField(
        _l("Kata sandi baru"), validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH)]
    )
    confirm = PasswordField(
        _l("Ulangi kata sandi baru"),
        validators=[DataRequired(), EqualTo("new", message=_l("Kedua kata sandi baru berbeda."))],
    )


class UserForm(FlaskForm):
    username = StringField(_l("Nama pengguna"), validators=[DataRequired(), Length(max=64)])
    nama_lengkap = StringField(_l("Nama lengkap"), validators=[Optional(), Length(max=200)])
    role = SelectField(_l("Peran"), choices=list(ROLES))
    wilayah = StringField(_l("Kode wilayah"), validators=[Optional(), Length(max=20)])
    password = PasswordField(
        _l("Kata sandi awal"), validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH)]
    )
