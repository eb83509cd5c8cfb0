"""Secret keys the test suite uses. ``tests/conftest.py`` scans every file a test run leaves
behind (pytest's temp folders, artifacts/, data/) for them and fails the run on a hit."""

CLI_KEY = "sk_test_cli_SECRET_value_9f8e7d6c"
LIVE_KEY = "sk_live_NEVER_SHOW_ME_0a1b2c3d4e5f"
WORKER_KEY = "sk_test_worker_SECRET_1234567"
OPS_KEY = "sk_test_ops_SECRET_abcdef0123"

SMTP_PASSWORD = "pw-SMTP-SECRET-7731"  # tests/mail_support.py: never in a file

ALL = (CLI_KEY, LIVE_KEY, WORKER_KEY, OPS_KEY, SMTP_PASSWORD)
