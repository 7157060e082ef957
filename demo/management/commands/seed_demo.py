"""Load a realistic demo shop once, and make sure one login per role exists.

Running it again leaves the data as it is (it only re-checks the logins), so
`make run` can call it every time.
"""

import io
import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw

from billing_agents.models import BillingAgent, InvoiceMethod
from core.models import Letterhead
from core.roles import BILLING, FRONT_DESK, MANAGER, ROLE_PERMISSIONS, ensure_role_groups
from customers.models import Customer
from invoicing.accounts import account_for
from invoicing.models import (
    Account,
    BillingCycle,
    Invoice,
    InvoiceStatus,
    Remittance,
    invoiceable_tickets,
)
from invoicing.services import (
    create_invoices,
    record_account_payment,
    record_remittance,
    void_remittance,
)
from tickets.models import (
    Location,
    PaymentKind,
    PaymentMethod,
    Ticket,
    TicketItem,
    TicketPayment,
)
from tickets.tallies import rebuild_status_tallies
from tickets.transitions import Kind, Status

DEMO_PASSWORD = "demo-pass-2026"
DEMO_USERS = [
    ("frontdesk", "Frankie", "Desk", FRONT_DESK),
    ("billing", "Bailey", "Clerk", BILLING),
    ("manager", "Morgan", "Boss", MANAGER),
]

LOCATIONS = [("Downtown", "8.875"), ("Northgate Mall", "8.250"), ("Airport Kiosk", "7.500")]
AGENTS = [
    "Lakeside School District",
    "Harbor Insurance Group",
    "Summit Property Management",
    "Northwind Logistics",
    "Greenfield University",
    "Bayview Medical Center",
    "Crescent Realty Partners",
    "Pioneer Staffing Services",
    "Riverside County Transit",
    "Atlas Mutual Assurance",
    "Oakridge Senior Living",
    "Metro Courier Co-op",
]
# What each payer calls its number on a job; the insurers refuse a bill without theirs.
REFERENCES = {
    "Harbor Insurance Group": ("Claim #", "CLM", True),
    "Atlas Mutual Assurance": ("Claim #", "AMA", True),
    "Summit Property Management": ("PO #", "PO", False),
    "Northwind Logistics": ("PO #", "NWL", False),
    "Bayview Medical Center": ("Authorization #", "AUTH", False),
}
# Greenfield only ever pays late and asked not to be chased by email.
NO_REMINDERS = {"Greenfield University"}
FIRST = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Carlos",
    "Karen",
    "Daniel",
    "Nancy",
    "Matthew",
    "Lisa",
    "Anthony",
    "Priya",
    "Mark",
    "Aisha",
    "Wei",
    "Sofia",
    "Kenji",
    "Olivia",
    "Diego",
    "Fatima",
    "Liam",
    "Noah",
]
LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Nguyen",
    "Patel",
    "Kim",
    "Chen",
    "Okafor",
    "Schmidt",
    "Rossi",
    "Kowalski",
    "Silva",
    "Tanaka",
]
DEVICES = [
    "iPhone 14 Pro",
    "iPhone 12",
    "Samsung Galaxy S23",
    "Google Pixel 8",
    "iPad Air (5th gen)",
    'MacBook Pro 14"',
    "Dell XPS 13",
    "Lenovo ThinkPad T14",
    "Nintendo Switch OLED",
    "PlayStation 5",
    "Xbox Series X",
    "HP Pavilion 15",
    "Samsung Galaxy Tab S8",
]
PROBLEMS = [
    "Cracked screen after a drop",
    "Battery drains within two hours",
    "Will not power on",
    "Charging port loose",
    "Liquid damage (coffee)",
    "HDMI port no signal",
    "Keyboard keys sticking",
    "Overheating and fan noise",
    "Joy-Con drift",
    "Back glass shattered",
]
REPAIR_ITEMS = [
    ("Screen replacement", "129.00", True),
    ("Battery replacement", "79.00", True),
    ("Charging port repair", "59.00", True),
    ("Diagnostic labour (1 hr)", "45.00", False),
    ("Logic board micro-soldering", "189.00", False),
    ("Keyboard replacement", "99.00", True),
    ("Thermal paste & cleaning", "49.00", False),
    ("HDMI port replacement", "119.00", True),
]
SALE_ITEMS = [
    ("Tempered glass protector", "19.99", True),
    ("USB-C fast charger 30W", "29.99", True),
    ("Phone case (rugged)", "24.50", True),
    ("Lightning cable 2m", "14.99", True),
    ("Wireless earbuds", "59.00", True),
    ("Setup & data transfer", "35.00", False),
]

