"""The draw's rules on a real database: seed, freeze, run, redraw, eligibility, verify,
handover, with the outbox and the history."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select

from campaign.database import begin_write
from campaign.definitions.loader import parse_campaign_text
from campaign.definitions.services import load_campaign
from campaign.draw import checkdraw
from campaign.draw.prizes import mark_delivered, pass_to_reserve
from campaign.draw.published import verify_draw
from campaign.draw.services import (
    DrawRefused,
    ensure_draw,
    freeze,
    freeze_moment,
    run_draw,
)
from campaign.extensions import db
from campaign.models import Campaign, CampaignEvent, Draw, DrawEntry, Message
from campaign.survey.draw import AlreadyEntered, DrawError
from tests.conftest import EXAMPLE_CAMPAIGN
from tests.draw.conftest import AFTER_CLOSE, CLOSES, COORDINATOR, enter, entrants
from tests.survey.conftest import load_example

pytestmark = pytest.mark.usefixtures("clock")


def draw_of(campaign: Campaign) -> Draw:
    db.session.expire_all()
    draw = db.session.scalar(select(Draw).where(Draw.campaign_id == campaign.id))
    assert draw is not None
    return draw


def events(campaign: Campaign) -> list[CampaignEvent]:
    query = select(CampaignEvent).where(CampaignEvent.campaign_id == campaign.id)
    return [
        e
        for e in db.session.scalars(query.order_by(CampaignEvent.id))
        if e.kind.startswith("draw_")
    ]


def test_the_seed_is_made_with_the_campaign_and_only_its_commitment_shows(campaign, client):
    draw = draw_of(campaign)
    assert len(bytes.fromhex(draw.seed)) == 32
    assert campaign.draw_commitment == draw.commitment == checkdraw.commitment(draw.seed)
    from campaign.attribution import root_link
    from campaign.contacts.services import save_key_figure

    kf = save_key_figure(campaign, name="An", email="an@example.org", sector_code="welzijn")
    welcome = client.get(f"/s/{root_link(kf).code}").text
    public = client.get(f"/trekking/{campaign.slug}").text
    for page in (welcome, public):
        assert draw.commitment in page
        assert draw.seed not in page
    assert draw.seed not in client.get(f"/trekking/{campaign.slug}.json").text


def test_reloading_the_file_keeps_the_seed_and_each_campaign_has_its_own(campaign):
    before = draw_of(campaign).seed
    load_campaign(parse_campaign_text(EXAMPLE_CAMPAIGN.read_text(encoding="utf-8")))
    assert draw_of(campaign).seed == before
    other = load_example(slug="een-andere-bevraging")
    assert draw_of(other).seed != before and len(set(draw_of(other).seed)) > 4


def test_two_processes_racing_for_the_seed_make_one(app, campaign):
    begin_write()
    db.session.execute(delete(Draw))
    campaign.draw_commitment = None
    db.session.commit()
    barrier = threading.Barrier(2)
    made: list[str] = []
    errors: list[BaseException] = []

    def make() -> None:
        with app.app_context():
            try:
                mine = db.session.get(Campaign, campaign.id)
                barrier.wait()
                made.append(ensure_draw(mine).commitment)
            except BaseException as exc:  # noqa: BLE001  (reported below)
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=make) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert db.session.scalar(select(func.count()).select_from(Draw)) == 1
    draw = draw_of(campaign)
    assert made == [draw.commitment, draw.commitment]
    assert db.session.get(Campaign, campaign.id).draw_commitment == draw.commitment


def test_the_draw_is_refused_before_the_close_and_its_grace_period(campaign, clock, entered):
    with pytest.raises(DrawRefused, match="pas na de sluiting"):
        run_draw(campaign, actor=COORDINATOR)
    clock.moment = CLOSES + timedelta(minutes=30)  # in the grace period: entries still come
    with pytest.raises(DrawRefused, match="pas na de sluiting"):
        run_draw(campaign, actor=COORDINATOR)
    assert draw_of(campaign).performed_at is None and draw_of(campaign).frozen_at is None


def test_entries_stop_at_the_freeze(campaign, clock):
    clock.moment = freeze_moment(campaign)
    with pytest.raises(DrawError, match="bevroren"):
        enter(campaign, "laat@example.org")
    assert db.session.scalar(select(func.count()).select_from(DrawEntry)) == 0


def test_after_the_close_the_draw_picks_winners_and_mails_them(campaign, clock, entered):
    clock.moment = AFTER_CLOSE
    result = run_draw(campaign, actor=COORDINATOR)
    draw = draw_of(campaign)
    assert draw.frozen_at == freeze_moment(campaign)
    assert draw.receipts == sorted(entered)
    expected = checkdraw.draw(draw.seed, sorted(entered), 2, 3)
    assert (draw.winners, draw.reserves) == expected
    assert draw.performed_by == COORDINATOR and result.mails == 2
    mails = list(db.session.scalars(select(Message).where(Message.kind == "winner")))
    assert sorted(m.recipient_email for m in mails) == sorted(entered[r] for r in draw.winners)
    for mail in mails:
        assert mail.key_figure_id is None and "List-Unsubscribe" not in mail.headers
        receipt = next(r for r in draw.winners if entered[r] == mail.recipient_email)
        assert receipt in mail.body_text and f"/trekking/{campaign.slug}" in mail.body_text
    assert [e.kind for e in events(campaign)] == ["draw_frozen", "draw_run"]
    assert events(campaign)[1].actor == COORDINATOR
    assert verify_draw(campaign, draw) == []


def test_the_draw_cannot_run_twice_without_an_explicit_recorded_redraw(campaign, clock, entered):
    clock.moment = AFTER_CLOSE
    run_draw(campaign, actor=COORDINATOR)
    first = list(draw_of(campaign).winners)
    with pytest.raises(DrawRefused, match="al gebeurd"):
        run_draw(campaign, actor=COORDINATOR)
    assert db.session.scalar(select(func.count()).select_from(Message)) == 2
    # A winner turns out to be staff: excluded in the file, then an explicit redraw.
    staff = entered[first[0]]
    text = EXAMPLE_CAMPAIGN.read_text(encoding="utf-8").replace(
        'exclude: ["@pom.example.be"', f'exclude: ["{staff}", "@pom.example.be"'
    )
    spec = parse_campaign_text(text)
    spec.schedule.opens_at, spec.schedule.closes_at = campaign_local_schedule()
    spec.schedule.reminder_at = spec.schedule.results_due = None
    load_campaign(spec)
    clock.moment += timedelta(hours=1)
    run_draw(campaign, actor=COORDINATOR, redraw_reason="Winnaar bleek medewerker")
    draw = draw_of(campaign)
    assert first[0] not in draw.winners and first[0] not in draw.receipts
    assert draw.excluded == [{"receipt": first[0], "reason": "organisator"}]
    assert (
        draw.rounds[0]["winners"] == first
        and draw.rounds[0]["reason"] == "Winnaar bleek medewerker"
    )
    kinds = [e.kind for e in events(campaign)]
    assert kinds == ["draw_frozen", "draw_run", "draw_list_changed", "draw_redrawn"]
    assert verify_draw(campaign, draw) == []


def campaign_local_schedule():
    from datetime import datetime

    return datetime(2027, 6, 28, 9, 0), datetime(2027, 9, 15, 23, 59)


def test_one_entry_per_mailbox_with_folded_domains(campaign):
    enter(campaign, "Jan.Peeters@gmail.com")
    for same in (
        "janpeeters@gmail.com",
        "jan.peeters+wedstrijd@googlemail.com".replace("googlemail", "gmail"),
    ):
        with pytest.raises(AlreadyEntered):
            enter(campaign, same)
    # dots and tags matter elsewhere
    enter(campaign, "jan.peeters@example.org")
    enter(campaign, "janpeeters@example.org")
    stored = sorted(db.session.scalars(select(DrawEntry.email)))
    assert stored == ["jan.peeters@example.org", "janpeeters@example.org", "janpeeters@gmail.com"]


def test_staff_cannot_enter(campaign):
    with pytest.raises(DrawError, match="Medewerkers"):
        enter(campaign, "iemand@pom.example.be")
    with pytest.raises(DrawError, match="Medewerkers"):
        enter(campaign, "iemand@brugge.huisvanhetleren.example.be")
    assert db.session.scalar(select(func.count()).select_from(DrawEntry)) == 0


def test_a_changed_entry_list_seed_or_winner_fails_verification(campaign, clock, entered, runner):
    clock.moment = AFTER_CLOSE
    run_draw(campaign, actor=COORDINATOR)
    assert runner.invoke(args=["draw", "verify", campaign.slug]).exit_code == 0

    begin_write()  # an entry slipped into the table after the freeze
    db.session.add(DrawEntry(campaign_id=campaign.id, email="laat@example.org"))
    db.session.commit()
    assert "verschillen van de bevroren lijst" in verify_draw(campaign, draw_of(campaign))[0]
    failed = runner.invoke(args=["draw", "verify", campaign.slug])
    assert failed.exit_code == 1 and "bevroren lijst" in failed.output
    begin_write()
    db.session.execute(delete(DrawEntry).where(DrawEntry.email == "laat@example.org"))
    db.session.commit()
    assert verify_draw(campaign, draw_of(campaign)) == []

    for column, value in (("seed", "22" * 32), ("winners", None)):
        draw = draw_of(campaign)
        original = getattr(draw, column)
        begin_write()
        setattr(draw, column, value if value else [draw.reserves[0], draw.winners[1]])
        db.session.commit()
        assert verify_draw(campaign, draw_of(campaign)), column
        assert runner.invoke(args=["draw", "verify", campaign.slug]).exit_code == 1
        begin_write()
        setattr(draw_of(campaign), column, original)
        db.session.commit()
    assert verify_draw(campaign, draw_of(campaign)) == []


def test_an_unclaimed_prize_passes_to_the_next_reserve_visibly(campaign, clock, entered, client):
    clock.moment = AFTER_CLOSE
    run_draw(campaign, actor=COORDINATOR)
    draw = draw_of(campaign)
    with pytest.raises(DrawRefused, match="nog opeisen tot"):
        pass_to_reserve(campaign, 1, actor=COORDINATOR)
    clock.moment += timedelta(days=14, minutes=1)
    pass_to_reserve(campaign, 1, actor=COORDINATOR)
    after = draw_of(campaign)
    assert after.awards[1]["receipt"] == draw.reserves[0]
    assert after.awards[1]["passed"][0]["from"] == draw.winners[1]
    reserve_mail = db.session.scalar(
        select(Message).where(Message.recipient_email == entered[draw.reserves[0]])
    )
    assert reserve_mail is not None and reserve_mail.kind == "winner"
    event = events(campaign)[-1]
    assert event.kind == "draw_passed" and event.actor == COORDINATOR
    assert event.details["to_receipt"] == draw.reserves[0]
    assert verify_draw(campaign, after) == []
    page = client.get(f"/trekking/{campaign.slug}").text
    assert f"naar reserve 1, {draw.reserves[0]}" in page
    mark_delivered(campaign, 0, actor=COORDINATOR)
    with pytest.raises(DrawRefused, match="al overhandigd"):
        pass_to_reserve(campaign, 0, actor=COORDINATOR)


def test_no_reserve_left_is_refused(campaign, clock):
    for email in entrants(2):
        enter(campaign, email)
    clock.moment = AFTER_CLOSE
    run_draw(campaign, actor=COORDINATOR)
    assert draw_of(campaign).reserves == []
    clock.moment += timedelta(days=15)
    with pytest.raises(DrawRefused, match="geen reserve meer"):
        pass_to_reserve(campaign, 0, actor=COORDINATOR)


def test_the_freeze_is_lazy_and_once(campaign, clock, entered):
    with pytest.raises(DrawRefused):
        freeze(campaign)
    clock.moment = AFTER_CLOSE
    first = freeze(campaign)
    assert first.receipts_hash == checkdraw.list_hash(sorted(entered))
    freeze(campaign)
    assert [e.kind for e in events(campaign)] == ["draw_frozen"]


def test_two_coordinators_pressing_the_button_at_once_make_one_draw(app, campaign, clock, entered):
    clock.moment = AFTER_CLOSE
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def press(actor: str) -> None:
        with app.app_context():
            try:
                mine = db.session.get(Campaign, campaign.id)
                barrier.wait()
                run_draw(mine, actor=actor)
                outcomes.append("ran")
            except DrawRefused as exc:
                outcomes.append(str(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=press, args=(f"c{n}@example.org",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes)[1] == "ran" and "al gebeurd" in sorted(outcomes)[0], outcomes
    assert db.session.scalar(select(func.count()).select_from(Message)) == 2
    assert [e.kind for e in events(campaign)] == ["draw_frozen", "draw_run"]


def test_a_campaign_without_prizes_has_nothing_to_draw(campaign, clock, client):
    begin_write()
    campaign.prizes = []
    db.session.commit()
    clock.moment = AFTER_CLOSE
    with pytest.raises(DrawRefused, match="geen prijzen"):
        run_draw(campaign, actor=COORDINATOR)
    assert client.get(f"/trekking/{campaign.slug}").status_code == 404
