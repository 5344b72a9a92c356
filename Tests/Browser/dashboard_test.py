"""Drives the dashboard in Debian's chromium through Playwright, as a user would.

Run by Tests/ChatfnTests/DashboardTests.swift against a real control plane and worker (or `chatfn dev`),
with the scenario and what it needs in the environment:

  DASHBOARD_URL   the control plane's URL
  SCENARIO        `fleet` (tokens, CodeMirror, every page) or `plain-editor` (chatfn dev, no CodeMirror)
  FULL_TOKEN, READ_TOKEN   the API tokens (fleet)
  CHATFN, KAFKA   the chatfn binary and the broker, to emit events (fleet)
  SCREENSHOTS     a folder to write screenshots of the main pages to (optional: docs/dashboard.md)

Prints one line per step and exits 1 at the first failure, with the reason.
"""

import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid

from playwright.sync_api import expect, sync_playwright

URL = os.environ["DASHBOARD_URL"].rstrip("/")
SCENARIO = os.environ.get("SCENARIO", "fleet")
SCREENSHOTS = os.environ.get("SCREENSHOTS")
XSS = "<img src=x onerror=alert(1)>"
expect.set_options(timeout=20_000)


def step(text):
    print(f"ok: {text}", flush=True)


def api(method, path, token=None, body=None):
    """The API, as another client of the same control plane (used to check what the page did)."""
    request = urllib.request.Request(URL + path, method=method, data=None if body is None else json.dumps(body).encode())
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if body is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def wait_until(what, condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def emit(trigger, app, data, event_id):
    subprocess.run([os.environ["CHATFN"], "emit", trigger, "--kafka", os.environ["KAFKA"], "--app", app, "--key", "user-14",
                    "--id", event_id, "--data", json.dumps(data)], check=True, capture_output=True, timeout=60)


def shoot(page, name):
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


def set_code(page, label, code):
    """Types into the editor named `label`: CodeMirror (select all, insert) or the plain text area."""
    field = page.get_by_label(label, exact=True)
    if page.locator(".CodeMirror").count():
        editor = page.locator(".CodeMirror").filter(has=field)
        editor.click()
        page.keyboard.press("Control+A")
        page.keyboard.insert_text(code)
    else:
        field.fill(code)


def watch(page, problems):
    """Fails the run on a script error, a CSP violation or any alert()."""
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda message: problems.append(f"console: {message.text}")
            if message.type == "error" and "Content Security Policy" in message.text else None)
    page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}") if dialog.type == "alert" else None,
                                       dialog.accept()))


UNNAMED_CONTROLS = """() => [...document.querySelectorAll('button, input, select, textarea, a[href]')]
  .filter((element) => element.getClientRects().length && element.type !== 'hidden')
  .filter((element) => !(element.getAttribute('aria-label')?.trim() || element.textContent.trim() || element.title
    || [...(element.labels ?? [])].some((label) => label.textContent.trim())))
  .map((element) => element.outerHTML.slice(0, 160))"""


def every_control_named(page, where):
    unnamed = page.evaluate(UNNAMED_CONTROLS)
    assert not unnamed, f"{where}: controls without an accessible name: {unnamed}"


def no_problems(problems):
    assert not problems, "\n".join(problems)


FUNCTION_V1 = """async function handleEvent(event, context) {
  console.log(`hello ${event.user.name}`);
  console.log('%s');
  return { greeted: event.user.name };
}
""" % XSS

FUNCTION_V2 = """async function handleEvent(event, context) {
  console.log(`second version for ${event.user.name}`);
}
"""

BROKEN = """async function handleEvent(event, context) {
  const greeting = 'hi';
  const = 5;
}
"""


