"""Configuration objects for the compatibility tests (loaded by import name)."""

DEBUG = False
SECRET_KEY = "from the module"
lowercase_is_ignored = True


class BaseConfig:
    DATABASE = "base.db"
    TESTING = False


class ProductionConfig(BaseConfig):
    DATABASE = "production.db"


class DevelopmentConfig(BaseConfig):
    DEBUG = True
