//! Lists laid out as rustfmt lays them out (edition 2024, default settings), so that the
//! templates' output is the same whether rustfmt is installed or not: a list goes on one line
//! when its items fit in rustfmt's width for that kind of list and the line fits in 100
//! characters, else one item per line with a trailing comma.

/// rustfmt's `struct_lit_width`: the most a struct literal's fields take on one line.
pub const STRUCT_WIDTH: usize = 18;
/// rustfmt's `array_width`: the most an array's items take on one line.
pub const ARRAY_WIDTH: usize = 60;

/// `open` + `items` + `close`, starting at column `start` of a line indented by `indent`
/// (the items go one level deeper when they do not fit), and followed on its line by
/// `after` characters (such as `;`). `spaced` puts spaces inside the brackets on one line,
/// as in `Post { id: 1 }`.
pub fn list(
    open: &str,
    items: &[String],
    close: &str,
    (indent, start, after): (usize, usize, usize),
    width: usize,
    spaced: bool,
) -> String {
    let inner = items.join(", ");
    let one = if spaced && !items.is_empty() {
        format!("{open} {inner} {close}")
    } else {
        format!("{open}{inner}{close}")
    };
    if inner.len() <= width && start + one.len() + after <= 100 {
        return one;
    }
    let pad = " ".repeat(indent + 4);
    let mut out = format!("{open}\n");
    for item in items {
        out.push_str(&format!("{pad}{item},\n"));
    }
    out.push_str(&" ".repeat(indent));
    out.push_str(close);
    out
}

/// `let name = Type { field: value, … };`, four spaces in.
pub fn let_struct(name: &str, ty: &str, fields: &[String]) -> String {
    let head = format!("    let {name} = ");
    let open = format!("{ty} {{");
    format!(
        "{head}{};",
        list(&open, fields, "}", (4, head.len(), 1), STRUCT_WIDTH, true)
    )
}

/// `let name = vec![item, …];`, four spaces in.
pub fn let_vec(name: &str, items: &[String]) -> String {
    let head = format!("    let {name} = ");
    format!(
        "{head}{};",
        list("vec![", items, "]", (4, head.len(), 1), ARRAY_WIDTH, false)
    )
}

/// rustfmt's `fn_call_width`: the most a call's arguments take on one line.
pub const CALL_WIDTH: usize = 60;

/// `head(params) -> ret {`, `indent` spaces in: on one line when it fits in 100 characters,
/// else with the parameters one per line.
pub fn signature(indent: usize, head: &str, params: &[&str], ret: &str) -> String {
    let pad = " ".repeat(indent);
    let one = format!("{pad}{head}({}) -> {ret} {{", params.join(", "));
    if one.len() <= 100 {
        return one;
    }
    let mut out = format!("{pad}{head}(\n");
    for p in params {
        out.push_str(&format!("{pad}    {p},\n"));
    }
    out.push_str(&format!("{pad}) -> {ret} {{"));
    out
}

/// `let var = callee(args);`, `indent` spaces in: on one line when it fits; else the call on
/// the next line; else the arguments one per line. Arguments wider than rustfmt's call width
/// go one per line, unless there is only one.
pub fn let_call(indent: usize, var: &str, callee: &str, args: &[String]) -> String {
    let pad = " ".repeat(indent);
    let inner = args.join(", ");
    let call = format!("{callee}({inner});");
    // A single argument may be as wide as the line allows.
    if inner.len() <= CALL_WIDTH || args.len() == 1 {
        let one = format!("{pad}let {var} = {call}");
        if one.len() <= 100 {
            return one;
        }
        if indent + 4 + call.len() <= 100 {
            return format!("{pad}let {var} =\n{pad}    {call}");
        }
    }
    let mut out = format!("{pad}let {var} = {callee}(\n");
    for a in args {
        out.push_str(&format!("{pad}    {a},\n"));
    }
    out.push_str(&format!("{pad});"));
    out
}

/// `callee(args){end}`, `indent` spaces in, as a statement: on one line when the arguments
/// fit in rustfmt's call width and the line in 100 characters, else one argument per line.
pub fn call(indent: usize, callee: &str, args: &[String], end: &str) -> String {
    let pad = " ".repeat(indent);
    let open = format!("{callee}(");
    let laid = list(
        &open,
        args,
        ")",
        (indent, indent, end.len()),
        CALL_WIDTH,
        false,
    );
    format!("{pad}{laid}{end}")
}

/// `let pattern = value else {`, `indent` spaces in, as rustfmt lays out a let-else whose
/// pattern and value are tuples: on one line; else the value on the next line and `else {` on
/// its own; else the pattern's items one per line too.
pub fn let_else(indent: usize, pattern: &[String], value: &[String]) -> String {
    let pad = " ".repeat(indent);
    let tuple = |items: &[String]| match items {
        [one] => format!("({one},)"),
        _ => format!("({})", items.join(", ")),
    };
    let (pat, val) = (tuple(pattern), tuple(value));
    let one = format!("{pad}let {pat} = {val} else {{");
    if one.len() <= 100 {
        return one;
    }
    // A tuple value whose items take more than rustfmt's call width goes one item per line
    // (a tuple pattern does not).
    let narrow = |tuple: &str| tuple.len() - 2 <= CALL_WIDTH;
    let head = format!("{pad}let {pat} =");
    let next = format!("{pad}    {val}");
    if head.len() <= 100 && next.len() <= 100 && narrow(&val) {
        return format!("{head}\n{next}\n{pad}else {{");
    }
    let mut out = format!("{pad}let (\n");
    for p in pattern {
        out.push_str(&format!("{pad}    {p},\n"));
    }
    if format!("{pad}) = {val}").len() <= 100 && narrow(&val) {
        out.push_str(&format!("{pad}) = {val}\n{pad}else {{"));
        return out;
    }
    out.push_str(&format!("{pad}) = (\n"));
    for v in value {
        out.push_str(&format!("{pad}    {v},\n"));
    }
    out.push_str(&format!("{pad})\n{pad}else {{"));
    out
}

