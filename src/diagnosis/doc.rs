//! `docs/TROUBLESHOOTING.md`, rendered from the catalog so the doc and the tool never disagree.
//!
//! The test below fails when the committed file differs from [`render_markdown`]; run it with
//! `UPDATE_DOCS=1` to rewrite the file (`UPDATE_DOCS=1 cargo test -p mailoauth --lib diagnosis`).

use super::{catalog, families, no_match_suggestions, Area, Context, Entry, Family, Level, Scheme};
use std::fmt::Write;

/// The whole troubleshooting guide as Markdown, generic placeholders (`<mailbox>`) left in.
pub fn render_markdown() -> String {
    let ctx = Context::default();
    let mut md = String::new();
    md.push_str("# Troubleshooting: every error mailoauth knows, its cause and its fix\n\n");
    md.push_str(
        "<!-- Generated from src/diagnosis/entries/*.toml. Do not edit: change the catalog and run\n     \
         `UPDATE_DOCS=1 cargo test -p mailoauth --lib diagnosis` -->\n\n",
    );
    md.push_str(
        "Paste any error text or log excerpt into `mailoauth explain \"<text>\"` (or `mailoauth explain -`\n\
         to read it from standard input; `--json` for machines) or into the app's troubleshooter: it\n\
         finds every entry below that the text matches and prints the cause and the fix, with your\n\
         mailbox, tenant and client ID filled in (`--mailbox`, `--tenant`, `--client-id`,\n\
         `--app-name`). Tokens, secrets and passwords in the pasted text are removed before anything\n\
         reads it. `mailoauth explain --list` prints this catalog.\n\n\
         Entries are *specific* (one cause), *generic* (a class of failure) or *fallback* (only says\n\
         that something failed); a broader entry is shown only when no narrower one matched.\n\n\
         A code no entry names still gets its *family* (see [Families](#families-codes-without-an-exact-entry)):\n\
         every Microsoft Entra `AADSTS` code, every SMTP enhanced status code and every IMAP response\n\
         code. Each match says what it is: an *exact known error*, a *known kind of error*, or a\n\
         *family match by the code alone*, quoting the code's own text from the input.\n\n",
    );
    let total = catalog().len();
    let _ = writeln!(md, "## Contents ({total} entries)\n");
    for area in Area::ALL {
        let entries: Vec<&Entry> = catalog().iter().filter(|e| e.area == area).collect();
        let _ = writeln!(
            md,
            "- [{}](#{}) ({})",
            area.title(),
            anchor(area.title()),
            entries.len()
        );
        for e in entries {
            let _ = writeln!(md, "  - [{}](#{})", e.title, e.id);
        }
    }
    let _ = writeln!(
        md,
        "- [Families: codes without an exact entry](#families-codes-without-an-exact-entry) ({})",
        families().len()
    );
    for scheme in SCHEMES {
        for f in families().iter().filter(|f| f.scheme == scheme) {
            let _ = writeln!(md, "  - [{}](#{})", f.title, f.id);
        }
    }
    md.push('\n');

    for area in Area::ALL {
        let _ = writeln!(md, "## {}\n", area.title());
        for e in catalog().iter().filter(|e| e.area == area) {
            render_entry(&mut md, e, &ctx);
        }
    }

    md.push_str("## Families: codes without an exact entry\n\n");
    md.push_str(
        "When no entry above names a code, its family gives the cause and the fix. Families are\n\
         derived from the documented codes each cites; `x` stands for any digit, `S.*` for every\n\
         detail of an SMTP subject (a detail pattern wins over its subject). Each scheme also has a\n\
         catch-all, so any code is at least named with where to look it up.\n\n",
    );
    for scheme in SCHEMES {
        let _ = writeln!(md, "### {}\n", scheme.title());
        for f in families().iter().filter(|f| f.scheme == scheme) {
            render_family(&mut md, f, &ctx);
        }
    }

    md.push_str("## When nothing matches\n\n");
    md.push_str("`mailoauth explain` says so and suggests these checks:\n\n");
    for (i, s) in no_match_suggestions(&ctx).iter().enumerate() {
        let _ = writeln!(md, "{}. {}", i + 1, text(s));
    }
    md
}

