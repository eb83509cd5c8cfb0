"""The demo's catalogues: Japanese names, places, products, the Paidy state pattern of each
age band, and the hostile-but-realistic customer strings."""

from __future__ import annotations

DAYS = 60
AUTH_DAYS = 30
PAIDY_SHARE = 5  # every 5th order (index % 5 == 2) uses another method

# --------------------------------------------------------------------------- catalogues
SURNAMES = [
    ("佐藤", "サトウ", "sato"), ("鈴木", "スズキ", "suzuki"), ("高橋", "タカハシ", "takahashi"),
    ("田中", "タナカ", "tanaka"), ("伊藤", "イトウ", "ito"), ("渡辺", "ワタナベ", "watanabe"),
    ("山本", "ヤマモト", "yamamoto"), ("中村", "ナカムラ", "nakamura"), ("小林", "コバヤシ", "kobayashi"),
    ("加藤", "カトウ", "kato"), ("吉田", "ヨシダ", "yoshida"), ("山田", "ヤマダ", "yamada"),
    ("佐々木", "ササキ", "sasaki"), ("山口", "ヤマグチ", "yamaguchi"), ("松本", "マツモト", "matsumoto"),
    ("井上", "イノウエ", "inoue"), ("木村", "キムラ", "kimura"), ("林", "ハヤシ", "hayashi"),
    ("斎藤", "サイトウ", "saito"), ("清水", "シミズ", "shimizu"), ("山崎", "ヤマザキ", "yamazaki"),
    ("森", "モリ", "mori"), ("池田", "イケダ", "ikeda"), ("橋本", "ハシモト", "hashimoto"),
    ("阿部", "アベ", "abe"), ("石川", "イシカワ", "ishikawa"), ("前田", "マエダ", "maeda"),
    ("藤田", "フジタ", "fujita"), ("小川", "オガワ", "ogawa"), ("岡田", "オカダ", "okada"),
]  # fmt: skip
MALE = [
    ("翔太", "ショウタ", "shota"), ("大輔", "ダイスケ", "daisuke"), ("健太", "ケンタ", "kenta"),
    ("拓也", "タクヤ", "takuya"), ("直樹", "ナオキ", "naoki"), ("誠", "マコト", "makoto"),
    ("浩", "ヒロシ", "hiroshi"), ("蓮", "レン", "ren"), ("悠真", "ユウマ", "yuma"),
    ("陽翔", "ハルト", "haruto"), ("一郎", "イチロウ", "ichiro"), ("和也", "カズヤ", "kazuya"),
]  # fmt: skip
FEMALE = [
    ("陽子", "ヨウコ", "yoko"), ("美咲", "ミサキ", "misaki"), ("愛", "アイ", "ai"),
    ("結衣", "ユイ", "yui"), ("さくら", "サクラ", "sakura"), ("花子", "ハナコ", "hanako"),
    ("恵", "メグミ", "megumi"), ("由美", "ユミ", "yumi"), ("真由美", "マユミ", "mayumi"),
    ("葵", "アオイ", "aoi"), ("陽菜", "ヒナ", "hina"), ("優子", "ユウコ", "yuko"),
]  # fmt: skip
OTHER = [("ひかる", "ヒカル", "hikaru"), ("歩", "アユム", "ayumu"), ("薫", "カオル", "kaoru")]
# (prefecture, city, zip prefix, towns)
PLACES = [
    ("東京都", "渋谷区", "150-00", ["神南", "宇田川町", "道玄坂"]),
    ("東京都", "世田谷区", "154-00", ["三軒茶屋", "太子堂", "下馬"]),
    ("神奈川県", "横浜市西区", "220-00", ["みなとみらい", "高島", "北幸"]),
    ("大阪府", "大阪市北区", "530-00", ["梅田", "中之島", "天神橋"]),
    ("愛知県", "名古屋市中区", "460-00", ["栄", "錦", "大須"]),
    ("北海道", "札幌市中央区", "060-00", ["北一条西", "大通西", "南三条西"]),
    ("福岡県", "福岡市博多区", "812-00", ["博多駅前", "中洲", "祇園町"]),
    ("京都府", "京都市下京区", "600-80", ["四条通", "烏丸通", "東洞院通"]),
    ("宮城県", "仙台市青葉区", "980-00", ["一番町", "中央", "国分町"]),
    ("広島県", "広島市中区", "730-00", ["紙屋町", "本通", "八丁堀"]),
    ("大分県", "大分市", "870-00", ["金池町", "府内町", "中央町"]),
    ("沖縄県", "那覇市", "900-00", ["久茂地", "松山", "牧志"]),
    ("埼玉県", "さいたま市大宮区", "330-08", ["桜木町", "大門町", "宮町"]),
    ("千葉県", "千葉市中央区", "260-00", ["富士見", "中央", "新町"]),
    ("兵庫県", "神戸市中央区", "650-00", ["三宮町", "元町通", "北長狭通"]),
]
BUILDINGS = ["", "", "", "コーポ桜 101", "サンハイツ 203", "グランメゾン 1502", "第二松本ビル 4F"]
REMOTE = {"北海道", "沖縄県"}
# (code, name, unit price before tax)
PRODUCTS = [
    ("TEA-001", "静岡煎茶 100g", 1200), ("TEA-002", "宇治抹茶 30g", 1800),
    ("TEA-003", "ほうじ茶ティーバッグ 20包", 800), ("TEA-004", "玄米茶 200g", 650),
    ("CUP-001", "有田焼 湯呑み", 2500), ("CUP-002", "美濃焼 マグカップ", 1980),
    ("SWT-001", "どら焼き 5個入", 1080), ("SWT-002", "羊羹 詰め合わせ", 3240),
    ("GFT-001", "ギフトセット 松", 5400), ("GFT-002", "ギフトセット 竹", 3800),
    ("TWL-001", "今治タオル フェイス", 1650), ("CHP-001", "若狭塗 箸", 380),
]  # fmt: skip
WRAPPING = ("OPT-WRAP", "ギフトラッピング", 100)
EMAIL_DOMAINS = ["example.com", "example.jp", "example.net", "example.org"]
OTHER_METHODS = ["card", "bank", "cod", "convenience"]

