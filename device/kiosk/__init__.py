"""The kiosk screen for canteen staff: `board` (what is shown), `texts` (Kazakh and Russian),
`server` (the page on 127.0.0.1, pushed by server-sent events)."""
