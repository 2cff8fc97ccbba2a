"""Data for the FAQ benchmark: the shop's core FAQ, the catalogue that pads it, the queries.

The core FAQ is what a Vietnamese electronics and home-appliance shop actually gets
asked. An entry has one language (as in the database), so every core topic is two
entries, ``("opening_hours", "vi")`` and ``("opening_hours", "en")``. The padding is
products x question templates, so that thousands of entries share the words of the core
ones ("bảo hành", "giao hàng", "trả góp") and the index has to tell them apart.

Each paraphrase names the entry it must find as ``(topic, language)``; a product
question names ``(template, language)`` plus the featured product it is about.
"""

from __future__ import annotations

from typing import NamedTuple


class Topic(NamedTuple):
    key: str
    vi: tuple[str, ...]  # the question first, then alternate phrasings
    en: tuple[str, ...]


CORE_TOPICS: tuple[Topic, ...] = (
    Topic(
        "opening_hours",
        (
            "Giờ mở cửa của cửa hàng là mấy giờ?",
            "Shop mở cửa lúc mấy giờ?",
            "Giờ làm việc của shop",
            "Mấy giờ thì đóng cửa?",
        ),
        (
            "What are your opening hours?",
            "What time do you open?",
            "What time does the store close?",
        ),
    ),
    Topic(
        "holiday_hours",
        ("Cuối tuần và ngày lễ, Tết shop có mở cửa không?", "Chủ nhật có làm việc không?"),
        ("Are you open on weekends and public holidays?", "Are you open on Sunday?"),
    ),
    Topic(
        "delivery_time",
        ("Giao hàng mất bao lâu?", "Bao lâu thì nhận được hàng?", "Đặt hàng mấy ngày thì tới?"),
        ("How long does delivery take?", "When will I receive my order?"),
    ),
    Topic(
        "delivery_fee",
        ("Phí giao hàng là bao nhiêu?", "Phí ship bao nhiêu?", "Tiền ship tính thế nào?"),
        ("How much is the shipping fee?", "What does delivery cost?"),
    ),
    Topic(
        "free_shipping",
        ("Đơn hàng bao nhiêu thì được miễn phí giao hàng?", "Có freeship không?"),
        ("Do you offer free shipping?", "What is the minimum order for free delivery?"),
    ),
    Topic(
        "delivery_area",
        ("Shop có giao hàng toàn quốc không?", "Có giao hàng đi tỉnh không?"),
        ("Do you deliver nationwide?", "Which areas do you ship to?"),
    ),
    Topic(
        "express_delivery",
        ("Có giao hàng hỏa tốc trong ngày không?", "Có giao nhanh trong 2 giờ không?"),
        ("Do you have same-day express delivery?",),
    ),
    Topic(
        "international_shipping",
        ("Có giao hàng ra nước ngoài không?", "Shop có ship quốc tế không?"),
        ("Do you ship internationally?", "Can you deliver abroad?"),
    ),
    Topic(
        "warranty_policy",
        ("Chính sách bảo hành như thế nào?", "Sản phẩm được bảo hành bao lâu?"),
        ("What is your warranty policy?", "How long is the warranty?"),
    ),
    Topic(
        "warranty_claim",
        ("Làm sao để gửi sản phẩm đi bảo hành?", "Mang máy đi bảo hành ở đâu?"),
        ("How do I make a warranty claim?", "Where do I take my product for warranty repair?"),
    ),
    Topic(
        "payment_methods",
        ("Shop chấp nhận những hình thức thanh toán nào?", "Thanh toán bằng cách nào?"),
        ("What payment methods do you accept?", "How can I pay?"),
    ),
    Topic(
        "cash_on_delivery",
        ("Có thanh toán khi nhận hàng (COD) không?", "Có ship COD không?"),
        ("Can I pay cash on delivery?",),
    ),
    Topic(
        "card_payment",
        ("Có thanh toán bằng thẻ tín dụng được không?", "Có quẹt thẻ Visa, Mastercard không?"),
        ("Do you accept credit cards?", "Can I pay by Visa or Mastercard?"),
    ),
    Topic(
        "bank_transfer",
        ("Số tài khoản ngân hàng để chuyển khoản là gì?", "Chuyển khoản vào tài khoản nào?"),
        ("What is your bank account number for transfers?", "Can I pay by bank transfer?"),
    ),
    Topic(
        "e_wallet",
        ("Có thanh toán qua ví MoMo, ZaloPay, VNPay không?",),
        ("Can I pay with MoMo, ZaloPay or VNPay?", "Do you accept e-wallets?"),
    ),
    Topic(
        "installment",
        ("Có mua trả góp được không?", "Trả góp 0% lãi suất như thế nào?"),
        ("Do you offer installment plans?", "Can I pay in instalments?"),
    ),
    Topic(
        "return_policy",
        ("Chính sách đổi trả như thế nào?", "Được đổi trả hàng trong bao nhiêu ngày?"),
        ("What is your return policy?", "Can I return a product?"),
    ),
    Topic(
        "refund",
        ("Bao lâu thì được hoàn tiền?", "Hoàn tiền như thế nào?"),
        ("How long does a refund take?", "How do I get my money back?"),
    ),
    Topic(
        "exchange_size",
        ("Có đổi size, đổi màu được không?",),
        ("Can I exchange for a different size or colour?",),
    ),
    Topic(
        "damaged_item",
        ("Nhận hàng bị hỏng, bị vỡ thì phải làm sao?", "Hàng giao tới bị lỗi"),
        ("What if my item arrives damaged?", "I received a broken item"),
    ),
    Topic(
        "order_tracking",
        ("Làm sao để kiểm tra tình trạng đơn hàng?", "Đơn hàng của tôi đang ở đâu?"),
        ("How do I track my order?", "Where is my order?"),
    ),
    Topic(
        "cancel_order",
        ("Làm sao để hủy đơn hàng?", "Tôi muốn hủy đơn"),
        ("How do I cancel my order?",),
    ),
    Topic(
        "change_order",
        ("Có thể thay đổi địa chỉ giao hàng sau khi đặt không?", "Sửa đơn hàng đã đặt"),
        ("Can I change my delivery address after ordering?", "Can I modify my order?"),
    ),
    Topic(
        "how_to_order",
        ("Làm thế nào để đặt hàng?", "Đặt hàng online như thế nào?", "Mua hàng ở đâu?"),
        ("How do I place an order?", "How do I buy online?"),
    ),
    Topic(
        "vat_invoice",
        ("Shop có xuất hóa đơn VAT (hóa đơn đỏ) không?", "Xuất hóa đơn công ty được không?"),
        ("Can I get a VAT invoice?", "Do you issue company invoices?"),
    ),
    Topic(
        "e_invoice",
        ("Hóa đơn điện tử được gửi khi nào?", "Tra cứu hóa đơn điện tử ở đâu?"),
        ("When will I receive my e-invoice?", "Where can I look up my electronic invoice?"),
    ),
    Topic(
        "earn_points",
        ("Tích điểm thành viên như thế nào?", "Mua hàng có được tích điểm không?"),
        ("How do membership points work?", "How do I earn loyalty points?"),
    ),
    Topic(
        "redeem_points",
        ("Đổi điểm thưởng lấy quà như thế nào?", "Dùng điểm tích lũy để giảm giá ra sao?"),
        ("How do I redeem my points?", "What can I spend my loyalty points on?"),
    ),
    Topic(
        "membership_tiers",
        ("Hạng thẻ thành viên Bạc, Vàng, Kim Cương có ưu đãi gì?",),
        ("What are the benefits of each membership tier?", "What do Silver and Gold members get?"),
    ),
    Topic(
        "register_member",
        ("Làm sao để đăng ký thành viên?", "Đăng ký làm thẻ thành viên"),
        ("How do I become a member?", "How do I sign up for membership?"),
    ),
    Topic(
        "store_addresses",
        ("Địa chỉ cửa hàng ở đâu?", "Shop có những chi nhánh nào?"),
        ("Where are your stores?", "What is your store address?"),
    ),
    Topic(
        "hanoi_store",
        ("Cửa hàng ở Hà Nội nằm ở đâu?",),
        ("Do you have a store in Hanoi?",),
    ),
    Topic(
        "hcmc_store",
        ("Chi nhánh tại TP. Hồ Chí Minh (Sài Gòn) ở đâu?",),
        ("Where is your Ho Chi Minh City store?", "Do you have a shop in Saigon?"),
    ),
    Topic(
        "parking",
        ("Cửa hàng có chỗ gửi xe, đậu ô tô không?",),
        ("Is there parking at the store?",),
    ),
    Topic(
        "hotline",
        ("Số hotline chăm sóc khách hàng là bao nhiêu?", "Số điện thoại liên hệ của shop"),
        ("What is your customer service phone number?", "How can I contact you?"),
    ),
    Topic(
        "email_contact",
        ("Email liên hệ của shop là gì?",),
        ("What is your email address?",),
    ),
    Topic(
        "promotions",
        ("Hiện tại có chương trình khuyến mãi nào không?", "Đang có sale gì không?"),
        ("Are there any promotions right now?", "Do you have any discounts?"),
    ),
    Topic(
        "discount_code",
        ("Cách sử dụng mã giảm giá (voucher)?", "Nhập mã giảm giá ở đâu?"),
        ("How do I use a discount code?", "Where do I enter a voucher?"),
    ),
    Topic(
        "birthday_offer",
        ("Sinh nhật khách hàng có ưu đãi gì không?", "Tháng sinh nhật được tặng quà gì?"),
        ("Do members get a birthday gift?",),
    ),
    Topic(
        "genuine_products",
        ("Sản phẩm có phải hàng chính hãng không?", "Hàng có chính hãng không hay hàng giả?"),
        ("Are your products genuine?", "Are your products authentic or fake?"),
    ),
    Topic(
        "stock_check",
        ("Làm sao biết sản phẩm còn hàng hay hết hàng?", "Kiểm tra tồn kho ở đâu?"),
        ("How can I check if an item is in stock?",),
    ),
    Topic(
        "preorder",
        ("Có nhận đặt trước hàng chưa về không?", "Hết hàng có đặt trước được không?"),
        ("Can I pre-order items that are out of stock?",),
    ),
    Topic(
        "wholesale",
        ("Có bán sỉ, giá sỉ cho đại lý không?", "Muốn làm đại lý thì liên hệ ai?"),
        ("Do you sell wholesale?", "Do you offer bulk pricing for resellers?"),
    ),
    Topic(
        "gift_wrap",
        ("Shop có gói quà không?", "Có dịch vụ gói quà tặng không?"),
        ("Do you offer gift wrapping?",),
    ),
    Topic(
        "installation",
        ("Có lắp đặt tại nhà không?", "Có hỗ trợ lắp đặt miễn phí không?"),
        ("Do you provide home installation?", "Is installation free?"),
    ),
    Topic(
        "forgot_password",
        ("Quên mật khẩu tài khoản thì làm sao?", "Không đăng nhập được tài khoản"),
        ("I forgot my password, what should I do?", "I can't log in to my account"),
    ),
    Topic(
        "update_profile",
        ("Làm sao để cập nhật thông tin cá nhân?", "Đổi số điện thoại, email trong tài khoản"),
        ("How do I update my personal details?", "How do I change my phone number?"),
    ),
    Topic(
        "privacy",
        ("Thông tin cá nhân của tôi có được bảo mật không?",),
        ("How do you protect my personal data?", "What is your privacy policy?"),
    ),
    Topic(
        "complaint",
        ("Tôi muốn khiếu nại thì liên hệ ở đâu?", "Phản ánh về thái độ nhân viên"),
        ("How do I file a complaint?", "I want to complain about a staff member"),
    ),
    Topic(
        "unsubscribe",
        ("Làm sao để hủy nhận tin khuyến mãi?", "Không muốn nhận tin nhắn quảng cáo nữa"),
        ("How do I unsubscribe from promotional messages?", "Stop sending me marketing"),
    ),
    Topic(
        "gift_card",
        ("Có bán phiếu quà tặng, thẻ quà tặng không?",),
        ("Do you sell gift cards?", "Can I buy a gift voucher?"),
    ),
    Topic(
        "careers",
        ("Shop có đang tuyển dụng nhân viên không?", "Tuyển nhân viên bán hàng"),
        ("Are you hiring?", "Do you have any job openings?"),
    ),
)


