"""Who may see what in a shared deployment: the roles file, and the access it gives a
signed-in identity. Deny by default: an identity the file does not name has no role and
sees an explanation, nothing else.

The roles file (TOML; ``settings.ROLES_FILE``, or the path in ``$NEEDLEWATCH_ROLES``) maps
a verified email, or a value of the identity provider's ``groups`` claim, to roles:

    [users]
    "safety@harbour.example" = ["clinic:C04"]        # safety officer of C04 (several allowed)
    "ana@harbour.example" = ["practitioner:P017"]    # files and follows up her own reports
    [groups]
    "body-analysts" = ["body"]                       # every clinic; public and body views
    "needlewatch-admins" = ["admin"]                 # every clinic; uploads, mappings, users

A clinic role scopes everything its holder sees to those clinics
(``dashboard.store.scope``); body and admin see every clinic. Without sign-in configured
the dashboard runs in local mode: one person on this computer, every clinic.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ingest.errors import NeedleWatchError

ROLE_KINDS = ("clinic", "practitioner", "body", "admin")
_ROLE = re.compile(r"^(clinic|practitioner):([A-Za-z0-9_.\-]{1,40})$|^(body|admin)$")


class RolesFileError(NeedleWatchError):
    """The roles file cannot be read or names a role that does not exist."""


@dataclass(frozen=True)
class Access:
    """What one identity may do: its roles, and the clinics they let it see."""

    user: str
    roles: tuple[str, ...] = ()
    local: bool = False  # no sign-in configured: the single user of this computer

    @property
    def everything(self) -> bool:
        return self.local or any(r in ("body", "admin") for r in self.roles)

    @property
    def clinics(self) -> tuple[str, ...] | None:
        """The clinics it may see: None for every clinic, else its clinic roles' ids."""
        if self.everything:
            return None
        return tuple(sorted({r.split(":", 1)[1] for r in self.roles if r.startswith("clinic:")}))

    @property
    def practitioners(self) -> tuple[str, ...]:
        return tuple(
            sorted({r.split(":", 1)[1] for r in self.roles if r.startswith("practitioner:")})
        )

    @property
    def sees_dashboard(self) -> bool:
        """Clinic, body and admin roles read the dashboard; a practitioner files reports."""
        return self.everything or bool(self.clinics)

    def describe(self) -> str:
        if self.local:
            return "local mode (no sign-in): every clinic"
        return f"{self.user}: {', '.join(self.roles) or 'no role'}"


@dataclass(frozen=True)
class RolesFile:
    """The roles file, emails and group names case-folded."""

    users: dict[str, tuple[str, ...]] = field(default_factory=dict)
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def access(self, email: str | None, verified: bool | None, groups: object = ()) -> Access:
        """The access of a signed-in identity: the roles of its email (only when the
        provider says it is verified) and of each of its groups."""
        roles: list[str] = []
        if email and verified is True:
            roles += self.users.get(email.casefold(), ())
        names = [groups] if isinstance(groups, str) else list(groups or ())
        for name in names:
            roles += self.groups.get(str(name).casefold(), ())
        return Access(email or "unknown", tuple(dict.fromkeys(roles)))


def _roles(path: Path, where: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RolesFileError(f'{path}: {where}: give a list of roles, e.g. ["clinic:C04"]')
    for role in value:
        if not _ROLE.match(role):
            raise RolesFileError(
                f"{path}: {where}: {role!r} is not a role; use clinic:ID, practitioner:ID, "
                "body or admin"
            )
    return tuple(value)


def load_roles(path: Path) -> RolesFile:
    """Read and check the roles file; RolesFileError names the file and the entry. A
    missing file gives no one a role (deny by default)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return RolesFile()
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RolesFileError(f"{path}: not a readable roles file ({exc})") from None
    unknown = sorted(set(data) - {"users", "groups"})
    if unknown:
        raise RolesFileError(f"{path}: unknown section {unknown[0]!r}; use [users] and [groups]")
    return RolesFile(
        users={
            k.casefold(): _roles(path, f"users.{k}", v) for k, v in data.get("users", {}).items()
        },
        groups={
            k.casefold(): _roles(path, f"groups.{k}", v) for k, v in data.get("groups", {}).items()
        },
    )


def secrets_files(cwd: Path | None = None) -> tuple[Path, ...]:
    """Where Streamlit reads ``secrets.toml`` for ``needlewatch serve``: the working
    directory's ``.streamlit/`` first, then the user's ``~/.streamlit/``."""
    return ((cwd or Path.cwd()) / ".streamlit" / "secrets.toml",
            Path.home() / ".streamlit" / "secrets.toml")  # fmt: skip


def sign_in_configured(files: tuple[Path, ...] | None = None) -> bool:
    """Whether a secrets file has an ``[auth]`` table (Streamlit's OIDC sign-in): without
    one the dashboard runs in local mode. An unreadable file counts as none."""
    for path in files if files is not None else secrets_files():
        try:
            if "auth" in tomllib.loads(path.read_text(encoding="utf-8")):
                return True
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue
    return False
