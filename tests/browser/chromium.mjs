// How torn's browser tests start Debian's Chromium (or the one in $CHROMIUM), headless.
import { chromium } from "playwright-core";

export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

// The page's console errors (a Content-Security-Policy violation is one), collected as they
// come.
export function consoleErrors(page) {
  const errors = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  return errors;
}

// A `fail(message)` that prints why the test failed, closes the browser and exits with 1.
export function failWith(browser) {
  return async (message) => {
    console.error(message);
    await browser.close();
    process.exit(1);
  };
}
