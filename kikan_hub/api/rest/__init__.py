"""REST/JSON interface in the デジタル庁 共通機能 style (OAuth2 client credentials, scopes per 業務)."""
