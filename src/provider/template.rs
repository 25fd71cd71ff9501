//! `{name}` templates in the embedded data: endpoint URLs per tenant and cloud, scopes per cloud,
//! deep links and values in the checklists.

/// The names used in `template`, in order of appearance.
pub(crate) fn variables(template: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                names.push(&after[..end]);
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    names
}

/// Fills every `{name}` from `lookup`; the first name without a value is the error.
pub(crate) fn render(
    template: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let mut missing = None;
    let text = render_with(template, |name| {
        let value = lookup(name);
        if value.is_none() && missing.is_none() {
            missing = Some(name.to_string());
        }
        value.unwrap_or_default()
    });
    match missing {
        Some(name) => Err(name),
        None => Ok(text),
    }
}

/// Fills every `{name}` with whatever `fill` returns, so a checklist can show `<tenant-id>`
/// where the admin has not told mailoauth the value yet.
pub(crate) fn render_with(template: &str, mut fill: impl FnMut(&str) -> String) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                out.push_str(&fill(&after[..end]));
                rest = &after[end + 1..];
            }
            None => {
                // An unmatched brace is text, not a variable.
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_reports_the_missing_name() {
        let lookup = |n: &str| (n == "authority").then(|| String::from("https://login.example"));
        assert_eq!(variables("{authority}/{tenant}/x"), ["authority", "tenant"]);
        assert_eq!(
            render("{authority}/common/x", lookup),
            Ok(String::from("https://login.example/common/x"))
        );
        assert_eq!(
            render("{authority}/{tenant}/x", lookup),
            Err(String::from("tenant"))
        );
        assert_eq!(render_with("a {b} c {", |n| format!("<{n}>")), "a <b> c {");
    }
}
