from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from invoicing.accounts import account_for
from invoicing.allocation import AllocationError, propose_allocation, validate_allocation
from invoicing.ledger import InsufficientCredit, credit_balance, post_credit
from invoicing.models import CreditKind, CreditTransaction
from tests.factories import BillingAgentFactory

cents = st.integers(min_value=0, max_value=10_000_000).map(lambda c: Decimal(c) / 100)
positive_cents = st.integers(min_value=1, max_value=10_000_000).map(lambda c: Decimal(c) / 100)
balances_st = st.lists(positive_cents, min_size=0, max_size=12)


@given(balances=balances_st, amount=cents)
def test_proposal_allocates_exactly_the_amount(balances, amount):
    split = propose_allocation(balances, amount)
    assert sum(split.amounts, Decimal(0)) + split.credit == amount
    assert split.credit >= 0


@given(balances=balances_st, amount=cents)
def test_proposal_leaves_no_ticket_balance_below_zero(balances, amount):
    split = propose_allocation(balances, amount)
    assert len(split.amounts) == len(balances)
    for share, balance in zip(split.amounts, balances, strict=True):
        assert 0 <= share <= balance
        assert balance - share >= 0


@given(balances=balances_st, amount=cents)
def test_proposal_pays_oldest_first(balances, amount):
    split = propose_allocation(balances, amount)
    # Once a line is not paid in full, every later line gets nothing.
    short = [i for i, (s, b) in enumerate(zip(split.amounts, balances, strict=True)) if s < b]
    if short:
        assert all(s == 0 for s in split.amounts[short[0] + 1 :])
        assert split.credit == 0
    # Credit arises only when everything is paid.
    if split.credit:
        assert split.amounts == tuple(balances)


@given(balances=balances_st, amount=cents)
def test_validating_a_proposal_accepts_it_unchanged(balances, amount):
    split = propose_allocation(balances, amount)
    if amount > 0:
        assert validate_allocation(balances, amount, split.amounts) == split


@given(
    data=st.data(),
    balances=st.lists(positive_cents, min_size=1, max_size=8),
    amount=positive_cents,
)
def test_clerk_edits_are_accepted_only_within_the_rules(data, balances, amount):
    edits = [
        data.draw(
            st.integers(min_value=-100, max_value=int(b * 100) + 200).map(
                lambda c: Decimal(c) / 100
            )
        )
        for b in balances
    ]
    try:
        split = validate_allocation(balances, amount, edits)
    except AllocationError:
        bad_line = any(e < 0 or e > b for e, b in zip(edits, balances, strict=True))
        assert bad_line or sum(edits) > amount
        return
    assert sum(split.amounts, Decimal(0)) + split.credit == amount
    assert split.credit >= 0
    assert all(0 <= s <= b for s, b in zip(split.amounts, balances, strict=True))


@given(balances=st.lists(positive_cents, min_size=1, max_size=5), amount=positive_cents)
def test_account_credit_split_must_be_allocated_in_full(balances, amount):
    split = propose_allocation(balances, amount)
    if split.credit:
        with pytest.raises(AllocationError):
            validate_allocation(balances, amount, split.amounts, allow_credit=False)
    else:
        assert validate_allocation(balances, amount, split.amounts, allow_credit=False) == split


def test_allocation_error_names_the_line():
    with pytest.raises(AllocationError) as caught:
        validate_allocation(
            [Decimal("10"), Decimal("5")], Decimal("20"), [Decimal("5"), Decimal("6")]
        )
    assert caught.value.index == 1


def test_negative_amount_is_refused():
    with pytest.raises(AllocationError):
        propose_allocation([Decimal("10")], Decimal("-1"))


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(moves=st.lists(st.integers(min_value=-5_000, max_value=5_000).filter(bool), max_size=15))
def test_credit_balance_never_goes_below_zero(moves):
    agent = BillingAgentFactory()
    for cents_ in moves:
        amount = Decimal(cents_) / 100
        before = credit_balance(account=account_for(agent))
        kind = CreditKind.OVERPAYMENT if amount > 0 else CreditKind.CREDIT_APPLIED
        try:
            post_credit(account=account_for(agent), kind=kind, amount=amount, by=None)
        except InsufficientCredit:
            assert before + amount < 0
            assert credit_balance(account=account_for(agent)) == before
        else:
            assert credit_balance(account=account_for(agent)) == before + amount
        assert credit_balance(account=account_for(agent)) >= 0
    rows = CreditTransaction.objects.filter(account__billing_agent=agent).order_by(
        "created_at", "id"
    )
    assert all(row.balance_after >= 0 for row in rows)
