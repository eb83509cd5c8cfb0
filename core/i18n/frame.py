"""The app frame: title, mode, navigation, login, the selection controls."""

from __future__ import annotations

CATALOG: dict[str, tuple[str, str]] = {
    # --- app ---------------------------------------------------------------------------------
    "app.title": ("Paidy 決済管理", "Paidy operations"),
    "app.lang": ("言語 / Language", "言語 / Language"),
    "app.mode.demo": ("デモ", "Demo"),
    "app.mode.test": ("テスト", "Test"),
    "app.mode.live": ("本番", "Live"),
    "app.mode_badge": ("モード: {mode}", "Mode: {mode}"),
    "app.open_banner": (
        "ログインなしで公開されています(AUTH_MODE=none)。誰でも操作できます。",
        "This dashboard is open (AUTH_MODE=none): anyone can act without logging in.",
    ),
    "app.user": ("ユーザー: {name}({role})", "User: {name} ({role})"),
    "app.logout": ("ログアウト", "Log out"),
    "app.internal_error": (
        "画面の表示中にエラーが発生しました({kind})。画面を再読み込みしてください。続く場合は管理者に連絡してください。",
        "Something went wrong while showing this screen ({kind}). Reload the page; tell an administrator if it continues.",
    ),
    "app.startup_failed": (
        "起動できませんでした: {message}",
        "Could not start: {message}",
    ),
    "app.readonly_note": (
        "閲覧者のため、操作ボタンは表示されません。",
        "You are a viewer: action buttons are not shown.",
    ),
    # --- nav ---------------------------------------------------------------------------------
    "nav.dashboard": ("ダッシュボード", "Dashboard"),
    "nav.orders": ("受注管理", "Orders"),
    "nav.order": ("受注編集", "Edit order"),
    "nav.batch": ("Paidy決済状況管理", "Paidy payments (batch)"),
    "nav.audit": ("操作履歴", "Audit log"),
    "nav.settings": ("設定", "Settings"),
    "nav.deleted": ("削除済み受注", "Deleted orders"),
    # --- login -------------------------------------------------------------------------------
    "login.title": ("ログイン", "Log in"),
    "login.name": ("ユーザー名", "User name"),
    "login.password": ("パスワード", "Password"),
    "login.submit": ("ログイン", "Log in"),
    "login.expired": (
        "一定時間操作がなかったため、ログアウトしました。再度ログインしてください。",
        "Your session expired after a period of inactivity. Please log in again.",
    ),
    "login.oidc_button": ("シングルサインオンでログイン", "Log in with single sign-on"),
    "login.oidc_not_configured": (
        "AUTH_MODE=oidc ですが .streamlit/secrets.toml に [auth] が設定されていません。",
        "AUTH_MODE=oidc but [auth] is not configured in .streamlit/secrets.toml.",
    ),
    "login.oidc_denied": (
        "このアカウント({email})は利用できません。管理者にお問い合わせください。",
        "This account ({email}) may not use the dashboard. Ask an administrator.",
    ),
    "login.revoked": (
        "このユーザーは無効化されたため、ログアウトしました。管理者にお問い合わせください。",
        "This user has been disabled, so you were logged out. Ask an administrator.",
    ),
    # --- select ------------------------------------------------------------------------------
    "select.all": ("全て選択", "Select all"),
    "select.none": ("全て解除", "Clear all"),
    "select.count": ("{chosen}件選択中(表示中 {shown}件)", "{chosen} selected (of {shown} shown)"),
    "select.list_changed": (
        "一覧の内容が変わったため、選択を解除しました。",
        "The list changed, so the selection was cleared.",
    ),
}