def fleet(browser):
    full, read = os.environ["FULL_TOKEN"], os.environ["READ_TOKEN"]
    app = f"shop-{uuid.uuid4().hex[:6]}"
    problems = []
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watch(page, problems)

    response = page.goto(URL + "/")
    csp = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp, f"Content-Security-Policy: {csp!r}"
    token_field = page.get_by_label("API token")
    expect(token_field).to_be_visible()
    shoot(page, "sign-in")
    token_field.fill("not-the-token")
    token_field.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("not accepted")
    token_field.fill(full)
    token_field.press("Enter")
    expect(page.get_by_role("heading", name="Applications")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('chatfn.apiToken')") == full
    assert page.evaluate("document.cookie") == "" and full not in page.url
    step("sign in with the API token (Enter submits; a wrong one is refused; kept in session storage only)")

    page.get_by_label("Application name").fill(app)
    page.get_by_role("button", name="Create application").click()
    expect(page.get_by_role("heading", name=app, exact=True)).to_be_visible()
    functions = page.get_by_role("table", name="Functions")
    for trigger, kind in [("user.attempted.start_session", "blocking"), ("user.attempted.send_message", "blocking"),
                          ("user.received.notification", "non-blocking"), ("system.triggered.event", "non-blocking")]:
        expect(functions.get_by_role("row").filter(has=page.get_by_role("link", name=trigger, exact=True))).to_contain_text(kind)
    expect(functions).to_contain_text("not deployed")
    every_control_named(page, "functions")
    shoot(page, "functions")
    assert app in [entry["id"] for entry in api("GET", "/v1/applications", full)]
    step("create an application; every ChatKitty trigger listed, blocking or not")

    api("POST", f"/v1/applications/{app}/functions/order.shipped/versions", full,
        {"handlerScript": "async function handleEvent(event) { console.log('shipped'); }"})
    page.reload()
    expect(functions.get_by_role("row").filter(has=page.get_by_role("link", name="order.shipped"))).to_contain_text("deployed")
    step("a custom trigger of the application is listed with the known ones")

    scratch = f"scratch-{uuid.uuid4().hex[:6]}"
    page.get_by_role("link", name="Applications").click()
    page.get_by_label("Application name").fill(scratch)
    page.get_by_label("Application name").press("Enter")
    expect(page.get_by_role("heading", name=scratch, exact=True)).to_be_visible()
    page.get_by_role("link", name="Applications").click()
    page.get_by_role("button", name=f"Delete {scratch}").click()  # confirm() is accepted
    expect(page.get_by_role("link", name=app, exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=scratch, exact=True)).to_have_count(0)
    assert scratch not in [entry["id"] for entry in api("GET", "/v1/applications", full)]
    page.get_by_role("link", name=app, exact=True).click()
    step("list applications, create one with Enter, delete one")

    page.get_by_role("link", name="user.received.notification", exact=True).click()
    expect(page.get_by_label("Function code", exact=True)).to_be_attached()
    assert page.locator(".CodeMirror").count() == 1 + 1, "CodeMirror edits the code and the test event"
    expect(page.locator(".CodeMirror").first).to_contain_text("userHasActiveSession")  # the template shows the event
    set_code(page, "Function code", FUNCTION_V1)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Saved version 1")).to_be_visible()
    expect(page.get_by_role("table", name="Versions")).to_contain_text(api("GET", "/v1/session", full)["fingerprint"])
    assert "hello" in api("GET", f"/v1/applications/{app}/functions/user.received.notification/current-version", full)["handlerScript"]
    step("write a function in CodeMirror and Save: version 1, with its author")
    expect(page.get_by_role("button", name="Undeploy")).to_be_visible()
    page.get_by_role("button", name="Save", exact=True).dblclick()
    expect(page.get_by_role("status").filter(has_text="Saved version 2")).to_be_visible()
    expect(page.get_by_role("button", name="Save", exact=True)).to_be_enabled()
    versions_path = f"/v1/applications/{app}/functions/user.received.notification/versions"
    assert [v["versionNumber"] for v in api("GET", versions_path, full)] == [1, 2], api("GET", versions_path, full)
    step("a double click on Save makes one version; Undeploy is offered once deployed")

    page.get_by_role("button", name="Test", exact=True).click()
    outcome = page.get_by_role("region", name="Test outcome")
    expect(outcome).to_contain_text("succeeded")
    expect(outcome.get_by_label("Console output")).to_contain_text("hello ada")
    expect(outcome.get_by_label("Console output")).to_contain_text(XSS)
    expect(outcome).to_contain_text('"greeted": "ada"')
    every_control_named(page, "function")
    shoot(page, "function")
    step("Test with the trigger's example event: status, result and console output")

    page.get_by_role("link", name="Invocations").click()
    expect(page.get_by_role("table", name="Invocations")).to_contain_text("No invocation yet")
    event_id = f"evt-{uuid.uuid4().hex[:8]}"
    emit("user.received.notification", app, {"user": {"name": "grace"}}, event_id)
    path = f"/v1/applications/{app}/invocations"
    wait_until("the invocation in the API", lambda: any(entry["eventId"] == event_id for entry in api("GET", path, full)), timeout=60)
    listed = time.monotonic()
    row = page.get_by_role("row").filter(has_text=event_id)
    expect(row).to_be_visible(timeout=2_000)
    step(f"emit an event: its invocation shows up without a reload, {time.monotonic() - listed:.2f} s after the API has it")
    expect(row).to_contain_text("succeeded")
    page.get_by_role("button", name=f"Output of {event_id}").click()
    output = page.get_by_label(f"Console output of {event_id}")
    expect(output).to_contain_text("hello grace")
    expect(output).to_contain_text(XSS)
    shoot(page, "invocations")
    step("open the invocation: its console output")

    assert page.locator("img").count() == 0, "a function's output became an element"
    no_problems(problems)
    step(f"console output {XSS!r} is shown as text: no element, no alert")

    page.get_by_label("Status").select_option("failed")
    expect(page.get_by_role("table", name="Invocations")).to_contain_text("No invocation yet")
    page.get_by_label("Status").select_option("")
    expect(page.get_by_role("row").filter(has_text=event_id)).to_be_visible()
    page.get_by_label("Trigger").select_option("order.shipped")
    expect(page.get_by_role("table", name="Invocations")).to_contain_text("No invocation yet")
    page.get_by_label("Trigger").select_option("user.received.notification")
    expect(page.get_by_role("row").filter(has_text=event_id)).to_be_visible()
    step("filter invocations by status and by trigger")

    page.get_by_role("link", name="Functions").click()
    page.get_by_role("link", name="user.received.notification", exact=True).click()
    set_code(page, "Function code", BROKEN)
    page.get_by_role("button", name="Save", exact=True).click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("line 3, column")
    expect(alert).to_contain_text("Version 2 stays live")
    assert api("GET", f"/v1/applications/{app}/functions/user.received.notification/current-version", full)["versionNumber"] == 2
    step("a compile error is shown at its line and column; version 2 stays live")

    set_code(page, "Function code", FUNCTION_V2)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Saved version 3")).to_be_visible()
    page.get_by_role("button", name="View version 1").click()
    version = page.get_by_role("region", name="Version 1")
    expect(version.get_by_label("Diff against the current version")).to_contain_text("- " + "  console.log(`hello ${event.user.name}`);")
    expect(version.get_by_label("Diff against the current version")).to_contain_text("+ " + "  console.log(`second version")
    shoot(page, "versions")
    version.get_by_role("button", name="Rollback", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Rolled back: version 4")).to_be_visible()
    current = api("GET", f"/v1/applications/{app}/functions/user.received.notification/current-version", full)
    assert current["versionNumber"] == 4 and current["rollbackOf"] == 1 and "hello" in current["handlerScript"], current
    expect(page.locator(".CodeMirror").first).to_contain_text("hello ${event.user.name}")
    step("view version 1 with its diff against the current one, and Rollback to it")

    page.get_by_role("link", name="Functions").click()
    page.get_by_role("link", name="order.shipped").click()
    page.get_by_role("button", name="Undeploy").click()  # confirm() is accepted
    expect(page.get_by_role("table", name="Functions")).to_be_visible()
    page.get_by_role("link", name="order.shipped").click()
    expect(page.locator(".CodeMirror").first).to_contain_text("shipped")  # the newest version, not the template
    page.get_by_role("button", name="View version 1").click()
    expect(page.get_by_role("region", name="Version 1")).to_contain_text("No version is live")
    step("an undeployed function opens on its newest version, which can be viewed and rolled back to")

    page.get_by_role("link", name="Secrets").click()
    secret_value = f"s3cr3t-{uuid.uuid4().hex}"
    page.get_by_label("Secret name").fill("PUSH_KEY")
    page.get_by_label("Secret value").fill(secret_value)
    page.get_by_role("button", name="Set secret").click()
    expect(page.get_by_role("table", name="Secrets")).to_contain_text("PUSH_KEY")
    assert page.get_by_label("Secret value").input_value() == ""
    page.reload()
    expect(page.get_by_role("table", name="Secrets")).to_contain_text("PUSH_KEY")
    assert secret_value not in page.content(), "the secret's value is on the page"
    page.get_by_role("button", name="Replace PUSH_KEY").click()
    expect(page.get_by_label("Secret name")).to_have_value("PUSH_KEY")
    shoot(page, "secrets")
    step("set a secret: listed by name, its value never shown again")

    page.get_by_role("link", name="Runtime").click()
    page.get_by_role("button", name="Add variable").click()
    page.get_by_label("Value of variable 1").fill("orphan value")
    page.get_by_role("button", name="Save environment variables").click()
    expect(page.get_by_role("alert")).to_contain_text("has a value but no name")
    page.get_by_label("Name of variable 1").fill("GREETING")
    page.get_by_label("Value of variable 1").fill("hello")
    page.get_by_role("button", name="Save environment variables").click()
    expect(page.get_by_role("status").filter(has_text="Saved")).to_be_visible()
    assert api("GET", f"/v1/applications/{app}/runtime", full)["environmentVariables"] == {"GREETING": "hello"}
    expect(page.get_by_label("Initialization script", exact=True)).to_be_attached()
    page.get_by_role("button", name="Add dependency").click()
    page.get_by_label("Name of dependency 1").fill("left-pad")
    page.get_by_role("button", name="Save dependencies").click()
    expect(page.get_by_role("alert")).to_contain_text("needs a name and a version")
    # A registry that has no such package (this server answers 404): npm fails, and says why.
    page.get_by_label("Version of dependency 1").fill("1.3.0")
    page.get_by_label("npm registry (optional)").fill(URL + "/no-npm-here/")
    page.get_by_role("button", name="Save dependencies").click()
    expect(page.get_by_role("alert")).to_contain_text("npm could not install them", timeout=120_000)
    expect(page.get_by_label("npm output")).to_contain_text("404")
    expect(page.get_by_role("region", name="Dependencies")).to_contain_text("failed")
    every_control_named(page, "runtime")
    shoot(page, "runtime")
    step("runtime: environment variables saved; a dependency without a version, or that npm cannot install, refused with npm's reason")

    # A function that always fails, tried once: its event is dead-lettered.
    api("POST", f"/v1/applications/{app}/functions/user.sent.message/versions", full,
        {"handlerScript": "async function handleEvent() { throw new Error('payment service down'); }"})
    api("PUT", f"/v1/applications/{app}/functions/user.sent.message/settings", full, {"maxAttempts": 1})
    failed_id = f"evt-{uuid.uuid4().hex[:8]}"
    emit("user.sent.message", app, {"user": {"name": "ada"}, "message": {"body": "hi"}}, failed_id)
    page.get_by_role("link", name="Dead letters").click()
    wait_until("the dead letter", lambda: page.get_by_role("button", name="Refresh").click() or
               page.get_by_role("table", name="Dead letters").filter(has_text=failed_id).count(), timeout=60)
    letters = page.get_by_role("table", name="Dead letters")
    expect(letters).to_contain_text("payment service down")
    shoot(page, "dead-letters")
    page.get_by_role("button", name=f"Replay {failed_id}").click()
    expect(page.get_by_role("status").filter(has_text="Replayed 1")).to_be_visible()
    page.get_by_role("button", name="Replay all").click()
    expect(page.get_by_role("status").filter(has_text="Replayed")).to_be_visible()
    step("dead letters: reason, error and attempts; replay one and all")
    no_problems(problems)
    context.close()

    read_only(browser, read, app)


WRITE_BUTTONS = {"Save", "Test", "Rollback", "Create application", "Delete", "Undeploy", "Set secret", "Replay all", "Replay",
                 "Save dependencies", "Save environment variables", "Save initialization script", "Add dependency", "Add variable"}


def read_only(browser, read, app):
    problems = []
    context = browser.new_context()
    page = context.new_page()
    watch(page, problems)
    page.goto(URL + "/")
    page.get_by_label("API token").fill(read)
    page.get_by_label("API token").press("Enter")
    expect(page.get_by_text("read-only")).to_be_visible()
    expect(page.get_by_role("link", name=app)).to_be_visible()
    shoot(page, "applications-read-only")
    pages = ["#/", f"#/apps/{app}", f"#/apps/{app}/functions/user.received.notification", f"#/apps/{app}/runtime",
             f"#/apps/{app}/secrets", f"#/apps/{app}/invocations", f"#/apps/{app}/dead-letters"]
    for address in pages:
        page.goto(URL + "/" + address)
        expect(page.locator("main table, main .editor").first).to_be_visible()
        every_control_named(page, address)
        names = {button.text_content().strip() for button in page.get_by_role("button").all()}
        offered = names & WRITE_BUTTONS
        assert not offered, f"{address} offers {offered} to the read-only token"
    page.goto(URL + "/" + f"#/apps/{app}/functions/user.received.notification")
    expect(page.get_by_label("Language")).to_be_disabled()
    page.get_by_role("button", name="View version 1").click()
    expect(page.get_by_role("region", name="Version 1")).to_contain_text("hello")
    assert page.get_by_role("button", name="Rollback").count() == 0
    no_problems(problems)
    context.close()
    step("a read-only token sees every page and is offered no button that writes")


def plain_editor(browser):
    """chatfn dev without CodeMirror: no token asked for, and the text area edits and saves."""
    problems = []
    page = browser.new_page()
    watch(page, problems)
    page.goto(URL + "/#/apps/default/functions/user.sent.message")
    code = page.get_by_label("Function code", exact=True)
    expect(code).to_be_visible()
    assert page.locator(".CodeMirror").count() == 0 and code.evaluate("element => element.tagName") == "TEXTAREA"
    code.fill("async function handleEvent(event) {\n  console.log('typed in a text area');\n}\n")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Saved version")).to_be_visible()
    assert "text area" in api("GET", "/v1/applications/default/functions/user.sent.message/current-version")["handlerScript"]
    no_problems(problems)
    step("chatfn dev without CodeMirror: no sign-in on loopback, a plain text area saves")


def main():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
        try:
            {"fleet": fleet, "plain-editor": plain_editor}[SCENARIO](browser)
        finally:
            browser.close()


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # the reason, without Playwright's long call log
        print(f"FAILED: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}", flush=True)
        print(str(error), file=sys.stderr)
        sys.exit(1)
