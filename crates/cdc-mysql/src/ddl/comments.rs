//! MySQL and MariaDB executable comments, resolved before tokenizing.
//!
//! `/*! content */` is SQL for every server; `/*!NNNNN content */` only for servers of version
//! NNNNN or later (MySQL also accepts six digits); `/*M! … */` and `/*M!NNNNNN … */` are the
//! MariaDB-only forms. MariaDB skips five-digit versions from 50700 to 99999, which name MySQL
//! 5.7+ features (mysqldump's `/*!80016 DEFAULT ENCRYPTION='N' */`). A kept comment becomes its
//! content, a skipped one disappears; the scanner knows string literals, quoted identifiers and
//! ordinary comments, so `/*!` inside them is left alone.

/// Which server wrote the binlog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerFlavor {
    MySql,
    MariaDb,
}

/// Server flavor and version as MySQL encodes it in executable comments
/// (`major * 10000 + minor * 100 + patch`: 8.0.36 → 80036, MariaDB 10.11.6 → 101106).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerVersion {
    pub flavor: ServerFlavor,
    pub version: u32,
}

impl ServerVersion {
    pub fn mysql(major: u32, minor: u32, patch: u32) -> Self {
        ServerVersion {
            flavor: ServerFlavor::MySql,
            version: major * 10000 + minor * 100 + patch,
        }
    }

    pub fn mariadb(major: u32, minor: u32, patch: u32) -> Self {
        ServerVersion {
            flavor: ServerFlavor::MariaDb,
            version: major * 10000 + minor * 100 + patch,
        }
    }

    fn keeps(&self, mariadb_only: bool, version: Option<u32>) -> bool {
        let mariadb = self.flavor == ServerFlavor::MariaDb;
        if mariadb_only && !mariadb {
            return false;
        }
        match version {
            None => true,
            Some(v) if mariadb && !mariadb_only && (50700..100000).contains(&v) => false,
            Some(v) => self.version >= v,
        }
    }
}

impl Default for ServerVersion {
    /// MySQL 8.4.0.
    fn default() -> Self {
        ServerVersion::mysql(8, 4, 0)
    }
}

