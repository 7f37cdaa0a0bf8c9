//! PostgreSQL: a database of its own for a test, and SQL run on any database.

/// Run one statement on a database, for test set-up (`CREATE DATABASE`, …).
pub async fn execute(db: &torn::db::Db, sql: &str) {
    torn::with_db!(db, pool => {
        sqlx::query(sql).execute(pool).await.map(|r| r.rows_affected())
    })
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// A fresh database for one test on the PostgreSQL server `TORN_TEST_POSTGRES_URL` names;
/// `None` when the variable is not set. Drop it with [`PgDatabase::drop_database`].
pub struct PgDatabase {
    /// The new database's URL.
    pub url: String,
    admin_url: String,
    name: String,
}

impl PgDatabase {
    /// Create `<prefix>_<pid>_<time>_<n>` on the server.
    pub async fn create(prefix: &str) -> Option<Self> {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let admin_url = std::env::var("TORN_TEST_POSTGRES_URL").ok()?;
        let admin = torn::db::Db::connect(&admin_url)
            .await
            .expect("TORN_TEST_POSTGRES_URL is reachable");
        let name = format!(
            "{prefix}_{}_{}_{}",
            std::process::id(),
            torn::signing::unix_now(),
            N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        execute(&admin, &format!("CREATE DATABASE {name}")).await;
        admin.close().await;
        let (server, _) = admin_url
            .rsplit_once('/')
            .expect("TORN_TEST_POSTGRES_URL needs a database name");
        Some(PgDatabase {
            url: format!("{server}/{name}"),
            admin_url,
            name,
        })
    }

    /// Drop the database, disconnecting whoever still uses it.
    pub async fn drop_database(self) {
        let admin = torn::db::Db::connect(&self.admin_url).await.unwrap();
        execute(
            &admin,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        )
        .await;
        admin.close().await;
    }
}