fn render_entry(md: &mut String, e: &Entry, ctx: &Context) {
    let d = e.diagnosis(ctx);
    let level = match e.level {
        Level::Specific => "specific",
        Level::Generic => "generic",
        Level::Fallback => "fallback",
    };
    let _ = writeln!(md, "<a id=\"{}\"></a>\n### {}\n", e.id, d.title);
    let _ = writeln!(md, "`{}` · {level}\n", e.id);
    let seen: Vec<String> = e.patterns.iter().map(|p| code_span(&p.label())).collect();
    let _ = writeln!(md, "**Recognised by:** {}\n", seen.join(" · "));
    let _ = writeln!(md, "**Cause:** {}\n", text(&d.cause));
    md.push_str("**Fix:**\n\n");
    for (i, step) in d.fix.iter().enumerate() {
        let _ = writeln!(md, "{}. {}", i + 1, text(step));
    }
    let _ = writeln!(md, "\n**Where:** {}\n", text(&d.place));
    if let Some(link) = &d.link {
        let _ = writeln!(md, "**Link:** <{link}>\n");
    }
    if let Some(source) = &e.source {
        let _ = writeln!(md, "**Source:** <{source}>\n");
    }
    let _ = writeln!(
        md,
        "**Sign in again afterwards:** {}\n",
        if d.reauthorize { "yes" } else { "no" }
    );
    if !e.also_show.is_empty() {
        let links: Vec<String> = e
            .also_show
            .iter()
            .map(|id| format!("[`{id}`](#{id})"))
            .collect();
        let _ = writeln!(md, "**Shown together with:** {}\n", links.join(", "));
    }
    md.push_str("<details><summary>Examples</summary>\n\n");
    for ex in &e.examples {
        md.push_str("```text\n");
        md.push_str(super::scrub(ex).trim_end());
        md.push_str("\n```\n");
    }
    md.push_str("\n</details>\n\n");
}

const SCHEMES: [Scheme; 3] = [Scheme::Aadsts, Scheme::Smtp, Scheme::Imap];

fn render_family(md: &mut String, f: &Family, ctx: &Context) {
    let _ = writeln!(md, "<a id=\"{}\"></a>\n#### {}\n", f.id, f.title);
    let kind = if f.is_catch_all() {
        "catch-all"
    } else {
        "family"
    };
    let _ = writeln!(md, "`{}` · {kind}\n", f.id);
    let codes: Vec<String> = f.codes.iter().map(|c| code_span(c)).collect();
    let _ = writeln!(md, "**Codes:** {}\n", codes.join(" · "));
    let _ = writeln!(md, "**Cause:** {}\n", text(&ctx.fill(&f.cause)));
    md.push_str("**Fix:**\n\n");
    for (i, step) in f.fix.iter().enumerate() {
        let _ = writeln!(md, "{}. {}", i + 1, text(&ctx.fill(step)));
    }
    let _ = writeln!(md, "\n**Where:** {}\n", text(&ctx.fill(&f.place)));
    let _ = writeln!(
        md,
        "**Sign in again afterwards:** {}\n",
        if f.reauthorize { "yes" } else { "no" }
    );
    let _ = writeln!(md, "**Source:** <{}>\n", f.source);
    if !f.cited.is_empty() {
        md.push_str("| Documented code | What the reference says |\n| --- | --- |\n");
        for c in &f.cited {
            let code = if f.scheme == Scheme::Aadsts {
                format!(
                    "[AADSTS{0}](https://login.microsoftonline.com/error?code={0})",
                    c.code
                )
            } else {
                code_span(&c.code)
            };
            let _ = writeln!(md, "| {code} | {} |", text(&c.text).replace('|', "\\|"));
        }
        md.push('\n');
    }
}

/// Catalog prose as Markdown: `<` and `>` outside code spans are escaped, so placeholders such
/// as `<mailbox>` and paths such as `Settings > Mail flow` are not taken for HTML.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_code = false;
    for c in s.chars() {
        match c {
            '`' => {
                in_code = !in_code;
                out.push(c);
            }
            '<' if !in_code => out.push_str("&lt;"),
            '>' if !in_code => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}

/// An inline code span that survives backticks inside.
fn code_span(s: &str) -> String {
    if s.contains('`') {
        format!("`` {s} ``")
    } else {
        format!("`{s}`")
    }
}

/// The anchor GitHub generates for a heading.
fn anchor(title: &str) -> String {
    title
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            'a'..='z' | '0'..='9' | '-' | '_' => Some(c),
            ' ' => Some('-'),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::path::Path;

    #[test]
    fn committed_troubleshooting_doc_is_current() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/TROUBLESHOOTING.md");
        let fresh = render_markdown();
        if std::env::var_os("UPDATE_DOCS").is_some() {
            fs::write(&path, &fresh).expect("write docs/TROUBLESHOOTING.md");
        }
        let committed = fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == fresh,
            "docs/TROUBLESHOOTING.md is stale: run `UPDATE_DOCS=1 cargo test -p mailoauth --lib diagnosis`"
        );
    }

    #[test]
    fn doc_covers_every_entry_and_no_secret_placeholder_leaks() {
        let md = render_markdown();
        for e in catalog() {
            assert!(
                md.contains(&format!("<a id=\"{}\"></a>", e.id)),
                "{} missing",
                e.id
            );
        }
        assert!(!md.contains("{mailbox}") && !md.contains("{client_id}"));
        assert_eq!(
            anchor("Network, TLS and proxies"),
            "network-tls-and-proxies"
        );
        assert_eq!(
            text("A > B as <mailbox>: `Set-X -Identity \"<mailbox>\"`"),
            "A &gt; B as &lt;mailbox&gt;: `Set-X -Identity \"<mailbox>\"`"
        );
    }
}
