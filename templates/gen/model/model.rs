//! The `[[ table ]]` table: `[[ command ]]`.

use torn::db::{Db, new_id, now};
use torn::with_db;

/// The columns, in the struct's order.
[[ columns_const ]]

/// A row of `[[ table ]]`.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct [[ ty ]] {
    /// Random 63-bit id.
    pub id: i64,
[%- for f in fields %]
    /// `[[ f.column ]]`.
    pub [[ f.column ]]: [[ f.rust_type ]],
[%- endfor %]
    /// When it was made (Unix seconds).
    pub created_at: i64,
    /// When it last changed (Unix seconds).
    pub updated_at: i64,
}

/// The fields that are set when a row is made or changed.
#[derive(Clone, Debug, PartialEq)]
pub struct [[ ty ]]Input {
[%- for f in fields %]
    /// `[[ f.column ]]`.
    pub [[ f.column ]]: [[ f.rust_type ]],
[%- endfor %]
}

impl [[ ty ]] {
    /// Page `page` (from 1) of `per_page` rows, newest first.
    pub async fn list(db: &Db, page: u32, per_page: u32) -> sqlx::Result<Vec<Self>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM [[ table ]] ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2"
        );
        let offset = i64::from(page.max(1) - 1) * i64::from(per_page);
        with_db!(db, pool => {
            sqlx::query_as::<_, Self>(&sql)
                .bind(i64::from(per_page))
                .bind(offset)
                .fetch_all(pool)
                .await
        })
    }

    /// How many rows there are.
    pub async fn count(db: &Db) -> sqlx::Result<i64> {
        with_db!(db, pool => {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM [[ table ]]")
                .fetch_one(pool)
                .await
        })
    }

    /// The row with this id.
    pub async fn find(db: &Db, id: i64) -> sqlx::Result<Option<Self>> {
[[ find_sql ]]
        with_db!(db, pool => {
            sqlx::query_as::<_, Self>(&sql).bind(id).fetch_optional(pool).await
        })
    }

    /// Make a row, and return it as stored.
    pub async fn create(db: &Db, input: &[[ ty ]]Input) -> sqlx::Result<Self> {
        let sql = format!(
            "INSERT INTO [[ table ]] (id, [[ columns ]], created_at, updated_at) \
             VALUES ($1, [[ insert_placeholders ]], $[[ now_at ]], $[[ now_at ]]) RETURNING {COLUMNS}"
        );
        with_db!(db, pool => {
            sqlx::query_as::<_, Self>(&sql)
                .bind(new_id())
[%- for f in fields %]
                .bind([% if f.by_ref %]&[% endif %]input.[[ f.column ]])
[%- endfor %]
                .bind(now())
                .fetch_one(pool)
                .await
        })
    }

    /// Change the row with this id, and return it as stored; `None` if there is none.
[[ update_signature ]]
        let sql = format!(
            "UPDATE [[ table ]] SET [[ sets ]], updated_at = $2 WHERE id = $1 \
             RETURNING {COLUMNS}"
        );
        with_db!(db, pool => {
            sqlx::query_as::<_, Self>(&sql)
                .bind(id)
                .bind(now())
[%- for f in fields %]
                .bind([% if f.by_ref %]&[% endif %]input.[[ f.column ]])
[%- endfor %]
                .fetch_optional(pool)
                .await
        })
    }

    /// Delete the row with this id; whether there was one.
    pub async fn delete(db: &Db, id: i64) -> sqlx::Result<bool> {
        let deleted = with_db!(db, pool => {
            sqlx::query("DELETE FROM [[ table ]] WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(deleted > 0)
    }
}
[%- if owned %]

/// Rows of one owner (the user in `owner_id`).
impl [[ ty ]] {
    /// Page `page` (from 1) of this owner's rows, newest first.
    pub async fn list_owned(
        db: &Db,
        owner_id: i64,
        page: u32,
        per_page: u32,
    ) -> sqlx::Result<Vec<Self>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM [[ table ]] WHERE owner_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
        );
        let offset = i64::from(page.max(1) - 1) * i64::from(per_page);
        with_db!(db, pool => {
            sqlx::query_as::<_, Self>(&sql)
                .bind(owner_id)
                .bind(i64::from(per_page))
                .bind(offset)
                .fetch_all(pool)
                .await
        })
    }

    /// How many rows this owner has.
    pub async fn count_owned(db: &Db, owner_id: i64) -> sqlx::Result<i64> {
        with_db!(db, pool => {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM [[ table ]] WHERE owner_id = $1")
                .bind(owner_id)
                .fetch_one(pool)
                .await
        })
    }

    /// The row with this id, if this owner has it.
    pub async fn find_owned(db: &Db, owner_id: i64, id: i64) -> sqlx::Result<Option<Self>> {
[[ find_owned_sql ]]
        with_db!(db, pool => {
            sqlx::query_as::<_, Self>(&sql)
                .bind(id)
                .bind(owner_id)
                .fetch_optional(pool)
                .await
        })
    }
}
[%- endif %]
