"""The web portal (门户): server-rendered pages in zh-CN for every party, mixed into the gateway service."""
