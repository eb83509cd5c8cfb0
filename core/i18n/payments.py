"""The Paidy panel of 受注編集 and Paidy決済状況管理 (batch)."""

from __future__ import annotations

CATALOG: dict[str, tuple[str, str]] = {
    # --- paidy -------------------------------------------------------------------------------
    "paidy.title": ("▼Paidy 決済情報", "▼Paidy payment"),
    "paidy.status": ("ステータス", "Status"),
    "paidy.test_badge": ("※このオーダーはテスト注文です", "※This is a test order"),
    "paidy.raw_status": ("(Paidy: {status})", "(Paidy: {status})"),
    "paidy.payment_id": ("Paidy決済ID", "Paidy payment id"),
    "paidy.amount": ("Paidy注文代金の総額", "Paidy order amount"),
    "paidy.billed": ("Paidy請求済金額", "Paidy billed amount"),
    "paidy.billed_value": (
        "{billed}円 (売上確定: {captured}円)",
        "{billed} yen (captured: {captured} yen)",
    ),
    "paidy.billed_value_refund": (
        "{billed}円 (売上確定: {captured}円 払い戻し: {refunded}円)",
        "{billed} yen (captured: {captured} yen, refunded: {refunded} yen)",
    ),
    "paidy.expires": ("売上確定(キャプチャ)有効期限", "Capture deadline"),
    "paidy.actions": ("Paidy処理", "Paidy actions"),
    "paidy.last_result": ("Paidy処理結果", "Last Paidy result"),
    "paidy.warn_before": (
        "※受注のお支払い合計と異なります。更新(アップデート)を行うと、Paidy注文代金を修正できます。",
        "※The order total differs. Update sends the current order to Paidy and corrects its amount.",
    ),
    "paidy.warn_after": (
        "※受注のお支払い合計と異なります。差額が発生していますがすでに売上確定(キャプチャ)を行っているため手動で対応する必要があります。",
        "※The order total differs. There is a difference, but the payment is already captured, so it must be handled manually.",
    ),
    "paidy.no_payment": ("この受注にはPaidy決済がありません。", "This order has no Paidy payment."),
    "paidy.link": ("Paidy決済IDを紐付ける", "Link a Paidy payment id"),
    "paidy.link_button": ("紐付け", "Link"),
    "paidy.linked": (
        "{payment_id} を注文番号 {order_no} に紐付けました。",
        "Linked {payment_id} to order {order_no}.",
    ),
    "paidy.btn.update": ("更新(アップデート)", "Update"),
    "paidy.btn.capture": ("売上確定(キャプチャー)", "Capture"),
    "paidy.btn.close": ("クローズ", "Close"),
    "paidy.btn.refund": ("払い戻し(リファンド)", "Refund"),
    "paidy.btn.refresh": ("状態確認(ステータス)", "Refresh status"),
    "paidy.desc.update": (
        "既に認証済のPaidy決済データの注文内容を最新の受注情報に変更することができます。",
        "Replace the order details of the authorized Paidy payment with the current order.",
    ),
    "paidy.desc.capture": (
        "指定された、オープン状態の決済IDのすべてを売上確定(キャプチャー)することができます。",
        "Capture the full amount of this open payment.",
    ),
    "paidy.desc.close": (
        "オープン状態の決済をクローズすることができます。オープン状態の決済数が上限に達した場合に利用してください。",
        "Close this open payment without capturing it.",
    ),
    "paidy.desc.refund": (
        "指定された決済IDの全額または一部を払い戻すことができます。",
        "Refund all or part of this payment.",
    ),
    "paidy.desc.refresh": (
        "Paidyから最新の決済情報を取得します。",
        "Read the latest state of this payment from Paidy.",
    ),
    "paidy.close_hint": (
        "クローズするには、対応状況を「キャンセル」に変更して「この内容で登録する」をクリックしてください。",
        "To close the payment, set the order status to Cancelled and save the order.",
    ),
    "paidy.refund_amount": ("払い戻し額(円)", "Refund amount (yen)"),
    "paidy.refund_full": ("全額", "Full amount"),
    "paidy.refundable": ("払い戻し可能額: {amount}円", "Refundable: {amount} yen"),
    "paidy.no_actions": ("-", "-"),
    "paidy.timeline": ("▼決済履歴", "▼Payment timeline"),
    "paidy.confirm_title": ("実行の確認", "Please confirm"),
    "paidy.confirm_capture": (
        "注文番号 {order_no} の {amount}円 を売上確定(キャプチャー)します。お客様への請求が確定します。",
        "Capture {amount} yen of order {order_no}. The customer will be charged.",
    ),
    "paidy.confirm_refund": (
        "注文番号 {order_no} に {amount}円 を払い戻し(リファンド)します。",
        "Refund {amount} yen on order {order_no}.",
    ),
    "paidy.confirm_close": (
        "注文番号 {order_no} の決済をクローズします。売上確定はできなくなります。",
        "Close the payment of order {order_no}. It can no longer be captured.",
    ),
    "paidy.confirm_mismatch": (
        "受注のお支払い合計({order_total}円)とPaidy注文代金の総額({paidy_amount}円)が異なります。",
        "The order total ({order_total} yen) differs from Paidy's amount ({paidy_amount} yen).",
    ),
    "paidy.confirm_mismatch_check": (
        "差額を確認しました。Paidy注文代金の総額で売上確定します",
        "I checked the difference; capture Paidy's amount",
    ),
    "paidy.confirm_run": ("実行する", "Run"),
    "paidy.capture_cancelled_hint": (
        "対応状況が「キャンセル」のため、売上確定(キャプチャー)はできません。",
        "The order is cancelled, so it cannot be captured.",
    ),
    "paidy.error_head": ("Paidyとの通信でエラーになりました。", "Talking to Paidy failed."),
    "paidy.refund_reason": ("払い戻し理由(任意)", "Refund reason (optional)"),
    "paidy.refund_reason_hint": ("Paidyに送信されます", "Sent to Paidy"),
    "paidy.refund_reason_shown": ("払い戻し理由: {reason}", "Refund reason: {reason}"),
    # --- batch -------------------------------------------------------------------------------
    "batch.title": ("Paidy決済状況管理", "Paidy payments (batch)"),
    "batch.filters": ("絞り込み", "Filters"),
    "batch.search": ("注文番号・顧客名", "Order number or customer name"),
    "batch.choose": ("選択してください", "Choose an action"),
    "batch.action": ("一括処理", "Batch action"),
    "batch.run": ("実行", "Run"),
    "batch.note": (
        "※ Paidyと通信を行うため処理に時間がかかる場合があります。",
        "※ This talks to Paidy and may take a while.",
    ),
    "batch.preselected": (
        "ダッシュボード/受注管理から{count}件が選択されています。",
        "{count} orders were selected on the dashboard / orders page.",
    ),
    "batch.clear_preselect": ("選択を解除して全件表示", "Clear and show all"),
    "batch.preview": ("実行内容の確認", "Preview"),
    "batch.preview_counts": (
        "実行: {run}件 / スキップ: {skip}件",
        "Will run: {run} / skipped: {skip}",
    ),
    "batch.confirm": ("この内容で実行する", "Run these"),
    "batch.nothing_to_run": ("実行できる受注がありません。", "Nothing can run."),
    "batch.job": ("一括処理 #{job_id}: {action}", "Batch job #{job_id}: {action}"),
    "batch.progress": ("{finished} / {total} 件完了", "{finished} of {total} done"),
    "batch.done": (
        "一括処理が完了しました(成功 {ok}件 / スキップ {skipped}件 / 失敗 {failed}件 / 未確定 {unknown}件)",
        "Batch job finished (ok {ok} / skipped {skipped} / failed {failed} / unknown {unknown})",
    ),
    "batch.running": ("処理中です…", "Running…"),
    "batch.results_csv": ("処理結果CSVをダウンロード", "Download the results as CSV"),
    "batch.recent": ("最近の一括処理", "Recent batch jobs"),
    "batch.show_job": ("#{job_id} を表示", "Show #{job_id}"),
    "batch.close_job": ("結果を閉じる", "Close results"),
    "batch.job_missing": (
        "一括処理 #{job_id} は見つかりません。",
        "Batch job #{job_id} does not exist.",
    ),
    "batch.need_action": ("処理を選択してください。", "Choose an action."),
    "batch.status_col": ("状況", "Status"),
    "batch.need_selection": (
        "受注が選択されていません。一覧の行の左端にチェックを入れてから[実行]を押してください。",
        "No order is selected. Tick rows at their left edge, then press Run.",
    ),
    "batch.preview_stale": (
        "選択または処理内容が変わったため、実行内容の確認を取り消しました。もう一度[実行]を押してください。",
        "The selection or the action changed, so the preview was withdrawn. Press Run again.",
    ),
    "batch.confirm_summary": (
        "{count}件を実行します(合計 {total}円)。注文番号: {numbers}",
        "{count} orders will run ({total} yen in total). Order numbers: {numbers}",
    ),
    "batch.confirm_summary_plain": (
        "{count}件を実行します。注文番号: {numbers}",
        "{count} orders will run. Order numbers: {numbers}",
    ),
    "batch.cancels_orders": (
        "クローズする{count}件の受注は、対応状況が「キャンセル」に変更されます。",
        "The {count} closed orders will also get the order status Cancelled.",
    ),
    "batch.job_confirmed": (
        "確認済みの内容: {count}件(合計 {total}円)",
        "Confirmed: {count} orders ({total} yen in total)",
    ),
}
