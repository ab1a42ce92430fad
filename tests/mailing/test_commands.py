"""``flask mail invite`` and ``flask mail send-queued``."""

from __future__ import annotations

from tests.conftest import free_port


def test_invite_sends_once_and_a_second_run_sends_nothing(
    runner, smtp_server, example_campaign, add_key_figures
):
    sink, _port = smtp_server
    add_key_figures(3)
    first = runner.invoke(args=["mail", "invite", example_campaign.slug])
    assert first.exit_code == 0, first.output
    assert "3 uitnodigingen in de wachtrij gezet" in first.output
    assert "3 verstuurd, 0 mislukt" in first.output
    second = runner.invoke(args=["mail", "invite", example_campaign.slug])
    assert second.exit_code == 0
    assert "0 uitnodigingen in de wachtrij gezet (3 al eerder, 0 afgemeld)" in second.output
    assert "0 verstuurd" in second.output
    assert len(sink.messages) == 3


def test_invite_for_an_unknown_campaign_fails_clearly(runner):
    result = runner.invoke(args=["mail", "invite", "bestaat-niet"])
    assert result.exit_code == 1
    assert "Geen campagne met slug 'bestaat-niet'" in result.output


def test_send_queued_exits_1_while_the_server_is_down_and_sends_later(
    app, runner, smtp_server, example_campaign, add_key_figures
):
    sink, port = smtp_server
    add_key_figures(2)
    app.config.update(MAIL_PORT=free_port(), MAIL_CONNECT_TRIES=1)
    down = runner.invoke(args=["mail", "invite", example_campaign.slug])
    assert down.exit_code == 1
    assert "niet bereikbaar" in down.output and "Er ging niets verloren" in down.output
    app.config["MAIL_PORT"] = port
    up = runner.invoke(args=["mail", "send-queued"])
    assert up.exit_code == 0, up.output
    assert "2 verstuurd" in up.output
    assert len(sink.messages) == 2


def test_send_queued_reports_permanent_failures_with_exit_1(
    runner, smtp_server, example_campaign, add_key_figures
):
    sink, _port = smtp_server
    add_key_figures(2)
    sink.refuse = lambda env: (
        "550 5.7.1 Geweigerd" if "persoon0@example.org" in env.rcpt_tos else None
    )
    result = runner.invoke(args=["mail", "invite", example_campaign.slug])
    assert result.exit_code == 1
    assert "persoon0@example.org: 550 5.7.1 Geweigerd" in result.output
