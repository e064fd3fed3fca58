"""Click commands that tests register as plug-ins and lazy commands."""

import click


@click.command("hello-plugin")
def hello_command():
    click.echo("plugin says hello")


not_a_command = 42