class Template(NamedTuple):
    key: str
    vi: str
    en: str


# Each template becomes one Vietnamese and one English entry per product.
PRODUCT_TEMPLATES: tuple[Template, ...] = (
    Template("has_warranty", "{vi} có bảo hành không?", "Does the {en} come with a warranty?"),
    Template(
        "warranty_length", "{vi} được bảo hành bao lâu?", "How long is the warranty on the {en}?"
    ),
    Template("in_stock", "{vi} còn hàng không?", "Is the {en} in stock?"),
    Template("price", "Giá {vi} là bao nhiêu?", "How much does the {en} cost?"),
    Template("colours", "{vi} có những màu nào?", "What colours does the {en} come in?"),
    Template("manual", "Hướng dẫn sử dụng {vi}", "How do I use the {en}?"),
    Template(
        "installment", "{vi} có mua trả góp được không?", "Can I buy the {en} in instalments?"
    ),
    Template(
        "same_day", "{vi} có giao hàng trong ngày không?", "Can the {en} be delivered the same day?"
    ),
    Template("specs", "Thông số kỹ thuật của {vi}", "What are the specifications of the {en}?"),
    Template("returns", "{vi} có được đổi trả không?", "Can the {en} be returned?"),
    Template("cleaning", "Cách vệ sinh {vi} như thế nào?", "How do I clean the {en}?"),
    Template("repair", "Sửa {vi} ở đâu?", "Where can I get the {en} repaired?"),
)


