"""Authentication (WS-Security UsernameToken, OAuth2 client credentials), clients and the read audit."""
