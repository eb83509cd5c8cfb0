"""The service layer every screen and the CLI call (the money path: docs/architecture.md).

- payments: refresh / update / capture / close / refund, one guarded path (``run_action``)
- batch: preview, jobs and workers for Paidy決済状況管理
- orders: 受注編集 saves and 対応状況 changes
- link, sync, webhook: bringing Paidy's record in
"""
