//! SQL run on any database, for set-up (`torn::test::TestDatabase` makes the databases).

/// Run one statement on a database, for test set-up (`CREATE DATABASE`, …).
pub async fn execute(db: &torn::db::Db, sql: &str) {
    torn::with_db!(db, pool => {
        sqlx::query(sql).execute(pool).await.map(|r| r.rows_affected())
    })
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
}
