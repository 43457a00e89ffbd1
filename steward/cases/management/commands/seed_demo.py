"""Demo data for a telecom-like company, written through the services exactly as production does."""

from __future__ import annotations

import os
import random
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from steward.accounts.models import Role, Team, User
from steward.accounts.services import absence_create, user_create, user_set_backup
from steward.cases import services as cs
from steward.cases.models import Category, Channel, CommitmentState, Kind, Priority
from steward.customers.services import customer_create
from steward.sectors.models import Distance
from steward.sectors.services import sector_create

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


def _summary(category: str, customer: str, said: str) -> tuple[str, str]:
    need = f"{customer} ({category.lower()}): {said}"
    done = (
        f"Confirmed the customer's details, checked the {category.lower()} history and promised a call-back."
    )
    return need, done


class Command(BaseCommand):
    help = (
        "Seed demo data (once): sectors, teams, users with backups, customers and cases through the services."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cases", type=int, default=2000)
        parser.add_argument("--customers", type=int, default=300)
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args: Any, **opts: Any) -> None:
        if User.objects.exists():
            self.stdout.write("Demo data already present: nothing to do.")
            return
        rng = random.Random(opts["seed"])
        password = os.environ.get("DEMO_PASSWORD", "steward-demo")
        now = timezone.now().replace(second=0, microsecond=0)
        with transaction.atomic():
            people = self._people(password, now)
            customers = self._customers(rng, opts["customers"])
        advisers: list[User] = people["advisers"]
        categories = [Category.objects.create(name=n) for n in CATEGORIES]
        total = opts["cases"]
        starts = sorted(now - timedelta(minutes=rng.randint(30, 180 * 24 * 60)) for _ in range(total))
        step = max(1, total // 10)
        for batch_start in range(0, total, 100):
            with transaction.atomic():
                for i in range(batch_start, min(total, batch_start + 100)):
                    self._case(
                        rng, starts[i], now, rng.choice(customers), advisers, categories, people["manager"]
                    )
                    if (i + 1) % step == 0:
                        self.stdout.write(f"  cases: {i + 1}/{total} ({(i + 1) * 100 // total} %)")
        self.stdout.write(self.style.SUCCESS(f"Seeded {len(customers)} customers and {total} cases."))

    def _people(self, password: str, now: datetime) -> dict[str, Any]:
        sectors = {name: sector_create(actor=None, name=name, distance=d) for name, d in SECTORS}
        store = Team.objects.create(name="Central store")
        execs = Team.objects.create(name="Account executives")
        manager = user_create(
            username="manager",
            password=password,
            role=Role.MANAGER,
            first_name="Marta",
            last_name="Jiménez",
            email="manager@steward.localhost",
            team=store,
        )
        user_create(
            username="executive",
            password=password,
            role=Role.EXECUTIVE,
            first_name="Elena",
            last_name="Novak",
            email="executive@steward.localhost",
        )
        user_create(
            username="admin",
            password=password,
            role=Role.ADMIN,
            first_name="Admin",
            email="admin@steward.localhost",
        )
        for username, sector in (
            ("billing1", "Billing"),
            ("warehouse1", "Warehouse"),
            ("logistics1", "Logistics"),
        ):
            user_create(
                username=username,
                password=password,
                role=Role.SECTOR_MEMBER,
                first_name=username[:-1].title(),
                sector_id=sectors[sector].pk,
            )
        advisers = []
        languages = ["en", "th", "ru", "es"]
        for n, (first, last) in enumerate(ADVISERS, start=1):
            front = n <= 6
            advisers.append(
                user_create(
                    username=f"adviser{n}",
                    password=password,
                    role=Role.ADVISER,
                    first_name=first,
                    last_name=last,
                    email=f"adviser{n}@steward.localhost",
                    team=store if front else execs,
                    sector_id=sectors["Front desk" if front else "Account executives"].pk,
                    language=languages[n % 4],
                )
            )
        for i, adviser in enumerate(advisers):
            user_set_backup(actor=None, user=adviser, backup=advisers[(i + 1) % len(advisers)])
        # One adviser is away now, so the backup-acting view shows; the account executives' course
        # day next week is the "training day" decision of a later release.
        absence_create(
            actor=manager,
            user=advisers[2],
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=2),
            reason="Sick leave",
        )
        course = (now + timedelta(days=7)).replace(hour=8, minute=0)
        for adviser in advisers[6:]:
            absence_create(
                actor=manager,
                user=adviser,
                starts_at=course,
                ends_at=course + timedelta(hours=10),
                reason="Product course (all account executives)",
            )
        return {"advisers": advisers, "manager": manager}

    def _customers(self, rng: random.Random, count: int) -> list[Any]:
        customers = []
        langs = list(CUSTOMER_NAMES)
        for i in range(count):
            lang = langs[i % 4]
            first, last = CUSTOMER_NAMES[lang]
            given, family = rng.choice(first), rng.choice(last)
            if lang == "ru" and given.endswith(("а", "я")):
                family += "а"  # Russian family names agree with the person's gender
            name = f"{given} {family}"
            customers.append(
                customer_create(
                    actor=None,
                    name=name,
                    email=f"customer{i + 1}@example.com",
                    language=lang,
                    phone=f"+{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                )
            )
        return customers

    def _case(
        self,
        rng: random.Random,
        t: datetime,
        now: datetime,
        customer: Any,
        advisers: list[User],
        categories: list[Category],
        manager: User,
    ) -> None:
        lang = customer.language
        category = rng.choice(categories)
        subject, first, again = TEXTS[lang][category.name]
        reply, solved = REPLIES[lang]
        owner = rng.choice(advisers)
        kind = rng.choices([Kind.QUESTION, Kind.REQUEST, Kind.COMPLAINT], weights=[4, 3, 3])[0]
        case = cs.case_open(
            actor=owner,
            customer=customer,
            subject=subject,
            description=first,
            owner=owner,
            kind=kind,
            category=category,
            priority=rng.choices(Priority.values, weights=[2, 6, 2, 1])[0],
            channel=rng.choices(
                [Channel.EMAIL, Channel.PHONE, Channel.WALK_IN, Channel.PORTAL, Channel.CHAT],
                weights=[4, 3, 2, 2, 1],
            )[0],
            at=t,
        )

        def later(minutes_low: int, minutes_high: int) -> datetime | None:
            nonlocal t
            nxt = t + timedelta(minutes=rng.randint(minutes_low, minutes_high))
            if nxt >= now:
                return None
            t = nxt
            return t

        actor = owner
        if (at := later(5, 240)) is None:
            return
        cs.case_reply(actor=actor, case=case, body=reply, at=at)
        commitment = None
        if rng.random() < 0.6 and (at := later(1, 30)) is not None:
            commitment = cs.commitment_set(
                actor=actor,
                case=case,
                description=NEXT_STEPS[lang],
                due_at=at + timedelta(hours=rng.choice([4, 24, 48, 72])),
                at=at,
            )
        if rng.random() < 0.4 and (at := later(10, 600)) is not None:
            cs.case_add_note(actor=actor, case=case, body=rng.choice(NOTES), at=at)
        if rng.random() < 0.35 and (at := later(30, 1440)) is not None:
            cs.case_receive_message(case=case, body=again, channel=case.channel, at=at)
            if rng.random() < 0.3:
                cs.case_flag_repeat_explanation(
                    actor=actor,
                    case=case,
                    comment="Customer re-explained the problem.",
                    at=at + timedelta(minutes=2),
                )
                t = at + timedelta(minutes=2)
        if rng.random() < 0.3 and (at := later(30, 1440)) is not None:
            target = rng.choice([a for a in advisers if a.pk != actor.pk])
            need, done = _summary(category.name, customer.name, first)
            cs.case_hand_off(
                actor=actor, case=case, to_user=target, customer_need=need, done_so_far=done, at=at
            )
            actor = target
        if commitment is not None and (at := later(60, 3000)) is not None:
            state = rng.choices(
                [CommitmentState.KEPT, CommitmentState.BROKEN, CommitmentState.CANCELLED], weights=[7, 2, 1]
            )[0]
            cs.commitment_resolve(actor=actor, commitment=commitment, state=state, at=at)
        if rng.random() < 0.15 and (at := later(1, 60)) is not None:
            cs.case_set_status(
                actor=actor, case=case, status=rng.choice(["waiting_customer", "waiting_sector"]), at=at
            )
            if rng.random() < 0.5:
                return
        if (at := later(60, 4000)) is None:
            return
        cs.case_propose_solution(actor=actor, case=case, solution=solved, at=at)
        if rng.random() < 0.06 and (at := later(60, 2000)) is not None:
            cs.case_receive_message(case=case, body=again, channel=case.channel, at=at)  # reopens
            if (at := later(60, 2000)) is None:
                return
            cs.case_propose_solution(actor=actor, case=case, solution=solved, at=at)
        outcome = rng.random()
        if outcome < 0.82 and (at := later(30, 2880)) is not None:
            channel = Channel.PORTAL if rng.random() < 0.5 else Channel.EMAIL
            cs.case_confirm_solution(case=case, channel=channel, at=at)
        elif outcome < 0.9 and (at := later(4320, 10080)) is not None:
            cs.case_close_unconfirmed(
                actor=manager, case=case, reason="No answer from the customer after two reminders.", at=at
            )
