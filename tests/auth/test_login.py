from campaign.auth.services import AccountError, authenticate, create_coordinator, find_coordinator


def test_dashboard_requires_login(client):
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_login_with_right_password_opens_dashboard(client, auth):
    response = auth.login()
    assert response.status_code == 302
    page = client.get("/dashboard/")
    assert page.status_code == 200
    assert "Campagnes" in page.get_data(as_text=True)


def test_login_with_wrong_password_is_refused_in_dutch(client, auth):
    response = auth.login(password="fout-wachtwoord")
    assert response.status_code == 200
    assert "horen niet bij elkaar" in response.get_data(as_text=True)
    assert client.get("/dashboard/").status_code == 302


def test_logout_ends_the_session(client, auth):
    auth.login()
    auth.logout()
    assert client.get("/dashboard/").status_code == 302


def test_login_ignores_next_pointing_off_site(client, auth):
    response = client.post(
        "/login?next=https://evil.example.com/",
        data={"email": "coordinator@example.org", "password": "een-lang-wachtwoord"},
    )
    assert response.headers["Location"] == "/dashboard/"


def test_passwords_are_stored_hashed(app, coordinator):
    assert "een-lang-wachtwoord" not in coordinator.password_hash
    assert authenticate("Coordinator@Example.org", "een-lang-wachtwoord") is not None


def test_create_coordinator_refuses_duplicates_and_short_passwords(app, coordinator):
    for email, password, message in [
        ("coordinator@example.org", "nog-een-lang-wachtwoord", "bestaat al"),
        ("nieuw@example.org", "kort", "minstens"),
        ("geen-adres", "een-lang-wachtwoord", "Ongeldig e-mailadres"),
    ]:
        try:
            create_coordinator(email, password)
        except AccountError as exc:
            assert message in str(exc)
        else:
            raise AssertionError(f"{email} was accepted")


def test_csrf_token_is_required_on_forms(make_app, coordinator):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    response = client.post(
        "/login", data={"email": "coordinator@example.org", "password": "een-lang-wachtwoord"}
    )
    assert response.status_code == 400
    assert "formulier is verlopen" in response.get_data(as_text=True)
    assert client.get("/dashboard/").status_code == 302


def test_users_create_reads_password_from_stdin(runner):
    result = runner.invoke(
        args=["users", "create", "nieuw@example.org", "--password-stdin"],
        input="een-lang-wachtwoord\n",
    )
    assert result.exit_code == 0, result.output
    assert authenticate("nieuw@example.org", "een-lang-wachtwoord") is not None


def test_users_create_fails_with_clear_message_on_short_password(runner):
    result = runner.invoke(
        args=["users", "create", "nieuw@example.org", "--password-stdin"], input="kort\n"
    )
    assert result.exit_code == 1
    assert "minstens 10 tekens" in result.output


def test_users_create_refuses_a_password_easy_to_guess(runner):
    for password in ("wachtwoord123", "Welkom2026!", "nieuw@example.org1", "Brugge123456"):
        result = runner.invoke(
            args=["users", "create", "nieuw@example.org", "--password-stdin"],
            input=f"{password}\n",
        )
        assert result.exit_code == 1, password
        assert "te makkelijk te raden" in result.output
    assert find_coordinator("nieuw@example.org") is None


def test_home_leads_to_the_dashboard(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard/"