class Category(NamedTuple):
    vi: str
    en: str
    brands: tuple[str, ...]


CATEGORIES: tuple[Category, ...] = (
    Category("Nồi cơm điện", "rice cooker", ("Sunhouse", "Panasonic", "Toshiba", "Cuckoo")),
    Category("Nồi chiên không dầu", "air fryer", ("Philips", "Lock&Lock", "Kangaroo", "Tefal")),
    Category("Quạt đứng", "standing fan", ("Panasonic", "Senko", "Asia", "Mitsubishi")),
    Category("Máy lọc không khí", "air purifier", ("Sharp", "Xiaomi", "Coway", "Daikin")),
    Category("Máy lọc nước", "water purifier", ("Kangaroo", "Karofi", "Mutosi", "AO Smith")),
    Category("Máy xay sinh tố", "blender", ("Philips", "Sunhouse", "Bluestone", "Tefal")),
    Category("Ấm đun siêu tốc", "electric kettle", ("Sunhouse", "Philips", "Lock&Lock")),
    Category("Máy sấy tóc", "hair dryer", ("Panasonic", "Philips", "Dyson")),
    Category("Bàn là hơi nước", "steam iron", ("Philips", "Tefal", "Bluestone")),
    Category("Máy hút bụi", "vacuum cleaner", ("Electrolux", "Xiaomi", "Hitachi", "Samsung")),
    Category("Điều hòa", "air conditioner", ("Daikin", "Panasonic", "LG", "Casper")),
    Category("Tủ lạnh", "refrigerator", ("Samsung", "LG", "Hitachi", "Aqua")),
    Category("Máy giặt", "washing machine", ("LG", "Samsung", "Electrolux", "Toshiba")),
    Category("Lò vi sóng", "microwave oven", ("Sharp", "Electrolux", "Samsung")),
    Category("Bếp từ", "induction hob", ("Sunhouse", "Bosch", "Kangaroo", "Chefs")),
    Category("Máy ép chậm", "slow juicer", ("Hurom", "Kuvings", "Philips")),
    Category("Tai nghe bluetooth", "bluetooth headphones", ("Sony", "JBL", "Apple", "Samsung")),
    Category("Loa di động", "portable speaker", ("JBL", "Sony", "Marshall")),
    Category("Đồng hồ thông minh", "smartwatch", ("Apple", "Samsung", "Garmin", "Xiaomi")),
    Category("Điện thoại", "smartphone", ("Samsung", "Xiaomi", "Oppo", "Vivo")),
    Category("Máy tính bảng", "tablet", ("Apple", "Samsung", "Lenovo")),
    Category("Sạc dự phòng", "power bank", ("Anker", "Xiaomi", "Baseus")),
    Category("Chuột không dây", "wireless mouse", ("Logitech", "Razer", "Dareu")),
    Category("Bàn phím cơ", "mechanical keyboard", ("Akko", "Keychron", "Logitech")),
    Category("Camera an ninh", "security camera", ("Imou", "Ezviz", "TP-Link")),
    Category("Máy pha cà phê", "coffee machine", ("Delonghi", "Breville", "Philips")),
    Category("Đèn bàn LED", "LED desk lamp", ("Rạng Đông", "Xiaomi", "Philips")),
    Category("Bình giữ nhiệt", "vacuum flask", ("Lock&Lock", "Thermos", "Elmich")),
    Category("Vali kéo", "suitcase", ("Samsonite", "American Tourister", "Sakos")),
    Category("Máy lọc không khí ô tô", "car air purifier", ("Xiaomi", "Philips", "Sharp")),
)

