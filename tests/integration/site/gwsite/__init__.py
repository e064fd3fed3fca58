"""The example site the integration tests deploy on every server: two tenants
by subdomain (alpha, beta), the main app on the bare domain and an admin app
mounted at /admin."""
