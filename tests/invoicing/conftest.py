from decimal import Decimal

import pytest

from tests.factories import BillingAgentFactory, CustomerFactory, LocationFactory, waiting_ticket


@pytest.fixture
def agent(db):
    # Fixed contact names: a random one ("Dana …") would match the payer searches below.
    return BillingAgentFactory(
        company_name="Lakeside Schools",
        contact_first_name="Lee",
        contact_last_name="Park",
        net_terms_days=30,
    )


@pytest.fixture
def direct_customer(db):
    return CustomerFactory(first_name="Dana", last_name="Direct", net_terms_days=15)


@pytest.fixture
def location(db):
    return LocationFactory(name="Downtown", tax_rate_percent=Decimal("0"))


@pytest.fixture
def agent_tickets(agent, location):
    """Three untaxed Waiting-for-Payment tickets of 100, 50 and 25, oldest first."""
    return [
        waiting_ticket(agent, location=location, items=[("Repair", 1, price, True)])
        for price in ("100.00", "50.00", "25.00")
    ]
