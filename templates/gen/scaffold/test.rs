//! The [[ table ]] pages over HTTP, made by `torn gen scaffold [[ name ]]`.

[% for line in test_uses %][[ line ]]
[% endfor %]
/// The list of [[ lower_plural ]], the form that makes one, and what the list says when empty.
const LIST: &str = "/[[ table ]]";
const NEW: &str = "/[[ table ]]/new";
const EMPTY: &str = "No [[ lower_plural ]] yet.";
[%- if auth %]
/// Where the list sends a visitor who has not logged in.
const LOG_IN: &str = "/auth/login?next=%2F[[ table ]]";
[%- endif %]

[% include "scaffold/test_common.rs" %]

#[tokio::test]
async fn [[ table ]]_are_listed_made_shown_changed_and_deleted() {
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
    let page = server.get(LIST).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains(EMPTY));

    // Nothing is made without the XSRF token.
    let forged = server
        .send(client.post(server.url(LIST)).form(&first))
        .await;
    assert_eq!(forged.status, 403);

    // Empty fields: the form again, with a message, and what was typed kept.
    let r = submit(&server, client, NEW, LIST, &[]).await;
[%- if let Some(label) = required %]
    assert_eq!(r.status, 422);
    let blank = "[[ label ]] can't be blank";
    assert!(
        r.text.contains(blank) || r.text.contains(&blank.replace('\'', "&#39;")),
        "{}",
        r.text
    );
[%- else %]
    assert_eq!(r.status, 303);
[%- endif %]
[%- if let Some(label) = mistyped_label %]
[[ mistyped ]]
    let r = submit(&server, client, NEW, LIST, &mistyped).await;
    assert_eq!(r.status, 422);
    let message = "[[ label ]] must be";
    assert!(r.text.contains(message), "{}", r.text);
    assert!(
        r.text.contains("value=\"not valid\""),
        "what was typed is kept"
    );
[%- endif %]

    let r = submit(&server, client, NEW, LIST, &first).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let location = r.header("location").unwrap();
    let id: i64 = location.rsplit('/').next().unwrap().parse().unwrap();
    let shown = server.reverse_url("[[ name ]]", [id]);
    assert_eq!(location, shown);
    let page = server.get(&shown).await;
    assert_eq!(page.status, 200);
[%- if let Some(shown) = shown_first %]
    assert!(page.text.contains(&[[ shown ]]), "{}", page.text);
[%- endif %]

    let edit = server.reverse_url("edit_[[ name ]]", [id]);
    assert_eq!(server.get(&edit).await.status, 200);
    let r = submit(&server, client, &edit, &shown, &second).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let page = server.get(&shown).await;
[%- if let Some(shown) = shown_second %]
    assert!(page.text.contains(&[[ shown ]]), "{}", page.text);
[%- endif %]

    let page = server.get(LIST).await;
    assert!(!page.text.contains(EMPTY));
    assert!(page.text.contains("Page 1 of 1"));

    let delete = server.reverse_url("delete_[[ name ]]", [id]);
    let r = submit(&server, client, &shown, &delete, &[]).await;
    assert_eq!((r.status, r.header("location")), (303, Some(LIST)));
    assert_eq!(server.get(&shown).await.status, 404);
    let missing = server.reverse_url("[[ name ]]", [123_456_789]);
    assert_eq!(server.get(&missing).await.status, 404);
    db.close().await;
}
[%- if auth %]

#[tokio::test]
async fn [[ table ]]_need_a_log_in_and_belong_to_their_owner() {
    let (server, db, _database) = app().await;
    let accounts = torn::Accounts::new(
        db.clone(),
        std::sync::Arc::new(Settings::for_test(env!("CARGO_MANIFEST_DIR"))),
    )
    .await
    .unwrap();
    let r = server.get(LIST).await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some(LOG_IN));

    let owner = browser();
    [[ owner_id ]]log_in(&accounts, &server, &owner, "first@example.com").await;
[%- for line in setup %]
[[ line ]]
[%- endfor %]
[[ first ]]
    let r = submit(&server, &owner, NEW, LIST, &first).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let location = r.header("location").unwrap();
    let id: i64 = location.rsplit('/').next().unwrap().parse().unwrap();
    let shown = server.reverse_url("[[ name ]]", [id]);
    assert_eq!(server.send(owner.get(server.url(&shown))).await.status, 200);

    // Someone else sees none of it and can change none of it.
    let other = browser();
    log_in(&accounts, &server, &other, "second@example.com").await;
    let list = server.send(other.get(server.url(LIST))).await;
    assert!(list.text.contains(EMPTY));
    assert_eq!(server.send(other.get(server.url(&shown))).await.status, 404);
    let edit = server.reverse_url("edit_[[ name ]]", [id]);
    assert_eq!(server.send(other.get(server.url(&edit))).await.status, 404);
    let delete = server.reverse_url("delete_[[ name ]]", [id]);
    let r = submit(&server, &other, LIST, &delete, &[]).await;
    assert_eq!(r.status, 404);
    assert_eq!(server.send(owner.get(server.url(&shown))).await.status, 200);
[%- if others_parent %]

    // Nor can they point a row of theirs at the owner's rows.
    let r = submit(&server, &other, NEW, LIST, &first).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.text.contains("does not exist"), "{}", r.text);
[%- endif %]
    db.close().await;
}
[%- endif %]
