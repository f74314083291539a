"""Teacher dashboard, admin reports, Channels consumers and the browser extension."""
