//! `/api/[[ table ]]`: list, show, make, change and delete [[ plural ]] as JSON, made by
//! `torn gen scaffold [[ name ]] [[ args ]][[ auth_flag ]] --api`.
//!
//! A row is an object with its fields, `id`, `created_at` and `updated_at` (ids are text:
//! they are 63-bit numbers, more than JavaScript's numbers hold exactly); the list is
//! `{"items": […], "page": 1, "pages": 3}` (`?page=N`, 20 a page, newest first). A row is made
//! (`POST`, 201 with its `Location`) or changed (`PUT`, every field) from an object of its
//! fields, numbers as numbers or text, checkboxes as `true` or `false`; one that is not right is
//! 422 with `{"errors": {"field": "message"}}`.
[%- if auth %]
//! Each person sees and changes only their own rows (another's is 404). With an API token
//! (`Authorization: Bearer …`, on the routes `App::bearer` opens to tokens), reading needs its
//! `read` scope and changing its `write` scope; a request from the browser's session needs its
//! XSRF token (`X-XSRFToken`), as every form does.
[%- else %]
//! A request from a browser needs its XSRF token (`X-XSRFToken`), as every form does.
[%- endif %]

use axum::Json;
use axum::extract::{Path, Query};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
[[ scopes_use ]]use torn::db::Db;
[[ form_use ]]
use torn::{[[ accounts_import ]][[ user_import ]]Error, PageContext};

[[ model_use ]]

/// Rows per page of the list.
const PER_PAGE: u32 = 20;

[% include "scaffold/form_check.rs" %]

/// A row as JSON.
fn to_json(row: &[[ ty ]]) -> Value {
    json!({
        "id": row.id.to_string(),
[%- for line in json_outputs %]
[[ line ]]
[%- endfor %]
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    })
}

/// 422, with a message per field that is not right.
fn invalid(errors: &FieldErrors) -> Response {
    let body = Json(json!({ "errors": errors.to_json() }));
    (StatusCode::UNPROCESSABLE_ENTITY, body).into_response()
}

/// `?page=N` on the list.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    page: Option<u32>,
}

/// `/api/[[ table ]]`: the list, and making a row.
pub struct [[ plural_ty ]]Index;

impl [[ plural_ty ]]Index {
    /// One page of rows, newest first.
[[ index_get ]]
[[ require_read ]]        let page = q.page.unwrap_or(1).max(1);
        let rows = [[ list ]].await?;
        let count = [[ count ]].await?;
        let pages = u32::try_from(count)
            .unwrap_or(u32::MAX)
            .div_ceil(PER_PAGE)
            .max(1);
        let items: Vec<Value> = rows.iter().map(to_json).collect();
        let list = json!({ "items": items, "page": page, "pages": pages });
        Ok(Json(list))
    }

    /// Make a row: 201 with it and its address, or 422.
[[ index_post ]]
[[ require_write ]]        let form = match [[ ty ]]Form::from_json(&body) {
            Ok(form) => form,
            Err(errors) => return Ok(invalid(&errors)),
        };
        let input = match form.check(&db[[ accounts_arg ]][[ owner_arg ]]).await? {
            Ok(input) => input,
            Err(errors) => return Ok(invalid(&errors)),
        };
        let row = [[ ty ]]::create(&db, &input).await?;
        let location = ctx.reverse_url("[[ name ]]", [row.id])?;
        let location = [(header::LOCATION, location)];
        Ok((StatusCode::CREATED, location, Json(to_json(&row))).into_response())
    }
}

torn::handler!([[ plural_ty ]]Index => get, post);

/// `/api/[[ table ]]/{id}`: one row, changing it and deleting it.
pub struct [[ plural_ty ]]Show;

impl [[ plural_ty ]]Show {
    /// The row.
[[ show_get ]]
[[ require_read ]][[ find_row ]]
        Ok(Json(to_json(&row)))
    }

    /// Change the row (every field, as when it is made): 200 with it, or 422.
[[ show_put ]]
[[ require_write ]][[ find_only ]]
        let form = match [[ ty ]]Form::from_json(&body) {
            Ok(form) => form,
            Err(errors) => return Ok(invalid(&errors)),
        };
        let input = match form.check(&db[[ accounts_arg ]][[ owner_arg ]]).await? {
            Ok(input) => input,
            Err(errors) => return Ok(invalid(&errors)),
        };
[[ update_row_api ]]
        Ok(Json(to_json(&row)).into_response())
    }

    /// Delete the row: 204.
[[ show_delete ]]
[[ require_write ]][[ find_only ]]
        [[ ty ]]::delete(&db, id).await?;
        Ok(StatusCode::NO_CONTENT)
    }
}

torn::handler!([[ plural_ty ]]Show => get, put, delete);
