//! The [[ table ]] JSON API over HTTP, made by `torn gen scaffold [[ name ]] … --api`.

[% for line in api_test_uses %][[ line ]]
[% endfor %]
/// The list, where rows are made.
const LIST: &str = "/api/[[ table ]]";

[% include "scaffold/test_common.rs" %]

/// A JSON object of the fields a form would send (a checked box as `true`).
fn object(fields: &[(&str, String)]) -> Value {
    let mut object = serde_json::Map::new();
    for (name, value) in fields {
        let value = if value == "on" {
            Value::Bool(true)
        } else {
            Value::String(value.clone())
        };
        object.insert((*name).to_string(), value);
    }
    Value::Object(object)
}

/// A JSON request from `client`, with the XSRF token of the home page's form, as the app's own
/// scripts send them.
async fn call(
    server: &TestServer,
    client: &reqwest::Client,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> TestResponse {
    let page = server.send(client.get(server.url("/"))).await;
    let token = form_field(&page.text, "_xsrf").expect("the home page has a form");
    let mut request = client
        .request(method, server.url(path))
        .header("Accept", "application/json")
        .header("X-XSRFToken", token);
    if let Some(body) = body {
        request = request.json(body);
    }
    server.send(request).await
}

async fn get(server: &TestServer, client: &reqwest::Client, path: &str) -> TestResponse {
    call(server, client, reqwest::Method::GET, path, None).await
}

/// Make a row: `POST` it to the list.
async fn post(server: &TestServer, client: &reqwest::Client, body: Value) -> TestResponse {
    call(server, client, reqwest::Method::POST, LIST, Some(&body)).await
}

async fn put(
    server: &TestServer,
    client: &reqwest::Client,
    path: &str,
    body: Value,
) -> TestResponse {
    call(server, client, reqwest::Method::PUT, path, Some(&body)).await
}

async fn delete(server: &TestServer, client: &reqwest::Client, path: &str) -> TestResponse {
    call(server, client, reqwest::Method::DELETE, path, None).await
}
[%- if auth %]

/// An API token of `user`'s with one scope.
async fn token(accounts: &torn::Accounts, db: &Db, user: &torn::User, scope: &str) -> String {
    let session = torn::Session::new(
        None,
        std::sync::Arc::new(torn::session::Store::for_db(db)),
        None,
    );
    let scopes = [scope.to_string()];
    let new = torn::auth::NewApiToken {
        name: "a program",
        scopes: &scopes,
        lifetime: std::time::Duration::from_secs(86_400),
    };
    let password = Some("correct horse battery staple");
    let (token, _) = accounts
        .create_api_token(&session, user, password, &new)
        .await
        .unwrap();
    token
}

/// A request from a program: no cookies and no XSRF token, its API token in its header.
async fn as_program(server: &TestServer, method: reqwest::Method, path: &str, token: &str) -> u16 {
    let request = reqwest::Client::new()
        .request(method, server.url(path))
        .bearer_auth(token);
    server.send(request).await.status
}
[%- endif %]

/// The JSON of an answer.
fn json_of(r: &TestResponse) -> Value {
    serde_json::from_str(&r.text).unwrap_or_else(|e| panic!("{e}: {}", r.text))
}

#[tokio::test]
async fn [[ table ]]_are_listed_made_shown_changed_and_deleted_as_json() {
    let (server, db, _database) = app().await;
[%- if accounts %]
    let accounts = torn::Accounts::new(
        db.clone(),
        std::sync::Arc::new(Settings::for_test(env!("CARGO_MANIFEST_DIR"))),
    )
    .await
    .unwrap();
[%- endif %]
[%- if auth %]
    [[ owner_id ]]log_in(&accounts, &server, server.client(), "owner@example.com").await;
[%- endif %]
[%- for line in setup %]
[[ line ]]
[%- endfor %]
[[ first ]]
[[ second ]]
    let client = server.client();
    let list = get(&server, client, LIST).await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(json_of(&list)["items"], json!([]));

    // Nothing is made without the XSRF token.
    let forged = server
        .send(client.post(server.url(LIST)).json(&object(&first)))
        .await;
    assert_eq!(forged.status, 403);

    // Not an object, or a field of the wrong kind: 422, with a message per field.
    let r = post(&server, client, json!([1, 2])).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(json_of(&r)["errors"]["_body"].is_string(), "{}", r.text);
    let mut wrong = object(&first);
    wrong[first[0].0] = json!({ "not": "a value" });
    let r = post(&server, client, wrong).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(json_of(&r)["errors"][first[0].0].is_string(), "{}", r.text);
[%- if required.is_some() %]
    let r = post(&server, client, json!({})).await;
    assert_eq!(r.status, 422, "{}", r.text);
    let errors = json_of(&r)["errors"].to_string();
    assert!(errors.contains("can't be blank"), "{errors}");
[%- endif %]
[%- if mistyped_label.is_some() %]
[[ mistyped ]]
    let (bad, _) = mistyped.iter().find(|(_, v)| v == "not valid").unwrap();
    let r = post(&server, client, object(&mistyped)).await;
    assert_eq!(r.status, 422, "{}", r.text);
    let message = json_of(&r)["errors"][*bad].to_string();
    assert!(message.starts_with("\"must be"), "{message}");
[%- endif %]

    let r = post(&server, client, object(&first)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let row = json_of(&r);
    let id: i64 = row["id"].as_str().unwrap().parse().unwrap();
    let shown = server.reverse_url("[[ name ]]", [id]);
    assert_eq!(r.header("location"), Some(shown.as_str()));
[%- if let Some((key, value)) = shown_first_json %]
    assert_eq!(row[[ key ]], [[ value ]].as_str());
[%- endif %]
    let r = get(&server, client, &shown).await;
    assert_eq!((r.status, json_of(&r)), (200, row));

    let r = put(&server, client, &shown, object(&second)).await;
    assert_eq!(r.status, 200, "{}", r.text);
[%- if let Some((key, value)) = shown_second_json %]
    assert_eq!(json_of(&r)[[ key ]], [[ value ]].as_str());
[%- endif %]
    let list = json_of(&get(&server, client, LIST).await);
    assert_eq!(list["items"][0]["id"], id.to_string());
    assert_eq!(list["pages"], 1);

    let r = delete(&server, client, &shown).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(get(&server, client, &shown).await.status, 404);
    let missing = server.reverse_url("[[ name ]]", [123_456_789]);
    assert_eq!(delete(&server, client, &missing).await.status, 404);
    db.close().await;
}
[%- if auth %]

#[tokio::test]
async fn [[ table ]]_need_a_log_in_and_belong_to_their_owner_as_json() {
    let (server, db, _database) = app().await;
    let accounts = torn::Accounts::new(
        db.clone(),
        std::sync::Arc::new(Settings::for_test(env!("CARGO_MANIFEST_DIR"))),
    )
    .await
    .unwrap();
    let nobody = browser();
    assert_eq!(get(&server, &nobody, LIST).await.status, 401);

    let owner = browser();
    [[ owner_id ]]log_in(&accounts, &server, &owner, "first@example.com").await;
[%- for line in setup %]
[[ line ]]
[%- endfor %]
[[ first ]]
    let r = post(&server, &owner, object(&first)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let shown = r.header("location").unwrap().to_string();
    assert_eq!(get(&server, &owner, &shown).await.status, 200);

    // Someone else sees none of it and can change none of it.
    let other = browser();
    log_in(&accounts, &server, &other, "second@example.com").await;
    let list = get(&server, &other, LIST).await;
    assert_eq!(json_of(&list)["items"], json!([]));
    assert_eq!(get(&server, &other, &shown).await.status, 404);
    let r = put(&server, &other, &shown, object(&first)).await;
    assert_eq!(r.status, 404);
    assert_eq!(delete(&server, &other, &shown).await.status, 404);
    assert_eq!(get(&server, &owner, &shown).await.status, 200);

    // A program with one of the owner's API tokens: its scopes decide what it may do.
    let user = accounts.user_by_email("first@example.com").await.unwrap();
    let user = user.unwrap();
    let reader = token(&accounts, &db, &user, "read").await;
    let writer = token(&accounts, &db, &user, "write").await;
    let status = as_program(&server, reqwest::Method::GET, &shown, &reader).await;
    assert_eq!(status, 200);
    let status = as_program(&server, reqwest::Method::DELETE, &shown, &reader).await;
    assert_eq!(status, 403);
    let status = as_program(&server, reqwest::Method::DELETE, &shown, &writer).await;
    assert_eq!(status, 204);
    let status = as_program(&server, reqwest::Method::GET, &shown, &reader).await;
    assert_eq!(status, 404);
[%- if others_parent %]

    // Nor can they point a row of theirs at the owner's rows.
    let r = post(&server, &other, object(&first)).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.text.contains("does not exist"), "{}", r.text);
[%- endif %]
    db.close().await;
}
[%- endif %]
