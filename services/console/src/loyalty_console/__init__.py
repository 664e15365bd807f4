"""The operator console: the people who run the loyalty program see it and act on it."""

import warnings

with warnings.catch_warnings():
    # Authlib 1.9 announces at import that it would rather use the `httpx2` package than httpx,
    # the platform's HTTP client, which it still supports: not the operator's concern. (Its
    # `deprecate` module sets its own filter when imported, so ours goes in after it.)
    from authlib.deprecate import AuthlibDeprecationWarning

    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    import authlib.integrations.starlette_client  # noqa: F401
