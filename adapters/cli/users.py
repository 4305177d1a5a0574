"""User commands: `users create-admin` makes a platform operator, who then
signs in through POST /v1/auth/login like any user."""

from __future__ import annotations

import argparse
import getpass
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.bootstrap.container import Container, build, migrate_database
from adapters.bootstrap.services import running_services
from adapters.config.settings import Settings
from adapters.identity.jwt_tokens import with_key_in_data_dir
from application.identity.sessions import Registration
from domain.errors import DomainError

if TYPE_CHECKING:
    from application.identity.ports import User

OPERATORS_ACCOUNT_NAME = "Platform operations"
OPERATORS_CURRENCY = "GBP"


def add_commands(sub: Any) -> None:
    users = sub.add_parser("users", help="manage users")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    create = users_sub.add_parser(
        "create-admin", help="create a platform operator, who may use /v1/admin/*"
    )
    create.add_argument("--email", required=True)
    create.add_argument(
        "--password", help="at least 8 characters; asked for when omitted"
    )
    create.add_argument("--name", default="")
    create.add_argument("--data-dir", type=Path)
    create.set_defaults(func=cmd_create_admin)


def create_platform_admin(container: Container, email: str, password: str, name: str) -> User:
    """A platform operator, owner of an account of their own (every user
    belongs to an account; operators act on others through /v1/admin/*)."""
    return container.identity.sessions.create_account_user(
        Registration(
            email=email, password=password, name=name or email,
            company_name=OPERATORS_ACCOUNT_NAME, currency=OPERATORS_CURRENCY,
            default_country=None, timezone="UTC",
        ),
        platform_admin=True,
    )


def cmd_create_admin(args: argparse.Namespace, settings: Settings) -> int:
    password = args.password or getpass.getpass("Password: ")
    with running_services(settings, need_nats=False) as services:
        migrate_database(services.database_url)
        container = build(settings, services.database_url)
        try:
            user = create_platform_admin(container, args.email, password, args.name)
        except DomainError as error:
            print(f"error: {error.message}", file=sys.stderr)
            return 1
        finally:
            container.close()
    print(f"platform operator {user.email} created (user {user.id}); "
          "sign in with POST /v1/auth/login")
    return 0


def with_session_key(settings: Settings) -> Settings:
    """For the roles that serve the API: without a configured JWT key, use (and
    on first start create) one in the data directory, so that sessions outlive
    a restart and every API process on this host accepts every token."""
    return replace(settings, identity=with_key_in_data_dir(settings.identity, settings.data_dir))
