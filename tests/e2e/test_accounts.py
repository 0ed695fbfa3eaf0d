"""Accounts in the browser: register, inline errors, sign out, sign in, roles."""

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.app import App

pytestmark = pytest.mark.e2e


def test_register_with_bad_input_then_good(app: App, page: Page) -> None:
    page.goto(f"{app.url}/register")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Name is required")).to_be_visible(timeout=15_000)
    expect(page.get_by_text("Password must be at least 8 characters")).to_be_visible()
    page.get_by_label("Name").fill("Carol New")
    page.get_by_label("Email").fill("carol@example.com")
    page.get_by_label("Password").fill("a-long-password")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible(timeout=15_000)
    expect(page.get_by_role("button", name="Carol New")).to_be_visible()

    page.get_by_role("button", name="Carol New").click()
    page.get_by_role("menuitem", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=15_000)
    page.goto(f"{app.url}/notifications")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=15_000)

    page.get_by_label("Email").fill("carol@example.com")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Email or password is wrong")).to_be_visible()


def test_publish_form_validates_inline(app: App, page: Page) -> None:
    app.cli(
        "users",
        "create",
        "--email",
        "ed@example.com",
        "--name",
        "Eddie Editor",
        "--password",
        "password123",
        "--role",
        "editor",
    )
    page.goto(f"{app.url}/login")
    page.get_by_label("Email").fill("ed@example.com")
    page.get_by_label("Password").fill("password123")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Title is required")).to_be_visible(timeout=15_000)
    expect(page.get_by_text("Content is required")).to_be_visible()
    page.get_by_label("Title").fill("x" * 201)
    page.get_by_label("Content").fill("fine")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Title must be at most 200 characters")).to_be_visible()
    expect(page.get_by_role("link", name="Mailbox")).to_have_count(0)  # editors are not admins


def test_admin_makes_a_member_an_editor(app: App, browser: Browser) -> None:
    app.cli(
        "users",
        "create",
        "--email",
        "boss@example.com",
        "--name",
        "Boss Admin",
        "--password",
        "password123",
        "--role",
        "admin",
    )
    app.cli("users", "create", "--email", "dan@example.com", "--name", "Dan Member", "--password", "password123")
    boss = browser.new_context().new_page()
    dan = browser.new_context().new_page()
    for page, email in ((boss, "boss@example.com"), (dan, "dan@example.com")):
        page.goto(f"{app.url}/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill("password123")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Dashboard")).to_be_visible(timeout=15_000)
    expect(dan.get_by_label("Title")).to_have_count(0)
    dan.goto(f"{app.url}/users")
    expect(dan.get_by_role("heading", name="Dashboard")).to_be_visible(timeout=15_000)  # members are sent back

    boss.get_by_role("link", name="Users").click()
    boss.get_by_label("Search users").fill("dan@")
    expect(boss.get_by_role("row")).to_have_count(2, timeout=15_000)  # header + Dan, once the search settles
    role = boss.get_by_role("combobox", name="Role of dan@example.com")
    expect(role).to_have_text("member", timeout=15_000)
    role.click()
    boss.get_by_role("option", name="editor").click()
    expect(boss.get_by_text("Dan Member is now editor.")).to_be_visible()

    dan.reload()
    expect(dan.get_by_label("Title")).to_be_visible(timeout=15_000)
