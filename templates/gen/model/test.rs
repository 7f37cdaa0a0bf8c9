//! The `[[ table ]]` model on a fresh database, made by `torn gen model [[ name ]]`.

[% for line in test_uses %][[ line ]]
[% endfor %]
/// A fresh database (PostgreSQL when TORN_TEST_POSTGRES_URL is set, else SQLite), migrated.
async fn db() -> (Db, TestDatabase) {
    let database = TestDatabase::new().await;
    let db = Db::connect(database.url()).await.unwrap();
    db.migrate(&[[ crate_name ]]::MIGRATOR).await.unwrap();
    (db, database)
}

#[tokio::test]
async fn [[ table ]]_are_made_found_listed_changed_and_deleted() {
    let (db, _database) = db().await;
[%- if needs_accounts %]
    let settings = std::sync::Arc::new(torn::Settings::for_test(env!("CARGO_MANIFEST_DIR")));
    let accounts = torn::Accounts::new(db.clone(), settings).await.unwrap();
[%- endif %]
[%- for line in setup %]
[[ line ]]
[%- endfor %]
[[ one ]]
[[ two ]]
    let first = [[ ty ]]::create(&db, &one).await.unwrap();
    let second = [[ ty ]]::create(&db, &two).await.unwrap();
    assert_ne!(first.id, second.id);
    let found = [[ ty ]]::find(&db, first.id).await.unwrap();
    assert_eq!(found.as_ref(), Some(&first));
    assert_eq!([[ ty ]]::count(&db).await.unwrap(), 2);
    let page = [[ ty ]]::list(&db, 1, 1).await.unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!([[ ty ]]::list(&db, 2, 1).await.unwrap().len(), 1);
    assert!([[ ty ]]::list(&db, 3, 1).await.unwrap().is_empty());

    let changed = [[ ty ]]::update(&db, first.id, &two).await.unwrap();
    let changed = changed.expect("the row is there");
    assert_eq!(changed.id, first.id);
    assert_eq!(changed.created_at, first.created_at);
[[ changed_check ]]
    let missing = [[ ty ]]::update(&db, -1, &two).await.unwrap();
    assert!(missing.is_none());

    assert!([[ ty ]]::delete(&db, first.id).await.unwrap());
    assert!(![[ ty ]]::delete(&db, first.id).await.unwrap());
    assert_eq!([[ ty ]]::find(&db, first.id).await.unwrap(), None);
    assert_eq!([[ ty ]]::count(&db).await.unwrap(), 1);
    db.close().await;
}
