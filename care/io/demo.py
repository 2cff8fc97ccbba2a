"""A believable demo shop: Vietnamese customers, two years of orders, a bilingual FAQ.

Everything comes from ``random.Random(seed)`` and the services' clock, so the same seed on
the same day gives the same shop: screenshots, tests and benchmarks can rely on it.
Spending follows a Pareto law (a few customers, mostly companies, bring most of the
money), so segmentation, lifetime value and tiers have something real to show.

E-mail addresses use the reserved example.com/.net/.org domains, so a demo database can
never send mail to a real person; phone numbers are random numbers on real mobile
prefixes, which is what the linking flow needs to be shown.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Protocol, TypedDict, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from care.core.db import Database
from care.core.models import Customer, Order, OrderLine, Product, Staff, StaffRole
from care.core.text import fold
from care.io.imports import code_map, insert_rows

T = TypeVar("T")


class TierCounts(Protocol):
    """What the demo reports of the segmentation run after seeding (care.analytics)."""

    tiers: dict[str, int]


DEMO_FAQ = Path(__file__).with_name("demo_faq.yaml")
DEMO_SYNONYMS = Path(__file__).with_name("demo_synonyms.yaml")
DEMO_CUSTOMER_CODE = "DEMO-001"
DEMO_PHONE = "+84901234567"
# Far above any Telegram user id handed out so far, so a demo staff member cannot be a
# real person who happens to write to a bot seeded by mistake.
DEMO_STAFF = (
    (990_000_000_001, "Nguyễn Thị Thu Trang", StaffRole.MANAGER),
    (990_000_000_002, "Lê Văn Hùng", StaffRole.AGENT),
    (990_000_000_003, "Phạm Ngọc Mai", StaffRole.AGENT),
)
HISTORY_DAYS = 730

# --- people --------------------------------------------------------------------------------

FAMILY_NAMES = (
    ("Nguyễn", 38),
    ("Trần", 11),
    ("Lê", 9),
    ("Phạm", 7),
    ("Hoàng", 4),
    ("Huỳnh", 3),
    ("Phan", 4),
    ("Vũ", 3),
    ("Võ", 3),
    ("Đặng", 2),
    ("Bùi", 2),
    ("Đỗ", 2),
    ("Hồ", 2),
    ("Ngô", 2),
    ("Dương", 1),
    ("Lý", 1),
    ("Đinh", 1),
    ("Trương", 1),
    ("Mai", 1),
)
MIDDLE_NAMES = {
    "m": ("Văn", "Hữu", "Đức", "Minh", "Quang", "Thành", "Công", "Gia", "Anh", "Tuấn", "Hoàng"),
    "f": ("Thị", "Ngọc", "Thu", "Thanh", "Minh", "Phương", "Kim", "Bảo", "Hồng", "Mỹ", "Thùy"),
}
GIVEN_NAMES = {
    "m": (
        "An",
        "Bình",
        "Cường",
        "Dũng",
        "Đạt",
        "Hải",
        "Hùng",
        "Huy",
        "Khánh",
        "Long",
        "Minh",
        "Nam",
        "Phong",
        "Quân",
        "Sơn",
        "Thắng",
        "Trung",
        "Tuấn",
        "Việt",
        "Vinh",
        "Khoa",
        "Phúc",
        "Tài",
        "Hiếu",
    ),
    "f": (
        "Anh",
        "Chi",
        "Dung",
        "Giang",
        "Hà",
        "Hạnh",
        "Hằng",
        "Hoa",
        "Hương",
        "Lan",
        "Linh",
        "Mai",
        "Nga",
        "Ngọc",
        "Nhung",
        "Phương",
        "Quỳnh",
        "Thảo",
        "Trang",
        "Yến",
        "Vy",
        "My",
        "Tâm",
        "Uyên",
    ),
}
FOREIGN_NAMES = (
    "Daniel Park",
    "Emily Tran",
    "Kenji Sato",
    "Sophie Martin",
    "James Wilson",
    "Anna Müller",
    "David Nguyen",
    "Olivia Brown",
    "Lucas Dubois",
    "Hannah Kim",
)
OCCUPATIONS = (
    "Nhân viên văn phòng",
    "Giáo viên",
    "Kỹ sư phần mềm",
    "Bác sĩ",
    "Điều dưỡng",
    "Kế toán",
    "Kinh doanh tự do",
    "Sinh viên",
    "Nội trợ",
    "Công nhân",
    "Kiến trúc sư",
    "Luật sư",
    "Dược sĩ",
    "Nhân viên ngân hàng",
    "Tài xế",
    "Đầu bếp",
    "Hưu trí",
    "Thiết kế đồ họa",
)
INDUSTRIES = (
    # (occupation recorded, words in the company name)
    ("Khách sạn", "Khách sạn"),
    ("Nhà hàng", "Dịch vụ Ăn uống"),
    ("Xây dựng", "Xây dựng"),
    ("Bất động sản", "Đầu tư Bất động sản"),
    ("Thương mại", "Thương mại và Dịch vụ"),
    ("Công nghệ thông tin", "Công nghệ"),
    ("Giáo dục", "Giáo dục"),
    ("Y tế", "Y tế"),
    ("Sản xuất", "Sản xuất"),
    ("Vận tải", "Vận tải"),
    ("Nội thất", "Nội thất"),
)
BRANDS = (
    "Minh Phát",
    "Hoàng Long",
    "An Khang",
    "Sao Việt",
    "Phú Thịnh",
    "Đại Dương",
    "Thiên Phúc",
    "Bình Minh",
    "Tân Tiến",
    "Hưng Thịnh",
    "Việt Á",
    "Trường Sơn",
    "Hồng Hà",
    "Kim Ngân",
    "Thành Công",
    "Phương Nam",
    "Đông Á",
    "Ánh Dương",
    "Lộc Phát",
    "Sông Hàn",
    "Biển Xanh",
    "Nam Việt",
    "Hải Âu",
    "Tín Nghĩa",
)
AREAS = ("Miền Bắc", "Miền Trung", "Miền Nam", "Việt Nam", "Sài Gòn", "Hà Thành")

# (region, city as written in addresses, weight, [(street, district)])
PLACES: tuple[tuple[str, str, int, tuple[tuple[str, str], ...]], ...] = (
    (
        "TP. Hồ Chí Minh",
        "TP. Hồ Chí Minh",
        34,
        (
            ("Nguyễn Huệ", "Quận 1"),
            ("Lê Lợi", "Quận 1"),
            ("Hai Bà Trưng", "Quận 1"),
            ("Võ Văn Tần", "Quận 3"),
            ("Cách Mạng Tháng Tám", "Quận 3"),
            ("Nam Kỳ Khởi Nghĩa", "Quận 3"),
            ("Ba Tháng Hai", "Quận 10"),
            ("Sư Vạn Hạnh", "Quận 10"),
            ("Điện Biên Phủ", "Quận Bình Thạnh"),
            ("Xô Viết Nghệ Tĩnh", "Quận Bình Thạnh"),
            ("Phan Xích Long", "Quận Phú Nhuận"),
            ("Hoàng Văn Thụ", "Quận Tân Bình"),
            ("Cộng Hòa", "Quận Tân Bình"),
            ("Quang Trung", "Quận Gò Vấp"),
            ("Nguyễn Thị Thập", "Quận 7"),
            ("Võ Văn Ngân", "TP. Thủ Đức"),
        ),
    ),
    (
        "Hà Nội",
        "Hà Nội",
        30,
        (
            ("Phố Huế", "Quận Hai Bà Trưng"),
            ("Bà Triệu", "Quận Hai Bà Trưng"),
            ("Hàng Bài", "Quận Hoàn Kiếm"),
            ("Hàng Bông", "Quận Hoàn Kiếm"),
            ("Kim Mã", "Quận Ba Đình"),
            ("Đội Cấn", "Quận Ba Đình"),
            ("Láng Hạ", "Quận Đống Đa"),
            ("Tây Sơn", "Quận Đống Đa"),
            ("Nguyễn Chí Thanh", "Quận Đống Đa"),
            ("Xuân Thủy", "Quận Cầu Giấy"),
            ("Trần Duy Hưng", "Quận Cầu Giấy"),
            ("Hoàng Quốc Việt", "Quận Cầu Giấy"),
            ("Nguyễn Trãi", "Quận Thanh Xuân"),
            ("Lạc Long Quân", "Quận Tây Hồ"),
            ("Giải Phóng", "Quận Hoàng Mai"),
            ("Nguyễn Văn Cừ", "Quận Long Biên"),
        ),
    ),
    (
        "Đà Nẵng",
        "Đà Nẵng",
        10,
        (
            ("Bạch Đằng", "Quận Hải Châu"),
            ("Trần Phú", "Quận Hải Châu"),
            ("Nguyễn Văn Linh", "Quận Hải Châu"),
            ("Lê Duẩn", "Quận Hải Châu"),
            ("Điện Biên Phủ", "Quận Thanh Khê"),
            ("Võ Nguyên Giáp", "Quận Sơn Trà"),
            ("Ngô Quyền", "Quận Sơn Trà"),
            ("Lê Văn Hiến", "Quận Ngũ Hành Sơn"),
        ),
    ),
    (
        "Hải Phòng",
        "Hải Phòng",
        8,
        (
            ("Lạch Tray", "Quận Ngô Quyền"),
            ("Lê Lợi", "Quận Ngô Quyền"),
            ("Điện Biên Phủ", "Quận Hồng Bàng"),
            ("Trần Hưng Đạo", "Quận Hồng Bàng"),
            ("Tô Hiệu", "Quận Lê Chân"),
            ("Nguyễn Văn Linh", "Quận Lê Chân"),
        ),
    ),
    (
        "Cần Thơ",
        "Cần Thơ",
        7,
        (
            ("Đường 30 Tháng 4", "Quận Ninh Kiều"),
            ("Hòa Bình", "Quận Ninh Kiều"),
            ("Nguyễn Văn Cừ", "Quận Ninh Kiều"),
            ("Trần Hưng Đạo", "Quận Ninh Kiều"),
            ("Võ Văn Kiệt", "Quận Bình Thủy"),
            ("Quang Trung", "Quận Cái Răng"),
        ),
    ),
    (
        "Huế",
        "Huế",
        4,
        (
            ("Lê Lợi", "phường Phú Hội"),
            ("Hùng Vương", "phường Phú Nhuận"),
            ("Nguyễn Huệ", "phường Vĩnh Ninh"),
            ("Trần Hưng Đạo", "phường Phú Hòa"),
        ),
    ),
    (
        "Khánh Hòa",
        "Khánh Hòa",
        4,
        (
            ("Trần Phú", "TP. Nha Trang"),
            ("Nguyễn Thiện Thuật", "TP. Nha Trang"),
            ("Yersin", "TP. Nha Trang"),
            ("23 Tháng 10", "TP. Nha Trang"),
        ),
    ),
    (
        "Quảng Ninh",
        "Quảng Ninh",
        3,
        (
            ("Trần Hưng Đạo", "TP. Hạ Long"),
            ("Hạ Long", "TP. Hạ Long"),
            ("Nguyễn Văn Cừ", "TP. Hạ Long"),
        ),
    ),
)

# Mobile prefixes after +84: Viettel, Vinaphone, Mobifone.
MOBILE_PREFIXES = (
    "32",
    "33",
    "34",
    "35",
    "36",
    "37",
    "38",
    "39",
    "86",
    "96",
    "97",
    "98",
    "81",
    "82",
    "83",
    "84",
    "85",
    "88",
    "91",
    "94",
    "70",
    "76",
    "77",
    "78",
    "79",
    "89",
    "90",
    "93",
)
EMAIL_DOMAINS = ("example.com", "example.net", "example.org")

# --- the shop ------------------------------------------------------------------------------

# (code, name, category, price in VND, popularity, bought by companies)
PRODUCTS: tuple[tuple[str, str, str, int, int, bool], ...] = (
    ("SP-001", "Nồi cơm điện Sharp 1,8 lít", "Gia dụng", 1_190_000, 9, False),
    ("SP-002", "Nồi chiên không dầu Philips 4,1 lít", "Gia dụng", 2_490_000, 8, False),
    ("SP-003", "Bình đun siêu tốc Sunhouse 1,8 lít", "Gia dụng", 290_000, 9, True),
    ("SP-004", "Máy xay sinh tố Philips HR2221", "Gia dụng", 1_290_000, 6, False),
    ("SP-005", "Lò vi sóng Panasonic 25 lít", "Gia dụng", 2_690_000, 5, True),
    ("SP-006", "Bếp từ đôi Kangaroo KG499N", "Gia dụng", 4_590_000, 4, False),
    ("SP-007", "Máy pha cà phê De'Longhi EC685", "Gia dụng", 5_990_000, 2, True),
    ("SP-008", "Bàn ủi hơi nước Philips GC1905", "Gia dụng", 890_000, 5, False),
    ("SP-009", "Máy sấy tóc Panasonic EH-ND65", "Gia dụng", 490_000, 6, False),
    ("SP-010", "Quạt đứng Senko DH1600", "Gia dụng", 390_000, 7, True),
    ("SP-011", "Máy lọc nước Kangaroo KG100HA", "Gia dụng", 6_390_000, 3, True),
    ("SP-012", "Máy lọc không khí Xiaomi 4 Lite", "Điện gia dụng", 2_990_000, 5, True),
    ("SP-013", "Máy hút bụi không dây Dyson V8", "Điện gia dụng", 9_990_000, 2, False),
    ("SP-014", "Robot hút bụi Ecovacs Deebot N10", "Điện gia dụng", 8_490_000, 2, False),
    ("SP-015", "Máy nước nóng Ariston 30 lít", "Điện gia dụng", 3_490_000, 3, True),
    ("SP-016", "Tủ lạnh Samsung Inverter 360 lít", "Điện lạnh", 12_490_000, 3, True),
    ("SP-017", "Máy giặt LG Inverter 9 kg", "Điện lạnh", 8_990_000, 3, True),
    ("SP-018", "Điều hòa Daikin Inverter 1 HP", "Điện lạnh", 10_990_000, 3, True),
    ("SP-019", "Điều hòa Panasonic Inverter 1,5 HP", "Điện lạnh", 13_490_000, 2, True),
    ("SP-020", "Tủ đông Sanaky 280 lít", "Điện lạnh", 7_290_000, 1, True),
    ("SP-021", "Tivi Sony Bravia 55 inch 4K", "Điện tử", 16_990_000, 2, True),
    ("SP-022", "Tivi Samsung 43 inch Crystal UHD", "Điện tử", 7_990_000, 3, True),
    ("SP-023", "Loa Bluetooth JBL Flip 6", "Điện tử", 2_790_000, 4, False),
    ("SP-024", "Tai nghe Sony WH-1000XM5", "Điện tử", 7_490_000, 2, False),
    ("SP-025", "Laptop Dell Inspiron 15 3530", "Máy tính", 17_990_000, 2, True),
    ("SP-026", "Màn hình LG 27 inch IPS", "Máy tính", 4_290_000, 2, True),
    ("SP-027", "Điện thoại Samsung Galaxy A55", "Điện thoại", 9_490_000, 3, False),
    ("SP-028", "Máy in Canon LBP2900", "Máy tính", 3_690_000, 1, True),
)

PAYMENT_TERMS_PERSON = (
    ("Thanh toán khi nhận hàng", 50),
    ("Chuyển khoản trước", 25),
    ("Thẻ tín dụng tại cửa hàng", 15),
    ("Trả góp 0% 6 tháng", 10),
)
PAYMENT_TERMS_COMPANY = (
    ("Chuyển khoản 30 ngày", 60),
    ("Chuyển khoản 15 ngày", 20),
    ("Chuyển khoản trước", 20),
)


# --- what gets generated -------------------------------------------------------------------


class OrderLineRow(TypedDict):
    """One line of a generated order, as its order_lines row."""

    product_code: str
    product_name: str
    quantity: int
    unit_price: int
    discount: int
    amount: int


@dataclass
class DemoShop:
    """Rows ready to insert; each order carries its lines under ``"lines"``."""

    products: list[dict[str, Any]] = field(default_factory=list)
    customers: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class SeedReport:
    customers: int = 0
    orders: int = 0
    inquiries: int = 0
    products: int = 0
    staff: int = 0
    faq_created: int = 0
    faq_updated: int = 0
    already_seeded: bool = False
    customer_ids: set[int] = field(default_factory=set)
    segmentation: TierCounts | None = None  # the full run after seeding, if one ran
    care: Any = None  # the care demo written after the segmentation (care.analytics.demo)


def _pick(rng: random.Random, weighted: Sequence[tuple[T, int]]) -> T:
    return rng.choices([item for item, _ in weighted], [w for _, w in weighted])[0]


class _Generator:
    def __init__(self, now: datetime, seed: int, timezone: str) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - demo data, not a secret
        self.now = now
        self.zone = ZoneInfo(timezone)
        self.phones = {DEMO_PHONE}
        self.emails: set[str] = set()
        self.org_names: set[str] = set()
        self.shop = DemoShop()
        self.products = {code: (name, price) for code, name, _, price, _, _ in PRODUCTS}

    # --- customers ---------------------------------------------------------------------

    def person_name(self, sex: str) -> str:
        rng = self.rng
        family = _pick(rng, FAMILY_NAMES)
        return f"{family} {rng.choice(MIDDLE_NAMES[sex])} {rng.choice(GIVEN_NAMES[sex])}"

    def phone(self) -> str:
        while True:
            number = f"+84{self.rng.choice(MOBILE_PREFIXES)}{self.rng.randrange(10**7):07d}"
            if number not in self.phones:
                self.phones.add(number)
                return number

    def email(self, local: str, domain: str | None = None) -> str:
        base = ".".join(fold(local).split())
        domain = domain or self.rng.choice(EMAIL_DOMAINS)
        address = f"{base}@{domain}"
        while address in self.emails:
            address = f"{base}{self.rng.randrange(10, 100)}@{domain}"
        self.emails.add(address)
        return address

    def address(self) -> tuple[str, str]:
        region, city, _, streets = self.rng.choices(PLACES, [p[2] for p in PLACES])[0]
        street, district = self.rng.choice(streets)
        number = self.rng.randrange(1, 400)
        if self.rng.random() < 0.2:
            number_text = f"{number}/{self.rng.randrange(2, 60)}"  # an alley: hẻm, ngõ
        else:
            number_text = str(number)
        return region, f"{number_text} {street}, {district}, {city}"

    def customer(self, number: int) -> dict[str, Any]:
        rng = self.rng
        region, address = self.address()
        english = rng.random() < 0.1
        values: dict[str, Any] = {
            "code": f"KH-{number:04d}",
            "phone": self.phone(),
            "region": region,
            "address": address,
            "language": "en" if english else "vi",
            "source": "demo",
        }
        if rng.random() < 0.15:
            occupation, words = rng.choice(INDUSTRIES)
            form = "Công ty TNHH" if rng.random() < 0.6 else "Công ty Cổ phần"
            name = f"{form} {words} {rng.choice(BRANDS)}"
            while name in self.org_names:
                name = f"{form} {words} {rng.choice(BRANDS)} {rng.choice(AREAS)}"
            self.org_names.add(name)
            brand_slug = "".join(fold(name.split(words, 1)[1]).split())
            values.update(
                kind="organization",
                name=name,
                contact_person=self.person_name(rng.choice("mf")),
                email=self.email("lienhe", f"{brand_slug}.example.com"),
                occupation=occupation,
                size=int(math.exp(rng.uniform(math.log(5), math.log(500)))),
                birthday=date(  # the founding day
                    rng.randrange(1995, 2023), rng.randrange(1, 13), rng.randrange(1, 29)
                ),
            )
        else:
            sex = rng.choice("mf")
            if english and rng.random() < 0.5:
                name = rng.choice(FOREIGN_NAMES)
            else:
                name = self.person_name(sex)
            parts = name.split()
            email = None
            if rng.random() < 0.9:
                email = self.email(f"{parts[-1]} {parts[0]}" if rng.random() < 0.7 else name)
            age_days = rng.randrange(18 * 365, 70 * 365)
            values.update(
                kind="individual",
                name=name,
                contact_person=None,
                email=email,
                occupation=rng.choice(OCCUPATIONS),
                size=_pick(rng, ((1, 10), (2, 20), (3, 25), (4, 30), (5, 10), (6, 5))),
                birthday=self.now.date() - timedelta(days=age_days),
            )
        consent = rng.random() < 0.85
        values["consent_telegram"] = values["consent_email"] = consent
        return values

    # --- orders ------------------------------------------------------------------------

    def shop_time(self, day: date) -> datetime:
        """A moment during opening hours (8:00-21:00 local) on ``day``, in UTC."""
        minutes = self.rng.randrange(8 * 60, 21 * 60)
        local = datetime.combine(day, time(minutes // 60, minutes % 60), self.zone)
        if local >= self.now:  # today, later than now: earlier today instead
            return self.now - timedelta(minutes=self.rng.randrange(5, 180))
        return local.astimezone(UTC)

    def basket(self, company: bool, volume: float) -> list[tuple[str, int]]:
        rng = self.rng
        choices = [p for p in PRODUCTS if p[5]] if company else list(PRODUCTS)
        count = _pick(rng, ((1, 70), (2, 22), (3, 8)))
        picked = rng.choices(choices, [p[4] for p in choices], k=count)
        basket: dict[str, int] = {}
        for code, *_ in picked:
            if company:
                quantity = max(1, round(rng.uniform(1, 4) * volume))
            else:
                quantity = 2 if rng.random() < 0.08 else 1
            basket[code] = basket.get(code, 0) + quantity
        return list(basket.items())

    def order(
        self,
        customer: dict[str, Any],
        placed_at: datetime,
        basket: list[tuple[str, int]],
        *,
        kind: str = "order",
        status: str | None = None,
        code: str | None = None,
    ) -> dict[str, Any]:
        rng = self.rng
        company = customer["kind"] == "organization"
        lines: list[OrderLineRow] = []
        for product_code, quantity in basket:
            name, price = self.products[product_code]
            lines.append(
                {
                    "product_code": product_code,
                    "product_name": name,
                    "quantity": quantity,
                    "unit_price": price,
                    "discount": 0,
                    "amount": price * quantity,
                }
            )
        gross = sum(line["amount"] for line in lines)
        rate = 0.0
        if company and gross >= 50_000_000:
            rate = rng.choice((0.05, 0.07, 0.1))
        elif rng.random() < 0.3:
            rate = rng.choice((0.03, 0.05, 0.1))
        discount = int(gross * rate) // 10_000 * 10_000
        biggest = max(lines, key=lambda line: line["amount"])
        biggest["discount"] = discount
        biggest["amount"] -= discount
        amount = gross - discount
        age = self.now - placed_at
        delivered_at = None
        if kind == "inquiry":
            margin = 0
            status = status or self.inquiry_status(age)
        else:
            margin = int(amount * rng.uniform(0.10, 0.35)) // 1_000 * 1_000
            status = status or self.order_status(age)
            if status in ("delivered", "returned"):
                delivered_at = min(
                    placed_at + timedelta(hours=rng.uniform(20, 96)),
                    self.now - timedelta(minutes=30),
                )
        terms = PAYMENT_TERMS_COMPANY if company else PAYMENT_TERMS_PERSON
        payment = _pick(rng, terms)
        if payment.startswith("Trả góp") and amount < 3_000_000:
            payment = "Thanh toán khi nhận hàng"
        promised = placed_at.astimezone(self.zone).date() + timedelta(days=rng.randrange(1, 5))
        order = {
            "code": code,
            "customer_code": customer["code"],
            "kind": kind,
            "status": status,
            "placed_at": placed_at,
            "delivered_at": delivered_at,
            "delivery_date": promised if kind == "order" else None,
            "amount": amount,
            "margin": margin,
            "discount": discount,
            "payment_terms": payment if kind == "order" else None,
            "lines": lines,
        }
        self.shop.orders.append(order)
        return order

    def order_status(self, age: timedelta) -> str:
        rng = self.rng
        days = age.total_seconds() / 86_400
        if days < 1:
            return _pick(rng, (("new", 4), ("confirmed", 6)))
        if days < 3:
            return _pick(rng, (("confirmed", 2), ("shipping", 8)))
        if days < 6:
            return _pick(rng, (("shipping", 3), ("delivered", 7)))
        return _pick(rng, (("delivered", 92), ("cancelled", 5), ("returned", 3)))

    def inquiry_status(self, age: timedelta) -> str:
        if age < timedelta(days=30):
            return _pick(self.rng, (("open", 4), ("quoted", 4), ("lost", 2)))
        return _pick(self.rng, (("lost", 6), ("converted", 4)))

    def history(self, customer: dict[str, Any]) -> None:
        """Orders and inquiries over two years: few customers buy much, some stop buying."""
        rng = self.rng
        company = customer["kind"] == "organization"
        start = self.now - timedelta(days=HISTORY_DAYS * math.sqrt(rng.random()))
        end = self.now
        if rng.random() < 0.2:  # lapsed: bought for a while, then stopped
            end = start + (self.now - start) * rng.uniform(0.1, 0.7)
        prospect = rng.random() < 0.12
        appetite = min(rng.paretovariate(1.2), 15.0)
        count = 0 if prospect else max(1, round(appetite * (2.0 if company else 1.3)))
        span = (end - start).total_seconds()
        days = sorted(
            (start + timedelta(seconds=rng.uniform(0, span))).astimezone(self.zone).date()
            for _ in range(count)
        )
        volume = 1.0 + appetite / 4 if company else 1.0
        for day in days:
            self.order(customer, self.shop_time(day), self.basket(company, volume))
        if prospect or rng.random() < 0.2:
            for _ in range(rng.randrange(1, 3)):
                day = (
                    (self.now - timedelta(days=rng.uniform(0, HISTORY_DAYS)))
                    .astimezone(self.zone)
                    .date()
                )
                self.order(
                    customer, self.shop_time(day), self.basket(company, volume), kind="inquiry"
                )

    # --- the demo customer ---------------------------------------------------------------

    def demo_customer(self) -> None:
        """The customer the demo links to its Telegram account, with a story to show."""
        customer: dict[str, Any] = {
            "code": DEMO_CUSTOMER_CODE,
            "kind": "individual",
            "name": "Nguyễn Thị Lan",  # "Lan" in the demo chat
            "contact_person": None,
            "phone": DEMO_PHONE,
            "email": "lan.nguyen@example.com",
            "region": "TP. Hồ Chí Minh",
            "address": "230 Cách Mạng Tháng Tám, Quận 3, TP. Hồ Chí Minh",
            "occupation": "Kiến trúc sư",
            "size": 3,
            "birthday": date(1991, 3, 8),
            "language": "vi",
            "consent_telegram": True,
            "consent_email": True,
            "source": "demo",
        }
        self.shop.customers.append(customer)
        self.emails.add(customer["email"])
        now = self.now
        story = (
            ("DEMO-DH-01", 420, [("SP-002", 1)], "delivered"),
            ("DEMO-DH-02", 250, [("SP-012", 1), ("SP-003", 1)], "delivered"),
            ("DEMO-DH-03", 90, [("SP-022", 1)], "delivered"),
            ("DEMO-DH-04", 4, [("SP-013", 1)], "delivered"),
            ("DEMO-DH-05", 1, [("SP-024", 1)], "shipping"),
        )
        for code, days_ago, basket, status in story:
            placed = self.shop_time((now - timedelta(days=days_ago)).astimezone(self.zone).date())
            order = self.order(customer, placed, basket, status=status, code=code)
            if code == "DEMO-DH-04":  # delivered two days ago: thanks and survey are due
                order["delivered_at"] = now - timedelta(days=2)
        placed = self.shop_time((now - timedelta(days=3)).astimezone(self.zone).date())
        self.order(
            customer, placed, [("SP-016", 1)], kind="inquiry", status="quoted", code="DEMO-YC-01"
        )


def generate(
    now: datetime, *, customers: int = 300, seed: int = 7, timezone: str = "Asia/Ho_Chi_Minh"
) -> DemoShop:
    """The whole demo shop as plain rows: same seed and clock, same shop."""
    generator = _Generator(now, seed, timezone)
    generator.shop.products = [
        {"code": code, "name": name, "category": category, "price": price, "active": True}
        for code, name, category, price, _, _ in PRODUCTS
    ]
    generator.demo_customer()
    for number in range(1, customers + 1):
        customer = generator.customer(number)
        generator.shop.customers.append(customer)
        generator.history(customer)
    # Codes follow the order of placing, as a shop's own numbering would.
    generator.shop.orders.sort(key=lambda order: order["placed_at"])
    numbers = {"order": 0, "inquiry": 0}
    for order in generator.shop.orders:
        if order["code"] is None:
            numbers[order["kind"]] += 1
            prefix, width = ("DH", 6) if order["kind"] == "order" else ("YC", 5)
            order["code"] = f"{prefix}-{numbers[order['kind']]:0{width}d}"
    return generator.shop


async def write_demo_shop(
    db: Database, now: datetime, timezone: str, *, customers: int = 300, seed: int = 7
) -> SeedReport:
    """Fill the database with the demo shop's staff, customers and orders.

    Staff already present are kept; customers and orders are skipped as a whole when demo
    customers exist, so a second run adds nothing. (The FAQ is the caller's: see
    ``Services.seed_demo``.)
    """
    report = SeedReport()
    async with db.uow() as uow:
        session = uow.session
        exists = await session.scalar(
            select(Customer.id)
            .where((Customer.code == DEMO_CUSTOMER_CODE) | (Customer.source == "demo"))
            .limit(1)
        )
        known_staff = set(await session.scalars(select(Staff.telegram_user_id)))
        staff = [
            {"telegram_user_id": tid, "name": name, "role": str(role), "active": True}
            for tid, name, role in DEMO_STAFF
            if tid not in known_staff
        ]
        if staff:
            await session.execute(insert(Staff), staff)
        report.staff = len(staff)
        if exists is not None:
            report.already_seeded = True
        else:
            shop = generate(now, customers=customers, seed=seed, timezone=timezone)
            await _write(session, shop, report)
        await uow.commit()
    return report


async def _write(session: AsyncSession, shop: DemoShop, report: SeedReport) -> None:
    known_products = set(await session.scalars(select(Product.code)))
    products = [p for p in shop.products if p["code"] not in known_products]
    await insert_rows(session, Product, products)
    report.products = len(products)
    product_ids = await code_map(session, Product.code, Product.id)

    await insert_rows(session, Customer, shop.customers)
    customer_ids = await code_map(
        session, Customer.code, Customer.id, [c["code"] for c in shop.customers]
    )
    report.customers = len(shop.customers)
    report.customer_ids = set(customer_ids.values())

    rows = []
    for order in shop.orders:
        row = {k: v for k, v in order.items() if k not in ("customer_code", "lines")}
        row["customer_id"] = customer_ids[order["customer_code"]]
        rows.append(row)
    await insert_rows(session, Order, rows)
    report.orders = sum(1 for o in shop.orders if o["kind"] == "order")
    report.inquiries = len(shop.orders) - report.orders

    order_ids = await code_map(session, Order.code, Order.id, [o["code"] for o in shop.orders])
    lines = [
        {
            "order_id": order_ids[order["code"]],
            "product_id": product_ids.get(line["product_code"]),
            **{key: value for key, value in line.items() if key != "product_code"},
        }
        for order in shop.orders
        for line in order["lines"]
    ]
    await insert_rows(session, OrderLine, lines)