/// `{prefix}{parent}{children…}{end}`, `indent` spaces in, as rustfmt lays out a method chain: on
/// one line when it fits, and, with two calls or more after `parent`, when the chain takes at
/// most rustfmt's `chain_width` (60); else one call per line.
pub fn chain(indent: usize, prefix: &str, parent: &str, children: &[&str], end: &str) -> String {
    let pad = " ".repeat(indent);
    let whole = format!("{parent}{}", children.concat());
    let one = format!("{pad}{prefix}{whole}{end}");
    if (children.len() < 2 || whole.len() <= 60) && one.len() <= 100 {
        return one;
    }
    let mut out = format!("{pad}{prefix}{parent}");
    for child in children {
        out.push_str(&format!("\n{pad}    {child}"));
    }
    out.push_str(end);
    out
}

/// `use path::{items};`: on one line when it fits in 100 characters, else the items on the
/// lines between the braces, as many on a line as fit.
pub fn use_list(path: &str, items: &[&str]) -> String {
    let one = format!("use {path}::{{{}}};", items.join(", "));
    if one.len() <= 100 {
        return one;
    }
    let mut out = format!("use {path}::{{\n");
    let mut line = String::from("   ");
    for item in items {
        if line.len() + 1 + item.len() + 1 > 100 {
            out.push_str(line.trim_end());
            out.push('\n');
            line = String::from("   ");
        }
        line.push_str(&format!(" {item},"));
    }
    out.push_str(&line);
    out.push_str("\n};");
    out
}

/// `const NAME: &str = "value";` at the start of a line: on one line when it fits in 100
/// characters, else with the value on the next line (when it fits there).
pub fn const_str(name: &str, value: &str) -> String {
    let one = format!("const {name}: &str = \"{value}\";");
    let value_line = format!("    \"{value}\";");
    if one.len() <= 100 || value_line.len() > 100 {
        return one;
    }
    format!("const {name}: &str =\n{value_line}")
}

/// The line of `src/lib.rs` that mounts `handler` as the route `name` at `path`, four spaces
/// in, laid out as rustfmt lays it out (lines of at most 100 characters): on one line when it
/// fits; else the call on the next line; else the method call on a line of its own; else the
/// arguments one per line.
pub fn route_statement(handler: &str, name: &str, path: &str) -> String {
    mount_statement("handler", handler, name, path)
}

/// [`route_statement`] for `App::websocket` (or another method that mounts a type at a named
/// path).
pub fn mount_statement(method: &str, handler: &str, name: &str, path: &str) -> String {
    let call = format!("{method}::<{handler}>(\"{name}\", \"{path}\");");
    let fits = |line: &str| line.len() <= 100;
    let one = format!("    let app = app.{call}");
    if fits(&one) {
        return one;
    }
    if fits(&format!("        app.{call}")) {
        return format!("    let app =\n        app.{call}");
    }
    if fits(&format!("        .{call}")) {
        return format!("    let app = app\n        .{call}");
    }
    let args = format!("\"{name}\",\n        \"{path}\",\n    );");
    let head = format!("    let app = app.{method}::<{handler}>(");
    if fits(&head) {
        return format!("{head}\n        {args}");
    }
    format!(
        "    let app = app\n        .{method}::<{handler}>(\n            \"{name}\",\n            \
         \"{path}\",\n        );"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lists_stay_on_one_line() {
        let one = vec!["n: 41".to_string()];
        assert_eq!(
            let_struct("input", "NoteInput", &one),
            "    let input = NoteInput { n: 41 };"
        );
        let long = vec!["title: \"title 1\".to_string()".to_string()];
        assert_eq!(
            let_struct("input", "PostInput", &long),
            "    let input = PostInput {\n        title: \"title 1\".to_string(),\n    };"
        );
        let pair = vec!["(\"body\", \"Some body text 1\".to_string())".to_string()];
        assert_eq!(
            let_vec("first", &pair),
            "    let first = vec![(\"body\", \"Some body text 1\".to_string())];"
        );
        assert_eq!(let_vec("none", &[]), "    let none = vec![];");
    }

    #[test]
    fn route_lines_are_laid_out_as_rustfmt_does() {
        // The layouts rustfmt gave these lines in an app's src/lib.rs.
        assert_eq!(
            route_statement("handlers::about::About", "about", "/about"),
            "    let app = app.handler::<handlers::about::About>(\"about\", \"/about\");"
        );
        assert_eq!(
            route_statement(
                "handlers::articles::ArticlesEdit",
                "edit_article",
                "/articles/{id}/edit"
            ),
            "    let app =\n        app.handler::<handlers::articles::ArticlesEdit>(\"edit_article\", \
             \"/articles/{id}/edit\");"
        );
        assert_eq!(
            route_statement(
                "handlers::articles::ArticlesDelete",
                "delete_article",
                "/articles/{id}/delete"
            ),
            "    let app = app\n        .handler::<handlers::articles::ArticlesDelete>(\"delete_article\", \
             \"/articles/{id}/delete\");"
        );
    }
}
