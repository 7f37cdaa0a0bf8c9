// torn run's live reload in a real browser, on an app served by `torn run`: a stylesheet edit
// restyles the open page without reloading it; a template edit reloads the page by itself; a
// broken edit shows the compiler's message over the page; the fix reloads it. No console error
// (the script and its event stream live within the app's Content-Security-Policy).
//
// usage: node devserver.mjs BASE_URL APP_DIR SCREENSHOT_PATH
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { consoleErrors, failWith, launchChromium } from "./chromium.mjs";

const [base, app, screenshot] = process.argv.slice(2);
const edit = (path, from, to) => {
  const file = join(app, path);
  const text = readFileSync(file, "utf8");
  if (!text.includes(from)) throw new Error(`${path} has no ${from}`);
  writeFileSync(file, text.replace(from, to));
};
const append = (path, more) => writeFileSync(join(app, path), readFileSync(join(app, path), "utf8") + more);

const browser = await launchChromium();
const fail = failWith(browser);
try {
  const page = await browser.newPage();
  const errors = consoleErrors(page);
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${base}/`);
  const before = await page.textContent("h1");
  // Wait for the live-reload connection, then mark this page: a reload loses the mark.
  await page.waitForFunction(() => window.__tornReload === true);
  await page.waitForTimeout(300);
  await page.evaluate(() => { window.__notReloaded = true; });

  // A stylesheet edit: restyled in place.
  append("static/css/app.css", "\nh1 { color: rgb(1, 2, 3); }\n");
  await page.waitForFunction(
    () => getComputedStyle(document.querySelector("h1")).color === "rgb(1, 2, 3)",
    null,
    { timeout: 10000 },
  );
  if (!(await page.evaluate(() => window.__notReloaded === true))) {
    await fail("the page reloaded for a stylesheet edit");
  }

  // A template edit: the page reloads by itself with the new text.
  edit("templates/home.html", before.trim(), "Reloaded by itself");
  await page.waitForFunction(
    () => document.querySelector("h1")?.textContent.includes("Reloaded by itself"),
    null,
    { timeout: 120000 },
  );
  if (await page.evaluate(() => window.__notReloaded === true)) {
    await fail("the new text came without a reload");
  }

  // A broken edit: the compiler's message over the page.
  await page.waitForFunction(() => window.__tornReload === true);
  await page.waitForTimeout(300);
  edit("src/handlers/home.rs", "Page(HomePage { ctx })", "Page(HomePage { ctx, oops })");
  await page.waitForSelector("#torn-dev-overlay", { timeout: 120000 });
  const overlay = await page.textContent("#torn-dev-overlay");
  if (!overlay.includes("Build failed") || !overlay.includes("cannot find value `oops`")) {
    await fail(`overlay: ${overlay}`);
  }
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });

  // The fix: the page reloads, the overlay is gone.
  edit("src/handlers/home.rs", "Page(HomePage { ctx, oops })", "Page(HomePage { ctx })");
  edit("templates/home.html", "Reloaded by itself", "Fixed in the browser");
  await page.waitForFunction(
    () => document.querySelector("h1")?.textContent.includes("Fixed in the browser"),
    null,
    { timeout: 120000 },
  );
  if (await page.$("#torn-dev-overlay")) await fail("the overlay stayed after the fix");
  if (errors.length) await fail(`console errors: ${errors.join(" | ")}`);
  console.log("browser test passed");
} finally {
  await browser.close();
}
