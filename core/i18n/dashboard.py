"""ダッシュボード, the review of writes being checked (要確認), 操作履歴."""

from __future__ import annotations

CATALOG: dict[str, tuple[str, str]] = {
    # --- dash --------------------------------------------------------------------------------
    "dash.title": ("ダッシュボード", "Dashboard"),
    "dash.open": ("オープン(未売上確定)", "Open authorizations"),
    "dash.expiring_3": ("3日以内に期限切れ", "Expiring within 3 days"),
    "dash.expiring_7": ("7日以内に期限切れ", "Expiring within 7 days"),
    "dash.captured_today": ("本日の売上確定", "Captured today"),
    "dash.captured_month": ("今月の売上確定", "Captured this month"),
    "dash.refunded_today": ("本日の払い戻し", "Refunded today"),
    "dash.discrepancies": ("差額あり", "Amount mismatches"),
    "dash.unsettled": ("結果未確定の処理", "Unsettled outcomes"),
    "dash.count_delta": ("{count}件", "{count}"),
    "dash.expiring_title": ("有効期限が近いオーソリ", "Authorizations expiring soonest"),
    "dash.capture_these": (
        "表示中の{count}件を売上確定(一括処理へ)",
        "Capture these {count} (open the batch page)",
    ),
    "dash.recent_title": ("最近の操作", "Latest actions"),
    "dash.chart_state": ("Paidy状態別の金額", "Amounts by Paidy state"),
    "dash.unsettled_help": (
        "Paidyからの応答が確認できなかった処理です。該当の受注で「状態確認」を行ってください。",
        "Actions whose answer from Paidy was lost. Refresh those orders to settle them.",
    ),
    "dash.no_open": ("オープン状態のオーソリはありません。", "No open authorizations."),
    "dash.today_note": (
        "本日・今月の金額は、このシステムで行った処理(操作履歴)の集計です(JST)。",
        "Today/this month count the actions done in this system (audit log, JST).",
    ),
    "dash.needs_review": ("要確認", "Needs a person"),
    "dash.needs_review_help": (
        "確定後に遅れてPaidyで処理された操作、二重に記録された操作、自動では判断できない操作です。",
        "Writes applied late after they were concluded not done, recorded twice, or not decidable automatically.",
    ),
    "dash.attention_title": (
        "確認が必要な処理・確認中の処理",
        "Writes to check, and writes being checked",
    ),
    "dash.tags_unreliable": (
        "Paidyが操作タグ(metadata)を返さないことを検出しました({at})。応答が失われた処理は自動で「未処理」と判断せず、担当者の判断を待ちます。",
        "Paidy was seen not echoing our intent tag (metadata) ({at}). Lost answers are no longer concluded 'not done' automatically: a person decides.",
    ),
    "dash.unlinked_title": ("未紐付けのPaidy決済", "Unlinked Paidy authorizations"),
    "dash.unlinked_intro": (
        "Paidyから通知があったものの、受注が見つからない決済です(通知の内容は未確認)。「紐付け」でPaidyから決済を読み込み、受注を作成します。",
        "Payments Paidy notified us about that have no order here (what the notification said is unverified). Link reads the payment from Paidy and creates its order.",
    ),
    "dash.unlinked_row": (
        "{payment_id} / 通知 {hints}回 / 最終 {last_seen} / {status}",
        "{payment_id} / {hints} notifications / last {last_seen} / {status}",
    ),
    "dash.unlinked_ref": (
        "通知の注文番号: {order_ref}",
        "Order ref in the notification: {order_ref}",
    ),
    "dash.unlinked_link": ("紐付け", "Link"),
    "dash.unlinked_more": ("ほか {count}件", "{count} more"),
    "dash.unlinked_done": (
        "{payment_id} を注文番号 {order_no} に紐付けました。",
        "Linked {payment_id} to order {order_no}.",
    ),
    # --- review ------------------------------------------------------------------------------
    "review.pick": ("確認する処理", "Entry to check"),
    "review.paidy_record": (
        "Paidyの記録(売上確定・払い戻し)",
        "Paidy's record (captures and refunds)",
    ),
    "review.note": ("確認内容・対応メモ", "What you checked / did"),
    "review.mark_reviewed": ("確認済みにする", "Mark as reviewed"),
    "review.resolve_done": ("処理済みと判断する", "Decide: it was done"),
    "review.resolve_not_done": ("未処理と判断する", "Decide: it was not done"),
    "review.done": ("記録しました。", "Recorded."),
    # --- audit -------------------------------------------------------------------------------
    "audit.title": ("操作履歴", "Audit log"),
    "audit.date_from": ("日付(開始)", "Date from"),
    "audit.date_to": ("日付(終了)", "Date to"),
    "audit.actor": ("担当者", "Operator"),
    "audit.actions": ("操作", "Actions"),
    "audit.outcomes": ("結果", "Outcomes"),
    "audit.order_no": ("注文番号", "Order number"),
    "audit.payment_id": ("Paidy決済ID", "Paidy payment id"),
    "audit.found": ("{count}件が該当しました。", "{count} entries found."),
    "audit.shown": ("新しい順に{shown}件を表示しています。", "Showing the newest {shown}."),
}
