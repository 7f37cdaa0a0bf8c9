// A strict OpenID Connect provider for torn's tests: npm oidc-provider with its development
// log-in and consent pages. Exact redirect URI, PKCE (S256) required, `iss` in every
// authorization response (RFC 9207), claims beyond `sub` only from the userinfo endpoint.
//
//   node provider.mjs PORT REDIRECT_URI
//
// Client: torn-test / test-secret (client_secret_basic). Any login name works on the log-in
// page; the account's claims are sub=<login>, email=<login>@example.com (verified), name.
import Provider from "oidc-provider";

const [port, redirectUri] = process.argv.slice(2);

const configuration = {
  clients: [
    {
      client_id: "torn-test",
      client_secret: "test-secret",
      redirect_uris: [redirectUri],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    },
  ],
  pkce: { required: () => true },
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name"],
  },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ["torn-test-cookie-key"] },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: `${id}@example.com`, email_verified: true, name: id };
      },
    };
  },
};

const provider = new Provider(`http://127.0.0.1:${port}`, configuration);
// Quiet: the development pages warn on every start.
provider.on("server_error", (ctx, error) => console.error(error));
provider.listen(Number(port), "127.0.0.1", () => console.log(`ready http://127.0.0.1:${port}`));
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => process.exit(0));
}
