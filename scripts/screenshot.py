"""Screenshot pages of a running Ops Platform for the README (Playwright driving Debian's Chromium).

    make run   # in another terminal
    .venv/bin/python scripts/screenshot.py --url http://127.0.0.1:8000 --out docs/screenshot-dashboard.png
    .venv/bin/python scripts/screenshot.py --width 390 --height 844 --viewport-only --out docs/screenshot-phone.png
"""

from __future__ import annotations

import argparse

from playwright.sync_api import sync_playwright


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--path", default="/", help="Page to capture after logging in.")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", default="demo-pass-123")
    parser.add_argument("--language", default="en", help="en, zh-hans or zh-hant")
    parser.add_argument("--out", default="docs/screenshot-dashboard.png")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--width", type=int, default=1280, help="Viewport width in pixels (390: a phone).")
    parser.add_argument("--height", type=int, default=900, help="Viewport height in pixels.")
    parser.add_argument("--viewport-only", action="store_true", help="Capture the viewport, not the whole page.")
    args = parser.parse_args()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": args.width, "height": args.height}, locale=args.language,
                                extra_http_headers={"Accept-Language": args.language})
        page.goto(f"{args.url}/login/")
        page.fill("#id_username", args.username)
        page.fill("#id_password", args.password)
        page.click("main form button[type=submit]")
        page.wait_for_load_state("networkidle")
        select = page.locator("[data-testid=language-select]")
        if select.input_value() != args.language:  # the account may keep another language from an earlier run
            with page.expect_navigation():
                select.select_option(args.language)
        page.goto(f"{args.url}{args.path}")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=args.out, full_page=not args.viewport_only)
        browser.close()
    print(args.out)


if __name__ == "__main__":
    main()
