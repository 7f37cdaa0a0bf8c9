// Passkeys (WebAuthn) on the app's pages: log in with one, add one, and confirm it's you with
// one. The server gives the options as JSON and checks the answers (torn's Accounts); this
// file only carries them between it and the browser's authenticator. Each part is hidden in
// the page until this script finds a browser that can do it.
(() => {
  "use strict";
  const able =
    window.PublicKeyCredential &&
    typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function" &&
    typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function";
  if (!able) return;

  // POST `body` as JSON with the page's XSRF token; the answer's JSON, or an Error with the
  // server's message.
  async function post(url, xsrf, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-XSRFToken": xsrf },
      body: JSON.stringify(body),
    });
    let data = {};
    try {
      data = await response.json();
    } catch {
      // Not JSON: the status says enough.
    }
    if (!response.ok) throw new Error(data.error || `The site answered ${response.status}.`);
    return data;
  }

  function say(element, message) {
    const out = element.querySelector("[role=alert]");
    if (out) out.textContent = message;
  }

  // Why it failed, for people: the browser's dialog closed without a passkey, or the site said
  // no.
  function why(error) {
    if (error.name === "NotAllowedError") return "No passkey was used. Try again.";
    if (error.name === "InvalidStateError") return "This device has a passkey for this account already.";
    if (error.name === "SecurityError") return "Passkeys do not work at this address.";
    return error.message;
  }

  // A passkey belongs to the site's own address (its base_url): elsewhere (another host name
  // for the same server) the browser refuses, so say where they work.
  function atHome(element) {
    const home = element.dataset.origin;
    if (!home || new URL(home).origin === location.origin) return true;
    say(element, `Passkeys work at ${home}.`);
    return false;
  }

  function start(element, run) {
    element.hidden = false;
    const trigger = element.tagName === "FORM" ? "submit" : "click";
    const target = element.tagName === "FORM" ? element : element.querySelector("button");
    target.addEventListener(trigger, async (event) => {
      event.preventDefault();
      say(element, "");
      if (!atHome(element)) return;
      const buttons = element.querySelectorAll("button");
      buttons.forEach((b) => (b.disabled = true));
      try {
        await run();
      } catch (error) {
        say(element, why(error));
      } finally {
        buttons.forEach((b) => (b.disabled = false));
      }
    });
  }

  for (const element of document.querySelectorAll("[data-passkey-login]")) {
    start(element, async () => {
      const url = element.dataset.passkeyLogin;
      const xsrf = element.dataset.xsrf;
      const options = await post(url, xsrf, {});
      const credential = await navigator.credentials.get({
        publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options),
      });
      const remember = document.querySelector("input[name=remember]");
      const done = await post(url, xsrf, {
        credential: credential.toJSON(),
        next: element.dataset.next || "",
        remember: Boolean(remember && remember.checked),
      });
      location.assign(done.redirect);
    });
  }

  for (const form of document.querySelectorAll("form[data-passkey-register]")) {
    start(form, async () => {
      const url = form.dataset.passkeyRegister;
      const fields = new FormData(form);
      const xsrf = fields.get("_xsrf");
      const options = await post(url, xsrf, {
        name: fields.get("name") || "",
        current_password: fields.get("current_password") || "",
      });
      const credential = await navigator.credentials.create({
        publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options),
      });
      const done = await post(url, xsrf, { credential: credential.toJSON() });
      location.assign(done.redirect);
    });
  }

  for (const element of document.querySelectorAll("[data-passkey-confirm]")) {
    start(element, async () => {
      const url = element.dataset.passkeyConfirm;
      const xsrf = element.dataset.xsrf;
      const options = await post(url, xsrf, {});
      const credential = await navigator.credentials.get({
        publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options),
      });
      await post(url, xsrf, { credential: credential.toJSON() });
      location.reload();
    });
  }
})();
