"""Custom commands: ``app.cli``, nested groups, blueprints and the shell."""

import click

from gateway import App, Blueprint, current_app, g

app = App("commands_app")
app.config["GREETING"] = "hello"


@app.cli.command("greet")
@click.argument("name", default="world")
def greet(name):
    """Print the configured greeting."""
    click.echo(f"{current_app.config['GREETING']}, {name} from {current_app.name}")


@app.cli.command("no-context", with_appcontext=False)
def no_context():
    """Report whether an application context is active."""
    click.echo(f"context active: {bool(current_app)}")


@app.cli.group("db")
def db():
    """Database commands."""


@db.command("init")
def db_init():
    g.initialised = True
    click.echo(f"initialised {current_app.name}: {g.initialised}")


users = Blueprint("users", __name__)


@users.cli.command("create")
@click.argument("username")
def create_user(username):
    click.echo(f"created {username} in {current_app.name}")


flat = Blueprint("flat", __name__, cli_group=None)


@flat.cli.command("flat-cmd")
def flat_cmd():
    click.echo("flat command ran")


renamed = Blueprint("renamed", __name__, cli_group="admin")


@renamed.cli.command("audit")
def audit():
    click.echo("audit ran")


app.register_blueprint(users)
app.register_blueprint(flat)
app.register_blueprint(renamed)


@app.shell_context_processor
def shell_extras():
    return {"answer": 42}
