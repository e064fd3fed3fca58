from gwsite.views import make_app

KNOWN = ("alpha", "beta")


def create_tenant(key: str):
    if key not in KNOWN:
        return None
    return make_app(f"tenant-{key}")


def tenant_keys():
    return KNOWN
