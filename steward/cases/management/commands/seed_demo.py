"""Demo data for a telecom-like company, written through the services exactly as production does.

Every case is played through the case services with explicit, back-dated timestamps (`at=`), so the
event log, versions and timestamps are exactly what real use would leave. Deterministic for a seed
(relative to the minute it runs).
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from steward.accounts.models import Role, Team, User
from steward.accounts.services import absence_create, user_create, user_set_backup
from steward.cases import services as cs
from steward.cases import task_services as tasks
from steward.cases.models import Case, Category, Channel, CommitmentState, Kind, Priority, SectorTask, Status
from steward.core.business_calendar import add_business_minutes, calendar_from_settings
from steward.costs.demo import seed_costs, seed_rates
from steward.customers.demo import seed_economics
from steward.customers.models import Customer
from steward.customers.services import customer_create
from steward.decisions.demo import seed_training_decision
from steward.notifications.services import notifications_muted
from steward.reviews import services as reviews
from steward.reviews.models import RootCause
from steward.sectors.models import Distance, Sector, TaskKind
from steward.sectors.services import sector_create
from steward.surveys.demo import seed_surveys
from steward.surveys.services import surveys_muted

SECTORS = [
    ("Front desk", Distance.FRONT_LINE),
    ("Account executives", Distance.FRONT_LINE),
    ("Technical service", Distance.MIDDLE),
    ("Billing", Distance.BACK_OFFICE),
    ("Warehouse", Distance.FAR_BACK_OFFICE),
    ("Logistics", Distance.FAR_BACK_OFFICE),
]
CATEGORIES = ["Device fault", "Billing", "Delivery", "Plan change", "Network coverage", "Contract"]
ADVISERS = [
    ("Ana", "García"),
    ("Somchai", "Srisuk"),
    ("Olga", "Ivanova"),
    ("Peter", "Miller"),
    ("Lucía", "Fernández"),
    ("Niran", "Chaiyaporn"),
    ("Dmitri", "Sokolov"),
    ("Emma", "Clarke"),
    ("Carlos", "Ruiz"),
    ("Malee", "Thongdee"),
    ("Irina", "Petrova"),
    ("James", "Turner"),
]
CUSTOMER_NAMES = {
    "en": (
        ["Oliver", "Amelia", "George", "Isla", "Harry", "Grace", "Jack", "Sophie"],
        ["Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans", "Thomas", "Walker"],
    ),
    "th": (
        ["สมชาย", "สมหญิง", "ประเสริฐ", "วิไล", "อนันต์", "กัญญา", "ธนพล", "ศิริพร"],
        ["ใจดี", "ศรีสุข", "แสงทอง", "บุญมา", "รุ่งเรือง", "วงศ์ใหญ่", "ทองดี", "มั่นคง"],
    ),
    "ru": (
        ["Алексей", "Мария", "Сергей", "Елена", "Андрей", "Наталья", "Иван", "Ольга"],
        ["Иванов", "Смирнов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Козлов", "Новиков"],
    ),
    "es": (
        ["Javier", "Carmen", "Miguel", "Lucía", "Pablo", "Elena", "Diego", "Marta"],
        ["García", "Martínez", "López", "Sánchez", "Pérez", "Gómez", "Martín", "Jiménez"],
    ),
}
# What customers write, by category, in their own language: (subject, first message, follow-up message).
TEXTS: dict[str, dict[str, tuple[str, str, str]]] = {
    "en": {
        "Device fault": (
            "Phone does not charge",
            "My new phone stopped charging after three days. I need it for work.",
            "Any news on my phone? I still cannot charge it.",
        ),
        "Billing": (
            "Charged twice this month",
            "My bill shows the monthly fee twice. Please refund the extra charge.",
            "I have not seen the refund yet.",
        ),
        "Delivery": (
            "Order has not arrived",
            "My order was due on Monday and has still not arrived.",
            "The tracking page has not changed for three days.",
        ),
        "Plan change": (
            "Change to a bigger data plan",
            "I would like to move to the 50 GB plan from next month.",
            "Is the plan change done?",
        ),
        "Network coverage": (
            "No signal at home",
            "Since last week I have no signal at home in the evening.",
            "Still no signal in the evenings.",
        ),
        "Contract": (
            "Contract end date",
            "When does my contract end, and what are my options?",
            "I am still waiting for the contract details.",
        ),
    },
    "th": {
        "Device fault": (
            "โทรศัพท์ชาร์จไฟไม่เข้า",
            "โทรศัพท์เครื่องใหม่ชาร์จไฟไม่เข้าหลังใช้งานได้สามวัน ต้องใช้ทำงานค่ะ",
            "มีความคืบหน้าเรื่องโทรศัพท์ไหมคะ ยังชาร์จไม่ได้เลย",
        ),
        "Billing": (
            "ถูกเรียกเก็บเงินซ้ำ",
            "ใบแจ้งหนี้เดือนนี้เรียกเก็บค่าบริการรายเดือนสองครั้ง ขอคืนเงินส่วนที่เกินครับ",
            "ยังไม่ได้รับเงินคืนครับ",
        ),
        "Delivery": ("ยังไม่ได้รับสินค้า", "สินค้าที่สั่งควรมาถึงวันจันทร์ แต่ยังไม่ได้รับเลย", "สถานะการจัดส่งไม่เปลี่ยนมาสามวันแล้ว"),
        "Plan change": (
            "ขอเปลี่ยนแพ็กเกจอินเทอร์เน็ต",
            "อยากเปลี่ยนเป็นแพ็กเกจ 50 GB ตั้งแต่เดือนหน้าค่ะ",
            "เปลี่ยนแพ็กเกจเรียบร้อยหรือยังคะ",
        ),
        "Network coverage": (
            "ไม่มีสัญญาณที่บ้าน",
            "ตั้งแต่สัปดาห์ที่แล้ว ตอนเย็นที่บ้านไม่มีสัญญาณเลยครับ",
            "ตอนเย็นยังไม่มีสัญญาณเหมือนเดิมครับ",
        ),
        "Contract": ("วันสิ้นสุดสัญญา", "สัญญาของฉันสิ้นสุดเมื่อไร และมีทางเลือกอะไรบ้างคะ", "ยังรอรายละเอียดสัญญาอยู่ค่ะ"),
    },
    "ru": {
        "Device fault": (
            "Телефон не заряжается",
            "Новый телефон перестал заряжаться через три дня. Он нужен мне для работы.",
            "Есть новости по телефону? Он всё ещё не заряжается.",
        ),
        "Billing": (
            "Двойное списание",
            "В счёте за месяц абонентская плата списана дважды. Верните, пожалуйста, лишнее.",
            "Возврат пока не поступил.",
        ),
        "Delivery": (
            "Заказ не доставлен",
            "Заказ должны были доставить в понедельник, но его до сих пор нет.",
            "Статус доставки не меняется уже три дня.",
        ),
        "Plan change": (
            "Смена тарифа",
            "Хочу перейти на тариф 50 ГБ со следующего месяца.",
            "Тариф уже сменили?",
        ),
        "Network coverage": (
            "Нет сигнала дома",
            "С прошлой недели вечером дома нет сигнала.",
            "Вечером сигнала по-прежнему нет.",
        ),
        "Contract": (
            "Срок договора",
            "Когда заканчивается мой договор и какие есть варианты?",
            "Всё ещё жду информацию по договору.",
        ),
    },
    "es": {
        "Device fault": (
            "El teléfono no carga",
            "Mi teléfono nuevo dejó de cargar a los tres días. Lo necesito para trabajar.",
            "¿Hay novedades? Sigo sin poder cargarlo.",
        ),
        "Billing": (
            "Cobro duplicado",
            "La factura de este mes incluye dos veces la cuota mensual. Devuélvanme el cargo extra.",
            "Todavía no he recibido el reembolso.",
        ),
        "Delivery": (
            "El pedido no ha llegado",
            "Mi pedido debía llegar el lunes y aún no ha llegado.",
            "El seguimiento no cambia desde hace tres días.",
        ),
        "Plan change": (
            "Cambio a un plan mayor",
            "Quiero pasar al plan de 50 GB desde el mes que viene.",
            "¿Ya está hecho el cambio?",
        ),
        "Network coverage": (
            "Sin cobertura en casa",
            "Desde la semana pasada no tengo cobertura en casa por la tarde.",
            "Sigo sin cobertura por las tardes.",
        ),
        "Contract": (
            "Fin del contrato",
            "¿Cuándo termina mi contrato y qué opciones tengo?",
            "Sigo esperando los datos del contrato.",
        ),
    },
}
REPLIES = {
    "en": (
        "Thank you, I am looking into this now and will keep you informed.",
        "This is solved on our side: please check and confirm that it works for you.",
    ),
    "th": (
        "ขอบคุณค่ะ กำลังตรวจสอบให้และจะแจ้งความคืบหน้าให้ทราบค่ะ",
        "ดำเนินการแก้ไขเรียบร้อยแล้ว กรุณาตรวจสอบและยืนยันว่าใช้งานได้ค่ะ",
    ),
    "ru": (
        "Спасибо, я уже разбираюсь и буду держать вас в курсе.",
        "С нашей стороны всё исправлено: проверьте и подтвердите, пожалуйста.",
    ),
    "es": (
        "Gracias, ya lo estoy revisando y le mantendré informado.",
        "Está resuelto por nuestra parte: compruébelo y confírmenos, por favor.",
    ),
}
NEXT_STEPS = {
    "en": "We will call you with the result",
    "th": "เราจะโทรแจ้งผลให้ทราบ",
    "ru": "Мы позвоним вам с результатом",
    "es": "Le llamaremos con el resultado",
}
NOTES = [
    "Checked the account history: no earlier incident of this kind.",
    "Asked technical service for the diagnosis report.",
    "Customer prefers to be called after 17:00.",
    "Billing confirms the duplicate charge; refund requested.",
]


# What the adviser writes in a handoff, by category: (what the customer needs, what has been done).
HANDOFF_TEXTS = {
    "Device fault": (
        "needs a phone that charges again; it stopped after three days and is needed for work",
        "Checked the warranty (valid), ran the charging test in store and asked the warehouse for a "
        "replacement unit.",
    ),
    "Billing": (
        "needs the duplicated monthly fee refunded on this month's bill",
        "Confirmed the double charge on the invoice and opened a refund request with billing.",
    ),
    "Delivery": (
        "needs the order that was due on Monday delivered, or a firm new date",
        "Checked the tracking: stuck at the depot. Asked logistics for the new delivery slot.",
    ),
    "Plan change": (
        "wants to move to the 50 GB plan from the start of next month",
        "Explained the new price and checked the contract allows the change; change not yet scheduled.",
    ),
    "Network coverage": (
        "has had no signal at home in the evenings since last week",
        "Checked the coverage map and open incidents for the area; reported it to technical service.",
    ),
    "Contract": (
        "wants to know when the contract ends and the options after it",
        "Looked up the contract: ends in three months. Prepared the renewal and SIM-only options.",
    ),
}
STAFF_CONFIRMATIONS = {
    Channel.PHONE: "Customer called back and confirmed it works now.",
    Channel.WALK_IN: "Customer came to the store and confirmed the solution in person.",
    Channel.CHAT: "Customer confirmed in the chat that everything is fine.",
}
SECTOR_NOTES = {
    "Device fault": "Waiting for the warehouse to ship the replacement unit.",
    "Billing": "Refund request is with billing; they answer within two working days.",
    "Delivery": "Logistics is checking the depot for the parcel.",
    "Plan change": "Billing has to approve the plan change before the next cycle.",
    "Network coverage": "Technical service is measuring the signal in the area.",
    "Contract": "Account executives are preparing the renewal offer.",
}
UNCONFIRMED_REASONS = [
    "No answer from the customer after two reminders.",
    "Customer stopped answering; the refund is visible on the account.",
    "Customer unreachable by phone and e-mail for a week after the fix.",
]

# Kinds of sector task with their internal targets (business minutes), by sector.
TASK_KINDS = {
    "Billing": [("Refund", 960), ("Invoice correction", 480), ("Goodwill credit", 240)],
    "Warehouse": [("Check stock", 240), ("Ship replacement unit", 960)],
    "Logistics": [("Trace the parcel", 480), ("Reschedule delivery", 480)],
}
# The steps a case of a category hands to sectors, in order: (sector, kind, what the adviser asks).
# A delivery complaint passes warehouse, logistics and billing: the "late delivery" value chain.
TASK_CHAINS: dict[tuple[str, bool], list[tuple[str, str, str]]] = {
    ("Delivery", True): [
        (
            "Warehouse",
            "Check stock",
            "Is the ordered item in stock and packed? The customer is still waiting.",
        ),
        ("Logistics", "Reschedule delivery", "Book a firm new delivery slot and tell me the date."),
        ("Billing", "Goodwill credit", "Credit the delivery fee for the late delivery."),
    ],
    ("Delivery", False): [("Logistics", "Trace the parcel", "Find the parcel: tracking has not moved.")],
    ("Billing", True): [("Billing", "Refund", "Refund the duplicated monthly fee.")],
    ("Billing", False): [("Billing", "Invoice correction", "Correct the invoice: the fee appears twice.")],
    ("Device fault", True): [
        ("Warehouse", "Ship replacement unit", "Send a replacement unit to the customer.")
    ],
    ("Device fault", False): [
        ("Warehouse", "Ship replacement unit", "Send a replacement unit to the customer.")
    ],
}
TASK_SHARE = 0.35  # cases of those categories that need a sector (delivery complaints always do)
TASK_RETURN_SHARE = 0.1  # returned to the sender (information missing), then sent again
TASK_RETURN_REASONS = [
    "The order number is missing: which order is it?",
    "Please attach the invoice the customer refers to.",
    "This needs the customer's delivery address confirmed first.",
]
TASK_RESULTS = [
    "Done, see the account history.",
    "Completed as asked.",
    "Done; the customer will see it tomorrow.",
]

HORIZON_DAYS = 180  # the demo covers the last six months
# Cases arrive at a steady rate over the period; what becomes of one depends on its age. Old cases are
# almost all closed (most confirmed); the last two weeks hold the open work in every status.
FATES_BY_AGE: list[tuple[float, dict[str, float]]] = [
    (1, {"new": 55, "open": 20, "waiting_customer": 10, "confirmed": 15}),
    (
        14,
        {
            "open": 14,
            "waiting_customer": 12,
            "waiting_sector": 12,
            "proposed": 16,
            "reopened": 6,
            "confirmed": 34,
            "unconfirmed": 6,
        },
    ),
    (
        HORIZON_DAYS,
        {"confirmed": 88, "unconfirmed": 8.5, "proposed": 1.5, "waiting_sector": 1.5, "open": 0.5},
    ),
]
CLOSED_FATES = ("confirmed", "unconfirmed")
# Contacts come mostly in business hours and less at weekends.
HOUR_WEIGHTS = [0.2] * 7 + [1, 3, 5, 5, 5, 4, 4, 5, 5, 4, 3, 2, 1.5, 1, 0.5, 0.3, 0.2]  # 00:00..23:00
FOLLOW_UP_SHARE = 0.04  # cases that are a repeat contact on a need closed a few days before


@dataclass
class Plan:
    start: datetime
    fate: str
    customer: Customer
    category: Category
    follow_up: bool = False


class Demo:
    """The state one seeding run needs: people, who is away when, categories, the clock."""

    def __init__(self, rng: random.Random, now: datetime, people: dict[str, Any], categories: list[Category]):
        self.rng = rng
        self.now = now
        self.advisers: list[User] = people["advisers"]
        self.executives: set[int] = people["account_executives"]
        self.manager: User = people["manager"]
        self.away: dict[int, list[tuple[datetime, datetime]]] = people["away"]
        self.course: datetime = people["course"]
        self.sectors: dict[str, Sector] = people["sectors"]
        self.task_kinds: dict[tuple[str, str], TaskKind] = people["task_kinds"]
        self.sector_members: dict[str, User] = people["sector_members"]
        self.calendar = calendar_from_settings()
        self.categories = categories

    def is_away(self, user: User, at: datetime) -> bool:
        return any(start <= at < end for start, end in self.away.get(user.pk, ()))

    def acting(self, owner: User, at: datetime) -> User:
        """Who acts for the owner at `at`: the owner, or the backup while the owner is away."""
        if self.is_away(owner, at) and owner.backup is not None:
            return owner.backup
        return owner

    def pick_owner(self, at: datetime) -> User:
        present = [a for a in self.advisers if not self.is_away(a, at)]
        return self.rng.choice(present or self.advisers)


class Command(BaseCommand):
    help = (
        "Seed demo data (once): sectors, teams, users with backups, absences, customers and cases "
        "through the services."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cases", type=int, default=2000, help="number of cases (default 2000)")
        parser.add_argument("--customers", type=int, default=300, help="number of customers (default 300)")
        parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")

    def handle(self, *args: Any, **opts: Any) -> None:
        # Demo history notifies nobody: no mail about months-old replies, no failed-mail notices.
        with notifications_muted(), surveys_muted():
            self._seed(**opts)

    def _seed(self, **opts: Any) -> None:
        if User.objects.exists():
            self.stdout.write("Demo data already present: nothing to do.")
            return
        total, n_customers = opts["cases"], opts["customers"]
        if total < 0 or n_customers < 1:
            raise CommandError("--cases must be 0 or more and --customers at least 1.")
        rng = random.Random(opts["seed"])
        password = os.environ.get("DEMO_PASSWORD", "steward-demo")
        now = timezone.now().replace(second=0, microsecond=0)
        with transaction.atomic():
            people = self._people(password, now)
            seed_rates(manager=people["manager"], now=now, horizon_days=HORIZON_DAYS)
            customers = self._customers(rng, n_customers)
            categories = [Category.objects.get_or_create(name=n)[0] for n in CATEGORIES]
        demo = Demo(rng, now, people, categories)
        plans = self._plans(demo, customers, total)
        follow_ups = total - len(plans)
        created = 0
        done_pct = 0

        def made() -> None:
            nonlocal created, done_pct
            created += 1
            pct = created * 100 // total
            if pct >= done_pct + 10 or created == total:
                done_pct = pct - pct % 10
                self.stdout.write(f"  cases: {created}/{total} ({pct} %)")

        for batch_start in range(0, len(plans), 50):
            with transaction.atomic():
                for i, plan in enumerate(plans[batch_start : batch_start + 50], start=batch_start):
                    closed_at = self._case(demo, plan)
                    made()
                    # Spread the repeat contacts over the whole period: the chance follows what is left.
                    chance = follow_ups / (0.8 * (len(plans) - i) + 1)
                    if closed_at is not None and follow_ups and rng.random() < chance:
                        start = closed_at + timedelta(hours=rng.uniform(2, 6 * 24))
                        if start < now - timedelta(hours=2):
                            self._case(demo, Plan(start, "confirmed", plan.customer, plan.category, True))
                            made()
                            follow_ups -= 1
        # Repeat contacts that found no closed case to follow become ordinary cases: the count is exact.
        with transaction.atomic():
            while created < total:
                self._case(demo, self._plan(demo, customers))
                made()
            self._review(demo)
        # Surveys of the closed cases (sent, some answered, low scores followed up) and one NPS round.
        answered = seed_surveys(rng=rng, now=now, manager=demo.manager)
        self.stdout.write(f"  surveys: {answered} case surveys answered")
        # Costs come last: compensation is booked after a case's last event (its survey included), so
        # every case's event log stays in time order.
        with transaction.atomic():
            seed_costs(manager=demo.manager, now=now, rng=rng, horizon_days=HORIZON_DAYS)
            seed_economics(manager=demo.manager, now=now, horizon_days=HORIZON_DAYS)
        # The decision register: the course assessed, its alternatives compared, approved (issue 8).
        with transaction.atomic():
            execs = [a for a in demo.advisers if a.pk in demo.executives]
            seed_training_decision(manager=demo.manager, executives=execs, course=demo.course)
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {len(customers)} customers and {created} cases. "
                f"Log in as manager, executive, admin or adviser1..adviser12."
            )
        )

    # ------------------------------------------------------------ people

    def _people(self, password: str, now: datetime) -> dict[str, Any]:
        sectors = {name: sector_create(actor=None, name=name, distance=d) for name, d in SECTORS}
        centre = Team.objects.create(name="Store Centre")
        north = Team.objects.create(name="Store North")
        execs = Team.objects.create(name="Account executives")
        manager = user_create(
            username="manager",
            password=None,
            role=Role.MANAGER,
            first_name="Marta",
            last_name="Jiménez",
            email="manager@steward.localhost",
            team=centre,
            language="es",
        )
        user_create(
            username="executive",
            password=None,
            role=Role.EXECUTIVE,
            first_name="Elena",
            last_name="Novak",
            email="executive@steward.localhost",
        )
        user_create(
            username="admin",
            password=None,
            role=Role.ADMIN,
            first_name="Admin",
            email="admin@steward.localhost",
        )
        for username, sector, (first, last) in (
            ("billing1", "Billing", ("Pavel", "Orlov")),
            ("warehouse1", "Warehouse", ("Kanya", "Suksai")),
            ("logistics1", "Logistics", ("Diego", "Navarro")),
        ):
            user_create(
                username=username,
                password=None,
                role=Role.SECTOR_MEMBER,
                first_name=first,
                last_name=last,
                email=f"{username}@steward.localhost",
                sector_id=sectors[sector].pk,
            )
        advisers = []
        languages = ["en", "th", "ru", "es"]
        for n, (first, last) in enumerate(ADVISERS, start=1):
            team = centre if n <= 3 else north if n <= 6 else execs
            advisers.append(
                user_create(
                    username=f"adviser{n}",
                    password=None,
                    role=Role.ADVISER,
                    first_name=first,
                    last_name=last,
                    email=f"adviser{n}@steward.localhost",
                    team=team,
                    sector_id=sectors["Front desk" if n <= 6 else "Account executives"].pk,
                    language=languages[n % 4],
                )
            )
        for i, adviser in enumerate(advisers):
            user_set_backup(actor=None, user=adviser, backup=advisers[(i + 1) % len(advisers)])
        # Every demo user has the same password: hash it once (a second of CPU per hash) for them all.
        User.objects.update(password=make_password(password))
        away: dict[int, list[tuple[datetime, datetime]]] = {}

        def absent(user: User, start: datetime, end: datetime, reason: str) -> None:
            absence_create(actor=manager, user=user, starts_at=start, ends_at=end, reason=reason)
            away.setdefault(user.pk, []).append((start, end))

        # Away now, so the backup-acting view shows on adviser3's cases (adviser4 covers).
        absent(advisers[2], now - timedelta(days=1), now + timedelta(days=2), "Sick leave")
        # A holiday in two weeks.
        holiday = (now + timedelta(days=14)).replace(hour=0, minute=0)
        absent(advisers[0], holiday, holiday + timedelta(days=5), "Holiday")
        # Next week's Tuesday: every account executive on the same product course. The decision register
        # records their absences when the decision is approved (seed_training_decision, at the end).
        days = (1 - now.weekday()) % 7 + 7
        course = (now + timedelta(days=days)).replace(hour=8, minute=0)
        for adviser in advisers[6:]:
            away.setdefault(adviser.pk, []).append((course, course + timedelta(hours=10)))
        kinds = {
            (sector, name): TaskKind.objects.create(sector=sectors[sector], name=name, target_minutes=target)
            for sector, pairs in TASK_KINDS.items()
            for name, target in pairs
        }
        names = {sector.pk: name for name, sector in sectors.items()}
        members = {names[u.sector_id]: u for u in User.objects.filter(role=Role.SECTOR_MEMBER) if u.sector_id}
        return {
            "sectors": sectors,
            "task_kinds": kinds,
            "sector_members": members,
            "advisers": advisers,
            "account_executives": {a.pk for a in advisers[6:]},
            "manager": manager,
            "away": away,
            "course": course,
        }

    def _customers(self, rng: random.Random, count: int) -> list[Customer]:
        customers = []
        langs = list(CUSTOMER_NAMES)
        for i in range(count):
            lang = langs[i % 4]
            first, last = CUSTOMER_NAMES[lang]
            given, family = rng.choice(first), rng.choice(last)
            if lang == "ru" and given.endswith(("а", "я")):
                family += "а"  # Russian family names agree with the person's gender
            customers.append(
                customer_create(
                    actor=None,
                    name=f"{given} {family}",
                    email=f"customer{i + 1}@example.com",
                    language=lang,
                    phone=f"+{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                )
            )
        return customers

    # ------------------------------------------------------------ cases

    def _plan(self, demo: Demo, customers: list[Customer]) -> Plan:
        rng = demo.rng
        while True:
            day = demo.now - timedelta(days=rng.randint(0, HORIZON_DAYS - 1))
            if day.weekday() < 5 or rng.random() < 0.4:
                break
        hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
        start = day.replace(hour=hour, minute=rng.randint(0, 59), second=0, microsecond=0)
        if start >= demo.now:
            start -= timedelta(days=1)
        age_days = (demo.now - start).total_seconds() / 86400
        fates = next(f for limit, f in FATES_BY_AGE if age_days < limit or limit == HORIZON_DAYS)
        fate = rng.choices(list(fates), weights=list(fates.values()))[0]
        return Plan(start, fate, rng.choice(customers), rng.choice(demo.categories))

    def _plans(self, demo: Demo, customers: list[Customer], total: int) -> list[Plan]:
        base = total - round(total * FOLLOW_UP_SHARE)
        return sorted((self._plan(demo, customers) for _ in range(base)), key=lambda p: p.start)

    def _case(self, demo: Demo, plan: Plan) -> datetime | None:
        """Play one case through the services; return when it closed, if it did."""
        rng, now = demo.rng, demo.now
        lang, category = plan.customer.language, plan.category
        subject, first, again = TEXTS[lang][category.name]
        reply, solved = REPLIES[lang]
        t = plan.start
        owner = demo.pick_owner(t)
        kind = (
            Kind.COMPLAINT
            if plan.follow_up
            else rng.choices([Kind.QUESTION, Kind.REQUEST, Kind.COMPLAINT], weights=[4, 3, 3])[0]
        )
        priority = rng.choices(Priority.values, weights=[2, 6, 2, 1])[0]
        channel = rng.choices(
            [Channel.EMAIL, Channel.PHONE, Channel.WALK_IN, Channel.PORTAL, Channel.CHAT],
            weights=[4, 3, 2, 2, 1],
        )[0]
        case = cs.case_open(
            # A mail or a portal form is the customer's own first contact (it has a first response time);
            # a call, a visit or a chat is recorded by the adviser who took it.
            actor=None if channel in (Channel.EMAIL, Channel.PORTAL) else owner,
            customer=plan.customer,
            subject=subject,
            description=again if plan.follow_up else first,
            owner=owner,
            kind=kind,
            category=category,
            priority=priority,
            channel=channel,
            at=t,
        )
        if plan.fate == "new":
            return None

        def later(low: float, high: float, *, in_hours: bool = False) -> datetime | None:
            """Move the clock on by low..high minutes; None once that would pass the present.

            `in_hours`: business minutes on the demo's calendar, for sector members, who work office hours.
            """
            nonlocal t
            if in_hours:
                nxt = add_business_minutes(t, round(rng.uniform(low, high)), demo.calendar).replace(
                    microsecond=0
                )
            else:
                nxt = (t + timedelta(minutes=rng.uniform(low, high))).replace(microsecond=0)
            if nxt >= now:
                return None
            t = nxt
            return t

        def who(at: datetime) -> User:
            return demo.acting(owner, at)

        closed = plan.fate in CLOSED_FATES
        if (at := later(5, 240)) is None:
            return None
        waiting = plan.fate == "waiting_customer" and rng.random() < 0.7
        cs.case_reply(actor=who(at), case=case, body=reply, wait_for_customer=waiting, at=at)
        if waiting:
            return None
        if plan.follow_up and rng.random() < 0.25:
            cs.case_flag_repeat_explanation(
                actor=who(at), case=case, comment="Had to tell the whole story again.", at=at
            )
        commitment = None
        if rng.random() < 0.6 and (at := later(1, 30)) is not None:
            due = at + timedelta(hours=rng.choice([4, 24, 48, 72]))
            if not closed and who(at).pk in demo.executives and rng.random() < 0.5:
                due = demo.course + timedelta(hours=rng.randint(2, 8))  # due on the course day
            commitment = cs.commitment_set(
                actor=who(at), case=case, description=NEXT_STEPS[lang], due_at=due, at=at
            )
        if rng.random() < 0.4 and (at := later(10, 600)) is not None:
            cs.case_add_note(actor=who(at), case=case, body=rng.choice(NOTES), at=at)
        if rng.random() < 0.35 and (at := later(30, 1440)) is not None:
            cs.case_receive_message(case=case, body=again, channel=case.channel, at=at)
            if rng.random() < 0.3 and (at := later(1, 10)) is not None:
                cs.case_flag_repeat_explanation(
                    actor=who(at), case=case, comment="Customer re-explained the problem.", at=at
                )
        if rng.random() < 0.3 and (at := later(30, 1440)) is not None:
            target = rng.choice([a for a in demo.advisers if a != owner and not demo.is_away(a, at)])
            need, done = HANDOFF_TEXTS[category.name]
            cs.case_hand_off(
                actor=who(at),
                case=case,
                to_user=target,
                customer_need=f"{plan.customer.name} {need}.",
                done_so_far=done,
                at=at,
            )
            owner = target
            if rng.random() < 0.1 and (at := later(5, 120)) is not None:
                cs.case_flag_repeat_explanation(
                    actor=who(at), case=case, comment="New adviser asked the customer again.", at=at
                )
        if commitment is not None and closed and (at := later(60, 3000)) is not None:
            state = rng.choices(
                [CommitmentState.KEPT, CommitmentState.BROKEN, CommitmentState.CANCELLED],
                weights=[75, 15, 10],
            )[0]
            cs.commitment_resolve(actor=who(at), commitment=commitment, state=state, at=at)
        chain = TASK_CHAINS.get((category.name, case.kind == Kind.COMPLAINT))
        late_delivery = category.name == "Delivery" and case.kind == Kind.COMPLAINT
        if chain and (plan.fate == "waiting_sector" or late_delivery or rng.random() < TASK_SHARE):
            leave_open = plan.fate == "waiting_sector"
            if not self._sector_steps(demo, case, chain, who, later, leave_last_open=leave_open):
                return None  # the present came first: the last task is still with its sector
        if plan.fate == "waiting_customer" and (at := later(5, 600)) is not None:
            cs.case_set_status(actor=who(at), case=case, status=Status.WAITING_CUSTOMER, at=at)
            return None
        if plan.fate == "waiting_sector" and (at := later(5, 600)) is not None:
            cs.case_add_note(actor=who(at), case=case, body=SECTOR_NOTES[category.name], at=at)
            cs.case_set_status(actor=who(at), case=case, status=Status.WAITING_SECTOR, at=at)
            return None
        if plan.fate == "open" or (at := later(60, 4000)) is None:
            return None
        cs.case_propose_solution(actor=who(at), case=case, solution=solved, at=at)
        if plan.fate == "proposed":
            return None
        if (plan.fate == "reopened" or rng.random() < 0.05) and (at := later(60, 2000)) is not None:
            cs.case_receive_message(case=case, body=again, channel=case.channel, at=at)  # reopens
            if plan.fate == "reopened" or (at := later(60, 2000)) is None:
                return None
            cs.case_reply(actor=who(at), case=case, body=reply, at=at)
            if (at := later(60, 2000)) is None:
                return None
            cs.case_propose_solution(actor=who(at), case=case, solution=solved, at=at)
        if plan.fate == "unconfirmed":
            if (at := later(5 * 1440, 8 * 1440)) is None:
                return None
            reason = rng.choice(UNCONFIRMED_REASONS)
            cs.case_close_unconfirmed(actor=demo.manager, case=case, reason=reason, at=at)
            return at
        if (at := later(30, 2880)) is None:
            return None
        self._confirm(demo, case, who(at), at)
        # Now and then the customer writes again within days of the closure: the case reopens.
        if rng.random() < 0.02 and (at := later(60, 5 * 1440)) is not None:
            cs.case_receive_message(case=case, body=again, channel=case.channel, at=at)
            if (at := later(30, 600)) is None:
                return None
            cs.case_reply(actor=who(at), case=case, body=reply, at=at)
            if (at := later(60, 2000)) is None:
                return None
            cs.case_propose_solution(actor=who(at), case=case, solution=solved, at=at)
            if (at := later(30, 2880)) is None:
                return None
            self._confirm(demo, case, who(at), at)
        return t

    def _sector_steps(
        self,
        demo: Demo,
        case: Case,
        chain: list[tuple[str, str, str]],
        who: Callable[[datetime], User],
        later: Callable[..., datetime | None],
        *,
        leave_last_open: bool,
    ) -> bool:
        """Hand each step of the chain to its sector in turn, through the task services.

        Sector members act in office hours (delays in business minutes). Most tasks are taken within hours,
        some wait days (late against their target); one in ten goes
        back to the sender for missing information and is sent again. False when the clock reaches the
        present first (or the last task is left open on purpose): that task is still with its sector.
        """
        rng = demo.rng
        for i, (sector_name, kind_name, ask) in enumerate(chain):
            member = demo.sector_members[sector_name]
            resent = False
            while True:
                if (at := later(5, 60)) is None:
                    return False
                task = tasks.task_create(
                    actor=who(at),
                    case=case,
                    sector=demo.sectors[sector_name],
                    task_kind=demo.task_kinds[(sector_name, kind_name)],
                    description=f"{ask} (Details added as asked.)" if resent else ask,
                    at=at,
                    calendar=demo.calendar,
                )
                if leave_last_open and i == len(chain) - 1:
                    if rng.random() < 0.5 and (at := later(10, 240, in_hours=True)) is not None:
                        tasks.task_take(actor=member, task=task, at=at)
                    return False
                if (at := later(*((10, 300) if rng.random() < 0.8 else (600, 4000)), in_hours=True)) is None:
                    return False
                tasks.task_take(actor=member, task=task, at=at)
                if not resent and rng.random() < TASK_RETURN_SHARE:
                    if (at := later(5, 120, in_hours=True)) is None:
                        return False
                    tasks.task_return(actor=member, task=task, reason=rng.choice(TASK_RETURN_REASONS), at=at)
                    resent = True
                    continue
                for _ in range(rng.randint(1, 3)):
                    if (at := later(15, 300, in_hours=True)) is None:
                        return False
                    tasks.task_log_work(actor=member, task=task, minutes=rng.randint(10, 120), at=at)
                if (at := later(5, 240, in_hours=True)) is None:
                    return False
                tasks.task_complete(actor=member, task=task, note=rng.choice(TASK_RESULTS), at=at)
                break
        return True

    def _review(self, demo: Demo) -> None:
        """A blameless review of the late-delivery complaints, opened about two months ago: one finding
        and two corrective actions, the first done ten days later (50 days ago, see `_action_done_at`) so
        the follow-up compares the warehouse's tasks before and after it with real figures, the second
        still due."""
        reviews.root_causes_ensure_default()
        manager, now = demo.manager, demo.now
        delivery = Category.objects.get(name="Delivery")
        warehouse = Sector.objects.get(name="Warehouse")
        done_at = self._action_done_at(warehouse, now)
        opened_at = done_at - timedelta(days=10)
        review = reviews.review_open(
            actor=manager,
            title="Late deliveries: delivery complaints before the peak season",
            kind=Kind.COMPLAINT,
            category=delivery,
            period_from=(now - timedelta(days=HORIZON_DAYS)).date(),
            period_to=opened_at.date(),
            at=opened_at,
        )
        finding = reviews.finding_add(
            actor=manager,
            review=review,
            root_cause=RootCause.objects.get(code="capacity-peak"),
            description="Stock checks wait in the warehouse queue: in peak weeks one picker covers both "
            "loading bays, so the check starts hours after the task arrives.",
            sector=warehouse,
            at=opened_at,
        )
        done = reviews.action_add(
            actor=manager,
            review=review,
            finding=finding,
            description="A second picker in peak weeks and the queue checked twice a day.",
            owner_sector=warehouse,
            due_on=(opened_at + timedelta(days=14)).date(),
            at=opened_at,
        )
        reviews.action_mark_done(actor=manager, action=done, at=done_at)
        reviews.action_add(
            actor=manager,
            review=review,
            finding=finding,
            description="Logistics books the new delivery slot while the stock check runs, not after it.",
            owner_sector=Sector.objects.get(name="Logistics"),
            due_on=(now + timedelta(days=30)).date(),
            at=opened_at,
        )

    @staticmethod
    def _action_done_at(sector: Sector, now: datetime) -> datetime:
        """50 days ago, unless the sector's finished tasks do not fall on both sides of that day: then
        the middle of them (the review opens ten days before). A small demo, or one seeded on a day whose
        calendar leaves few tasks finished in the last weeks, would otherwise show a follow-up with
        nothing to compare; which day that happens on would depend on today's date."""
        planned = now - timedelta(days=50)
        finished = sorted(
            SectorTask.objects.filter(sector=sector, completed_at__isnull=False).values_list(
                "created_at", flat=True
            )
        )
        before = sum(1 for at in finished if at < planned)
        if len(finished) < 4 or (before >= 2 and len(finished) - before >= 2):
            return planned
        return min(finished[len(finished) // 2], now - timedelta(days=1))

    def _confirm(self, demo: Demo, case: Case, acting: User, at: datetime) -> None:
        """The customer confirms online, or tells an adviser who records it (a quarter of the time)."""
        if demo.rng.random() < 0.25:
            channel = demo.rng.choice(list(STAFF_CONFIRMATIONS))
            cs.case_confirm_solution(
                actor=acting, case=case, channel=channel, note=STAFF_CONFIRMATIONS[channel], at=at
            )
        else:
            channel = Channel.PORTAL if demo.rng.random() < 0.5 else Channel.EMAIL
            cs.case_confirm_solution(case=case, channel=channel, at=at)
