"""A ``create_app`` whose body raises ``TypeError``: that is a bug to show."""


def create_app():
    return len(42)
