"""SOAP 1.1 interface in the 地域情報プラットフォーム style, WSDL-first (platform.wsdl, xsd/)."""
