"""メール通知: customer mails from templates (受注確認, 発送のお知らせ, キャンセル, 払い戻し完了).

- ``text``: pure rules for customer text in a mail (one-line names, addresses).
- ``templates``: pure: the four Japanese templates, rendered from an order's facts.
- ``compose``: the MIME message (stdlib ``EmailMessage``, SMTP policy, UTF-8).
- ``smtp``: ``SMTP_URL`` parsing and the sending adapter (STARTTLS when offered).
- ``demo_server``: the embedded local SMTP server of demo mode (aiosmtpd, keeps a Maildir).
- ``inbox``: reading what the demo server kept, for the app.
- ``service``: draft, preview and send with the double-send guard and the audit entry.

Nothing here imports streamlit; pages and the CLI call ``service``.
"""