REPAIR_PATH = [
    Status.NEW,
    Status.IN_DIAGNOSIS,
    Status.PENDING_APPROVAL,
    Status.IN_REPAIR,
    Status.PENDING_NOTIFICATION,
    Status.READY_FOR_PICKUP,
]


class Command(BaseCommand):
    help = "Load demo data once (locations, agents, customers, tickets) and print demo logins."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, seed: int, **options):
        self.ensure_users()
        if Location.objects.exists():
            self.stdout.write("Demo data already loaded; left as it is.")
        else:
            with transaction.atomic():
                self.load(random.Random(seed))
                # The demo creates its tickets directly, not through create_ticket.
                rebuild_status_tallies()
        self.print_logins()

    def ensure_users(self) -> None:
        if Group.objects.filter(name__in=list(ROLE_PERMISSIONS)).count() < len(ROLE_PERMISSIONS):
            ensure_role_groups()
        User = get_user_model()
        for username, first, last, role in DEMO_USERS:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@shop.example",
                    # Managers reach the admin to unlock throttled logins.
                    "is_staff": role == MANAGER,
                },
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            user.groups.add(Group.objects.get(name=role))

    def print_logins(self) -> None:
        self.stdout.write(self.style.SUCCESS(f"Demo logins (password for each: {DEMO_PASSWORD})"))
        for username, _, _, role in DEMO_USERS:
            self.stdout.write(f"  {username:<10} {role}")

    def load(self, rng: random.Random) -> None:
        clerk = get_user_model().objects.get(username="frontdesk")
        billing = get_user_model().objects.get(username="billing")
        locations = [
            Location.objects.create(name=name, tax_rate_percent=Decimal(rate))
            for name, rate in LOCATIONS
        ]
        agents = []
        for i, company in enumerate(AGENTS):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            domain = company.lower().replace(" ", "").replace("-", "")[:18]
            agents.append(
                BillingAgent.objects.create(
                    company_name=company,
                    contact_first_name=first,
                    contact_last_name=last,
                    phone=f"(555) {200 + i:03d}-{rng.randint(1000, 9999)}",
                    email=f"ap@{domain}.example",
                    address_line1=f"{rng.randint(10, 9999)} {rng.choice(LAST)} Avenue",
                    city=rng.choice(["Springfield", "Riverton", "Lakewood", "Fairview"]),
                    state=rng.choice(["CA", "NY", "TX", "WA", "IL"]),
                    postal_code=f"{rng.randint(10000, 99999)}",
                    credit_limit=rng.choice([None, Decimal("5000.00"), Decimal("15000.00")]),
                    net_terms_days=rng.choice([15, 30, 45, 60]),
                    invoice_method=rng.choice(list(InvoiceMethod)),
                )
            )
        for agent in agents:
            label, _, required = REFERENCES.get(agent.company_name, ("Reference", "", False))
            agent.reference_label, agent.reference_required = label, required
            agent.send_reminders = agent.company_name not in NO_REMINDERS
            agent.save(update_fields=["reference_label", "reference_required", "send_reminders"])
        agents[-1].deactivate()
        self.letterhead()
        customers = []
        for i in range(100):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            agent = rng.choice(agents[:-1]) if rng.random() < 0.6 else None
            direct = agent is None and rng.random() < 0.3
            customers.append(
                Customer.objects.create(
                    first_name=first,
                    last_name=last,
                    company_name=rng.choice(["", "", "", "Acme Plumbing", "Blue Sky Cafe"]),
                    email=f"{first}.{last}{i}@mail.example".lower(),
                    phone=f"(555) {rng.randint(300, 999)}-{rng.randint(1000, 9999)}",
                    address_line1=f"{rng.randint(1, 999)} {rng.choice(LAST)} Street",
                    city=rng.choice(["Springfield", "Riverton", "Lakewood"]),
                    state="CA",
                    postal_code=f"9{rng.randint(1000, 9999)}",
                    billing_agent=agent,
                    net_terms_days=30 if direct else None,
                    prefers_batch_invoices=direct and rng.random() < 0.5,
                )
            )
        now = timezone.now()
        for n in range(420):
            kind = Kind.REPAIR if rng.random() < 0.7 else Kind.QUICK_SALE
            customer = rng.choice(customers) if rng.random() < 0.92 else None
            ticket = Ticket.objects.create(
                kind=kind,
                status=Status.NEW if kind == Kind.REPAIR else Status.OPEN,
                location=rng.choice(locations),
                customer=customer,
                billing_agent=customer.billing_agent if customer else None,
                device=rng.choice(DEVICES) if kind == Kind.REPAIR else "",
                problem_description=rng.choice(PROBLEMS) if kind == Kind.REPAIR else "",
                payer_reference=self.reference_for(
                    customer.billing_agent if customer else None, rng
                ),
                created_by=clerk,
            )
            catalogue = REPAIR_ITEMS if kind == Kind.REPAIR else SALE_ITEMS
            for description, price, taxable in rng.sample(catalogue, rng.randint(1, 3)):
                TicketItem.objects.create(
                    ticket=ticket,
                    description=description,
                    quantity=Decimal(rng.choice([1, 1, 1, 2])),
                    unit_price=Decimal(price),
                    taxable=taxable,
                )
            if rng.random() < 0.25:
                ticket.discount_type, ticket.discount_value = rng.choice(
                    [
                        ("percent", Decimal("10")),
                        ("amount", Decimal("15.00")),
                        ("percent", Decimal("5")),
                    ]
                )
                ticket.save(update_fields=["discount_type", "discount_value"])
            totals = ticket.recalculate_totals()
            if kind == Kind.REPAIR and rng.random() < 0.4:
                deposit = (totals.total * Decimal("0.3")).quantize(Decimal("0.01"))
                if deposit > 0:
                    TicketPayment.objects.create(
                        ticket=ticket,
                        kind=PaymentKind.DEPOSIT,
                        amount=deposit,
                        method=rng.choice([PaymentMethod.CASH, PaymentMethod.CARD]),
                        received_by=clerk,
                    )
                    ticket.recalculate_totals()
            self.walk(ticket, rng, clerk, n)
            created = now - timedelta(days=rng.randint(0, 120), minutes=rng.randint(0, 600))
            Ticket.objects.filter(pk=ticket.pk).update(created_at=created)
        self.invoice_some(agents, billing, rng)
        self.receivables_history(agents, locations, clerk, billing, rng)

    @staticmethod
    def reference_for(agent: BillingAgent | None, rng: random.Random) -> str:
        """The payer's number for a new ticket: always where the payer requires one."""
        if agent is None or agent.company_name not in REFERENCES:
            return ""
        _, prefix, required = REFERENCES[agent.company_name]
        if not required and rng.random() < 0.3:
            return ""
        return f"{prefix}-{rng.randint(100000, 999999)}"

    def letterhead(self) -> None:
        """The shop's letterhead, with a small generated logo (a wrench-blue square)."""
        image = Image.new("RGB", (120, 120), (13, 110, 253))
        ImageDraw.Draw(image).ellipse((30, 30, 90, 90), fill=(255, 255, 255))
        logo = io.BytesIO()
        image.save(logo, format="PNG")
        Letterhead.objects.create(
            pk=Letterhead.SINGLETON_ID,
            name="FixIt Repair Co.",
            address="1200 Market Street, Suite 4\nSpringfield, CA 94100",
            phone="(555) 010-2040",
            email="billing@fixit.example",
            tax_number="EIN 12-3456789",
            remit_to="Cheques payable to FixIt Repair Co., 1200 Market Street, Springfield, "
            "CA 94100.\nACH: First Valley Bank, routing 121000358, account 004417-22.",
            logo=logo.getvalue(),
            logo_content_type="image/png",
        )

    def walk(self, ticket: Ticket, rng: random.Random, clerk, n: int) -> None:
        """Move a new ticket along the workflow to a status chosen so every status occurs."""
        if ticket.kind == Kind.REPAIR:
            targets = [
                *REPAIR_PATH,
                Status.ON_HOLD,
                Status.WAITING_FOR_PAYMENT,
                Status.CLOSED,
                Status.CANCELLED,
            ]
        else:
            targets = [Status.OPEN, Status.WAITING_FOR_PAYMENT, Status.CLOSED, Status.CANCELLED]
        goal = targets[n % len(targets)]
        if goal == Status.WAITING_FOR_PAYMENT and ticket.customer is None:
            goal = targets[0]
        if goal == Status.CANCELLED:
            if ticket.amount_paid == 0:
                ticket.transition_to(Status.CANCELLED, by=clerk)
            return
        if ticket.kind == Kind.REPAIR:
            path = {
                Status.ON_HOLD: [Status.IN_DIAGNOSIS, Status.ON_HOLD],
                Status.WAITING_FOR_PAYMENT: [
                    Status.IN_REPAIR,
                    Status.READY_FOR_PICKUP,
                    Status.WAITING_FOR_PAYMENT,
                ],
                Status.CLOSED: [Status.IN_REPAIR, Status.READY_FOR_PICKUP, Status.CLOSED],
            }.get(goal, REPAIR_PATH[1 : REPAIR_PATH.index(goal) + 1] if goal in REPAIR_PATH else [])
        else:
            path = {
                Status.WAITING_FOR_PAYMENT: [Status.WAITING_FOR_PAYMENT],
                Status.CLOSED: [Status.CLOSED],
            }.get(goal, [])
        for status in path:
            if status == Status.CLOSED and ticket.balance_due > 0:
                TicketPayment.objects.create(
                    ticket=ticket,
                    kind=PaymentKind.DEPOSIT,
                    amount=ticket.balance_due,
                    method=PaymentMethod.CARD,
                    received_by=clerk,
                    reference="Paid at pickup",
                )
                ticket.recalculate_totals()
            ticket.transition_to(status, by=clerk, override_credit_limit=True)

    def open_before(self, tickets: list[Ticket], issued: date) -> None:
        """Back-date the tickets opened after `issued` to the days before it: an invoice
        is never issued before its tickets existed (invoicing.services.create_invoices)."""
        morning = timezone.make_aware(datetime.combine(issued, time(9)))
        for i, ticket in enumerate(tickets):
            if timezone.localdate(ticket.created_at) > issued:
                opened = morning - timedelta(days=1 + i, hours=i)
                Ticket.objects.filter(pk=ticket.pk).update(created_at=opened)

    def invoice_some(self, agents, user, rng: random.Random) -> None:
        """Invoice a few payers through the invoicing services, so the demo has open,
        partially paid, paid, overpaid (credit) and overdue invoices, while some tickets
        stay Invoiced and others Waiting for Payment."""
        today = timezone.localdate()
        # One payer per outcome; the last outcome goes to a directly billed customer.
        payers = [*agents[:-1], *Customer.objects.directly_billable().order_by("id")]
        outcomes = ["paid", "partial", "overpaid", "overdue", "partial-overdue", "open"]
        for payer in payers:
            account = Account.of(payer)
            if not outcomes or (len(outcomes) == 1 and account.is_agent):
                continue
            waiting = invoiceable_tickets().invoiceable().for_account(account)
            tickets = list(waiting.order_by("created_at")[:3])
            if not tickets:
                continue
            outcome = outcomes.pop(0)
            terms = account.net_terms_days
            ages = {"overdue": terms + 12, "partial-overdue": terms + 30, "partial": 5, "open": 2}
            issued = today - timedelta(days=ages.get(outcome, 20))
            self.open_before(tickets, issued)
            invoices = create_invoices(
                account=account_for(payer),
                ticket_ids=[t.pk for t in tickets],
                batch=outcome != "overdue",
                issue_date=issued,
                by=user,
            )
            invoice = invoices[0]
            paid_on = min(issued + timedelta(days=10), today)
            amount = {
                "paid": invoice.total,
                "partial": (invoice.total / 2).quantize(Decimal("0.01")),
                "partial-overdue": (invoice.total / 3).quantize(Decimal("0.01")),
                "overpaid": invoice.total + Decimal("25.00"),
            }.get(outcome)
            if amount and invoice.status == InvoiceStatus.OPEN:
                record_remittance(
                    invoice=invoice,
                    amount=amount,
                    method=rng.choice([PaymentMethod.CHEQUE, PaymentMethod.ACH]),
                    reference=f"CHQ-{rng.randint(1000, 9999)}",
                    received_on=paid_on,
                    by=user,
                )

    # --- a month of receivables history (issue 11) -------------------------------------

    def waiting_for(self, agent, location, clerk, rng: random.Random, opened: date) -> Ticket:
        """A quick sale billed to `agent`, moved to Waiting for Payment, opened on `opened`."""
        customer = agent.customers.order_by("id").first() or Customer.objects.create(
            first_name=rng.choice(FIRST), last_name=rng.choice(LAST), billing_agent=agent
        )
        ticket = Ticket.objects.create(
            kind=Kind.QUICK_SALE,
            status=Status.OPEN,
            location=location,
            customer=customer,
            billing_agent=agent,
            payer_reference=self.reference_for(agent, rng),
            created_by=clerk,
        )
        for description, price, taxable in rng.sample(REPAIR_ITEMS, 2):
            TicketItem.objects.create(
                ticket=ticket,
                description=description,
                quantity=Decimal(1),
                unit_price=Decimal(price),
                taxable=taxable,
            )
        ticket.recalculate_totals()
        ticket.transition_to(Status.WAITING_FOR_PAYMENT, by=clerk, override_credit_limit=True)
        moment = timezone.make_aware(datetime.combine(opened, time(10)))
        Ticket.objects.filter(pk=ticket.pk).update(created_at=moment)
        ticket.refresh_from_db()
        return ticket

    def invoice_on(self, agent, tickets, issued: date, due: date, user) -> Invoice:
        [invoice] = create_invoices(
            account=account_for(agent),
            ticket_ids=[t.pk for t in tickets],
            batch=True,
            issue_date=issued,
            by=user,
        )
        # The demo wants exact ages whatever the agent's terms: the due date is set here.
        Invoice.objects.filter(pk=invoice.pk).update(due_date=max(due, issued))
        invoice.refresh_from_db()
        return invoice

    def receivables_history(self, agents, locations, clerk, user, rng: random.Random) -> None:
        """What the receivables pages show at first login: last month's statement of
        Harbor Insurance (invoices, one cheque paying two and part of a third, a bounced
        cheque voided), every aging bucket, an agent on credit hold (an invoice 75 days
        past due) and payers whose billing cycle is due with tickets waiting."""
        today = timezone.localdate()
        manager = get_user_model().objects.get(username="manager")
        last_month_end = today.replace(day=1) - timedelta(days=1)
        month = last_month_end.replace(day=1)
        location = locations[0]
        by_name = {a.company_name: a for a in agents}

        harbor = by_name["Harbor Insurance Group"]
        plan = [  # (opened, issued, due) per invoice, oldest first
            (month - timedelta(days=40), month - timedelta(days=35), month - timedelta(days=5)),
            (month - timedelta(days=8), month - timedelta(days=5), month + timedelta(days=25)),
            (month + timedelta(days=3), month + timedelta(days=6), month + timedelta(days=36)),
        ]
        invoices = []
        tickets = [
            [self.waiting_for(harbor, location, clerk, rng, opened) for _ in range(2)]
            for opened, _, _ in plan
        ]
        for batch, (_, issued, due) in zip(tickets, plan, strict=True):
            invoices.append(self.invoice_on(harbor, batch, issued, due, user))
        oldest, middle, newest = invoices
        account = account_for(harbor)
        bounced = record_account_payment(
            account=account,
            amount=oldest.total,
            method=PaymentMethod.CHEQUE,
            reference="CHQ-20417",
            received_on=month + timedelta(days=9),
            by=user,
        )
        void_remittance(remittance=bounced, reason="Cheque returned unpaid", by=manager)
        # The bank returned it three days later: the void is dated then, not today.
        returned = timezone.make_aware(datetime.combine(month + timedelta(days=12), time(11)))
        Remittance.objects.filter(pk=bounced.pk).update(voided_at=returned)
        partial = (newest.total / 2).quantize(Decimal("0.01"))
        record_account_payment(
            account=account,
            amount=oldest.total + middle.total + partial,
            method=PaymentMethod.ACH,
            reference="ACH-88120",
            received_on=month + timedelta(days=14),
            by=user,
        )

        # Aging buckets across the other agents: days past due today.
        for name, days_past_due in [
            ("Summit Property Management", 12),
            ("Northwind Logistics", 45),
            ("Atlas Mutual Assurance", 75),
            ("Greenfield University", 110),
        ]:
            agent = by_name[name]
            due = today - timedelta(days=days_past_due)
            issued = due - timedelta(days=30)
            batch = [
                self.waiting_for(agent, location, clerk, rng, issued - timedelta(days=2))
                for _ in range(2)
            ]
            self.invoice_on(agent, batch, issued, due, user)
        # Atlas Mutual is past the shop's hold (60 days); Greenfield only ever pays late.
        by_name["Greenfield University"].credit_hold_days = 120
        by_name["Greenfield University"].save(update_fields=["credit_hold_days"])

        # Billing cycles: these payers are due today and have tickets waiting.
        cycles = [
            ("Lakeside School District", BillingCycle.MONTHLY, 1),
            ("Bayview Medical Center", BillingCycle.WEEKLY, today.weekday()),
            ("Crescent Realty Partners", BillingCycle.BIWEEKLY, today.weekday()),
        ]
        for name, cycle, day in cycles:
            agent = by_name[name]
            for _ in range(2):
                self.waiting_for(agent, location, clerk, rng, today - timedelta(days=3))
            Account.objects.filter(pk=account_for(agent).pk).update(
                billing_cycle=cycle, billing_day=day
            )
        Account.objects.filter(billing_agent=harbor).update(
            billing_cycle=BillingCycle.MONTHLY, billing_day=1, last_billed_on=month
        )
