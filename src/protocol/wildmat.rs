//! RFC 3977 §4 wildmats, with INN's uwildmat extensions (`[...]` classes, `\` escapes).
//!
//! A full wildmat is a comma-separated list of patterns, each optionally negated with `!`;
//! the rightmost pattern that matches decides. XPAT (RFC 2980 §2.9) uses the "simple" form,
//! in which `,` and `!` are ordinary characters (INN's `uwildmat_simple`).

/// A parsed wildmat, ready to match many names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wildmat {
    patterns: Vec<(bool, Vec<Token>)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Star,
    Any,
    Char(char),
    Class { negated: bool, items: Vec<(char, char)> },
}

impl Wildmat {
    /// Parses a full wildmat (`a.*,!a.b.*`).
    pub fn parse(spec: &str) -> Wildmat {
        let patterns = split_patterns(spec)
            .into_iter()
            .map(|p| match p.strip_prefix('!') {
                Some(rest) => (true, compile(rest)),
                None => (false, compile(p)),
            })
            .collect();
        Wildmat { patterns }
    }

    /// Parses a single pattern in which `,` and `!` are literal (XPAT).
    pub fn simple(pattern: &str) -> Wildmat {
        Wildmat { patterns: vec![(false, compile(pattern))] }
    }

    /// A wildmat matching everything.
    pub fn any() -> Wildmat {
        Wildmat { patterns: vec![(false, vec![Token::Star])] }
    }

    pub fn matches(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        for (negated, tokens) in self.patterns.iter().rev() {
            if match_tokens(tokens, &chars) {
                return !negated;
            }
        }
        false
    }

    /// Matches bytes that may not be UTF-8 (header values); invalid sequences count as U+FFFD.
    pub fn matches_bytes(&self, text: &[u8]) -> bool {
        self.matches(&String::from_utf8_lossy(text))
    }
}

/// Splits on commas that are not inside a `[...]` class or escaped.
fn split_patterns(spec: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_class = false;
    let mut escaped = false;
    let mut class_start = 0;
    for (i, c) in spec.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '[' if !in_class => {
                in_class = true;
                class_start = i;
            }
            // A `]` right after `[` or `[^` is a literal member, not the end.
            ']' if in_class
                && i > class_start + 1
                && !(i == class_start + 2 && spec[class_start + 1..].starts_with('^')) =>
            {
                in_class = false
            }
            ',' if !in_class => {
                out.push(&spec[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&spec[start..]);
    out
}

fn compile(pattern: &str) -> Vec<Token> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => {
                if tokens.last() != Some(&Token::Star) {
                    tokens.push(Token::Star);
                }
                i += 1;
            }
            '?' => {
                tokens.push(Token::Any);
                i += 1;
            }
            '\\' if i + 1 < chars.len() => {
                tokens.push(Token::Char(chars[i + 1]));
                i += 2;
            }
            '[' => match compile_class(&chars[i + 1..]) {
                Some((token, used)) => {
                    tokens.push(token);
                    i += 1 + used;
                }
                // An unterminated class is a literal `[`, as in uwildmat.
                None => {
                    tokens.push(Token::Char('['));
                    i += 1;
                }
            },
            c => {
                tokens.push(Token::Char(c));
                i += 1;
            }
        }
    }
    tokens
}

/// Compiles the class body after `[`; returns the token and how many chars it consumed
/// (including the closing `]`).
fn compile_class(chars: &[char]) -> Option<(Token, usize)> {
    let mut i = 0;
    let negated = chars.first() == Some(&'^');
    if negated {
        i += 1;
    }
    let mut items = Vec::new();
    let mut first = true;
    while i < chars.len() {
        let mut c = chars[i];
        if c == ']' && !first {
            return Some((Token::Class { negated, items }, i + 1));
        }
        first = false;
        if c == '\\' && i + 1 < chars.len() {
            i += 1;
            c = chars[i];
        }
        if i + 2 < chars.len() && chars[i + 1] == '-' && chars[i + 2] != ']' {
            items.push((c, chars[i + 2]));
            i += 3;
        } else {
            items.push((c, c));
            i += 1;
        }
    }
    None
}