# Products the paraphrases ask about; the generator puts them first in the catalogue.
# (category index, brand, model)
FEATURED_PRODUCTS: tuple[tuple[int, str, str], ...] = (
    (0, "Sunhouse", "SHD8955"),
    (3, "Sharp", "FP-J30E"),
    (10, "Daikin", "FTKB25"),
    (16, "Sony", "WH-1000XM5"),
    (19, "Samsung", "Galaxy A55"),
    (1, "Philips", "HD9252"),
    (12, "LG", "FV1409S4W"),
)


class Paraphrase(NamedTuple):
    query: str
    language: str
    target: str  # a core topic key, or "<template>@<featured product index>"
    kind: str  # what makes the query hard: diacritics, typo, filler, ...


def _p(query: str, language: str, target: str, kind: str) -> Paraphrase:
    return Paraphrase(query, language, target, kind)


PARAPHRASES: tuple[Paraphrase, ...] = (
    # opening hours
    _p("giờ mở cửa", "vi", "opening_hours", "diacritics"),
    _p("gio mo cua", "vi", "opening_hours", "no-diacritics"),
    _p("mấy giờ mở cửa vậy shop", "vi", "opening_hours", "filler"),
    _p("gioo mo cuwa", "vi", "opening_hours", "telex"),
    _p("gio mo cuaa", "vi", "opening_hours", "typo"),
    _p("shop mở cửa đến mấy giờ ạ", "vi", "opening_hours", "filler"),
    _p("cho em hỏi mấy giờ shop đóng cửa", "vi", "opening_hours", "filler"),
    _p("what time do you open", "en", "opening_hours", "plain"),
    _p("opening hurs", "en", "opening_hours", "typo"),
    _p("wht time does the stor close", "en", "opening_hours", "typo"),
    # holiday hours
    _p("tết shop có mở cửa không", "vi", "holiday_hours", "diacritics"),
    _p("chu nhat co lam viec ko", "vi", "holiday_hours", "no-diacritics"),
    _p("are you open on sundays", "en", "holiday_hours", "plain"),
    _p("open on public holidys?", "en", "holiday_hours", "typo"),
    # delivery time
    _p("giao hàng mất mấy ngày", "vi", "delivery_time", "diacritics"),
    _p("bao lau thi nhan duoc hang", "vi", "delivery_time", "no-diacritics"),
    _p("đặt hàng bao lâu thì tới vậy shop", "vi", "delivery_time", "filler"),
    _p("giao hang mat bao lau", "vi", "delivery_time", "no-diacritics"),
    _p("how long does shipping take", "en", "delivery_time", "plain"),
    _p("how long dose delivery tkae", "en", "delivery_time", "typo"),
    # delivery fee
    _p("phí ship bao nhiêu ạ", "vi", "delivery_fee", "filler"),
    _p("phi giao hang bao nhieu", "vi", "delivery_fee", "no-diacritics"),
    _p("tien ship tinh sao", "vi", "delivery_fee", "no-diacritics"),
    _p("how much is delivery", "en", "delivery_fee", "plain"),
    _p("shiping fee?", "en", "delivery_fee", "typo"),
    # free shipping
    _p("có freeship không shop", "vi", "free_shipping", "filler"),
    _p("mien phi giao hang", "vi", "free_shipping", "no-diacritics"),
    _p("free shipping", "en", "free_shipping", "plain"),
    _p("is delivery free", "en", "free_shipping", "plain"),
    # delivery area
    _p("có giao hàng toàn quốc không", "vi", "delivery_area", "diacritics"),
    _p("ship đi tỉnh được không ạ", "vi", "delivery_area", "filler"),
    _p("do you deliver to other provinces nationwide", "en", "delivery_area", "plain"),
    # express
    _p("giao hỏa tốc", "vi", "express_delivery", "diacritics"),
    _p("co giao nhanh trong ngay khong", "vi", "express_delivery", "no-diacritics"),
    _p("same day delivery", "en", "express_delivery", "plain"),
    # international
    _p("ship quoc te duoc khong", "vi", "international_shipping", "no-diacritics"),
    _p("có gửi hàng ra nước ngoài không", "vi", "international_shipping", "diacritics"),
    _p("do you ship overseas internationally", "en", "international_shipping", "plain"),
    # warranty
    _p("chính sách bảo hành", "vi", "warranty_policy", "diacritics"),
    _p("bao hanh bao lau", "vi", "warranty_policy", "no-diacritics"),
    _p("baor hanhf nhu the nao", "vi", "warranty_policy", "telex"),
    _p("sản phẩm bảo hành mấy tháng vậy ad", "vi", "warranty_policy", "filler"),
    _p("waranty policy", "en", "warranty_policy", "typo"),
    _p("how long is the guarantee warranty", "en", "warranty_policy", "plain"),
    # warranty claim
    _p("mang máy đi bảo hành ở đâu", "vi", "warranty_claim", "diacritics"),
    _p("gui san pham di bao hanh", "vi", "warranty_claim", "no-diacritics"),
    _p("how to make a warranty claim", "en", "warranty_claim", "plain"),
    _p("where can i get my product repaired under warranty", "en", "warranty_claim", "plain"),
    # payment
    _p("thanh toán bằng cách nào", "vi", "payment_methods", "diacritics"),
    _p("hinh thuc thanh toan", "vi", "payment_methods", "no-diacritics"),
    _p("thanh toans nhuw the nao", "vi", "payment_methods", "telex"),
    _p("payment methods", "en", "payment_methods", "plain"),
    _p("how can i pay", "en", "payment_methods", "plain"),
    _p("paymnet mehtods", "en", "payment_methods", "typo"),
    # cod
    _p("có ship cod không", "vi", "cash_on_delivery", "diacritics"),
    _p("nhan hang roi moi tra tien duoc khong", "vi", "cash_on_delivery", "no-diacritics"),
    _p("thanh toan khi nhan hang", "vi", "cash_on_delivery", "no-diacritics"),
    _p("cash on delivery", "en", "cash_on_delivery", "plain"),
    _p("can i pay cash on delivry", "en", "cash_on_delivery", "typo"),
    # card
    _p("quẹt thẻ visa được không", "vi", "card_payment", "diacritics"),
    _p("thanh toan the tin dung", "vi", "card_payment", "no-diacritics"),
    _p("do you take credit card", "en", "card_payment", "plain"),
    _p("mastercard accepted?", "en", "card_payment", "plain"),
    # bank transfer
    _p("số tài khoản chuyển khoản", "vi", "bank_transfer", "diacritics"),
    _p("chuyen khoan vao tai khoan nao vay shop", "vi", "bank_transfer", "filler"),
    _p("bank account number", "en", "bank_transfer", "plain"),
    _p("can i pay by bank tranfser", "en", "bank_transfer", "typo"),
    # e-wallet
    _p("thanh toán momo được không", "vi", "e_wallet", "diacritics"),
    _p("co tra bang zalopay khong", "vi", "e_wallet", "no-diacritics"),
    _p("can i use momo", "en", "e_wallet", "plain"),
    # installment
    _p("mua trả góp", "vi", "installment", "diacritics"),
    _p("tra gop 0 lai suat", "vi", "installment", "no-diacritics"),
    _p("tra gopp dc ko", "vi", "installment", "typo"),
    _p("instalment plan", "en", "installment", "plain"),
    _p("can i pay in installments", "en", "installment", "plain"),
    # returns
    _p("chính sách đổi trả", "vi", "return_policy", "diacritics"),
    _p("doi tra hang trong bao nhieu ngay", "vi", "return_policy", "no-diacritics"),
    _p("ddooir trar hang", "vi", "return_policy", "telex"),
    _p("return policy", "en", "return_policy", "plain"),
    _p("can i retrun a product", "en", "return_policy", "typo"),
    # refund
    _p("bao lâu thì được hoàn tiền", "vi", "refund", "diacritics"),
    _p("hoan tien nhu the nao", "vi", "refund", "no-diacritics"),
    _p("how long does a refund take", "en", "refund", "plain"),
    _p("get my mony back", "en", "refund", "typo"),
    # exchange size
    _p("đổi size được không shop", "vi", "exchange_size", "filler"),
    _p("doi mau khac duoc ko", "vi", "exchange_size", "no-diacritics"),
    _p("exchange for a different size", "en", "exchange_size", "plain"),
    # damaged
    _p("hàng bị vỡ khi nhận", "vi", "damaged_item", "diacritics"),
    _p("nhan hang bi hong thi lam sao", "vi", "damaged_item", "no-diacritics"),
    _p("item arrived damaged", "en", "damaged_item", "plain"),
    _p("recieved a broken item", "en", "damaged_item", "typo"),
    # tracking
    _p("kiểm tra đơn hàng", "vi", "order_tracking", "diacritics"),
    _p("don hang cua toi dang o dau", "vi", "order_tracking", "no-diacritics"),
    _p("đơn hàng của em tới đâu rồi ạ", "vi", "order_tracking", "filler"),
    _p("track my order", "en", "order_tracking", "plain"),
    _p("wher is my ordr", "en", "order_tracking", "typo"),
    # cancel
    _p("hủy đơn hàng", "vi", "cancel_order", "diacritics"),
    _p("huy don", "vi", "cancel_order", "no-diacritics"),
    _p("em muốn hủy đơn ạ", "vi", "cancel_order", "filler"),
    _p("cancel order", "en", "cancel_order", "plain"),
    _p("how do i cancle my order", "en", "cancel_order", "typo"),
    # change order
    _p("đổi địa chỉ giao hàng", "vi", "change_order", "diacritics"),
    _p("sua don hang da dat", "vi", "change_order", "no-diacritics"),
    _p("change delivery address", "en", "change_order", "plain"),
    # how to order
    _p("đặt hàng như thế nào", "vi", "how_to_order", "diacritics"),
    _p("lam sao de dat hang online", "vi", "how_to_order", "no-diacritics"),
    _p("how to place an order", "en", "how_to_order", "plain"),
    _p("how do i by online", "en", "how_to_order", "typo"),
    # vat invoice
    _p("xuất hóa đơn VAT", "vi", "vat_invoice", "diacritics"),
    _p("xuat hoa don do", "vi", "vat_invoice", "no-diacritics"),
    _p("shop xuất hoá đơn công ty được không", "vi", "vat_invoice", "filler"),
    _p("xuaats hoas ddown vat", "vi", "vat_invoice", "telex"),
    _p("vat invoice", "en", "vat_invoice", "plain"),
    _p("can i get a company invoce", "en", "vat_invoice", "typo"),
    # e-invoice
    _p("tra cứu hóa đơn điện tử", "vi", "e_invoice", "diacritics"),
    _p("hoa don dien tu gui khi nao", "vi", "e_invoice", "no-diacritics"),
    _p("electronic invoice", "en", "e_invoice", "plain"),
    # points
    _p("tích điểm", "vi", "earn_points", "diacritics"),
    _p("mua hang co duoc tich diem khong", "vi", "earn_points", "no-diacritics"),
    _p("loyalty points", "en", "earn_points", "plain"),
    _p("how do i earn points", "en", "earn_points", "plain"),
    _p("đổi điểm lấy quà", "vi", "redeem_points", "diacritics"),
    _p("dung diem tich luy", "vi", "redeem_points", "no-diacritics"),
    _p("redeem points", "en", "redeem_points", "plain"),
    _p("how to redem my points", "en", "redeem_points", "typo"),
    # tiers, membership
    _p("hạng thẻ vàng có ưu đãi gì", "vi", "membership_tiers", "diacritics"),
    _p("the kim cuong duoc gi", "vi", "membership_tiers", "no-diacritics"),
    _p("membership tier benefits", "en", "membership_tiers", "plain"),
    _p("đăng ký thành viên", "vi", "register_member", "diacritics"),
    _p("dang ky lam the thanh vien o dau", "vi", "register_member", "no-diacritics"),
    _p("dang kis thanhf vieen", "vi", "register_member", "telex"),
    _p("how do i become a member", "en", "register_member", "plain"),
    _p("sign up for membrship", "en", "register_member", "typo"),
    # stores
    _p("địa chỉ cửa hàng", "vi", "store_addresses", "diacritics"),
    _p("dia chi shop o dau vay", "vi", "store_addresses", "filler"),
    _p("shop có chi nhánh nào", "vi", "store_addresses", "diacritics"),
    _p("store address", "en", "store_addresses", "plain"),
    _p("where are your shops", "en", "store_addresses", "plain"),
    _p("cửa hàng ở hà nội", "vi", "hanoi_store", "diacritics"),
    _p("shop o ha noi nam o dau", "vi", "hanoi_store", "no-diacritics"),
    _p("store in hanoi", "en", "hanoi_store", "plain"),
    _p("chi nhánh sài gòn ở đâu", "vi", "hcmc_store", "diacritics"),
    _p("chi nhanh tp hcm", "vi", "hcmc_store", "no-diacritics"),
    _p("ho chi minh city store", "en", "hcmc_store", "plain"),
    _p("có chỗ gửi xe không", "vi", "parking", "diacritics"),
    _p("dau o to o dau", "vi", "parking", "no-diacritics"),
    _p("is there parking", "en", "parking", "plain"),
    # contact
    _p("số hotline", "vi", "hotline", "diacritics"),
    _p("so dien thoai lien he", "vi", "hotline", "no-diacritics"),
    _p("cho em xin số điện thoại shop với", "vi", "hotline", "filler"),
    _p("customer service phone number", "en", "hotline", "plain"),
    _p("how can i contcat you", "en", "hotline", "typo"),
    _p("email liên hệ", "vi", "email_contact", "diacritics"),
    _p("email address", "en", "email_contact", "plain"),
    # promotions
    _p("có khuyến mãi gì không", "vi", "promotions", "diacritics"),
    _p("dang co sale gi khong shop", "vi", "promotions", "filler"),
    _p("any promotions now", "en", "promotions", "plain"),
    _p("discounts?", "en", "promotions", "plain"),
    _p("cách dùng mã giảm giá", "vi", "discount_code", "diacritics"),
    _p("nhap voucher o dau", "vi", "discount_code", "no-diacritics"),
    _p("how to use discount code", "en", "discount_code", "plain"),
    _p("where do i enter a vocher", "en", "discount_code", "typo"),
    _p("sinh nhật có quà gì không", "vi", "birthday_offer", "diacritics"),
    _p("thang sinh nhat duoc uu dai gi", "vi", "birthday_offer", "no-diacritics"),
    _p("birthday gift", "en", "birthday_offer", "plain"),
    # product policies
    _p("hàng chính hãng không", "vi", "genuine_products", "diacritics"),
    _p("co phai hang gia khong", "vi", "genuine_products", "no-diacritics"),
    _p("are your products authentic", "en", "genuine_products", "plain"),
    _p("is it genuin", "en", "genuine_products", "typo"),
    _p("kiểm tra còn hàng hay hết hàng", "vi", "stock_check", "diacritics"),
    _p("check stock", "en", "stock_check", "plain"),
    _p("đặt trước hàng chưa về", "vi", "preorder", "diacritics"),
    _p("pre order out of stock items", "en", "preorder", "plain"),
    _p("bán sỉ", "vi", "wholesale", "diacritics"),
    _p("muon lam dai ly", "vi", "wholesale", "no-diacritics"),
    _p("wholesale price", "en", "wholesale", "plain"),
    _p("gói quà tặng", "vi", "gift_wrap", "diacritics"),
    _p("co goi qua khong", "vi", "gift_wrap", "no-diacritics"),
    _p("gift wrapping", "en", "gift_wrap", "plain"),
    _p("lắp đặt tại nhà", "vi", "installation", "diacritics"),
    _p("lap dat mien phi khong", "vi", "installation", "no-diacritics"),
    _p("home instalation", "en", "installation", "typo"),
    # account
    _p("quên mật khẩu", "vi", "forgot_password", "diacritics"),
    _p("khong dang nhap duoc", "vi", "forgot_password", "no-diacritics"),
    _p("forgot password", "en", "forgot_password", "plain"),
    _p("cant login to my acount", "en", "forgot_password", "typo"),
    _p("cập nhật thông tin cá nhân", "vi", "update_profile", "diacritics"),
    _p("doi so dien thoai trong tai khoan", "vi", "update_profile", "no-diacritics"),
    _p("change my phone number", "en", "update_profile", "plain"),
    _p("bảo mật thông tin cá nhân", "vi", "privacy", "diacritics"),
    _p("privacy policy", "en", "privacy", "plain"),
    # complaints, unsubscribe, gift cards, careers
    _p("khiếu nại ở đâu", "vi", "complaint", "diacritics"),
    _p("phan anh thai do nhan vien", "vi", "complaint", "no-diacritics"),
    _p("file a complaint", "en", "complaint", "plain"),
    _p("i want to complian about staff", "en", "complaint", "typo"),
    _p("hủy nhận tin khuyến mãi", "vi", "unsubscribe", "diacritics"),
    _p("khong muon nhan tin nhan quang cao nua", "vi", "unsubscribe", "no-diacritics"),
    _p("unsubscribe", "en", "unsubscribe", "plain"),
    _p("stop sending me promotional mesages", "en", "unsubscribe", "typo"),
    _p("có bán thẻ quà tặng không", "vi", "gift_card", "diacritics"),
    _p("gift card", "en", "gift_card", "plain"),
    _p("tuyển dụng", "vi", "careers", "diacritics"),
    _p("shop co tuyen nhan vien ban hang khong", "vi", "careers", "no-diacritics"),
    _p("are you hiring", "en", "careers", "plain"),
    # questions about one product: the product name has to carry the match
    _p("nồi cơm điện sunhouse shd8955 có bảo hành không", "vi", "has_warranty@0", "product"),
    _p("noi com dien sunhouse shd8955 bao hanh bao lau", "vi", "warranty_length@0", "product"),
    _p("gia noi com sunhouse shd8955", "vi", "price@0", "product"),
    _p("máy lọc không khí sharp fp-j30e còn hàng không", "vi", "in_stock@1", "product"),
    _p("may loc khong khi sharp fp j30e co mau gi", "vi", "colours@1", "product"),
    _p("sharp fp-j30e air purifier price", "en", "price@1", "product"),
    _p("điều hòa daikin ftkb25 trả góp được không", "vi", "installment@2", "product"),
    _p("huong dan su dung dieu hoa daikin ftkb25", "vi", "manual@2", "product"),
    _p("daikin ftkb25 specs", "en", "specs@2", "product"),
    _p("tai nghe sony wh-1000xm5 còn hàng ko", "vi", "in_stock@3", "product"),
    _p("is the sony wh-1000xm5 in stock", "en", "in_stock@3", "product"),
    _p("sony wh-1000xm5 headphones warranty", "en", "has_warranty@3", "product"),
    _p("samsung galaxy a55 giá bao nhiêu", "vi", "price@4", "product"),
    _p("galaxy a55 có giao trong ngày không", "vi", "same_day@4", "product"),
    _p("can i return the samsung galaxy a55", "en", "returns@4", "product"),
    _p("nồi chiên philips hd9252 đổi trả được không", "vi", "returns@5", "product"),
    _p("how to use philips hd9252 air fryer", "en", "manual@5", "product"),
    _p("thong so ky thuat may giat lg fv1409s4w", "vi", "specs@6", "product"),
    _p("máy giặt LG FV1409S4W có những màu nào", "vi", "colours@6", "product"),
    _p("lg fv1409s4w washing machine colours", "en", "colours@6", "product"),
)

# Questions the FAQ has no entry for: they must not get an answer (a suggestion is fine).
OUT_OF_SCOPE: tuple[tuple[str, str], ...] = (
    ("thời tiết hôm nay thế nào", "vi"),
    ("kể chuyện cười đi", "vi"),
    ("công thức nấu phở bò", "vi"),
    ("asdkjh qwelkj zxcv", "vi"),
    ("bạn tên là gì", "vi"),
    ("tỷ số trận bóng đá tối qua", "vi"),
    ("giá vàng hôm nay", "vi"),
    ("who won the football match yesterday", "en"),
    ("what is the capital of france", "en"),
    ("tell me a joke", "en"),
    ("how do i bake bread", "en"),
    ("qwerty uiop", "en"),
)
