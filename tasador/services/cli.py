"""`services up|down|status`: the production services on this machine (mounted by run.py)."""

from __future__ import annotations

import click
from sqlalchemy.engine import make_url

from tasador.services.lifecycle import start_services, status, stop_services
from tasador.services.processes import ServiceStartError
from tasador.settings import Settings


@click.group("services")
def services() -> None:
    """Start or stop PostgreSQL databases, an S3 server and MLflow locally (dev only, no Docker)."""


@services.command("up")
def up() -> None:
    """Start the services that are not running yet and print their URLs."""
    config = Settings().configs.services
    try:
        urls = start_services(config)
    except ServiceStartError as exc:
        raise click.ClickException(str(exc)) from exc
    for name, url in urls.items():
        click.echo(f"{name:15} {_without_password(url)}")
    click.echo(f"pids and logs in {config.state_dir}; stop with `python run.py services down`.")


@services.command("down")
def down() -> None:
    """Stop the services started by `services up` (databases are kept)."""
    stopped = stop_services(Settings().configs.services)
    click.echo(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@services.command("status")
def show_status() -> None:
    """Which services run, with their pid and URL."""
    for service in status(Settings().configs.services):
        state = f"running (pid {service.pid})" if service.running else "stopped"
        click.echo(f"{service.name:8} {state:22} {service.url}")


def _without_password(url: str) -> str:
    if url.startswith("postgresql"):
        return make_url(url).render_as_string(hide_password=True)
    return url
