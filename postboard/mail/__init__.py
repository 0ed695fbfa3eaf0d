"""Email: templates rendered once per post, sent over one SMTP connection per chunk."""