/// Iterative matcher with single-star backtracking: linear in practice, never exponential.
fn match_tokens(tokens: &[Token], text: &[char]) -> bool {
    let (mut t, mut s) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while s < text.len() {
        if t < tokens.len() {
            match &tokens[t] {
                Token::Star => {
                    star = Some((t, s));
                    t += 1;
                    continue;
                }
                token if token_matches(token, text[s]) => {
                    t += 1;
                    s += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((st, ss)) => {
                t = st + 1;
                s = ss + 1;
                star = Some((st, ss + 1));
            }
            None => return false,
        }
    }
    tokens[t..].iter().all(|tok| *tok == Token::Star)
}

fn token_matches(token: &Token, c: char) -> bool {
    match token {
        Token::Star => true,
        Token::Any => true,
        Token::Char(x) => *x == c,
        Token::Class { negated, items } => {
            let inside = items.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c));
            inside != *negated
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3977_examples() {
        // RFC 3977 §4.4
        let w = Wildmat::parse("a*,!*b,*c*");
        assert!(w.matches("aaa"));
        assert!(!w.matches("abb"));
        assert!(w.matches("ccb"));
        assert!(!w.matches("xxxx"));
        let w = Wildmat::parse("a*,!*b");
        assert!(w.matches("ac"));
        assert!(!w.matches("ab"));
        assert!(!w.matches("ca"));
    }

    #[test]
    fn star_question_and_utf8() {
        assert!(Wildmat::parse("org.kernel.*").matches("org.kernel.vger.selinux"));
        assert!(!Wildmat::parse("org.kernel.*").matches("org.kerne"));
        assert!(Wildmat::parse("a?c").matches("abc"));
        assert!(Wildmat::parse("a?c").matches("aäc"), "? is one UTF-8 character");
        assert!(!Wildmat::parse("a?c").matches("ac"));
        assert!(Wildmat::parse("*").matches(""));
        assert!(Wildmat::parse("**a**").matches("xxa"));
    }

    #[test]
    fn classes_as_thunderbird_sends_them() {
        let w = Wildmat::simple("*[Ff][Oo][Oo]*");
        assert!(w.matches("Re: FOO bar"));
        assert!(w.matches("a fOo"));
        assert!(!w.matches("fo o"));
        assert!(Wildmat::simple("[^a-c]x").matches("dx"));
        assert!(!Wildmat::simple("[^a-c]x").matches("bx"));
        assert!(Wildmat::simple("[]]").matches("]"));
        assert!(Wildmat::simple("[a-]").matches("-"));
    }

    #[test]
    fn simple_form_keeps_commas_and_bangs() {
        let w = Wildmat::simple("*a,b*");
        assert!(w.matches("xa,by"));
        assert!(!w.matches("a"));
        assert!(Wildmat::simple("!x").matches("!x"));
    }

    #[test]
    fn escapes_and_unterminated_class() {
        assert!(Wildmat::simple(r"a\*b").matches("a*b"));
        assert!(!Wildmat::simple(r"a\*b").matches("axb"));
        assert!(Wildmat::simple("a[b").matches("a[b"));
        let w = Wildmat::parse("[a,b]x,y");
        assert!(w.matches(",x"), "comma inside a class does not split");
        assert!(w.matches("y"));
    }

    #[test]
    fn pathological_patterns_stay_fast() {
        let text: String = "a".repeat(5000);
        let w = Wildmat::simple(&"*a".repeat(100));
        assert!(w.matches(&text));
        let w = Wildmat::simple(&format!("{}b", "*a".repeat(100)));
        assert!(!w.matches(&text));
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        fn escape(s: &str) -> String {
            s.chars().flat_map(|c| if "*?[]\\,!".contains(c) { vec!['\\', c] } else { vec![c] }).collect()
        }

        proptest! {
            #[test]
            fn a_literal_matches_itself_only(text in "\\PC{0,30}", other in "\\PC{0,30}") {
                let w = Wildmat::simple(&escape(&text));
                prop_assert!(w.matches(&text));
                prop_assert_eq!(w.matches(&other), other == text);
            }

            #[test]
            fn star_matches_everything_and_negation_inverts(text in "\\PC{0,40}") {
                prop_assert!(Wildmat::parse("*").matches(&text));
                prop_assert!(!Wildmat::parse("*,!*").matches(&text));
            }

            #[test]
            fn prefix_star(prefix in "[a-z.]{0,10}", rest in "\\PC{0,20}") {
                let text = format!("{prefix}{rest}");
                let pattern = format!("{}*", escape(&prefix));
                prop_assert!(Wildmat::simple(&pattern).matches(&text));
            }

            #[test]
            fn any_pattern_any_text_terminates(pattern in "\\PC{0,40}", text in "\\PC{0,200}") {
                let _ = Wildmat::parse(&pattern).matches(&text);
                let _ = Wildmat::simple(&pattern).matches(&text);
            }
        }
    }
}
