// How torn's browser tests start Debian's Chromium (or the one in $CHROMIUM), headless, and
// read the links the app mailed (its `mail/` folder in dev).
import { chromium } from "playwright-core";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export function launchChromium(extraArgs = []) {
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
      ...extraArgs,
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

// The links matching `pattern` (a RegExp) in the mail to `address` in `mailDir`, oldest file
// name first, waiting up to 10 seconds until there are `count`.
export function mailedLinks(mailDir, address, pattern, count = 1) {
  const deadline = Date.now() + 10000;
  while (Date.now() < deadline) {
    let names = [];
    try {
      names = readdirSync(mailDir).filter((n) => n.endsWith(".txt"));
    } catch {}
    const links = [];
    for (const name of names.sort()) {
      const text = readFileSync(join(mailDir, name), "utf8");
      if (text.startsWith(`To: ${address}\n`)) {
        const match = text.match(pattern);
        if (match) links.push(new URL(match[0]));
      }
    }
    if (links.length >= count) return links;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  }
  throw new Error(`fewer than ${count} links like ${pattern} for ${address} in ${mailDir}`);
}