/// `sql` with executable comments resolved for `server`.
pub(crate) fn resolve_executable_comments(sql: &str, server: ServerVersion) -> String {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = String::with_capacity(sql.len());
    let mut i = 0;
    // Inside a kept executable comment: its `*/` closes it.
    let mut in_kept = false;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '\'' | '"' | '`' => {
                let end = quoted_end(&chars, i);
                out.extend(&chars[i..end]);
                i = end;
            }
            '#' => {
                let end = line_end(&chars, i);
                out.extend(&chars[i..end]);
                i = end;
            }
            '-' if next == Some('-') && chars.get(i + 2).is_none_or(|c| c.is_whitespace()) => {
                let end = line_end(&chars, i);
                out.extend(&chars[i..end]);
                i = end;
            }
            '*' if in_kept && next == Some('/') => {
                in_kept = false;
                out.push(' ');
                i += 2;
            }
            '/' if next == Some('*') => {
                let bang = match (chars.get(i + 2), chars.get(i + 3)) {
                    (Some('!'), _) => Some((false, i + 3)),
                    (Some('M'), Some('!')) => Some((true, i + 4)),
                    _ => None,
                };
                match bang {
                    Some((mariadb_only, start)) if !in_kept => {
                        let digits = chars[start..]
                            .iter()
                            .take(6)
                            .take_while(|c| c.is_ascii_digit())
                            .count();
                        let (version, content) = if digits == 5 || digits == 6 {
                            let v: String = chars[start..start + digits].iter().collect();
                            (v.parse::<u32>().ok(), start + digits)
                        } else {
                            (None, start)
                        };
                        if server.keeps(mariadb_only, version) {
                            in_kept = true;
                            out.push(' ');
                            i = content;
                        } else {
                            i = comment_end(&chars, i + 2);
                            out.push(' ');
                        }
                    }
                    _ => {
                        let end = comment_end(&chars, i + 2);
                        out.extend(&chars[i..end]);
                        i = end;
                    }
                }
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Index after the literal or quoted identifier opening at `start` (backslash escapes in
/// strings, doubled quote characters in all three); the end of input if unterminated.
fn quoted_end(chars: &[char], start: usize) -> usize {
    let q = chars[start];
    let mut i = start + 1;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && q != '`' {
            i += 2;
        } else if c == q {
            if chars.get(i + 1) == Some(&q) {
                i += 2;
            } else {
                return i + 1;
            }
        } else {
            i += 1;
        }
    }
    chars.len()
}

fn line_end(chars: &[char], start: usize) -> usize {
    chars[start..]
        .iter()
        .position(|&c| c == '\n')
        .map_or(chars.len(), |p| start + p)
}

/// Index after the `*/` closing a comment whose body starts at `body`.
fn comment_end(chars: &[char], body: usize) -> usize {
    let mut i = body;
    while i + 1 < chars.len() {
        if chars[i] == '*' && chars[i + 1] == '/' {
            return i + 2;
        }
        i += 1;
    }
    chars.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mysql(sql: &str) -> String {
        resolve_executable_comments(sql, ServerVersion::mysql(8, 0, 36))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn mariadb(sql: &str) -> String {
        resolve_executable_comments(sql, ServerVersion::mariadb(10, 11, 6))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn versions_decide() {
        let sql = "CREATE DATABASE d /*!40100 DEFAULT CHARACTER SET utf8mb4 */ /*!80016 DEFAULT ENCRYPTION='N' */";
        assert_eq!(
            mysql(sql),
            "CREATE DATABASE d DEFAULT CHARACTER SET utf8mb4 DEFAULT ENCRYPTION='N'"
        );
        assert_eq!(
            mariadb(sql),
            "CREATE DATABASE d DEFAULT CHARACTER SET utf8mb4"
        );
        assert_eq!(mysql("SELECT 1 /*!90000 , 2 */"), "SELECT 1");
        assert_eq!(mysql("SELECT 1 /*!, 2 */"), "SELECT 1 , 2");
    }

    #[test]
    fn mariadb_only_comments() {
        let sql = "CREATE TABLE t (a INT) /*M!100100 PAGE_CHECKSUM=1 */";
        assert_eq!(mysql(sql), "CREATE TABLE t (a INT)");
        assert_eq!(mariadb(sql), "CREATE TABLE t (a INT) PAGE_CHECKSUM=1");
        assert_eq!(mariadb("a /*M! b */ c"), "a b c");
        assert_eq!(mariadb("a /*M!110000 b */ c"), "a c");
    }

    #[test]
    fn literals_and_plain_comments_untouched() {
        assert_eq!(mysql("SELECT '/*!40100 x */'"), "SELECT '/*!40100 x */'");
        assert_eq!(
            mysql("SELECT 'it''s /*!1*/' , `a/*!b*/`"),
            "SELECT 'it''s /*!1*/' , `a/*!b*/`"
        );
        assert_eq!(
            mysql("SELECT 1 /* plain */ -- x /*!y*/\n"),
            "SELECT 1 /* plain */ -- x /*!y*/"
        );
        assert_eq!(mysql("SELECT 'a\\'/*!x*/'"), "SELECT 'a\\'/*!x*/'");
        assert_eq!(mysql("SELECT /*!40101 '*/' */ 1"), "SELECT '*/' 1");
    }

    #[test]
    fn unterminated_input_does_not_panic() {
        for sql in [
            "/*!",
            "/*M!1",
            "'abc",
            "/*!40100 'x",
            "`a",
            "/* x",
            "a -- b",
            "/*!40100 x *",
        ] {
            let _ = resolve_executable_comments(sql, ServerVersion::default());
            let _ = resolve_executable_comments(sql, ServerVersion::mariadb(10, 6, 0));
        }
    }
}
