//! Template constructs bloggo does not run, found in an imported file's markdown outside
//! code: Liquid tags and outputs (`{% include x %}`, `{% highlight %}`, `{% raw %}`,
//! `{{ page.title }}`), Hugo shortcodes (`{{< youtube x >}}`, `{{% notice %}}`) and Zola
//! shortcodes (`{{ youtube(id=…) }}`, `{% note() %}`). They stay on the page as text, so the
//! import says so: one warning per file, naming each construct and its lines. Links to other
//! posts and to the site (`ref`, `relref`, `post_url`, `site.url`, `site.baseurl`) are not
//! listed: the build resolves them.

use crate::frontmatter::Problem;
use crate::markdown::refs::{constructs, ConstructKind};

/// The unsupported constructs in `body`, the markdown of a file whose bytes are `bytes`:
/// each construct's name, in the order first met, with its lines (the file's, its front
/// matter counted).
pub fn scan(bytes: &[u8], body: &str) -> Vec<(String, Vec<usize>)> {
    let found = constructs(body);
    let offset = bytes
        .len()
        .checked_sub(body.len())
        .filter(|_| bytes.ends_with(body.as_bytes()))
        .map_or(0, |at| bytes[..at].iter().filter(|b| **b == b'\n').count());
    let mut seen: Vec<(String, Vec<usize>)> = Vec::new();
    for c in found {
        let Some(label) = label(&c.kind) else {
            continue;
        };
        let line = offset + c.line;
        match seen.iter_mut().find(|(l, _)| *l == label) {
            Some((_, lines)) if lines.last() != Some(&line) => lines.push(line),
            Some(_) => {}
            None => seen.push((label, vec![line])),
        }
    }
    seen
}

/// The one warning of the file `rel_path` for the constructs [`scan`] found; `None` when
/// there are none.
pub fn warning(rel_path: &str, seen: &[(String, Vec<usize>)]) -> Option<Problem> {
    let first = seen.iter().filter_map(|(_, l)| l.first()).min().copied()?;
    let list: Vec<String> = seen
        .iter()
        .map(|(label, lines)| {
            let lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            let word = if lines.len() == 1 { "line" } else { "lines" };
            format!("{label} ({word} {})", lines.join(", "))
        })
        .collect();
    Some(Problem::new(
        rel_path,
        first,
        format!(
            "bloggo does not run these, so they are shown as text: {}",
            list.join(", ")
        ),
    ))
}

/// How a construct is named in the warning; `None` for the links the build resolves.
fn label(kind: &ConstructKind) -> Option<String> {
    Some(match kind {
        ConstructKind::Link(..) => return None,
        ConstructKind::LiquidTag(name) => format!("Liquid tag `{{% {name} %}}`"),
        ConstructKind::LiquidOutput(expr) => format!("Liquid output `{{{{ {expr} }}}}`"),
        ConstructKind::HugoShortcode(name) => format!("Hugo shortcode `{name}`"),
        ConstructKind::ZolaShortcode(name) => format!("Zola shortcode `{name}()`"),
    })
}

#[cfg(test)]
mod tests {
    use super::{scan, warning};

    fn warn(file: &str) -> Option<String> {
        let body_at = file.find("\n---\n").map_or(0, |i| i + 5);
        warning("p.md", &scan(file.as_bytes(), &file[body_at..])).map(|p| p.to_string())
    }

    #[test]
    fn one_warning_names_each_construct_and_its_lines_in_the_file() {
        let file = "---\ntitle: T\n---\nIntro {% include note.html %}\n\n\
                    {{< youtube abc >}}\n\n{% include other.html %} {{ page.title }}\n\n\
                    {{% notice info %}}\nx\n{{% /notice %}}\n\n{{ youtube(id=\"x\") }}\n\n\
                    {% note() %}\nhi\n{% end %}\n\n{% highlight ruby %}\nputs 1\n{% endhighlight %}\n";
        assert_eq!(
            warn(file).unwrap(),
            "p.md:4: bloggo does not run these, so they are shown as text: \
             Liquid tag `{% include %}` (lines 4, 8), Hugo shortcode `youtube` (line 6), \
             Liquid output `{{ page.title }}` (line 8), Hugo shortcode `notice` (line 10), \
             Zola shortcode `youtube()` (line 14), Zola shortcode `note()` (line 16), \
             Liquid tag `{% highlight %}` (line 20)"
        );
    }

    #[test]
    fn links_code_and_plain_text_give_no_warning() {
        assert_eq!(
            warn(
                "---\ntitle: T\n---\n[a]({{< ref \"a.md\" >}}) {% post_url 2010-01-01-a %} \
                 {{ site.baseurl }} {{< relref b >}} [c](@/c.md)\n\n\
                 `{{< youtube x >}}`\n\n```\n{% include a %}\n```\n\nSets {a, b} and {{ }}.\n"
            ),
            None
        );
    }

    #[test]
    fn a_raw_block_is_named_but_not_what_it_holds() {
        assert_eq!(
            warn("{% raw %}{{ site.repository }} {% include x %}{% endraw %}\n").unwrap(),
            "p.md:1: bloggo does not run these, so they are shown as text: \
             Liquid tag `{% raw %}` (line 1)"
        );
    }
}
