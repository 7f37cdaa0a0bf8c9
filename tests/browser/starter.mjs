// The starter's home page in a real browser: the page renders with its stylesheet, the
// greeting form is submitted with a click (XSRF token included by the page itself), and the
// flash message shows on the page the browser is redirected to.
//
// usage: node starter.mjs BASE_URL SCREENSHOT_PATH
import { consoleErrors, failWith, launchChromium } from "./chromium.mjs";

const [base, screenshot] = process.argv.slice(2);
const browser = await launchChromium();
const fail = failWith(browser);
try {
  const page = await browser.newPage();
  const violations = consoleErrors(page);
  const response = await page.goto(`${base}/`);
  if (response.status() !== 200) await fail(`GET / answered ${response.status()}`);
  const heading = await page.textContent("h1");
  if (!heading.includes("Hello world! Welcome to torn")) await fail(`heading: ${heading}`);
  // The stylesheet loaded and applied (the button takes the accent colour).
  const colour = await page.$eval("button", (b) => getComputedStyle(b).backgroundColor);
  if (colour !== "rgb(194, 65, 12)") await fail(`the stylesheet did not apply: ${colour}`);
  await page.fill("#name", "Ada <b>Lovelace</b>");
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  const flash = await page.textContent(".flash-success");
  if (!flash || !flash.includes("Hello, Ada <b>Lovelace</b>! Welcome to torn.")) {
    await fail(`flash message: ${flash}`);
  }
  // Escaped, not rendered as markup.
  if ((await page.$$(".flash-success b")).length !== 0) await fail("the flash was not escaped");
  if (violations.length) await fail(`console errors (CSP?): ${violations.join(" | ")}`);
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  console.log("browser test passed");
} finally {
  await browser.close();
}