# Paidy state patterns per age band (days since the order); cycled, so every band shows
# each of its states as soon as it holds a dozen Paidy orders.
BANDS: list[tuple[float, list[str]]] = [
    (3, ["open", "open", "captured", "rejected", "open", "closed", "open", "captured", "open",
         "open", "captured", "open", "open", "captured", "open", "open", "captured", "open",
         "open", "open"]),
    (23, ["captured", "captured", "open", "captured", "partially_refunded", "captured",
          "captured", "open", "refunded", "captured", "closed", "captured", "captured", "open",
          "captured", "captured"]),
    (27, ["open", "captured", "captured", "captured", "open", "captured",
          "partially_refunded", "captured", "closed", "captured"]),  # expires in 3-7 days
    (30, ["open", "captured", "captured", "open", "captured", "captured", "refunded",
          "captured"]),  # expires within 3 days
    (DAYS + 1, ["captured", "expired", "captured", "captured", "refunded", "captured",
                "partially_refunded", "captured", "closed", "captured", "captured",
                "captured"]),
]  # fmt: skip
# Hostile-but-realistic customer strings, used at a few fixed indexes and then rarely.
HOSTILE: list[dict[str, str]] = [
    {"customer_name": "山田 花子🌸", "customer_kana": "ヤマダ ハナコ"},
    {"customer_name": "=佐藤 健", "customer_kana": "サトウ ケン"},
    {"customer_name": "𠮷田 太郎", "customer_kana": "ヨシダ タロウ"},
    {"phone": "+81 90-1234-5678", "address2": "-"},
    {
        "note": '<b>至急</b> **ギフト包装** 希望\n熨斗: 御祝 "内祝"',
        "customer_name": "髙橋 一郎",
        "customer_kana": "タカハシ イチロウ",
    },
    {
        "customer_name": "@工房 さくら",
        "customer_kana": "コウボウ サクラ",
        "email": "-shop+demo@example.com",
    },
]
HOSTILE_AT = {7: 0, 11: 1, 17: 2, 23: 3, 29: 4, 31: 5}
HOSTILE_EVERY = 4999
