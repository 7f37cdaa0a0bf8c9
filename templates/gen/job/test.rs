//! The [[ name ]] job through the queue, made by `torn gen job [[ name ]]`.

use [[ crate_name ]]::jobs::[[ name ]]::[[ ty ]];
use torn::db::Db;
use torn::jobs::Ran;
use torn::test::TestDatabase;

#[tokio::test]
async fn [[ name ]]_is_stored_then_run_by_the_queue() {
    // PostgreSQL when TORN_TEST_POSTGRES_URL is set, else SQLite.
    let database = TestDatabase::new().await;
    let db = Db::connect(database.url()).await.unwrap();
    db.migrate(&[[ crate_name ]]::MIGRATOR).await.unwrap();
    let settings = torn::Settings::for_test(env!("CARGO_MANIFEST_DIR"));
    let jobs = torn::Jobs::new(db, &settings)
        .await
        .unwrap()
        .register::<[[ ty ]]>();

    jobs.enqueue(&[[ ty ]] { id: 7 }).await.unwrap();
    let ran = jobs.run_due().await.unwrap();
    assert_eq!(ran, Ran { done: 1, failed: 0 });
    // Done jobs are gone: nothing is left to run.
    assert_eq!(jobs.run_due().await.unwrap(), Ran::default());
}
