//! `/[[ table ]]`: list, show, make, change and delete [[ plural ]], made by
//! `torn gen scaffold [[ name ]] [[ args ]][[ auth_flag ]]`.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use torn::db::Db;
[[ form_use ]]
use torn::{[[ accounts_import ]][[ user_import ]]Error, Flash, Page, PageContext};

use crate::models::[[ name ]]::{[[ ty ]], [[ ty ]]Input};

/// Rows per page of the list.
const PER_PAGE: u32 = 20;

[% include "scaffold/form_check.rs" %]

/// `templates/[[ table ]]/index.html`.
#[derive(Template)]
#[template(path = "[[ table ]]/index.html")]
pub struct [[ plural_ty ]]IndexPage {
    ctx: PageContext,
    rows: Vec<[[ ty ]]>,
    page: u32,
    pages: u32,
}

/// `templates/[[ table ]]/show.html`.
#[derive(Template)]
#[template(path = "[[ table ]]/show.html")]
pub struct [[ plural_ty ]]ShowPage {
    ctx: PageContext,
    row: [[ ty ]],
}

/// `templates/[[ table ]]/form.html`, to make a row (`id` none) or change one.
#[derive(Template)]
#[template(path = "[[ table ]]/form.html")]
pub struct [[ plural_ty ]]FormPage {
    ctx: PageContext,
    id: Option<i64>,
    form: [[ ty ]]Form,
    errors: FieldErrors,
}

/// `?page=N` on the list.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    page: Option<u32>,
}

[[ invalid_signature ]]
    let page = [[ plural_ty ]]FormPage {
        ctx,
        id,
        form,
        errors,
    };
    (StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response()
}

/// `/[[ table ]]`: the list, and making a row.
pub struct [[ plural_ty ]]Index;

impl [[ plural_ty ]]Index {
    /// One page of rows, newest first.
    pub async fn get(
        ctx: PageContext,
        db: Db,
[[ user_arg ]]        Query(q): Query<PageQuery>,
    ) -> torn::Result<Page<[[ plural_ty ]]IndexPage>> {
        let page = q.page.unwrap_or(1).max(1);
        let rows = [[ list ]].await?;
        let count = [[ count ]].await?;
        let pages = u32::try_from(count)
            .unwrap_or(u32::MAX)
            .div_ceil(PER_PAGE)
            .max(1);
        Ok(Page([[ plural_ty ]]IndexPage {
            ctx,
            rows,
            page,
            pages,
        }))
    }

    /// Make a row from the form, or show the form again with what is wrong.
    pub async fn post(
        ctx: PageContext,
        db: Db,
[[ accounts_extractor ]][[ user_arg ]]        flash: Flash,
        Form(form): Form<[[ ty ]]Form>,
    ) -> torn::Result<Response> {
        let input = match form.check(&db[[ accounts_arg ]][[ owner_arg ]]).await? {
            Ok(input) => input,
            Err(errors) => return Ok(invalid(ctx, None, form, errors)),
        };
        let row = [[ ty ]]::create(&db, &input).await?;
        flash.success("[[ label ]] created.");
        Ok(Redirect::to(&ctx.reverse_url("[[ name ]]", [row.id])?).into_response())
    }
}

torn::handler!([[ plural_ty ]]Index => get, post);

/// `/[[ table ]]/new`: the empty form.
pub struct [[ plural_ty ]]New;

impl [[ plural_ty ]]New {
    /// The form.
    pub async fn get(ctx: PageContext[[ user_param_new ]]) -> Page<[[ plural_ty ]]FormPage> {
        Page([[ plural_ty ]]FormPage {
            ctx,
            id: None,
            form: [[ ty ]]Form::default(),
            errors: FieldErrors::default(),
        })
    }
}

torn::handler!([[ plural_ty ]]New => get);

/// `/[[ table ]]/{id}`: one row, and changing it.
pub struct [[ plural_ty ]]Show;

impl [[ plural_ty ]]Show {
    /// The row.
    pub async fn get(
        ctx: PageContext,
        db: Db,
[[ user_arg ]]        Path(id): Path<i64>,
    ) -> torn::Result<Page<[[ plural_ty ]]ShowPage>> {
[[ find_row ]]
        Ok(Page([[ plural_ty ]]ShowPage { ctx, row }))
    }

    /// Change the row from the form, or show the form again with what is wrong.
    pub async fn post(
        ctx: PageContext,
        db: Db,
[[ accounts_extractor ]][[ user_arg ]]        flash: Flash,
        Path(id): Path<i64>,
        Form(form): Form<[[ ty ]]Form>,
    ) -> torn::Result<Response> {
[[ find_only ]]
        let input = match form.check(&db[[ accounts_arg ]][[ owner_arg ]]).await? {
            Ok(input) => input,
            Err(errors) => return Ok(invalid(ctx, Some(id), form, errors)),
        };
[[ update_row ]]
        flash.success("[[ label ]] saved.");
        Ok(Redirect::to(&ctx.reverse_url("[[ name ]]", [id])?).into_response())
    }
}

torn::handler!([[ plural_ty ]]Show => get, post);

/// `/[[ table ]]/{id}/edit`: the form, filled in.
pub struct [[ plural_ty ]]Edit;

impl [[ plural_ty ]]Edit {
    /// The form with the row's values.
    pub async fn get(
        ctx: PageContext,
        db: Db,
[[ user_arg ]]        Path(id): Path<i64>,
    ) -> torn::Result<Page<[[ plural_ty ]]FormPage>> {
[[ find_row ]]
        Ok(Page([[ plural_ty ]]FormPage {
            ctx,
            id: Some(id),
            form: [[ ty ]]Form::from_row(&row),
            errors: FieldErrors::default(),
        }))
    }
}

torn::handler!([[ plural_ty ]]Edit => get);

/// `/[[ table ]]/{id}/delete`.
pub struct [[ plural_ty ]]Delete;

impl [[ plural_ty ]]Delete {
    /// Delete the row.
    pub async fn post(
        ctx: PageContext,
        db: Db,
[[ user_arg ]]        flash: Flash,
        Path(id): Path<i64>,
    ) -> torn::Result<Response> {
[[ find_only ]]
        [[ ty ]]::delete(&db, id).await?;
        flash.success("[[ label ]] deleted.");
        Ok(Redirect::to(&ctx.url("[[ table ]]")?).into_response())
    }
}

torn::handler!([[ plural_ty ]]Delete => post);
